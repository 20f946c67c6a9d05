-- Taking queued jobs as the queue's order and limits allow (see queued.lua, included before this):
-- groups in turn, each within its own limits, all within the queue's pause, hold, concurrency and
-- rate limit. Kept apart from queued.lua so that scripts which only add jobs (a producer's) do not
-- carry, and need no ACL grant for, the commands that take them.

-- When a group may be taken from again: nil (now), a time, or '+inf' (when a running job ends).
local function groupReopen(fc, group, limits, now)
  if limits.concurrency and (tonumber(redis.call('HGET', fc.running, group)) or 0) >= limits.concurrency then
    return '+inf'
  end
  if limits.rateMax then
    local log = fc.rateOf .. group
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - limits.rateMs)
    if redis.call('ZCARD', log) >= limits.rateMax then
      return tonumber(redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')[2]) + limits.rateMs
    end
  end
  return nil
end

-- Parked groups whose time has come rejoin the ring.
local function unparkDue(fc, now)
  for _, group in ipairs(redis.call('ZRANGEBYSCORE', fc.parked, '-inf', now, 'LIMIT', 0, 1000)) do
    redis.call('ZREM', fc.parked, group)
    if redis.call('ZCARD', fc.jobsOf .. group) > 0 then joinRing(fc, group) end
  end
end

-- One group's turn: one job, unless its limits park it. Appends to ids; returns whether the
-- group keeps its place in the ring (false: parked, or found empty and taken out).
local function groupTurn(fc, group, limits, now, tokenBase, ids)
  local reopen = groupReopen(fc, group, limits, now)
  if reopen then
    redis.call('ZREM', fc.ring, group)
    redis.call('ZADD', fc.parked, reopen, group)
    return false
  end
  local id = redis.call('ZPOPMIN', fc.jobsOf .. group)[1]
  if not id then
    redis.call('ZREM', fc.ring, group)
    return false
  end
  ids[#ids + 1] = id
  redis.call('ZREM', fc.grouped, id)
  -- counted only under a concurrency limit: a limit set later counts the jobs leased from then on
  if limits.concurrency then
    redis.call('HSET', fc.groupOf, id, group)
    fc.tracking = true
    redis.call('HINCRBY', fc.running, group, 1)
  end
  if limits.rateMax then
    redis.call('ZADD', fc.rateOf .. group, now, tokenBase .. '.' .. #ids)
    redis.call('PEXPIRE', fc.rateOf .. group, limits.rateMs)
  end
  return true
end

-- The jobs without a group: n of them (all that are asked for when alone in the ring). Returns
-- whether any may be left.
local function ungroupedTurn(fc, n, ids)
  local popped = redis.call('ZPOPMIN', fc.wait, n)
  for i = 1, #popped, 2 do ids[#ids + 1] = popped[i] end
  if #popped < 2 * n then
    redis.call('ZREM', fc.ring, UNGROUPED)
    return false
  end
  return true
end

-- Takes up to `allowed` ids, a pass over the ring at a time: each group at the head gets one turn
-- and moves to the end. A group emptied by its turn stays in the ring until its next turn finds
-- it empty (one wasted turn instead of a ZCARD on every take).
local function takeInTurns(fc, allowed, limits, now, tokenBase, ids)
  local turn = tonumber(redis.call('ZRANGE', fc.ring, -1, -1, 'WITHSCORES')[2]) or 0
  while #ids < allowed do
    local heads = redis.call('ZRANGE', fc.ring, 0, allowed - #ids - 1)
    if #heads == 0 then break end
    local alone = #heads == 1 and redis.call('ZCARD', fc.ring) == 1
    local rotated = {}
    for _, group in ipairs(heads) do
      local kept
      if group == UNGROUPED then
        kept = ungroupedTurn(fc, alone and allowed - #ids or 1, ids)
      else
        kept = groupTurn(fc, group, limits, now, tokenBase, ids)
      end
      if kept then
        turn = turn + 1
        rotated[#rotated + 1] = turn
        rotated[#rotated + 1] = group
      end
    end
    if #rotated > 0 then redis.call('ZADD', fc.ring, 'XX', unpack(rotated)) end
  end
end

-- What the queue's limits allow a lease to take: the ids taken (at most `count`), and when to look
-- again if limits held jobs back (nil: when a finished job or a resume wakes the marker). Sets
-- fc.paused, and fc.limited when the queue has a concurrency or rate limit (supervisors then lease
-- only for free threads, so a job counted as started does start).
local function takeQueued(fc, count, now, tokenBase)
  fc.inRing = {}
  local c = redis.call('HMGET', fc.control, 'paused', 'holdUntil', 'concurrency', 'rateMax', 'rateMs',
    'groupConcurrency', 'groupRateMax', 'groupRateMs')
  fc.limited = (c[3] or c[4] or c[6] or c[7]) and true or false
  if c[1] then
    fc.paused = true
    return {}, nil
  end
  local hold = tonumber(c[2])
  if hold and hold > now then return {}, hold end
  local allowed = count
  local concurrency = tonumber(c[3])
  if concurrency then allowed = math.min(allowed, concurrency - redis.call('ZCARD', fc.active)) end
  local rateMax, rateMs = tonumber(c[4]), tonumber(c[5])
  if rateMax then
    redis.call('ZREMRANGEBYSCORE', fc.rate, '-inf', now - rateMs)
    local room = rateMax - redis.call('ZCARD', fc.rate)
    if room <= 0 then return {}, tonumber(redis.call('ZRANGE', fc.rate, 0, 0, 'WITHSCORES')[2]) + rateMs end
    allowed = math.min(allowed, room)
  end
  unparkDue(fc, now)
  local ids = {}
  if allowed > 0 then
    local limits = { concurrency = tonumber(c[6]), rateMax = tonumber(c[7]), rateMs = tonumber(c[8]) }
    takeInTurns(fc, allowed, limits, now, tokenBase, ids)
  end
  if rateMax and #ids > 0 then
    local log = {}
    for i = 1, #ids do
      log[#log + 1] = now
      log[#log + 1] = tokenBase .. '.' .. i
    end
    redis.call('ZADD', fc.rate, unpack(log))
    redis.call('PEXPIRE', fc.rate, rateMs)
  end
  local parked = redis.call('ZRANGEBYSCORE', fc.parked, '-inf', '(+inf', 'LIMIT', 0, 1, 'WITHSCORES')
  return ids, tonumber(parked[2])
end
