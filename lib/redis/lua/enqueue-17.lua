--[[ Create jobs: queued, or delayed until a due time. Idempotent per job id: an id that already has
  a record is left alone, so an enqueue resent after a network error never makes a second job.
  A job may carry a dedupe key (see lib/dedupe.ts); jobs with a caller-chosen id or a dedupe key
  store the call's token ('by'), so a resent call knows its own jobs from someone else's.
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua)
  KEYS[11]  delayed zset (score: due time)
  KEYS[12]  the queue's guard key, never written (see keys.ts: waits out a slot migration; group,
            dedupe, dependency and standing job keys are built here)
  KEYS[13]  deferred zset, KEYS[14] failed zset, KEYS[15] canceled zset, KEYS[16] events stream,
            KEYS[17] handoff zset (a job whose dependency already failed may end at once)
  KEYS[18..] one job hash per job, in the order of the ARGV groups
  ARGV[1]   group jobs key prefix, ARGV[2] group rate log key prefix, ARGV[3] dedupe key prefix,
            ARGV[4] job key prefix (all in the queue's slot)
  ARGV[5]   the call's token
  ARGV[6]   what a job key is followed by to name its deps hash, ARGV[7] its dependents set
  ARGV[8]   queue name, ARGV[9] events stream cap, ARGV[10] largest error an event carries,
            ARGV[11] failed-record TTL when a job set none
  ARGV[12..] per job: id, name, data (JSON), runAt (epoch ms, or ''), delayMs (from server time, or ''),
            chosen ('1': the caller chose the id), dedupe key, mode and ttl ms ('' : none),
            onDependencyFailure ('' : no dependencies), d, n, then d dependency refs
            ("queue<TAB>id"; those of other queues were linked beforehand, see dep-link-3.lua),
            then n option field/value pairs (priority and group among them); with neither runAt
            nor delayMs the job is runnable now, with dependencies it is deferred
  Returns   { 'missing', ref } when a dependency of this queue is neither stored nor in the call
            (nothing is written), else { 'ok', per job: '' when it was created (by this call, or
            by an earlier try of it), else the id of the job that stands in its place }
]]
-- @include "now"
-- @include "marker"
-- @include "queued"
-- @include "events"
-- @include "finalize"
-- @include "cancel"
-- @include "deps"

local UNFINISHED = { [S.queued] = true, [S.delayed] = true, [S.active] = true, [S.retrying] = true, [S.deferred] = true }
local fc = flowKeys(1, ARGV[1], ARGV[2])
fc.seqBlock = #KEYS - 17 -- one place per job of the call, reserved at once
local dedupePrefix, jobPrefix, by = ARGV[3], ARGV[4], ARGV[5]
local depsSuffix, dependentsSuffix, queue = ARGV[6], ARGV[7], ARGV[8]
local now = serverNow()
local q = {
  fc = fc, deferred = KEYS[13], failed = KEYS[14], canceled = KEYS[15], events = KEYS[16], handoff = KEYS[17],
  queue = queue, cap = ARGV[9], dataCap = tonumber(ARGV[10]), failedTtl = tonumber(ARGV[11]), now = now,
}
local FIRST_JOB_KEY, FIRST_JOB_ARG, FIXED_ARGS = 18, 12, 12

-- Every dependency of this queue must be stored or in the call: checked before anything is written.
local inCall = {}
local a = FIRST_JOB_ARG
for k = FIRST_JOB_KEY, #KEYS do
  inCall[ARGV[a]] = true
  a = a + FIXED_ARGS + tonumber(ARGV[a + 10]) + 2 * tonumber(ARGV[a + 11])
end
a = FIRST_JOB_ARG
for k = FIRST_JOB_KEY, #KEYS do
  local d = tonumber(ARGV[a + 10])
  for j = a + FIXED_ARGS, a + FIXED_ARGS + d - 1 do
    local ref = ARGV[j]
    local tab = string.find(ref, '\t', 1, true)
    local depId = string.sub(ref, tab + 1)
    if string.sub(ref, 1, tab - 1) == queue and not inCall[depId] and redis.call('EXISTS', jobPrefix .. depId) == 0 then
      return { 'missing', ref }
    end
  end
  a = a + FIXED_ARGS + d + 2 * tonumber(ARGV[a + 11])
end
local replies, ready, delayed, seen = {}, 0, {}, {}
local soonest

