--[[ Makes a job of this queue a dependency of a job (of another queue, usually): the dependent's
  ref joins the job's dependents, so its outcome reaches the dependent when it finishes
  (handoff-read-2.lua). A job already finished is not linked: its outcome comes back instead,
  for the caller to deliver (dep-resolve-18.lua).
  KEYS[1]  the dependency's hash
  KEYS[2]  its dependents set
  KEYS[3]  the queue's guard key, never written (see keys.ts: waits out a slot migration)
  ARGV[1]  the dependent's ref ("queue<TAB>id"), ARGV[2] this queue's name, ARGV[3] the dependency's id
  Returns  { 'missing' } | { 'linked' } | { status, outcome JSON } for a finished dependency
]]
-- @include "deps"

local f = redis.call('HMGET', KEYS[1], 'status', 'result', 'error')
if not f[1] then return { 'missing' } end
if isFinal(f[1]) then return { f[1], outcomeJson(ARGV[2], ARGV[3], f[1], f[2], f[3]) } end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'dependents', '1')
return { 'linked' }
