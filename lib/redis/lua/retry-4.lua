--[[ Puts failed jobs back to queued: their tries start over (attempts, failed tries and stalls 0),
  their errors are kept, the record no longer expires, and they join the wait list as the newest.
  KEYS[1]  failed zset (score: when the record expires)
  KEYS[2]  wait list
  KEYS[3]  wake-up marker zset
  KEYS[4]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: job keys are built from it, in this queue's slot (ids are only known here)
  ARGV[2]  with no ids: the most failed jobs to take from the registry (soonest to expire first)
  ARGV[3]  the caller's token for the ids given ('' : none): a call repeated after a lost reply
           finds its own mark and answers as the first call did
  ARGV[4..] ids to retry
  Returns  { how many were put back, how many registry entries were looked at, then per id given:
           the status it had ('' : no record) }
]]
-- @include "now"
-- @include "marker"

local ids = {}
for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end
local explicit = #ids > 0
if not explicit then
  -- ids of expired records would otherwise fill the front of the registry
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', serverNow())
  ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
end

local out, ready = { 0, #ids }, {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local f = redis.call('HMGET', key, 'status', 'retryToken')
  local status = f[1]
  if status == S.failed then
    redis.call('HSET', key, 'status', S.queued, 'attempts', 0, 'tries', 0, 'stalls', 0)
    if ARGV[3] ~= '' then redis.call('HSET', key, 'retryToken', ARGV[3]) end
    redis.call('HDEL', key, 'finishedAt', 'startedAt', 'token', 'owner', 'releasedBy', 'retriedBy', 'runAt')
    redis.call('PERSIST', key)
    ready[#ready + 1] = id
  elseif status and ARGV[3] ~= '' and f[2] == ARGV[3] then
    status = S.failed -- this very call's retry, repeated: it was failed when the call first ran
  end
  -- an id whose record is no longer failed (or gone) does not belong in the registry either
  if not explicit or status == S.failed or not status then redis.call('ZREM', KEYS[1], id) end
  if explicit then out[#out + 1] = status or '' end
end
if #ready > 0 then
  redis.call('LPUSH', KEYS[2], unpack(ready))
  wake(KEYS[3], 0)
end
out[1] = #ready
return out
