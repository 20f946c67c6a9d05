--[[ Deletes one job that is not active: its record, and its id from whichever set holds it.
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua)
  KEYS[11] delayed zset
  KEYS[12] retrying zset
  KEYS[13] completed zset
  KEYS[14] failed zset
  KEYS[15] the job's hash
  KEYS[16] the queue's guard key, never written (see keys.ts: waits out a slot migration; group keys are built here)
  KEYS[17] deferred zset
  KEYS[18] canceled zset
  KEYS[19] events stream
  ARGV[1]  job id
  ARGV[2]  group jobs key prefix, ARGV[3] group rate log key prefix (in the queue's slot)
  ARGV[4]  queue name, ARGV[5] events stream cap
  Returns  the status the job had ('' : no record; an active job is left alone and its status returned)
]]
-- @include "queued"
-- @include "events"

local fc = flowKeys(1, ARGV[2], ARGV[3])
local f = redis.call('HMGET', KEYS[15], 'status', 'group', 'dedupeKey', 'logsKey', 'depsKey', 'name', 'attempts')
local status = f[1]
if status == S.active then return status end
-- DEL first: a user refused it (an ACL without the admin's rules) is refused before anything changed
redis.call('DEL', KEYS[15])
if status == S.queued then dropQueued(fc, ARGV[1], f[2]) end
-- a dedupe key it held until finished is let go with it
if f[3] and redis.call('GET', f[3]) == ARGV[1] then redis.call('DEL', f[3]) end
if f[4] then redis.call('DEL', f[4]) end
if f[5] then redis.call('DEL', f[5]) end
for k = 11, 14 do redis.call('ZREM', KEYS[k], ARGV[1]) end
redis.call('ZREM', KEYS[17], ARGV[1])
redis.call('ZREM', KEYS[18], ARGV[1])
if status then
  local job = jobJson(ARGV[4], ARGV[1], f[6] or '', f[7])
  emit(KEYS[19], ARGV[5], E.removed, ARGV[1], '{"job":' .. job .. ',"status":"' .. status .. '"}')
end
return status or ''
