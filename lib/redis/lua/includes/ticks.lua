-- A recurring schedule's next tick is an ordinary delayed job with the id <schedule id>@<due ms>,
-- made from the schedule's hash (name, data, and the job's stored option fields as a JSON array),
-- and marked with the schedule's id so the supervisor that takes it can plan the tick after.
-- The id makes making a tick idempotent: a tick that exists is never made twice. Job keys are
-- built as jobPrefix .. id; the prefix carries the queue's hash tag.

local function makeTick(schedule, delayed, marker, jobPrefix, scheduleId, at, now)
  local tickId = scheduleId .. '@' .. at
  local key = jobPrefix .. tickId
  if redis.call('EXISTS', key) == 1 then return tickId end
  local f = redis.call('HMGET', schedule, 'name', 'data', 'jobFields')
  local fields = { 'name', f[1], 'data', f[2], 'status', S.delayed, 'attempts', 0, 'createdAt', now, 'runAt', at,
    'schedule', scheduleId }
  for _, value in ipairs(cjson.decode(f[3])) do fields[#fields + 1] = value end
  redis.call('HSET', key, unpack(fields))
  redis.call('ZADD', delayed, at, tickId)
  wake(marker, at)
  return tickId
end

-- The due time a tick's id carries.
local function tickDue(tickId)
  return tonumber(string.match(tickId, '@(%d+)$'))
end

-- A tick not due yet is deleted; one that is due (queued, active or finished) runs its course.
local function dropTick(delayed, jobPrefix, tickId)
  local key = jobPrefix .. tickId
  if redis.call('HGET', key, 'status') == S.delayed then
    redis.call('ZREM', delayed, tickId)
    redis.call('DEL', key)
  end
end
