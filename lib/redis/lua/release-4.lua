--[[ Take runs off the active set and put their jobs back at the front of the wait list. Only the
  holder of a run's lease token can release it. Three modes:
    free     not the job's fault (its thread was ended for another job's timeout, or shutdown):
             the attempt is given back, nothing is counted
    counted  the job was on a thread that crashed with no known culprit: the attempt is given
             back, and `stalls` counts up
    stalled  the lease expired (its supervisor died or lost Redis): `stalls` counts up; refused
             if the lease was renewed in the meantime
  A counted or stalled job whose `stalls` passes maxStalls ends failed with a JobStalledError.
  KEYS[1]   wait list
  KEYS[2]   active zset
  KEYS[3]   failed zset (score: when the record expires)
  KEYS[4]   events stream
  KEYS[5..] one job hash per run
  ARGV[1]   events stream cap
  ARGV[2]   mode: free | counted | stalled
  ARGV[3]   reason (for the event)
  ARGV[4]   maxStalls
  ARGV[5]   failed-record ttl ms unless the job set failedTtlMs (0: delete the record)
  ARGV      then per run 2 values: id, token
  Returns   per run 5 values: state (requeued | failed | refused | gone), stalls, attempts, name,
            error JSON (when failed, else "")
]]
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local cap, mode, reason, maxStalls = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local out = {}
local back = {}
local failedAny = false
for k = 5, #KEYS do
  local a = 6 + (k - 5) * 2
  local key, id, token = KEYS[k], ARGV[a], ARGV[a + 1]
  local cur = redis.call('HMGET', key, 'token', 'status', 'attempts', 'stalls', 'failedTtlMs', 'name', 'releasedBy')
  local state
  local err = ''
  local stalls = tonumber(cur[4]) or 0
  local attempts = tonumber(cur[3]) or 0
  local lease = tonumber(redis.call('ZSCORE', KEYS[2], id))
  if not cur[1] and not cur[2] and not cur[6] then
    redis.call('ZREM', KEYS[2], id)
    state = 'gone'
  elseif cur[7] == token and (cur[2] == 'queued' or cur[2] == 'failed') then
    state = cur[2] == 'queued' and 'requeued' or 'failed' -- a retried call whose first reply was lost
  elseif cur[1] ~= token or cur[2] ~= 'active' or (mode == 'stalled' and (lease or now) > now) then
    state = 'refused'
  else
    if mode ~= 'stalled' then attempts = math.max(attempts - 1, 0) end
    if mode ~= 'free' then stalls = stalls + 1 end
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', key, 'token', 'owner')
    if mode ~= 'free' and stalls > maxStalls then
      local why = mode == 'stalled'
        and 'its supervisor stopped renewing its lease (killed, or cut off from Redis)'
        or 'it was on a thread that crashed with no known culprit'
      err = cjson.encode({ name = 'JobStalledError', code = 'BRK_JOB_STALLED',
        message = 'job stalled ' .. stalls .. ' times, more than maxStalls (' .. maxStalls .. '): ' .. why })
      local ttl = tonumber(cur[5]) or tonumber(ARGV[5])
      if ttl > 0 then
        redis.call('HSET', key, 'status', 'failed', 'error', err, 'finishedAt', now, 'attempts', attempts, 'stalls', stalls,
          'releasedBy', token)
        redis.call('PEXPIRE', key, ttl)
        redis.call('ZADD', KEYS[3], now + ttl, id)
        failedAny = true
      else
        redis.call('DEL', key)
      end
      redis.call('XADD', KEYS[4], 'MAXLEN', '~', cap, '*', 'event', 'failed', 'jobId', id, 'name', cur[6] or '',
        'attempt', attempts, 'error', err, 'finishedAt', now)
      state = 'failed'
    else
      redis.call('HSET', key, 'status', 'queued', 'attempts', attempts, 'stalls', stalls, 'releasedBy', token)
      redis.call('HDEL', key, 'startedAt')
      back[#back + 1] = id
      redis.call('XADD', KEYS[4], 'MAXLEN', '~', cap, '*', 'event', mode == 'stalled' and 'stalled' or 'requeued',
        'jobId', id, 'name', cur[6] or '', 'reason', reason, 'stalls', stalls)
      state = 'requeued'
    end
  end
  out[#out + 1] = state
  out[#out + 1] = stalls
  out[#out + 1] = attempts
  out[#out + 1] = cur[6] or ''
  out[#out + 1] = err
end
if #back > 0 then
  redis.call('RPUSH', KEYS[1], unpack(back))
end
if failedAny then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
return out