local function delay(id, runAt)
  delayed[#delayed + 1] = runAt
  delayed[#delayed + 1] = id
  if not soonest or runAt < soonest then soonest = runAt end
end

-- The job that holds a dedupe key and makes a new one with the key stand aside, or nil.
-- debounce: the pending job takes the new data and waits its delay again.
local function standing(dedupeKey, mode, data, runAt)
  local other = redis.call('GET', dedupeKey)
  if not other then return nil end
  local status = redis.call('HGET', jobPrefix .. other, 'status')
  if mode == 'throttle' then return other end
  if mode == 'until-finished' and UNFINISHED[status] then return other end
  if mode == 'debounce' and status == S.delayed then
    redis.call('HSET', jobPrefix .. other, 'data', data, 'runAt', runAt)
    delay(other, runAt)
    local f = redis.call('HMGET', jobPrefix .. other, 'name', 'attempts')
    emit(q.events, q.cap, E.delayed, other, delayedData(jobJson(queue, other, f[1], f[2]), runAt))
    return other
  end
  return nil
end

-- Dependencies of a job just created deferred: an outcome already known (a finished dependency of
-- this queue, or one delivered before the job existed) is applied now, the others are awaited.
local function wire(key, id, refs)
  local depsKey = key .. depsSuffix
  redis.call('PERSIST', depsKey)
  for _, ref in ipairs(refs) do
    local tab = string.find(ref, '\t', 1, true)
    local depQueue, depId = string.sub(ref, 1, tab - 1), string.sub(ref, tab + 1)
    local known = redis.call('HGET', depsKey, ref)
    if known then
      local d = dependent(q, key, id)
      if d.status == S.deferred then settleDep(q, d, ref, cjson.decode(known).status) end
    elseif depQueue == queue then
      local depKey = jobPrefix .. depId
      local f = redis.call('HMGET', depKey, 'status', 'result', 'error')
      if isFinal(f[1]) then
        deliverDep(q, key, depsKey, id, ref, f[1], outcomeJson(queue, depId, f[1], f[2], f[3]))
      else
        redis.call('SADD', depKey .. dependentsSuffix, queue .. '\t' .. id)
        redis.call('HSET', depKey, 'dependents', '1')
      end
    end
  end
end

local waiting = {}
a = FIRST_JOB_ARG
for k = FIRST_JOB_KEY, #KEYS do
  local id, name, data, chosen, dedupe, mode, ttl = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8]
  local policy, d, n = ARGV[a + 9], tonumber(ARGV[a + 10]), tonumber(ARGV[a + 11])
  local delayMs = tonumber(ARGV[a + 4])
  local runAt = tonumber(ARGV[a + 3]) or (delayMs and now + delayMs)
  local reply = ''
  local tracked = chosen == '1' or dedupe ~= ''
  local dedupeKey = dedupe ~= '' and dedupePrefix .. dedupe or nil
  if redis.call('EXISTS', KEYS[k]) == 1 then
    -- taken by someone else, or by a job earlier in this call; the call's own jobs on a resend stand
    if seen[id] or (tracked and redis.call('HGET', KEYS[k], 'by') ~= by) then reply = id end
  else
    local other = dedupeKey and standing(dedupeKey, mode, data, runAt)
    if other then
      reply = other
    else
      local later = runAt ~= nil and runAt > now or false
      local status = d > 0 and S.deferred or (later and S.delayed or S.queued)
      local fields = { 'name', name, 'data', data, 'status', status, 'attempts', '0', 'createdAt', now }
      local priority, group
      for j = a + FIXED_ARGS + d, a + FIXED_ARGS + d + 2 * n - 1, 2 do
        fields[#fields + 1], fields[#fields + 2] = ARGV[j], ARGV[j + 1]
        if ARGV[j] == 'priority' then priority = ARGV[j + 1] elseif ARGV[j] == 'group' then group = ARGV[j + 1] end
      end
      if tracked then
        fields[#fields + 1], fields[#fields + 2] = 'by', by
      end
      if dedupeKey then
        -- a key held until the job finishes is let go then (see includes/finalize.lua)
        if mode ~= 'throttle' then fields[#fields + 1], fields[#fields + 2] = 'dedupeKey', dedupeKey end
        if ttl ~= '' then
          redis.call('SET', dedupeKey, id, 'PX', ttl)
        else
          redis.call('SET', dedupeKey, id)
        end
      end
      if d > 0 then
        fields[#fields + 1], fields[#fields + 2] = 'depsLeft', d
        fields[#fields + 1], fields[#fields + 2] = 'onDependencyFailure', policy
        fields[#fields + 1], fields[#fields + 2] = 'depsKey', KEYS[k] .. depsSuffix
        redis.call('ZADD', q.deferred, now, id)
        waiting[#waiting + 1] = { KEYS[k], id, { unpack(ARGV, a + FIXED_ARGS, a + FIXED_ARGS + d - 1) } }
      elseif later then
        fields[#fields + 1], fields[#fields + 2] = 'runAt', runAt
        delay(id, runAt)
      else
        local seq = nextSeq(fc)
        fields[#fields + 1], fields[#fields + 2] = 'seq', seq
        placeQueued(fc, id, priority, group, seq)
        ready = ready + 1
      end
      redis.call('HSET', KEYS[k], unpack(fields))
      local job = jobJson(queue, id, name, 0)
      emit(q.events, q.cap, E.added, id, '{"job":' .. job .. ',"status":"' .. status .. '"}')
      if status == S.delayed then emit(q.events, q.cap, E.delayed, id, delayedData(job, runAt)) end
    end
  end
  replies[#replies + 1] = reply
  seen[id] = true
  a = a + FIXED_ARGS + d + 2 * n
end
-- wired once every job of the call exists, so a dependency later in the call is found
for _, w in ipairs(waiting) do wire(w[1], w[2], w[3]) end
if ready > 0 then wake(fc.marker, 0) end
if #delayed > 0 then
  redis.call('ZADD', KEYS[11], unpack(delayed))
  -- wakes one idle supervisor, which learns the due time from its next turn and sleeps until then
  wake(fc.marker, soonest)
end
return { 'ok', unpack(replies) }
