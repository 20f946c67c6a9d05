-- Dependencies (job option dependsOn), on the dependent's side. A deferred job counts its
-- dependencies still to finish (depsLeft); each one's outcome arrives once (the job's deps hash,
-- field = the dependency's ref "queue<TAB>id", value = its outcome JSON, see outcomeJson) and
-- settleDep applies it. Needs queued, marker, events, finalize and cancel included before it.
-- q: { fc, deferred, failed, canceled, handoff, events, cap, dataCap, queue, now, failedTtl }

-- A finished job's outcome as its dependents see it (ctx.dependencies): raw JSON, never re-encoded.
local function outcomeJson(queue, id, status, result, err)
  local head = '{"queue":' .. cjson.encode(queue) .. ',"id":' .. cjson.encode(id) .. ',"status":"' .. status .. '"'
  if status == S.completed then return head .. ',"result":' .. (result or 'null') .. '}' end
  return head .. ',"error":' .. (err or 'null') .. '}'
end

local function isFinal(status)
  return status == S.completed or status == S.failed or status == S.canceled
end

-- What settleDep needs of a dependent's record.
local function dependent(q, key, id)
  local f = redis.call('HMGET', key, 'status', 'onDependencyFailure', 'name', 'attempts', 'failedTtlMs', unpack(TIE_FIELDS))
  return {
    key = key, id = id, status = f[1], policy = f[2] or 'fail', name = f[3] or '', attempts = f[4],
    ttl = tonumber(f[5]) or q.failedTtl, ties = tiesFrom(q.handoff, f, 6),
  }
end

-- One dependency of deferred job `d` finished with `status`. Returns the job's status after it.
local function settleDep(q, d, ref, status)
  if status == S.completed or d.policy == 'ignore' then
    if redis.call('HINCRBY', d.key, 'depsLeft', -1) > 0 then return S.deferred end
    redis.call('ZREM', q.deferred, d.id)
    redis.call('HSET', d.key, 'status', S.queued)
    queueNew(q.fc, d.key, d.id)
    wake(q.fc.marker, 0)
    return S.queued
  end
  redis.call('ZREM', q.deferred, d.id)
  local tab = string.find(ref, '\t', 1, true)
  local name = string.sub(ref, 1, tab - 1) .. '/' .. string.sub(ref, tab + 1)
  if d.policy == 'cancel' then
    endCanceled(d.key, q.canceled, q.events, q.cap, q.queue, d.id, d.name, d.attempts, d.ttl, q.now, 'dependency ' .. name .. ' ' .. status, d.ties)
    return S.canceled
  end
  local err = cjson.encode({ name = 'DependencyFailedError', code = 'BRK_DEPENDENCY_FAILED',
    message = 'dependency ' .. name .. ' ' .. status .. ', so this job fails (onDependencyFailure: fail)',
    dependency = { queue = string.sub(ref, 1, tab - 1), id = string.sub(ref, tab + 1) } })
  finalize(d.key, q.failed, d.id, d.ttl, q.now, { 'status', S.failed, 'error', err, 'finishedAt', q.now }, d.ties)
  emit(q.events, q.cap, E.failed, d.id, failedData(jobJson(q.queue, d.id, d.name, d.attempts), err, q.now, q.dataCap))
  return S.failed
end

-- Records a dependency's outcome for job `id` once (repeats are no-ops) and applies it when the
-- job is deferred. A job not enqueued yet keeps the outcome for a day, for its enqueue to find.
-- Returns 'already', 'early', 'late' (the job is past deferred), or its status after.
local function deliverDep(q, key, depsKey, id, ref, status, outcome)
  local d = dependent(q, key, id)
  if d.status and d.status ~= S.deferred then return 'late' end
  if redis.call('HSETNX', depsKey, ref, outcome) == 0 then return 'already' end
  if not d.status then
    redis.call('PEXPIRE', depsKey, 86400000)
    return 'early'
  end
  return settleDep(q, d, ref, status)
end
