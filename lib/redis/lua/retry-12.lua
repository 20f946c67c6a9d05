--[[ Puts failed jobs back to queued: their tries start over (attempts, failed tries and stalls 0),
  their errors are kept, the record no longer expires, and they are queued after the jobs of their
  priority queued before them.
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua)
  KEYS[11] failed zset (score: when the record expires)
  KEYS[12] the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: job keys are built from it, in this queue's slot (ids are only known here)
  ARGV[2]  with no ids: the most failed jobs to take from the registry (soonest to expire first)
  ARGV[3]  the caller's token for the ids given ('' : none): a call repeated after a lost reply
           finds its own mark and answers as the first call did
  ARGV[4]  group jobs key prefix, ARGV[5] group rate log key prefix (in the queue's slot)
  ARGV[6..] ids to retry
  Returns  { how many were put back, how many registry entries were looked at, then per id given:
           the status it had ('' : no record) }
]]
-- @include "now"
-- @include "marker"
-- @include "queued"

local fc = flowKeys(1, ARGV[4], ARGV[5])
local failed = KEYS[11]
local ids = {}
for i = 6, #ARGV do ids[#ids + 1] = ARGV[i] end
local explicit = #ids > 0
if not explicit then
  -- ids of expired records would otherwise fill the front of the registry
  redis.call('ZREMRANGEBYSCORE', failed, '-inf', serverNow())
  ids = redis.call('ZRANGE', failed, 0, tonumber(ARGV[2]) - 1)
end

local out, ready = { 0, #ids }, 0
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local f = redis.call('HMGET', key, 'status', 'retryToken')
  local status = f[1]
  if status == S.failed then
    -- PERSIST first: a user refused it (an ACL without the admin's rules) is refused before anything changed
    redis.call('PERSIST', key)
    redis.call('HSET', key, 'status', S.queued, 'attempts', 0, 'tries', 0, 'stalls', 0)
    if ARGV[3] ~= '' then redis.call('HSET', key, 'retryToken', ARGV[3]) end
    redis.call('HDEL', key, 'finishedAt', 'startedAt', 'token', 'owner', 'releasedBy', 'retriedBy', 'runAt')
    queueNew(fc, key, id)
    ready = ready + 1
  elseif status and ARGV[3] ~= '' and f[2] == ARGV[3] then
    status = S.failed -- this very call's retry, repeated: it was failed when the call first ran
  end
  -- an id whose record is no longer failed (or gone) does not belong in the registry either
  if not explicit or status == S.failed or not status then redis.call('ZREM', failed, id) end
  if explicit then out[#out + 1] = status or '' end
end
if ready > 0 then wake(fc.marker, 0) end
out[1] = ready
return out
