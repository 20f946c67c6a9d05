--[[ Record the outcomes of finished runs, many per call. A write must present the run's lease
  token and find the job still active: the first final write wins, a late one is refused.
  KEYS[1]   active zset
  KEYS[2]   completed zset (score: when the record expires, ms)
  KEYS[3]   failed zset (same)
  KEYS[4]   events stream
  KEYS[5..] one job hash per outcome, in the order of the ARGV groups
  ARGV[1]   events stream cap (approximate MAXLEN)
  ARGV      then per outcome 7 values: id, token, "completed"|"failed", payload (result JSON or
            error JSON), default ttl ms (the job's own resultTtlMs or failedTtlMs wins; 0 deletes the
            record now), name, attempt
  Returns   { now, then per outcome 1 (written), 2 (already written by this run: a retried call
            whose first reply was lost) or 0 (refused: the lease had passed on) }
]]
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local out = { now }
local cap = ARGV[1]
local finished = {}
local touched = { completed = false, failed = false }
for k = 5, #KEYS do
  local a = 2 + (k - 5) * 7
  local key, id, token, outcome, payload = KEYS[k], ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local ttlField = outcome == 'completed' and 'resultTtlMs' or 'failedTtlMs'
  local cur = redis.call('HMGET', key, 'token', 'status', ttlField)
  local ttl = tonumber(cur[3]) or tonumber(ARGV[a + 4])
  if cur[1] == token and (cur[2] == 'completed' or cur[2] == 'failed') then
    out[#out + 1] = 2
  elseif cur[1] ~= token or cur[2] ~= 'active' then
    out[#out + 1] = 0
  else
    local field = outcome == 'completed' and 'result' or 'error'
    if ttl > 0 then
      redis.call('HSET', key, 'status', outcome, field, payload, 'finishedAt', now)
      redis.call('PEXPIRE', key, ttl)
      redis.call('ZADD', outcome == 'completed' and KEYS[2] or KEYS[3], now + ttl, id)
      touched[outcome] = true
    else
      redis.call('DEL', key)
    end
    finished[#finished + 1] = id
    -- the event carries the outcome itself, so a waiter gets it even when the record is gone
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', cap, '*', 'event', outcome, 'jobId', id,
      'name', ARGV[a + 5], 'attempt', ARGV[a + 6], field, payload, 'finishedAt', now)
    out[#out + 1] = 1
  end
end
if #finished > 0 then
  redis.call('ZREM', KEYS[1], unpack(finished))
end
-- registries drop ids whose record has expired
if touched.completed then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
if touched.failed then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
return out
