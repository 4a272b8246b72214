-- The numbers api.py reads from a wrk run: one line, "BENCH {json}", after wrk's own summary.
-- Latencies are in microseconds; "non_2xx" is wrk's count of 4xx/5xx answers.
local report = {}

function report.done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%.0f,"p99_us":%.0f,'
      .. '"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end

return report
