--[[ Create jobs: queued, or delayed until a due time. Idempotent per job id: an id that already has
  a record is left alone, so an enqueue resent after a network error never makes a second job.
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua)
  KEYS[11]  delayed zset (score: due time)
  KEYS[12]  the queue's guard key, never written (see keys.ts: waits out a slot migration; group keys are built here)
  KEYS[13..] one job hash per job, in the order of the ARGV groups
  ARGV[1]   group jobs key prefix, ARGV[2] group rate log key prefix (in the queue's slot)
  ARGV[3..] per job: id, name, data (JSON), runAt (epoch ms, or ''), delayMs (from server time, or ''),
            n, then n option field/value pairs (priority and group among them); with neither runAt
            nor delayMs the job is runnable now
  Returns   the number of jobs created
]]
-- @include "now"
-- @include "marker"
-- @include "queued"

local fc = flowKeys(1, ARGV[1], ARGV[2])
local now = serverNow()
local created, ready, delayed = 0, 0, {}
local soonest
local a = 3
for k = 13, #KEYS do
  local id, n = ARGV[a], tonumber(ARGV[a + 5])
  local delay = tonumber(ARGV[a + 4])
  local runAt = tonumber(ARGV[a + 3]) or (delay and now + delay)
  if redis.call('EXISTS', KEYS[k]) == 0 then
    local later = runAt ~= nil and runAt > now or false
    local fields = { 'name', ARGV[a + 1], 'data', ARGV[a + 2], 'status', later and S.delayed or S.queued, 'attempts', '0', 'createdAt', now }
    local priority, group
    for j = a + 6, a + 5 + 2 * n, 2 do
      fields[#fields + 1], fields[#fields + 2] = ARGV[j], ARGV[j + 1]
      if ARGV[j] == 'priority' then priority = ARGV[j + 1] elseif ARGV[j] == 'group' then group = ARGV[j + 1] end
    end
    if later then
      fields[#fields + 1] = 'runAt'
      fields[#fields + 1] = runAt
      delayed[#delayed + 1] = runAt
      delayed[#delayed + 1] = id
      if not soonest or runAt < soonest then soonest = runAt end
    else
      local seq = nextSeq(fc)
      fields[#fields + 1] = 'seq'
      fields[#fields + 1] = seq
      placeQueued(fc, id, priority, group, seq)
      ready = ready + 1
    end
    redis.call('HSET', KEYS[k], unpack(fields))
    created = created + 1
  end
  a = a + 6 + 2 * n
end
if ready > 0 then wake(fc.marker, 0) end
if #delayed > 0 then
  redis.call('ZADD', KEYS[11], unpack(delayed))
  -- wakes one idle supervisor, which learns the due time from its next turn and sleeps until then
  wake(fc.marker, soonest)
end
return created
