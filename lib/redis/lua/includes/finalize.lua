-- Makes a record final: kept `ttl` ms and listed in its registry (scored by expiry) until then, or
-- deleted at once when ttl is 0. `fields` are written with the final status. Returns whether
-- the registry was written (it is then trimmed of expired ids before the script ends). `ties`
-- (read from the record by the caller): a dedupe key the job holds until it finishes is let go,
-- and its log lines live as long as the record. A job with dependents (ties.handoff: the queue's
-- handoff set) keeps its record, TTL or not, until they have its outcome (handoff-done-2.lua).
-- Keys go with PEXPIRE 0 (Redis deletes them at once) rather than DEL: producers run this too
-- (a dependency that failed before its dependent was enqueued), and their ACL has no DEL.
local function finalize(key, registry, id, ttl, now, fields, ties)
  if ties.dedupeKey and redis.call('GET', ties.dedupeKey) == id then redis.call('PEXPIRE', ties.dedupeKey, 0) end
  if ties.handoff then
    redis.call('HSET', key, unpack(fields))
    redis.call('HSET', key, 'ttlAfterHandoff', ttl)
    redis.call('ZADD', ties.handoff, now, id)
    if ttl <= 0 then return false end
    redis.call('ZADD', registry, now + ttl, id)
    return true
  end
  if ttl > 0 then
    redis.call('HSET', key, unpack(fields))
    redis.call('PEXPIRE', key, ttl)
    if ties.logsKey then redis.call('PEXPIRE', ties.logsKey, ttl) end
    if ties.depsKey then redis.call('PEXPIRE', ties.depsKey, ttl) end
    redis.call('ZADD', registry, now + ttl, id)
    return true
  end
  redis.call('PEXPIRE', key, 0)
  if ties.logsKey then redis.call('PEXPIRE', ties.logsKey, 0) end
  if ties.depsKey then redis.call('PEXPIRE', ties.depsKey, 0) end
  return false
end

-- The keys a record drags along (see finalize), from fields read off it: dedupeKey, logsKey,
-- depsKey, and dependents (set when other jobs depend on it: then the queue's handoff set).
local TIE_FIELDS = { 'dedupeKey', 'logsKey', 'depsKey', 'dependents' }
local function tiesFrom(handoffKey, f, first)
  return { dedupeKey = f[first], logsKey = f[first + 1], depsKey = f[first + 2], handoff = f[first + 3] and handoffKey or nil }
end
