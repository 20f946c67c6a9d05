-- What became of one run: complete, fail, or release (put back to waiting). Every write presents
-- the run's lease token and finds the job still active: the first final write wins, a late or
-- foreign one is refused. A write repeated after its reply was lost is recognised, never applied
-- twice. `q` holds the queue's keys and settings (see the scripts that include this); ids to take
-- off the active set and to put back on the wait list are gathered in q.finished and q.back, the
-- registries written in q.touched, the soonest retry scheduled in q.retryAt, and q.handedOff set
-- when a finished job has dependents to tell (handoff-read-1.lua). Needs queued.lua,
-- cancel.lua and metrics.lua included before it (q.fc: the flow keys). A job asked to cancel (cancelReason on
-- its record) ends canceled however its run ends, unless it completed: its work is then done.
-- Returns reply, stalls, attempts, name, error JSON ('' unless a release failed the job), and the
-- next run time of a retrying job ('' otherwise).

local ERRORS_KEPT = 10

-- The error of a failed try, kept on the record as error@<n> (n counts failures); the oldest beyond
-- ERRORS_KEPT is dropped.
local function keepError(key, attempt, err, now)
  local n = redis.call('HINCRBY', key, 'failures', 1)
  redis.call('HSET', key, 'error@' .. n, '{"attempt":' .. attempt .. ',"failedAt":' .. now .. ',"error":' .. err .. '}')
  if n > ERRORS_KEPT then redis.call('HDEL', key, 'error@' .. (n - ERRORS_KEPT)) end
end

