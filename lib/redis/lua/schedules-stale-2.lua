--[[ Schedules whose pending tick is gone (deleted by hand, drained) or was taken without the
  schedule being moved on (its supervisor died in between): the heartbeat moves them on.
  KEYS[1]  the queue's set of schedule ids
  KEYS[2]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix
  ARGV[2]  schedule key prefix: schedule keys are built from it as prefix .. id, in this queue's slot
  Returns  flat groups of 5: schedule id, pending tick id, spec (JSON), anchor ('' : none), the
           pending tick's status ('' : gone)
]]

local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local f = redis.call('HMGET', ARGV[2] .. id, 'pending', 'spec', 'anchor')
  if not f[2] then
    redis.call('SREM', KEYS[1], id)
  elseif f[1] and f[1] ~= '' then
    local status = redis.call('HGET', ARGV[1] .. f[1], 'status')
    if status ~= S.delayed and status ~= S.queued and status ~= S.active then
      local n = #out
      out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = id, f[1], f[2], f[3] or '', status or ''
    end
  end
end
return out
