--[[ Create jobs and make them ready to run. Idempotent per job id: an id that already has a
  record is left alone, so an enqueue resent after a network error never makes a second job.
  KEYS[1]   wait list
  KEYS[2..] one job hash per job, in the order of the ARGV groups
  ARGV      per job: id, name, data (JSON), n, then n option field/value pairs
  Returns   the number of jobs created
]]
local t = redis.call('TIME')
local now = tostring(t[1] * 1000 + math.floor(t[2] / 1000))
local created = {}
local a = 1
for k = 2, #KEYS do
  local id, n = ARGV[a], tonumber(ARGV[a + 3])
  if redis.call('EXISTS', KEYS[k]) == 0 then
    local fields = { 'name', ARGV[a + 1], 'data', ARGV[a + 2], 'status', 'queued', 'attempts', '0',
      'createdAt', now }
    for j = a + 4, a + 3 + 2 * n do
      fields[#fields + 1] = ARGV[j]
    end
    redis.call('HSET', KEYS[k], unpack(fields))
    created[#created + 1] = id
  end
  a = a + 4 + 2 * n
end
if #created > 0 then
  redis.call('LPUSH', KEYS[1], unpack(created))
end
return #created
