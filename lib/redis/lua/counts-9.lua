--[[ How many jobs a queue holds in each status, read in one step.
  KEYS[1]  wait zset (queued jobs without a group)
  KEYS[2]  grouped zset (queued jobs of every group)
  KEYS[3]  active zset
  KEYS[4]  delayed zset
  KEYS[5]  retrying zset
  KEYS[6]  deferred zset
  KEYS[7]  completed zset (score: when the record expires)
  KEYS[8]  failed zset (same)
  KEYS[9]  canceled zset (same)
  Returns  { queued, active, delayed, retrying, deferred, completed, failed, canceled } (the order of
           states.ts LISTED_STATUSES); the finished registries count only records that have not
           expired (their ids linger until the next trim)
]]
-- @include "now"

local now = serverNow()
local out = { redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) }
for k = 3, 6 do out[#out + 1] = redis.call('ZCARD', KEYS[k]) end
for k = 7, 9 do out[#out + 1] = redis.call('ZCOUNT', KEYS[k], '(' .. now, '+inf') end
return out
