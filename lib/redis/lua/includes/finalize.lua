-- Makes a record final: kept `ttl` ms and listed in its registry (scored by expiry) until then, or
-- deleted at once when ttl is 0. `fields` are written with the final status. Returns whether
-- the registry was written (it is then trimmed of expired ids before the script ends).
local function finalize(key, registry, id, ttl, now, fields)
  if ttl > 0 then
    redis.call('HSET', key, unpack(fields))
    redis.call('PEXPIRE', key, ttl)
    redis.call('ZADD', registry, now + ttl, id)
    return true
  end
  redis.call('DEL', key)
  return false
end
