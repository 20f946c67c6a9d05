--[[ Removes a schedule and its pending tick (unless already due).
  KEYS[1]  the queue's set of schedule ids
  KEYS[2]  the schedule's hash
  KEYS[3]  delayed zset
  KEYS[4]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: tick keys are built from it, in this queue's slot
  ARGV[2]  schedule id
  Returns  1 when there was such a schedule
]]
-- @include "ticks"

local pending = redis.call('HGET', KEYS[2], 'pending')
if pending and pending ~= '' then dropTick(KEYS[3], ARGV[1], pending) end
local existed = redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[1], ARGV[2])
return existed
