--[[ Extend the leases of runs a supervisor still holds. Only runs whose token still matches are
  extended (XX: never re-adds a job that has left the active set).
  KEYS[1]   active zset
  KEYS[2..] one job hash per run
  ARGV[1]   lease length, ms
  ARGV      then per run 2 values: id, token
  Returns   the ids whose lease was lost
]]
-- @include "now"

local deadline = serverNow() + tonumber(ARGV[1])
local lost = {}
for k = 2, #KEYS do
  local a = 2 + (k - 2) * 2
  local id = ARGV[a]
  if redis.call('HGET', KEYS[k], 'token') == ARGV[a + 1] then
    redis.call('ZADD', KEYS[1], 'XX', deadline, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
