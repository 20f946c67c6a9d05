-- A job ends canceled (queue.cancel): its record keeps a JobCanceledError (the shape of
-- lib/errors.ts) and the reason, it is listed in the canceled registry until the record expires,
-- and the event says so. Needs events and finalize included before it. Returns whether the
-- registry was written, and the error JSON.
local function endCanceled(key, registry, stream, cap, queue, id, name, attempts, ttl, now, reason, ties)
  local err = cjson.encode({ name = 'JobCanceledError', code = 'BRK_JOB_CANCELED', reason = reason,
    message = 'job canceled' .. (reason ~= '' and ': ' .. reason or '') })
  local listed = finalize(key, registry, id, ttl, now, { 'status', S.canceled, 'error', err, 'finishedAt', now }, ties)
  local job = jobJson(queue, id, name or '', attempts)
  emit(stream, cap, E.canceled, id, '{"job":' .. job .. ',"reason":' .. cjson.encode(reason) .. ',"canceledAt":' .. now .. '}')
  return listed, err
end
