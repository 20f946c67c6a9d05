--[[ How many jobs a queue holds in each status, read in one step.
  KEYS[1]  wait zset (queued jobs without a group)
  KEYS[2]  grouped zset (queued jobs of every group)
  KEYS[3]  active zset
  KEYS[4]  delayed zset
  KEYS[5]  retrying zset
  KEYS[6]  completed zset (score: when the record expires)
  KEYS[7]  failed zset (same)
  KEYS[8]  canceled zset (same)
  Returns  { queued, active, delayed, retrying, completed, failed, canceled }; the finished registries count
           only records that have not expired (their ids linger until the next trim)
]]
-- @include "now"

local now = serverNow()
return {
  redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]),
  redis.call('ZCARD', KEYS[5]), redis.call('ZCOUNT', KEYS[6], '(' .. now, '+inf'), redis.call('ZCOUNT', KEYS[7], '(' .. now, '+inf'),
  redis.call('ZCOUNT', KEYS[8], '(' .. now, '+inf'),
}
