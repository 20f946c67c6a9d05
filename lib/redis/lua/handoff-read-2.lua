--[[ The finished jobs whose dependents have yet to be told, with what to tell them.
  KEYS[1]  handoff zset
  KEYS[2]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix, ARGV[2] what a job key is followed by to name its dependents set
  ARGV[3]  queue name, ARGV[4] most jobs to return
  Returns  flat, per job: id, status, outcome JSON, n, then n dependent refs
]]
-- @include "deps"

local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[4]) - 1)) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'status', 'result', 'error')
  local refs = redis.call('SMEMBERS', ARGV[1] .. id .. ARGV[2])
  local status = f[1] or ''
  out[#out + 1] = id
  out[#out + 1] = status
  out[#out + 1] = isFinal(status) and outcomeJson(ARGV[3], id, status, f[2], f[3]) or ''
  out[#out + 1] = #refs
  for _, ref in ipairs(refs) do out[#out + 1] = ref end
end
return out
