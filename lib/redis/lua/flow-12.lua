--[[ Changes a queue's flow controls (pause, rate limit, concurrency, group limits) in one step.
  Every supervisor reads them from the control hash at each lease, so a change holds from the next
  lease on, everywhere. Parked groups rejoin the ring to be judged by the new limits, and an idle
  supervisor is woken to look (a resume, a raised limit).
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua)
  KEYS[11] events stream
  KEYS[12] the queue's guard key, never written (see keys.ts: waits out a slot migration; group keys are built here)
  ARGV[1]  queue name
  ARGV[2]  events stream cap (approximate MAXLEN)
  ARGV[3]  group jobs key prefix, ARGV[4] group rate log key prefix (in the queue's slot)
  ARGV[5..] control field / value pairs; an empty value deletes the field
  Returns  1
]]
-- @include "now"
-- @include "events"
-- @include "marker"
-- @include "queued"

local fc = flowKeys(1, ARGV[3], ARGV[4])
local wasPaused = redis.call('HEXISTS', fc.control, 'paused') == 1
for i = 5, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', fc.control, ARGV[i])
  else
    redis.call('HSET', fc.control, ARGV[i], ARGV[i + 1])
  end
end
local paused = redis.call('HEXISTS', fc.control, 'paused') == 1
if paused ~= wasPaused then
  local data = cjson.encode({ queue = ARGV[1], at = serverNow() })
  emit(KEYS[11], ARGV[2], paused and E.paused or E.resumed, '', data)
end
for _, group in ipairs(redis.call('ZRANGE', fc.parked, 0, -1)) do
  redis.call('ZREM', fc.parked, group)
  if redis.call('ZCARD', fc.jobsOf .. group) > 0 then joinRing(fc, group) end
end
if not paused and queuedLeft(fc) then wake(fc.marker, 0) end
return 1
