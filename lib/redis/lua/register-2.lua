--[[ A supervisor's registration, renewed by its heartbeat: it drops out by itself when the beats stop.
  KEYS[1] the registry index (zset: supervisor id -> when its registration expires)
  KEYS[2] the supervisor's registration (a JSON string)
  ARGV[1] supervisor id, ARGV[2] its registration JSON ('' : it leaves now), ARGV[3] how long it stands, ms
  Returns 1
]]
-- @include "now"

local now = serverNow()
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
end
-- ids of supervisors that stopped beating (killed) go from the index too
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return 1
