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
  local ttl = tonumber(ARGV[2])
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  -- a queue nobody serves any more loses the set; one supervisor's short TTL never cuts another's longer one
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return 1
