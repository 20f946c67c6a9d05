-- The queue's queued jobs and the rules for taking them, for every script that makes a job queued,
-- takes one out, or leases. A queued job sits in a sorted set scored by its rank: priority * 2^33
-- plus its place in arrival order (seq), so lower priorities go first and equal ones in order. Jobs
-- without a group are in the wait set; a group's jobs in the group's own set, and in the grouped
-- index that counts and listings read. Groups take turns: the ring holds, scored by turn, each
-- group with jobs that may be taken now ('' stands for the jobs without a group); a group its
-- limits hold back is parked instead, scored by when it may go again (+inf: when one of its
-- running jobs ends). Limits live in the control hash (see flow-12.lua). Group keys are built
-- from prefixes that carry the queue's hash tag, so they are in the slot of the declared keys.

local SEQ_SPAN = 8589934592 -- 2^33: ranks stay exact integers in a double for priorities up to 1,000,000
local UNGROUPED = ''
local FLOW_KEY_COUNT = 10

-- The flow keys, declared by each script from KEYS[first] on in the order of keys.ts `flow`.
local function flowKeys(first, groupJobsPrefix, groupRatePrefix)
  return {
    wait = KEYS[first], grouped = KEYS[first + 1], ring = KEYS[first + 2], parked = KEYS[first + 3],
    groupOf = KEYS[first + 4], running = KEYS[first + 5], control = KEYS[first + 6], rate = KEYS[first + 7],
    marker = KEYS[first + 8], active = KEYS[first + 9], jobsOf = groupJobsPrefix, rateOf = groupRatePrefix, inRing = {},
  }
end

-- The next place in arrival order. Places are reserved in blocks of fc.seqBlock (a script that
-- queues many jobs sets it), one HINCRBY per block: unused places leave gaps, which order ignores.
local function nextSeq(fc)
  if not fc.seqNext or fc.seqNext > fc.seqLast then
    local block = fc.seqBlock or 1
    local last = redis.call('HINCRBY', fc.control, 'seq', block)
    if last >= SEQ_SPAN then
      redis.call('HSET', fc.control, 'seq', block)
      last = block
    end
    fc.seqNext, fc.seqLast = last - block + 1, last
  end
  local seq = fc.seqNext
  fc.seqNext = seq + 1
  return seq
end

-- A group with jobs joins the end of the ring, unless it is in it already or parked.
local function joinRing(fc, group)
  if fc.inRing[group] then return end
  fc.inRing[group] = true
  if redis.call('ZSCORE', fc.ring, group) or redis.call('ZSCORE', fc.parked, group) then return end
  local last = redis.call('ZRANGE', fc.ring, -1, -1, 'WITHSCORES')
  redis.call('ZADD', fc.ring, (tonumber(last[2]) or 0) + 1, group)
end

-- Puts a job among the queued at place `seq` of its priority; the caller sets its status.
local function placeQueued(fc, id, priority, group, seq)
  local rank = (tonumber(priority) or 0) * SEQ_SPAN + seq
  if group and group ~= UNGROUPED then
    redis.call('ZADD', fc.jobsOf .. group, rank, id)
    redis.call('ZADD', fc.grouped, rank, id)
    joinRing(fc, group)
  else
    redis.call('ZADD', fc.wait, rank, id)
    joinRing(fc, UNGROUPED)
  end
end

-- A job that becomes runnable now (due, retried): after every queued job of its priority.
local function queueNew(fc, key, id)
  local f = redis.call('HMGET', key, 'priority', 'group')
  local seq = nextSeq(fc)
  redis.call('HSET', key, 'seq', seq)
  placeQueued(fc, id, f[1], f[2], seq)
end

-- A job put back without fault: it keeps the place it had.
local function queueAgain(fc, key, id)
  local f = redis.call('HMGET', key, 'priority', 'group', 'seq')
  placeQueued(fc, id, f[1], f[2], tonumber(f[3]) or nextSeq(fc))
end

-- Takes a queued job out (removed, drained); a group left empty leaves the ring.
local function dropQueued(fc, id, group)
  local jobs = fc.wait
  if group and group ~= UNGROUPED then
    jobs = fc.jobsOf .. group
    redis.call('ZREM', fc.grouped, id)
  end
  redis.call('ZREM', jobs, id)
  if redis.call('ZCARD', jobs) == 0 then redis.call('ZREM', fc.ring, group or UNGROUPED) end
end

-- A job left the active set (finished, put back, or its record deleted): its group's share is
-- given back, and a group parked until one of its jobs ended may go again.
local function leftActive(fc, id)
  -- running jobs are tracked per group only under a group concurrency limit: most queues skip this
  if fc.tracking == nil then fc.tracking = redis.call('EXISTS', fc.groupOf) == 1 end
  if not fc.tracking then return false end
  local group = redis.call('HGET', fc.groupOf, id)
  if not group then return false end
  redis.call('HDEL', fc.groupOf, id)
  if redis.call('HINCRBY', fc.running, group, -1) <= 0 then redis.call('HDEL', fc.running, group) end
  if redis.call('ZSCORE', fc.parked, group) == 'inf' then
    redis.call('ZREM', fc.parked, group)
    if redis.call('ZCARD', fc.jobsOf .. group) > 0 then
      joinRing(fc, group)
      return true
    end
  end
  return false
end

-- Whether any queued job may be taken now (by the ring; limits aside).
local function queuedLeft(fc)
  return redis.call('ZCARD', fc.ring) > 0
end
