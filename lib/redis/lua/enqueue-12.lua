--[[ Create jobs: queued, or delayed until a due time. Idempotent per job id: an id that already has
  a record is left alone, so an enqueue resent after a network error never makes a second job.
  A job may carry a dedupe key (see lib/dedupe.ts); jobs with a caller-chosen id or a dedupe key
  store the call's token ('by'), so a resent call knows its own jobs from someone else's.
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua)
  KEYS[11]  delayed zset (score: due time)
  KEYS[12]  the queue's guard key, never written (see keys.ts: waits out a slot migration; group,
            dedupe and standing job keys are built here)
  KEYS[13..] one job hash per job, in the order of the ARGV groups
  ARGV[1]   group jobs key prefix, ARGV[2] group rate log key prefix, ARGV[3] dedupe key prefix,
            ARGV[4] job key prefix (all in the queue's slot)
  ARGV[5]   the call's token
  ARGV[6..] per job: id, name, data (JSON), runAt (epoch ms, or ''), delayMs (from server time, or ''),
            chosen ('1': the caller chose the id), dedupe key, mode and ttl ms ('' : none),
            n, then n option field/value pairs (priority and group among them); with neither runAt
            nor delayMs the job is runnable now
  Returns   per job: '' when it was created (by this call, or by an earlier try of it), else the id
            of the job that stands in its place
]]
-- @include "now"
-- @include "marker"
-- @include "queued"

local UNFINISHED = { [S.queued] = true, [S.delayed] = true, [S.active] = true, [S.retrying] = true, [S.deferred] = true }
local fc = flowKeys(1, ARGV[1], ARGV[2])
local dedupePrefix, jobPrefix, by = ARGV[3], ARGV[4], ARGV[5]
local now = serverNow()
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
    return other
  end
  return nil
end

local a = 6
for k = 13, #KEYS do
  local id, name, data, chosen, dedupe, mode, ttl = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8]
  local n = tonumber(ARGV[a + 9])
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
      local fields = { 'name', name, 'data', data, 'status', later and S.delayed or S.queued, 'attempts', '0', 'createdAt', now }
      local priority, group
      for j = a + 10, a + 9 + 2 * n, 2 do
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
      if later then
        fields[#fields + 1], fields[#fields + 2] = 'runAt', runAt
        delay(id, runAt)
      else
        local seq = nextSeq(fc)
        fields[#fields + 1], fields[#fields + 2] = 'seq', seq
        placeQueued(fc, id, priority, group, seq)
        ready = ready + 1
      end
      redis.call('HSET', KEYS[k], unpack(fields))
    end
  end
  replies[#replies + 1] = reply
  seen[id] = true
  a = a + 10 + 2 * n
end
if ready > 0 then wake(fc.marker, 0) end
if #delayed > 0 then
  redis.call('ZADD', KEYS[11], unpack(delayed))
  -- wakes one idle supervisor, which learns the due time from its next turn and sleeps until then
  wake(fc.marker, soonest)
end
return replies
