--[[ Deletes up to `batch` queued jobs without a group, `batch` of groups, and `batch` delayed jobs;
  called until it returns 0 left.
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua)
  KEYS[11] delayed zset
  KEYS[12] the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: job keys are built from it, in this queue's slot (ids are only known here)
  ARGV[2]  batch
  ARGV[3]  group jobs key prefix, ARGV[4] group rate log key prefix (in the queue's slot)
  Returns  { how many jobs were deleted, how many queued and delayed ids are left }
]]
-- @include "queued"

local fc = flowKeys(1, ARGV[3], ARGV[4])
local batch = tonumber(ARGV[2])
local deleted = 0
local function drop(id, status)
  local key = ARGV[1] .. id
  if redis.call('HGET', key, 'status') == status then
    redis.call('DEL', key)
    deleted = deleted + 1
  end
end
local ungrouped = redis.call('ZPOPMIN', fc.wait, batch)
for i = 1, #ungrouped, 2 do drop(ungrouped[i], S.queued) end
if redis.call('ZCARD', fc.wait) == 0 then redis.call('ZREM', fc.ring, UNGROUPED) end
for _, id in ipairs(redis.call('ZRANGE', fc.grouped, 0, batch - 1)) do
  dropQueued(fc, id, redis.call('HGET', ARGV[1] .. id, 'group'))
  redis.call('ZREM', fc.grouped, id)
  drop(id, S.queued)
end
local due = redis.call('ZPOPMIN', KEYS[11], batch)
for i = 1, #due, 2 do drop(due[i], S.delayed) end
return { deleted, redis.call('ZCARD', fc.wait) + redis.call('ZCARD', fc.grouped) + redis.call('ZCARD', KEYS[11]) }
