-- bench/wxpay-notify.lua: wrk script for bench/notify.sh. POSTs the notification that
-- bench/wxpay-notification.mjs wrote into $BENCH_NOTIFY_DIR (body.json, headers.txt) on every request,
-- counts the response statuses, and prints a machine-readable summary line (times in microseconds):
--   BENCH_JSON {"duration_us":..,"requests":..,..,"status":{"204":n,..}}
--
--   BENCH_NOTIFY_DIR=DIR wrk --latency -s bench/wxpay-notify.lua http://127.0.0.1:PORT/api/v1/payments/wxpay/notify

local dir = os.getenv("BENCH_NOTIFY_DIR") or error("BENCH_NOTIFY_DIR is not set")

local function slurp(name)
  local f = assert(io.open(dir .. "/" .. name, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

wrk.method = "POST"
wrk.body = slurp("body.json") -- wrk adds Content-Length
for line in slurp("headers.txt"):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

-- Status counts: one table per wrk thread, summed in done().
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses") or {}) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d":%.0f', code, n))
  end
  table.sort(parts)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us":%.0f,"requests":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"mean":%.3f,"stdev":%.3f,"max":%.0f,"p50":%.0f,"p90":%.0f,"p99":%.0f},' ..
    '"status":{%s}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    table.concat(parts, ",")))
end
