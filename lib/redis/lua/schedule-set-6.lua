--[[ Creates or replaces a recurring schedule, and its first tick, in one step: the tick a replaced
  schedule had pending is deleted (unless already taken), so however many processes call this at
  once, one pending tick is left, the last caller's.
  KEYS[1]  the queue's set of schedule ids
  KEYS[2]  the schedule's hash
  KEYS[3]  delayed zset
  KEYS[4]  wait list
  KEYS[5]  wake-up marker zset
  KEYS[6]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: tick keys are built from it, in this queue's slot
  ARGV[2]  schedule id
  ARGV[3]  spec (JSON)
  ARGV[4]  job name
  ARGV[5]  job data (JSON)
  ARGV[6]  the job's stored option fields, a JSON array of field, value, ...
  ARGV[7]  due time of the first tick (epoch ms; '' : none, the schedule has already ended)
  ARGV[8]  limit: most ticks ('' : none)
  Returns  the pending tick's id ('' : none)
]]
-- @include "now"
-- @include "marker"
-- @include "ticks"

local now = serverNow()
local old = redis.call('HGET', KEYS[2], 'pending')
if old and old ~= '' then dropTick(KEYS[3], KEYS[4], ARGV[1], old) end
redis.call('DEL', KEYS[2])
local firstAt = tonumber(ARGV[7])
redis.call('HSET', KEYS[2], 'spec', ARGV[3], 'name', ARGV[4], 'data', ARGV[5], 'jobFields', ARGV[6], 'limit', ARGV[8],
  'count', 0, 'createdAt', now, 'pending', '', 'nextRunAt', '')
redis.call('SADD', KEYS[1], ARGV[2])
if not firstAt then return '' end
local tickId = makeTick(KEYS[2], KEYS[3], KEYS[5], ARGV[1], ARGV[2], firstAt, now)
redis.call('HSET', KEYS[2], 'pending', tickId, 'nextRunAt', firstAt)
return tickId
