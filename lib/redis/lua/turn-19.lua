--[[ One turn of a supervisor on one queue, in one round trip: record what became of finished runs
  (complete, fail, release), make due delayed and retrying jobs runnable, then lease up to `count` jobs.
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua): wait, grouped, groups ring,
            parked groups, group of each running job, running jobs per group, control hash, rate log,
            wake-up marker, active zset (score: lease deadline, ms)
  KEYS[11]  completed zset (score: when the record expires)
  KEYS[12]  failed zset (same)
  KEYS[13]  events stream
  KEYS[14]  delayed zset (score: due time)
  KEYS[15]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  KEYS[16]  retrying zset (score: when the next try is due)
  KEYS[17]  canceled zset (score: when the record expires)
  KEYS[18]  canceling zset (ids of active jobs asked to cancel)
  KEYS[19]  handoff zset (finished jobs whose dependents have yet to be told)
  ARGV[1]   queue name (event payloads name it)
  ARGV[2]   job key prefix: every job key (written, promoted, leased) is built from it as prefix .. id;
            the prefix carries the queue's hash tag, so these keys are in the slot of KEYS (ids are only
            known at call time, and leaving them out of KEYS keeps a turn's arguments short)
  ARGV[3]   events stream cap (approximate MAXLEN)
  ARGV[4]   largest result or error an event carries, in bytes
  ARGV[5]   maxStalls
  ARGV[6]   lease count (0: write only)
  ARGV[7]   owner (supervisor id)
  ARGV[8]   token base, unique per call
  ARGV[9]   lease length, ms
  ARGV[10]  keepCompleted: most records the completed registry keeps (-1: no cap; the oldest go first)
  ARGV[11]  keepFailed: the same for the failed registry
  ARGV[12]  group jobs key prefix, ARGV[13] group rate log key prefix (same slot, like the job prefix)
  ARGV[14]  the prefix of the queue's per-minute metrics hashes (see includes/metrics.lua)
  ARGV[15..] per write 7 values: kind (complete | fail | release | cancel), id, token, payload (result JSON,
            error JSON, or the release reason), ttl ms (the record's own TTL wins), the release mode of
            a release or for a fail the delay before the next try ('' : no retry, the job fails), and
            for a release how long the whole queue holds off (ctx.rateLimit; '' : not at all)
  Returns   { now (0 when the turn had no need to read the clock), writes (6 per write: reply, stalls,
            attempts, name, error JSON, next run time of a retry),
            leases (LEASE_WIDTH per id taken, see includes/lease.lua), next due time or '',
            flow: 1 when the queue is paused, 2 when it has concurrency or rate limits, else 0,
            1 when a job written has dependents to tell (see handoff-read-1.lua), else 0 }
]]
-- @include "now"
-- @include "events"
-- @include "finalize"
-- @include "marker"
-- @include "queued"
-- @include "take"
-- @include "cancel"
-- @include "metrics"
-- @include "writes"
-- @include "delayed"
-- @include "lease"

local WRITE_WIDTH = 7
local fc = flowKeys(1, ARGV[12], ARGV[13])
local q = {
  fc = fc, active = fc.active, completed = KEYS[11], failed = KEYS[12], events = KEYS[13], retrying = KEYS[16],
  canceled = KEYS[17], canceling = KEYS[18], handoff = KEYS[19],
  queue = ARGV[1], cap = ARGV[3], dataCap = tonumber(ARGV[4]), maxStalls = tonumber(ARGV[5]),
  metricsPrefix = ARGV[14], now = #ARGV >= 15 and serverNow() or 0, finished = {}, back = {}, touched = {},
}
local keep = { [q.completed] = tonumber(ARGV[10]), [q.failed] = tonumber(ARGV[11]), [q.canceled] = tonumber(ARGV[11]) }
local written = {}
local holdUntil
for a = 15, #ARGV, WRITE_WIDTH do
  local kind, id, token, payload, ttl = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])
  local key = ARGV[2] .. id
  local reply, stalls, attempts, name, err, at
  if kind == 'release' then
    reply, stalls, attempts, name, err, at = writeRelease(q, key, id, token, payload, ttl, ARGV[a + 5])
    local hold = tonumber(ARGV[a + 6])
    if hold and reply == R.requeued and (not holdUntil or q.now + hold > holdUntil) then holdUntil = q.now + hold end
  elseif kind == 'cancel' then
    reply, stalls, attempts, name, err, at = writeCancel(q, key, id, token, ttl)
  else
    reply, stalls, attempts, name, err, at = writeOutcome(q, key, kind, id, token, payload, ttl, tonumber(ARGV[a + 5]))
  end
  local n = #written
  written[n + 1], written[n + 2], written[n + 3], written[n + 4], written[n + 5], written[n + 6] =
    reply, stalls, attempts, name, err, at
end
if #q.finished > 0 then
  redis.call('ZREM', q.active, unpack(q.finished))
  local freed = redis.call('HEXISTS', fc.control, 'concurrency') == 1
  for _, id in ipairs(q.finished) do
    if leftActive(fc, id) then freed = true end
  end
  -- a slot under a concurrency limit came free: an idle supervisor may take the next job
  if freed and queuedLeft(fc) then wake(fc.marker, 0) end
end
if holdUntil and holdUntil > (tonumber(redis.call('HGET', fc.control, 'holdUntil')) or 0) then
  redis.call('HSET', fc.control, 'holdUntil', holdUntil)
end
-- registries written drop the ids whose records have expired (idle queues: the heartbeat does it),
-- and the oldest records beyond their cap
for registry in pairs(q.touched) do
  redis.call('ZREMRANGEBYSCORE', registry, '-inf', q.now)
  capRegistry(registry, ARGV[2], keep[registry])
end
flushMetrics(q)
if #q.back > 0 then
  -- put back where they were: they are taken before jobs of their priority that came after them
  for _, id in ipairs(q.back) do queueAgain(fc, ARGV[2] .. id, id) end
  wake(fc.marker, 0)
end
-- an idle supervisor learns when the retry is due from its next turn, and sleeps until then
if q.retryAt then wake(fc.marker, q.retryAt) end

local promoted, nextDue = promoteDue(fc, KEYS[14], ARGV[2], 1000)
local retried, nextRetry = promoteDue(fc, KEYS[16], ARGV[2], 1000)
if promoted + retried > 0 then wake(fc.marker, 0) end
if nextRetry and (not nextDue or nextRetry < nextDue) then nextDue = nextRetry end

local count = tonumber(ARGV[6])
local leases = {}
if count > 0 then
  local taken, nextLook = lease(fc, ARGV[2], count, ARGV[7], ARGV[8], tonumber(ARGV[9]), leases, { stream = q.events, cap = q.cap, queue = q.queue })
  settleMarker(fc.marker, taken == count and queuedLeft(fc))
  if nextLook and (not nextDue or nextLook < nextDue) then nextDue = nextLook end
else
  local c = redis.call('HMGET', fc.control, 'paused', 'concurrency', 'rateMax', 'groupConcurrency', 'groupRateMax')
  fc.paused, fc.limited = c[1] ~= false, (c[2] or c[3] or c[4] or c[5]) and true or false
end
local flow = fc.paused and 1 or (fc.limited and 2 or 0)
return { clockNow or 0, written, leases, nextDue or '', flow, q.handedOff and 1 or 0 }
