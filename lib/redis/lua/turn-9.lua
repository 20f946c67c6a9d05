--[[ One turn of a supervisor on one queue, in one round trip: record what became of finished runs
  (complete, fail, release), make due delayed and retrying jobs runnable, then lease up to `count` jobs.
  KEYS[1]   wait list (ids ready to run; pushed on the left, taken from the right)
  KEYS[2]   active zset (score: lease deadline, ms)
  KEYS[3]   completed zset (score: when the record expires)
  KEYS[4]   failed zset (same)
  KEYS[5]   events stream
  KEYS[6]   wake-up marker zset
  KEYS[7]   delayed zset (score: due time)
  KEYS[8]   the queue's guard key, never written (see keys.ts: waits out a slot migration)
  KEYS[9]   retrying zset (score: when the next try is due)
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
  ARGV[12..] per write 6 values: kind (complete | fail | release), id, token, payload (result JSON,
            error JSON, or the release reason), ttl ms (the record's own TTL wins), and the release
            mode of a release, or for a fail the delay before the next try ('' : no retry, the job fails)
  Returns   { now (0 when the turn had no need to read the clock), writes (6 per write: reply, stalls,
            attempts, name, error JSON, next run time of a retry),
            leases (LEASE_WIDTH per id taken, see includes/lease.lua), next due time or '' }
]]
-- @include "now"
-- @include "events"
-- @include "finalize"
-- @include "marker"
-- @include "writes"
-- @include "delayed"
-- @include "lease"

local WRITE_WIDTH = 6
local q = {
  wait = KEYS[1], active = KEYS[2], completed = KEYS[3], failed = KEYS[4], events = KEYS[5], retrying = KEYS[9],
  queue = ARGV[1], cap = ARGV[3], dataCap = tonumber(ARGV[4]), maxStalls = tonumber(ARGV[5]),
  now = #ARGV >= 12 and serverNow() or 0, finished = {}, back = {}, touched = {},
}
local keep = { [KEYS[3]] = tonumber(ARGV[10]), [KEYS[4]] = tonumber(ARGV[11]) }
local written = {}
for a = 12, #ARGV, WRITE_WIDTH do
  local kind, id, token, payload, ttl = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], tonumber(ARGV[a + 4])
  local key = ARGV[2] .. id
  local reply, stalls, attempts, name, err, at
  if kind == 'release' then
    reply, stalls, attempts, name, err, at = writeRelease(q, key, id, token, payload, ttl, ARGV[a + 5])
  else
    reply, stalls, attempts, name, err, at = writeOutcome(q, key, kind, id, token, payload, ttl, tonumber(ARGV[a + 5]))
  end
  local n = #written
  written[n + 1], written[n + 2], written[n + 3], written[n + 4], written[n + 5], written[n + 6] =
    reply, stalls, attempts, name, err, at
end
if #q.finished > 0 then redis.call('ZREM', q.active, unpack(q.finished)) end
-- registries written drop the ids whose records have expired (idle queues: the heartbeat does it),
-- and the oldest records beyond their cap
for registry in pairs(q.touched) do
  redis.call('ZREMRANGEBYSCORE', registry, '-inf', q.now)
  capRegistry(registry, ARGV[2], keep[registry])
end
if #q.back > 0 then
  -- put back at the front: they are taken next
  redis.call('RPUSH', q.wait, unpack(q.back))
  wake(KEYS[6], 0)
end
-- an idle supervisor learns when the retry is due from its next turn, and sleeps until then
if q.retryAt then wake(KEYS[6], q.retryAt) end

local promoted, nextDue = promoteDue(KEYS[7], KEYS[1], ARGV[2], 1000)
local retried, nextRetry = promoteDue(KEYS[9], KEYS[1], ARGV[2], 1000)
if promoted + retried > 0 then wake(KEYS[6], 0) end
if nextRetry and (not nextDue or nextRetry < nextDue) then nextDue = nextRetry end

local count = tonumber(ARGV[6])
local leases = {}
if count > 0 then
  local taken = lease(KEYS[1], KEYS[2], ARGV[2], count, ARGV[7], ARGV[8], tonumber(ARGV[9]), leases)
  settleMarker(KEYS[6], taken == count and redis.call('LLEN', KEYS[1]) > 0)
end
return { clockNow or 0, written, leases, nextDue or '' }
