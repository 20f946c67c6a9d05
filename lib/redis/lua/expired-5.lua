--[[ The heartbeat's look at a queue: lists runs whose lease has expired (by Redis server time),
  with their tokens, so that a supervisor can release them (the release checks the expiry again
  when it acts); and, when asked, drops ids of expired records from the completed, failed and canceled registries.
  KEYS[1]  active zset
  KEYS[2]  completed zset
  KEYS[3]  failed zset
  KEYS[4]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  KEYS[5]  canceled zset
  ARGV[1]  most runs to list
  ARGV[2]  job key prefix: job keys are built from it, in this queue's slot (ids are only known here)
  ARGV[3]  1: also trim the registries (done on some heartbeats only, to keep an idle queue cheap)
  Returns  flat pairs: id, token ('' when the record has no token or is gone)
]]
-- @include "now"

local now = serverNow()
if ARGV[3] == '1' then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', ARGV[2] .. id, 'token') or ''
end
return out
