-- Job events in the queue's stream, in the shape lib/event-codec.ts decodes: fields type, job (the
-- id) and data (the JSON of the payload the supervisor's local event carries).
local function jobJson(queue, id, name, attempt)
  return cjson.encode({ id = id, queue = queue, name = name, attempt = tonumber(attempt) or 0 })
end

local function emit(stream, cap, kind, id, data)
  redis.call('XADD', stream, 'MAXLEN', '~', cap, '*', 'type', kind, 'job', id, 'data', data)
end

local function delayedData(job, runAt)
  return '{"job":' .. job .. ',"runAt":' .. runAt .. '}'
end

-- A result larger than `cap` bytes is left out: a reader then reads it from the record.
local function completedData(job, result, now, cap)
  if #result <= cap then
    return '{"job":' .. job .. ',"result":' .. result .. ',"finishedAt":' .. now .. '}'
  end
  return '{"job":' .. job .. ',"resultOmitted":true,"finishedAt":' .. now .. '}'
end

-- An error larger than `cap` bytes travels without its stack, its message cut to fit.
local function fitError(err, cap)
  if #err > cap then
    local ok, e = pcall(cjson.decode, err)
    if ok and type(e) == 'table' then
      e.stack = nil
      local keep = math.floor(cap / 2)
      if type(e.message) == 'string' and #e.message > keep then
        e.message = string.sub(e.message, 1, keep) .. '...'
      end
      err = cjson.encode(e)
    end
  end
  return err
end

local function failedData(job, err, now, cap)
  return '{"job":' .. job .. ',"error":' .. fitError(err, cap) .. ',"finishedAt":' .. now .. '}'
end

local function retryingData(job, err, delayMs, nextRunAt, cap)
  return '{"job":' .. job .. ',"error":' .. fitError(err, cap) .. ',"delayMs":' .. delayMs .. ',"nextRunAt":' .. nextRunAt .. '}'
end
