-- A queue's per-minute metrics (lib/metrics.ts), gathered while a script writes outcomes and
-- written once at its end: one hash per minute, fields c (completed) and f (failed), and w<b> and
-- r<b> counting wait and run times in geometric buckets b. Expects q.now and q.metricsPrefix.
local LOG_BASE = math.log(METRIC.base)

local function bucketOf(ms)
  if ms < 0 then ms = 0 end
  return math.floor(math.log(ms + 1) / LOG_BASE)
end

local function countMetric(q, field)
  q.metrics = q.metrics or {}
  q.metrics[field] = (q.metrics[field] or 0) + 1
end

-- A run ended: `final` 'c' or 'f' when its job did (nil for a failed try with tries left).
-- startedAt from the record; waitFrom is when the job became due (creation, or its due time).
local function noteRun(q, final, startedAt, waitFrom)
  if final then countMetric(q, final) end
  startedAt = tonumber(startedAt)
  if not startedAt then return end
  countMetric(q, 'r' .. bucketOf(q.now - startedAt))
  waitFrom = tonumber(waitFrom)
  if waitFrom then countMetric(q, 'w' .. bucketOf(startedAt - waitFrom)) end
end

local function flushMetrics(q)
  if not q.metrics then return end
  local key = q.metricsPrefix .. (math.floor(q.now / METRIC.minuteMs) * METRIC.minuteMs)
  for field, n in pairs(q.metrics) do redis.call('HINCRBY', key, field, n) end
  redis.call('PEXPIRE', key, METRIC.keptMs)
end
