--[[ Create jobs: queued, or delayed until a due time. Idempotent per job id: an id that already has
  a record is left alone, so an enqueue resent after a network error never makes a second job.
  KEYS[1]   wait list
  KEYS[2]   wake-up marker zset
  KEYS[3]   delayed zset (score: due time)
  KEYS[4..] one job hash per job, in the order of the ARGV groups
  ARGV      per job: id, name, data (JSON), runAt (epoch ms, or ''), delayMs (from server time, or ''),
            n, then n option field/value pairs; with neither runAt nor delayMs the job is runnable now
  Returns   the number of jobs created
]]
-- @include "now"
-- @include "marker"

local now = serverNow()
local created, ready, delayed = 0, {}, {}
local soonest
local a = 1
for k = 4, #KEYS do
  local id, n = ARGV[a], tonumber(ARGV[a + 5])
  local delay = tonumber(ARGV[a + 4])
  local runAt = tonumber(ARGV[a + 3]) or (delay and now + delay)
  if redis.call('EXISTS', KEYS[k]) == 0 then
    local later = runAt ~= nil and runAt > now or false
    local fields = { 'name', ARGV[a + 1], 'data', ARGV[a + 2], 'status', later and S.delayed or S.queued, 'attempts', '0', 'createdAt', now }
    for j = a + 6, a + 5 + 2 * n do
      fields[#fields + 1] = ARGV[j]
    end
    if later then
      fields[#fields + 1] = 'runAt'
      fields[#fields + 1] = runAt
      delayed[#delayed + 1] = runAt
      delayed[#delayed + 1] = id
      if not soonest or runAt < soonest then soonest = runAt end
    else
      ready[#ready + 1] = id
    end
    redis.call('HSET', KEYS[k], unpack(fields))
    created = created + 1
  end
  a = a + 6 + 2 * n
end
if #ready > 0 then
  redis.call('LPUSH', KEYS[1], unpack(ready))
  wake(KEYS[2], 0)
end
if #delayed > 0 then
  redis.call('ZADD', KEYS[3], unpack(delayed))
  -- wakes one idle supervisor, which learns the due time from its next turn and sleeps until then
  wake(KEYS[2], soonest)
end
return created
