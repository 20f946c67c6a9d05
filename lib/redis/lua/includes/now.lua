-- Redis server time in ms: the one clock every lease, TTL and due time is measured by. Read once
-- per script, at first need, so a turn that finds nothing to do does not ask for it.
local clockNow
local function serverNow()
  if not clockNow then
    local t = redis.call('TIME')
    clockNow = t[1] * 1000 + math.floor(t[2] / 1000)
  end
  return clockNow
end
