--[[ Every dependent of these finished jobs has their outcome: they leave the handoff set, and
  their records get the TTL they finished with (0: deleted now, with their log and deps keys). A
  job that is no longer finished (queue.retry ran first) only leaves the set: its dependents stay
  linked and hear of it when it finishes again.
  KEYS[1]  handoff zset
  KEYS[2]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix, ARGV[2] what a job key is followed by to name its dependents set
  ARGV[3..] job ids
  Returns  how many left the set
]]
local done = 0
for a = 3, #ARGV do
  local id = ARGV[a]
  local key = ARGV[1] .. id
  done = done + redis.call('ZREM', KEYS[1], id)
  local f = redis.call('HMGET', key, 'ttlAfterHandoff', 'logsKey', 'depsKey', 'status')
  local finished = f[4] == S.completed or f[4] == S.failed or f[4] == S.canceled
  if finished or not f[4] then redis.call('DEL', key .. ARGV[2]) end
  local ttl = tonumber(f[1])
  if ttl and finished then
    redis.call('HDEL', key, 'ttlAfterHandoff', 'dependents')
    for _, k in ipairs({ key, f[2], f[3] }) do
      if k then
        if ttl > 0 then redis.call('PEXPIRE', k, ttl) else redis.call('DEL', k) end
      end
    end
  end
end
return done