-- A failed try with tries left: recorded, and the next one scheduled in the delayed set, in one step.
local function scheduleRetry(q, key, id, token, err, attempts, name, retryIn)
  local at = q.now + retryIn
  redis.call('HSET', key, 'status', S.retrying, 'error', err, 'runAt', at, 'retriedBy', token)
  redis.call('HINCRBY', key, 'tries', 1)
  redis.call('HDEL', key, 'token', 'owner', 'startedAt')
  keepError(key, attempts, err, q.now)
  redis.call('ZADD', q.retrying, at, id)
  if not q.retryAt or at < q.retryAt then q.retryAt = at end
  q.finished[#q.finished + 1] = id
  emit(q.events, q.cap, E.retrying, id, retryingData(jobJson(q.queue, id, name, attempts), err, retryIn, at, q.dataCap))
  return R.retrying, 0, attempts, name, '', at
end

local function freshStallError(stalls, maxStalls, mode)
  local why = mode == M.stalled
    and 'its supervisor stopped renewing its lease (killed, or cut off from Redis)'
    or 'it was on a thread that crashed with no known culprit'
  return cjson.encode({ name = 'JobStalledError', code = 'BRK_JOB_STALLED',
    message = 'job stalled ' .. stalls .. ' times, more than maxStalls (' .. maxStalls .. '): ' .. why })
end

-- The run of a job asked to cancel has stopped: the job ends canceled, never retried or put back.
local function cancelRun(q, key, id, name, attempts, ttl, reason, ties)
  q.finished[#q.finished + 1] = id
  if ties.handoff then q.handedOff = true end
  redis.call('ZREM', q.canceling, id)
  local listed, err = endCanceled(key, q.canceled, q.events, q.cap, q.queue, id, name, attempts, ttl, q.now, reason, ties)
  if listed then q.touched[q.canceled] = true end
  return R.canceled, 0, attempts, name, err, ''
end

-- No record: deleted by hand (then the id may still hold a lease), or this run's own earlier
-- write with a TTL of 0 deleted it (then the lease is gone too).
local function writeWithoutRecord(q, id, ttl)
  if redis.call('ZREM', q.active, id) == 0 then return ttl == 0 end
  leftActive(q.fc, id)
  return false
end

-- retryIn: for a fail, the delay before the next try (nil: the job fails for good).
local function writeOutcome(q, key, kind, id, token, payload, ttl, retryIn)
  local completed = kind == 'complete'
  local ttlField = completed and 'resultTtlMs' or 'failedTtlMs'
  local cur = redis.call('HMGET', key, 'token', 'status', 'name', 'attempts', ttlField, 'retriedBy', 'runAt', 'cancelReason',
    'failedTtlMs', 'startedAt', 'createdAt', unpack(TIE_FIELDS))
  local ties = tiesFrom(q.handoff, cur, 12)
  if not cur[1] and not cur[2] and not cur[3] then
    return writeWithoutRecord(q, id, ttl) and R.already or R.gone, 0, 0, '', '', ''
  end
  local attempts = tonumber(cur[4]) or 0
  if cur[1] == token and (cur[2] == S.completed or cur[2] == S.failed) then
    return R.already, 0, attempts, cur[3] or '', '', ''
  end
  if cur[1] == token and cur[2] == S.canceled then return R.canceled, 0, attempts, cur[3] or '', '', '' end
  if not completed and cur[6] == token then
    -- this very run's retry was scheduled already (the job may have run again since)
    return R.retrying, 0, attempts, cur[3] or '', '', cur[7] or ''
  end
  if cur[1] ~= token or cur[2] ~= S.active then
    return R.refused, 0, attempts, cur[3] or '', '', ''
  end
  -- finished before it heard of the cancellation: its work is done, and it says so
  if completed and cur[8] then redis.call('ZREM', q.canceling, id) end
  if not completed and cur[8] then
    return cancelRun(q, key, id, cur[3] or '', attempts, tonumber(cur[9]) or ttl, cur[8], ties)
  end
  local dueAt = math.max(tonumber(cur[11]) or 0, tonumber(cur[7]) or 0)
  noteRun(q, retryIn == nil and (completed and 'c' or 'f') or nil, cur[10], dueAt > 0 and dueAt or nil)
  if not completed and retryIn then return scheduleRetry(q, key, id, token, payload, attempts, cur[3] or '', retryIn) end
  ttl = tonumber(cur[5]) or ttl
  if ties.handoff then q.handedOff = true end
  local status = completed and S.completed or S.failed
  local job = jobJson(q.queue, id, cur[3] or '', attempts)
  local data
  if completed then
    if finalize(key, q.completed, id, ttl, q.now, { 'status', status, 'result', payload, 'finishedAt', q.now }, ties) then
      q.touched[q.completed] = true
    end
    data = completedData(job, payload, q.now, q.dataCap)
  else
    if ttl > 0 then keepError(key, attempts, payload, q.now) end
    if finalize(key, q.failed, id, ttl, q.now, { 'status', status, 'error', payload, 'finishedAt', q.now }, ties) then
      q.touched[q.failed] = true
    end
    data = failedData(job, payload, q.now, q.dataCap)
  end
  q.finished[#q.finished + 1] = id
  emit(q.events, q.cap, completed and E.completed or E.failed, id, data)
  return R.written, 0, attempts, cur[3] or '', '', ''
end

local function writeRelease(q, key, id, token, reason, ttl, mode)
  local cur = redis.call('HMGET', key, 'token', 'status', 'attempts', 'stalls', 'failedTtlMs', 'name', 'releasedBy', 'cancelReason',
    unpack(TIE_FIELDS))
  local ties = tiesFrom(q.handoff, cur, 9)
  if not cur[1] and not cur[2] and not cur[6] then
    -- a release that failed the job with a TTL of 0 deleted the record: a retried call finds nothing
    if writeWithoutRecord(q, id, ttl) and mode ~= M.free then return R.failed, 0, 0, '', '', '' end
    return R.gone, 0, 0, '', '', ''
  end
  local stalls, attempts, name = tonumber(cur[4]) or 0, tonumber(cur[3]) or 0, cur[6] or ''
  if cur[1] == token and cur[2] == S.canceled then return R.canceled, stalls, attempts, name, '', '' end
  if cur[7] == token and (cur[2] == S.queued or cur[2] == S.failed) then
    return cur[2] == S.queued and R.requeued or R.failed, stalls, attempts, name, '', ''
  end
  local lease = tonumber(redis.call('ZSCORE', q.active, id))
  if cur[1] ~= token or cur[2] ~= S.active or (mode == M.stalled and (lease or q.now) > q.now) then
    return R.refused, stalls, attempts, name, '', ''
  end
  if cur[8] then return cancelRun(q, key, id, name, attempts, tonumber(cur[5]) or ttl, cur[8], ties) end
  local ranAs = attempts
  if mode ~= M.stalled then attempts = math.max(attempts - 1, 0) end
  if mode ~= M.free then stalls = stalls + 1 end
  q.finished[#q.finished + 1] = id
  redis.call('HDEL', key, 'token', 'owner')
  local job = jobJson(q.queue, id, name, ranAs)
  if mode ~= M.free and stalls > q.maxStalls then
    local err = freshStallError(stalls, q.maxStalls, mode)
    keepError(key, ranAs, err, q.now)
    countMetric(q, 'f')
    if ties.handoff then q.handedOff = true end
    if finalize(key, q.failed, id, tonumber(cur[5]) or ttl, q.now,
      { 'status', S.failed, 'error', err, 'finishedAt', q.now, 'attempts', attempts, 'stalls', stalls, 'releasedBy', token }, ties) then
      q.touched[q.failed] = true
    end
    emit(q.events, q.cap, E.failed, id, failedData(job, err, q.now, q.dataCap))
    return R.failed, stalls, attempts, name, err, ''
  end
  redis.call('HSET', key, 'status', S.queued, 'attempts', attempts, 'stalls', stalls, 'releasedBy', token)
  redis.call('HDEL', key, 'startedAt')
  q.back[#q.back + 1] = id
  if mode == M.stalled then
    emit(q.events, q.cap, E.stalled, id, '{"job":' .. job .. ',"stalls":' .. stalls .. '}')
  else
    emit(q.events, q.cap, E.requeued, id, '{"job":' .. job .. ',"reason":' .. cjson.encode(reason) .. '}')
  end
  return R.requeued, stalls, attempts, name, '', ''
end

-- The supervisor stopped a run because its job was asked to cancel (queue.cancel).
local function writeCancel(q, key, id, token, ttl)
  local cur = redis.call('HMGET', key, 'token', 'status', 'name', 'attempts', 'failedTtlMs', 'cancelReason', unpack(TIE_FIELDS))
  if not cur[1] and not cur[2] and not cur[3] then return R.gone, 0, 0, '', '', '' end
  local attempts = tonumber(cur[4]) or 0
  if cur[1] == token and cur[2] == S.canceled then return R.canceled, 0, attempts, cur[3] or '', '', '' end
  if cur[1] ~= token or cur[2] ~= S.active then return R.refused, 0, attempts, cur[3] or '', '', '' end
  return cancelRun(q, key, id, cur[3] or '', attempts, tonumber(cur[5]) or ttl, cur[6] or '', tiesFrom(q.handoff, cur, 7))
end

-- Keeps at most `keep` records in a registry (nil or negative: no cap): the oldest beyond it are
-- deleted, at most 1,000 per call so a lowered cap never blocks Redis for long.
local function capRegistry(registry, jobPrefix, keep)
  if not keep or keep < 0 then return end
  local excess = redis.call('ZCARD', registry) - keep
  if excess <= 0 then return end
  local oldest = redis.call('ZPOPMIN', registry, math.min(excess, 1000))
  for i = 1, #oldest, 2 do redis.call('PEXPIRE', jobPrefix .. oldest[i], 0) end
end
