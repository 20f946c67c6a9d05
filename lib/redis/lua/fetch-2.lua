--[[ Take up to `count` ready jobs and lease them to one supervisor, atomically: a job leaves the
  wait list only by becoming active with a lease (deadline from Redis server time, and a token
  that every later write about this run must present).
  KEYS[1]  wait list
  KEYS[2]  active zset (score: lease deadline, ms)
  ARGV[1]  count
  ARGV[2]  owner (supervisor id)
  ARGV[3]  token base, unique per call; the job's token is base.."."..i
  ARGV[4]  lease length, ms
  ARGV[5]  job key prefix (job keys cannot be listed in KEYS: the ids are only known here)
  Returns  { now (0 when nothing was waiting), then per job 8 values: id, state, token, name, data, attempts, timeoutMs, createdAt }
           state is "ok" (leased), "missing" (no record: id dropped) or "skipped:<status>" (the
           record is not queued, so this was a stray id: dropped without running it twice)
]]
local ids = redis.call('RPOP', KEYS[1], ARGV[1])
if not ids then
  return { 0 }
end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local out = { now }
local deadline = now + tonumber(ARGV[4])
local leased = {}
for i, id in ipairs(ids) do
  local key = ARGV[5] .. id
  local f = redis.call('HMGET', key, 'status', 'name', 'data', 'attempts', 'timeoutMs', 'createdAt')
  local status = f[1]
  if not status and not f[2] and not f[3] then
    table.insert(out, id); table.insert(out, 'missing')
    for _ = 1, 6 do table.insert(out, '') end
  elseif status and status ~= 'queued' then
    table.insert(out, id); table.insert(out, 'skipped:' .. status)
    for _ = 1, 6 do table.insert(out, '') end
  else
    -- a record without a status is damaged but still claimed, so the supervisor can fail it visibly
    local attempts = (tonumber(f[4]) or 0) + 1
    local token = ARGV[3] .. '.' .. i
    redis.call('HSET', key, 'status', 'active', 'attempts', attempts, 'startedAt', now, 'token', token,
      'owner', ARGV[2])
    leased[#leased + 1] = deadline
    leased[#leased + 1] = id
    table.insert(out, id); table.insert(out, 'ok'); table.insert(out, token)
    table.insert(out, f[2] or ''); table.insert(out, f[3] or ''); table.insert(out, attempts)
    table.insert(out, f[5] or ''); table.insert(out, f[6] or '')
  end
end
if #leased > 0 then
  redis.call('ZADD', KEYS[2], unpack(leased))
end
return out
