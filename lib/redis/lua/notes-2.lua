--[[ Progress and log lines of running jobs (ctx.progress, ctx.log), gathered by a supervisor over a
  moment and written together. Each is written only with the lease token of the run that made it:
  a run that lost its lease writes nothing. The last progress goes on the record (and into a
  progress event); log lines are appended to the job's list, which keeps the last `maxLines` and
  lives as long as the record (includes/finalize.lua).
  KEYS[1]  events stream
  KEYS[2]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  queue name, ARGV[2] job key prefix (job and log keys are built from it, in the queue's slot)
  ARGV[3]  events stream cap, ARGV[4] most log lines kept per job
  ARGV[5]  what a job key is followed by to name its log list (keys.ts `jobLogs`)
  ARGV[6..] per job: id, token, progress JSON ('' : none), n, then n log lines
  Returns  per job 1 (written) or 0 (refused: the run no longer holds the job, or it is gone)
]]
-- @include "events"

local out = {}
local a = 6
while a <= #ARGV do
  local id, token, progress, n = ARGV[a], ARGV[a + 1], ARGV[a + 2], tonumber(ARGV[a + 3])
  local key = ARGV[2] .. id
  local cur = redis.call('HMGET', key, 'token', 'name', 'attempts', 'logsKey')
  if cur[1] == token then
    if progress ~= '' then
      redis.call('HSET', key, 'progress', progress)
      emit(KEYS[1], ARGV[3], E.progress, id, '{"job":' .. jobJson(ARGV[1], id, cur[2] or '', cur[3]) .. ',"progress":' .. progress .. '}')
    end
    if n > 0 then
      local logs = cur[4] or (key .. ARGV[5])
      if not cur[4] then redis.call('HSET', key, 'logsKey', logs) end
      redis.call('RPUSH', logs, unpack(ARGV, a + 4, a + 3 + n))
      redis.call('LTRIM', logs, -tonumber(ARGV[4]), -1)
      local ttl = redis.call('PTTL', key)
      if ttl > 0 then redis.call('PEXPIRE', logs, ttl) end
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  a = a + 4 + n
end
return out
