--[[ Put runs back to waiting through no fault of their own (their thread was replaced for another
  job's timeout, or the supervisor shut down): the attempt is given back and the job goes to the
  front of the wait list. Refused where the lease token no longer matches.
  KEYS[1]   wait list
  KEYS[2]   active zset
  KEYS[3]   events stream
  KEYS[4..] one job hash per run
  ARGV[1]   events stream cap
  ARGV[2]   reason
  ARGV      then per run 2 values: id, token
  Returns   one 1 (requeued) or 0 (refused) per run
]]
local out = {}
local back = {}
for k = 4, #KEYS do
  local a = 3 + (k - 4) * 2
  local key, id, token = KEYS[k], ARGV[a], ARGV[a + 1]
  local cur = redis.call('HMGET', key, 'token', 'status', 'attempts')
  if cur[1] ~= token or cur[2] ~= 'active' then
    out[#out + 1] = 0
  else
    local attempts = math.max((tonumber(cur[3]) or 1) - 1, 0)
    redis.call('HSET', key, 'status', 'queued', 'attempts', attempts)
    redis.call('HDEL', key, 'token', 'owner', 'startedAt')
    redis.call('HINCRBY', key, 'requeues', 1)
    back[#back + 1] = id
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], '*', 'event', 'requeued', 'jobId', id,
      'reason', ARGV[2])
    out[#out + 1] = 1
  end
end
if #back > 0 then
  redis.call('ZREM', KEYS[2], unpack(back))
  redis.call('RPUSH', KEYS[1], unpack(back))
end
return out
