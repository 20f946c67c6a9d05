--[[ Deletes one job that is not active: its record, and its id from whichever list or set holds it.
  KEYS[1]  wait list
  KEYS[2]  delayed zset
  KEYS[3]  retrying zset
  KEYS[4]  completed zset
  KEYS[5]  failed zset
  KEYS[6]  the job's hash
  ARGV[1]  job id
  Returns  the status the job had ('' : no record; an active job is left alone and its status returned)
]]

local status = redis.call('HGET', KEYS[6], 'status')
if status == S.active then return status end
if status == S.queued then redis.call('LREM', KEYS[1], 1, ARGV[1]) end
for k = 2, 5 do redis.call('ZREM', KEYS[k], ARGV[1]) end
redis.call('DEL', KEYS[6])
return status or ''
