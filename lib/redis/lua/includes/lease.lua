-- Takes up to `count` queued jobs, as the queue's order and limits allow (see queued.lua), and
-- leases each to `owner`: status active, attempts + 1, a token every later write about this run must present, and a deadline
-- (server time + leaseMs) in the active set. Job keys are built here as jobPrefix .. id: the ids
-- are only known now, and the prefix carries the queue's hash tag, so every key is in this slot.
-- Appends LEASE_WIDTH values per id to `out`: id, reply, token (the status, for a skipped id),
-- name, data, attempt, timeoutMs, createdAt, resultTtlMs, failedTtlMs, maxAttempts, backoff (JSON),
-- schedule (the id of the schedule whose tick this is), tries (failed tries so far: retries count
-- these, not leases, so a stall does not use up a try), priority, group, and the outcomes of its
-- dependencies (a JSON array of includes/deps.lua outcomeJson, '' without dependsOn), and the trace
-- context stored at enqueue ('' : none; lib/tracing.ts). Returns how many ids it
-- took, and when the queue's limits let it lease again (nil: not held back by time). Each lease is
-- an `active` event in the stream `ev` ({ stream, cap, queue }); needs events.lua included.
local LEASE_WIDTH = 18

local function lease(fc, jobPrefix, count, owner, tokenBase, leaseMs, out, ev)
  if count <= 0 then return 0, nil end
  local now = serverNow()
  local ids, nextLook = takeQueued(fc, count, now, tokenBase)
  if #ids == 0 then return 0, nextLook end
  local deadline = now + leaseMs
  local leases = {}
  local n = #out
  for i, id in ipairs(ids) do
    local key = jobPrefix .. id
    local f = redis.call('HMGET', key, 'status', 'name', 'data', 'attempts', 'timeoutMs', 'createdAt', 'resultTtlMs', 'failedTtlMs',
      'maxAttempts', 'backoff', 'schedule', 'tries', 'priority', 'group', 'depsKey', 'trace')
    local reply, token, attempts = R.leased, '', ''
    if not f[1] and not f[2] and not f[3] then
      reply = R.missing
    elseif f[1] and f[1] ~= S.queued then
      reply, token = R.skipped, f[1]
    else
      -- a record without a status is damaged but still leased, so the supervisor can fail it visibly
      attempts = (tonumber(f[4]) or 0) + 1
      token = tokenBase .. '.' .. i
      redis.call('HSET', key, 'status', S.active, 'attempts', attempts, 'startedAt', now, 'token', token, 'owner', owner)
      leases[#leases + 1] = deadline
      leases[#leases + 1] = id
      emit(ev.stream, ev.cap, E.active, id, '{"job":' .. jobJson(ev.queue, id, f[2] or '', attempts) .. '}')
    end
    out[n + 1], out[n + 2], out[n + 3] = id, reply, token
    if reply == R.leased then
      out[n + 4], out[n + 5], out[n + 6], out[n + 7] = f[2] or '', f[3] or '', attempts, f[5] or ''
      out[n + 8], out[n + 9], out[n + 10], out[n + 11], out[n + 12] = f[6] or '', f[7] or '', f[8] or '', f[9] or '', f[10] or ''
      out[n + 13], out[n + 14], out[n + 15], out[n + 16] = f[11] or '', f[12] or '0', f[13] or '0', f[14] or ''
      out[n + 17] = f[15] and '[' .. table.concat(redis.call('HVALS', f[15]), ',') .. ']' or ''
      out[n + 18] = f[16] or ''
    else
      leftActive(fc, id) -- it never became active: its group's share goes back
      for j = n + 4, n + LEASE_WIDTH do out[j] = '' end
    end
    n = n + LEASE_WIDTH
  end
  if #leases > 0 then redis.call('ZADD', fc.active, unpack(leases)) end
  return #ids, nextLook
end
