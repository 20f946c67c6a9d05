--[[ How many jobs a queue holds in each status, read in one step.
  KEYS[1]  wait list
  KEYS[2]  active zset
  KEYS[3]  delayed zset
  KEYS[4]  retrying zset
  KEYS[5]  completed zset (score: when the record expires)
  KEYS[6]  failed zset (same)
  Returns  { queued, active, delayed, retrying, completed, failed }; the finished registries count
           only records that have not expired (their ids linger until the next trim)
]]
-- @include "now"

local now = serverNow()
return {
  redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]),
  redis.call('ZCOUNT', KEYS[5], '(' .. now, '+inf'), redis.call('ZCOUNT', KEYS[6], '(' .. now, '+inf'),
}
