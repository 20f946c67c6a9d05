-- Jobs that wait for a due time sit in a set scored by it: the delayed set, or the retrying set.
-- Makes due jobs runnable (soonest first, at most `limit`); returns how many, and when the next
-- job still waiting is due (nil: none). A due id whose record is gone is dropped. Job keys are
-- built as jobPrefix .. id (the ids are only known here); the prefix carries the queue's hash tag,
-- so they are in the slot of the declared keys. Needs queued.lua included before it.
local function promoteDue(fc, delayed, jobPrefix, limit)
  local first = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  if not first[2] then return 0, nil end
  local now = serverNow()
  if tonumber(first[2]) > now then return 0, tonumber(first[2]) end
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
  local ready = 0
  for _, id in ipairs(due) do
    local key = jobPrefix .. id
    local status = redis.call('HGET', key, 'status')
    if status == S.delayed or status == S.retrying then
      redis.call('HSET', key, 'status', S.queued)
      queueNew(fc, key, id)
      ready = ready + 1
    end
  end
  redis.call('ZREM', delayed, unpack(due))
  local after = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
  return ready, tonumber(after[2])
end
