-- The queue's wake-up marker: a sorted set with one member whose score says when work may next be
-- runnable (0: now). Idle supervisors block on it (BZPOPMIN), not on the data, so a queue whose jobs
-- exist but may not run yet neither spins nor sleeps past the moment one may.
local MARKER_MEMBER = 'next'

-- Someone made work runnable at `at` (0: now): wake one idle supervisor.
local function wake(marker, at)
  redis.call('ZADD', marker, 'LT', at, MARKER_MEMBER)
end

-- After a lease: keep the marker only while runnable work is left, so nobody wakes for nothing.
local function settleMarker(marker, workLeft)
  if workLeft then
    redis.call('ZADD', marker, 'LT', 0, MARKER_MEMBER)
  else
    redis.call('ZREM', marker, MARKER_MEMBER)
  end
end
