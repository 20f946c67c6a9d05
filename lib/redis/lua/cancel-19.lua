--[[ Cancels one job. Queued, delayed, retrying or deferred: it becomes canceled here and never runs. Active:
  the cancellation is asked for (the record's cancelReason, and its id in the queue's canceling set); the
  supervisor holding it aborts the run and writes it canceled (includes/writes.lua), and a run
  that ends otherwise, or is put back, ends canceled too.
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua)
  KEYS[11] delayed zset, KEYS[12] retrying zset, KEYS[13] canceled zset (score: when the record expires)
  KEYS[14] events stream
  KEYS[15] the job's hash
  KEYS[16] the queue's guard key, never written (see keys.ts: waits out a slot migration; group keys are built here)
  KEYS[17] canceling zset (ids of active jobs asked to cancel, by when)
  KEYS[18] deferred zset, KEYS[19] handoff zset (a canceled job's dependents are told through it)
  ARGV[1]  job id, ARGV[2] the reason, ARGV[3] queue name (event payloads name it)
  ARGV[4]  how long the canceled record is kept when the job set no failedTtlMs, ms
  ARGV[5]  events stream cap
  ARGV[6]  group jobs key prefix, ARGV[7] group rate log key prefix (in the queue's slot)
  Returns  the status the job had ('' : no record)
]]
-- @include "now"
-- @include "events"
-- @include "finalize"
-- @include "cancel"
-- @include "queued"

local fc = flowKeys(1, ARGV[6], ARGV[7])
local id, reason, key = ARGV[1], ARGV[2], KEYS[15]
local f = redis.call('HMGET', key, 'status', 'group', 'name', 'attempts', 'failedTtlMs', unpack(TIE_FIELDS))
local status = f[1]
if not status then return '' end
if status == S.active then
  redis.call('HSET', key, 'cancelReason', reason)
  redis.call('ZADD', KEYS[17], serverNow(), id)
  return status
end
if status ~= S.queued and status ~= S.delayed and status ~= S.retrying and status ~= S.deferred then return status end
if status == S.queued then dropQueued(fc, id, f[2]) end
redis.call('ZREM', KEYS[11], id)
redis.call('ZREM', KEYS[12], id)
redis.call('ZREM', KEYS[18], id)
endCanceled(key, KEYS[13], KEYS[14], ARGV[5], ARGV[3], id, f[3], f[4], tonumber(f[5]) or tonumber(ARGV[4]), serverNow(), reason,
  tiesFrom(KEYS[19], f, 6))
return status
