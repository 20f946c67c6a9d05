--[[ Deletes finished records older than a cutoff from one registry, scanning a bounded window of it
  per call (oldest expiry first), so cleaning a large registry never blocks Redis for long.
  KEYS[1]  completed or failed zset (score: when the record expires)
  KEYS[2]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  job key prefix: job keys are built from it, in this queue's slot (ids are only known here)
  ARGV[2]  olderThanMs: only records that finished at least this long ago (by server time)
  ARGV[3]  most records to delete in this call
  ARGV[4]  offset into the registry: how many entries earlier calls scanned and kept
  ARGV[5]  most entries to scan in this call
  Returns  { deleted, kept (scanned and left), scanned }
]]
-- @include "now"

local cutoff = serverNow() - tonumber(ARGV[2])
local limit, offset = tonumber(ARGV[3]), tonumber(ARGV[4])
local ids = redis.call('ZRANGE', KEYS[1], offset, offset + tonumber(ARGV[5]) - 1)
local deleted, kept, scanned = 0, 0, 0
for _, id in ipairs(ids) do
  if deleted >= limit then break end
  scanned = scanned + 1
  local key = ARGV[1] .. id
  local finishedAt = tonumber(redis.call('HGET', key, 'finishedAt'))
  if not finishedAt then
    redis.call('ZREM', KEYS[1], id) -- the record expired or was deleted: a dangling id
  elseif finishedAt <= cutoff then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], id)
    deleted = deleted + 1
  else
    kept = kept + 1
  end
end
return { deleted, kept, scanned }
