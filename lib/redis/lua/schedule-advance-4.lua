--[[ Moves a schedule on from its pending tick to the next, if nobody did yet (compare and set on
  the pending tick's id): called by the supervisor that took the tick, or by one that found the
  pending tick gone or finished without having moved the schedule on.
  KEYS[1]  the schedule's hash
  KEYS[2]  delayed zset
  KEYS[3]  wake-up marker zset
  KEYS[4]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: tick keys are built from it, in this queue's slot
  ARGV[2]  schedule id
  ARGV[3]  the pending tick's id as the caller saw it
  ARGV[4]  due time of the tick taken ('' : a repair, no tick was taken)
  ARGV[5]  due time of the next tick ('' : none, the schedule has ended)
  Returns  1 when this call moved the schedule on, 0 when it had been moved on, replaced or removed
]]
-- @include "now"
-- @include "marker"
-- @include "ticks"

local cur = redis.call('HMGET', KEYS[1], 'pending', 'count', 'limit', 'spec')
if not cur[4] or (cur[1] or '') ~= ARGV[3] then return 0 end
local count = tonumber(cur[2]) or 0
if ARGV[4] ~= '' then
  count = count + 1
  redis.call('HSET', KEYS[1], 'count', count, 'lastRunAt', ARGV[4])
end
local limit, nextAt = tonumber(cur[3]), tonumber(ARGV[5])
local pendingDue = ARGV[3] ~= '' and tickDue(ARGV[3])
-- a tick is never planned again at or before the one it follows (a planner's clock may lag)
if nextAt and pendingDue and nextAt <= pendingDue then return 0 end
if not nextAt or (limit and count >= limit) then
  redis.call('HSET', KEYS[1], 'pending', '', 'nextRunAt', '')
  return 1
end
local tickId = makeTick(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], nextAt, serverNow())
redis.call('HSET', KEYS[1], 'pending', tickId, 'nextRunAt', nextAt)
return 1
