--[[ Creates or replaces a recurring schedule, and its first tick, in one step. A call that changes
  nothing (same spec, job, data and options: a deploy calling it from every process) leaves the
  schedule and its pending tick as they are. A replacement deletes the pending tick of the old
  schedule unless it is due already (that one runs, it is the old schedule's past), so however many
  processes call this at once, one tick is pending, the last caller's.
  KEYS[1]  the queue's set of schedule ids
  KEYS[2]  the schedule's hash
  KEYS[3]  delayed zset
  KEYS[4]  wake-up marker zset
  KEYS[5]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: tick keys are built from it, in this queue's slot
  ARGV[2]  schedule id
  ARGV[3]  spec (JSON)
  ARGV[4]  job name
  ARGV[5]  job data (JSON)
  ARGV[6]  the job's stored option fields, a JSON array of field, value, ...
  ARGV[7]  due time of the first tick (epoch ms; '' : none, the schedule has already ended)
  ARGV[8]  limit: most ticks ('' : none)
  ARGV[9]  anchor of an interval schedule without startAt: its first tick ('' : none)
  Returns  { the pending tick's id ('' : none), its due time ('' : none) }
]]
-- @include "now"
-- @include "marker"
-- @include "ticks"

local now = serverNow()
redis.call('SADD', KEYS[1], ARGV[2])
local cur = redis.call('HMGET', KEYS[2], 'spec', 'name', 'data', 'jobFields', 'pending', 'nextRunAt')
if cur[1] == ARGV[3] and cur[2] == ARGV[4] and cur[3] == ARGV[5] and cur[4] == ARGV[6] then
  return { cur[5] or '', cur[6] or '' }
end
local old = cur[5]
if old and old ~= '' then
  local due = tickDue(old)
  if not due or due > now then dropTick(KEYS[3], ARGV[1], old) end
end
redis.call('DEL', KEYS[2])
local firstAt = tonumber(ARGV[7])
redis.call('HSET', KEYS[2], 'spec', ARGV[3], 'name', ARGV[4], 'data', ARGV[5], 'jobFields', ARGV[6], 'limit', ARGV[8],
  'anchor', ARGV[9], 'count', 0, 'createdAt', now, 'pending', '', 'nextRunAt', '')
if not firstAt then return { '', '' } end
local tickId = makeTick(KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2], firstAt, now)
redis.call('HSET', KEYS[2], 'pending', tickId, 'nextRunAt', firstAt)
return { tickId, firstAt }
