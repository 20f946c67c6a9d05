-- Makes a record final: kept `ttl` ms and listed in its registry (scored by expiry) until then, or
-- deleted at once when ttl is 0. `fields` are written with the final status. Returns whether
-- the registry was written (it is then trimmed of expired ids before the script ends). `ties`
-- (read from the record by the caller): a dedupe key the job holds until it finishes is let go,
-- and its log lines live as long as the record.
local function finalize(key, registry, id, ttl, now, fields, ties)
  if ties.dedupeKey and redis.call('GET', ties.dedupeKey) == id then redis.call('DEL', ties.dedupeKey) end
  if ttl > 0 then
    redis.call('HSET', key, unpack(fields))
    redis.call('PEXPIRE', key, ttl)
    if ties.logsKey then redis.call('PEXPIRE', ties.logsKey, ttl) end
    redis.call('ZADD', registry, now + ttl, id)
    return true
  end
  redis.call('DEL', key)
  if ties.logsKey then redis.call('DEL', ties.logsKey) end
  return false
end

-- Keeps at most `keep` records in a registry (nil or negative: no cap): the oldest beyond it are
-- deleted, at most 1,000 per call so a lowered cap never blocks Redis for long.
local function capRegistry(registry, jobPrefix, keep)
  if not keep or keep < 0 then return end
  local excess = redis.call('ZCARD', registry) - keep
  if excess <= 0 then return end
  local oldest = redis.call('ZPOPMIN', registry, math.min(excess, 1000))
  for i = 1, #oldest, 2 do redis.call('DEL', jobPrefix .. oldest[i]) end
end
