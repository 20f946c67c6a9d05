-- Redis server time in ms: the one clock every lease, TTL and due time is measured by.
local function serverNow()
  local t = redis.call('TIME')
  return t[1] * 1000 + math.floor(t[2] / 1000)
end
