--[[ A supervisor says it serves a queue (each heartbeat), or that it stopped.
  KEYS[1] the queue's workers zset (supervisor id -> when this expires)
  ARGV[1] supervisor id, ARGV[2] how long it stands, ms ('' : it leaves now)
  Returns 1
]]
-- @include "now"

local now = serverNow()
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
  -- a queue nobody serves any more loses the set
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return 1
