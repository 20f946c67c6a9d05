--[[ Delivers one dependency's outcome to a dependent job of this queue (see includes/deps.lua):
  once per dependency, so a hand-off repeated after a crash changes nothing.
  KEYS[1..10] the flow keys (keys.ts `flow`; see includes/queued.lua)
  KEYS[11] deferred zset, KEYS[12] failed zset, KEYS[13] canceled zset, KEYS[14] events stream
  KEYS[15] handoff zset, KEYS[16] the queue's guard key, never written (see keys.ts)
  KEYS[17] the dependent's hash, KEYS[18] its deps hash
  ARGV[1]  the dependent's id, ARGV[2] the dependency's ref, ARGV[3] its final status, ARGV[4] its outcome JSON
  ARGV[5]  queue name, ARGV[6] events stream cap, ARGV[7] largest error an event carries
  ARGV[8]  failed-record TTL when the job set none, ms
  ARGV[9]  group jobs key prefix, ARGV[10] group rate log key prefix (in the queue's slot)
  Returns  { what happened (see deliverDep), 1 when the dependent ended and has dependents of its own to tell }
]]
-- @include "now"
-- @include "marker"
-- @include "events"
-- @include "finalize"
-- @include "cancel"
-- @include "queued"
-- @include "deps"

local q = {
  fc = flowKeys(1, ARGV[9], ARGV[10]), deferred = KEYS[11], failed = KEYS[12], canceled = KEYS[13], events = KEYS[14],
  handoff = KEYS[15], queue = ARGV[5], cap = ARGV[6], dataCap = tonumber(ARGV[7]), failedTtl = tonumber(ARGV[8]), now = serverNow(),
}
local state = deliverDep(q, KEYS[17], KEYS[18], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
local ended = state == S.failed or state == S.canceled
return { state, (ended and redis.call('HEXISTS', KEYS[17], 'dependents') == 1) and 1 or 0 }
