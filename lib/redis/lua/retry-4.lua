--[[ Puts failed jobs back to queued: their tries start over (attempts and stalls 0), their errors
  are kept, the record no longer expires, and they join the wait list as the newest jobs.
  KEYS[1]  failed zset
  KEYS[2]  wait list
  KEYS[3]  wake-up marker zset
  KEYS[4]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: job keys are built from it, in this queue's slot (ids are only known here)
  ARGV[2]  with no ids: the most failed jobs to take from the registry (oldest first)
  ARGV[3..] ids to retry
  Returns  { how many were put back, then per id given: the status it had ('' : no record) }
]]
-- @include "marker"

local ids = {}
for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end
local explicit = #ids > 0
if not explicit then ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1) end

local out, ready = { 0 }, {}
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id
  local status = redis.call('HGET', key, 'status')
  if status == S.failed then
    redis.call('HSET', key, 'status', S.queued, 'attempts', 0, 'stalls', 0)
    redis.call('HDEL', key, 'finishedAt', 'startedAt', 'token', 'owner', 'releasedBy', 'runAt')
    redis.call('PERSIST', key)
    ready[#ready + 1] = id
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
