--[[ Deletes up to `batch` queued and up to `batch` delayed jobs; called until it returns 0.
  KEYS[1]  wait list
  KEYS[2]  delayed zset
  KEYS[3]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: job keys are built from it, in this queue's slot (ids are only known here)
  ARGV[2]  batch
  Returns  { how many jobs were deleted, how many ids are left in the list and the set }
]]

local batch = tonumber(ARGV[2])
local deleted = 0
local function drop(ids, status)
  for _, id in ipairs(ids) do
    local key = ARGV[1] .. id
    if redis.call('HGET', key, 'status') == status then
      redis.call('DEL', key)
      deleted = deleted + 1
    end
  end
end
drop(redis.call('RPOP', KEYS[1], batch) or {}, S.queued)
local due = redis.call('ZPOPMIN', KEYS[2], batch)
local ids = {}
for i = 1, #due, 2 do ids[#ids + 1] = due[i] end
drop(ids, S.delayed)
return { deleted, redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) }
