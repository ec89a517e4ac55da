-- wrk script for bench/wrk.py: POST the file named by WRK_BODY as JSON (with the header
-- Authorization: $WRK_AUTHORIZATION when that is set), count the answers that are not 200,
-- and print one JSON line of results at the end.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("WRK_AUTHORIZATION") then wrk.headers["Authorization"] = os.getenv("WRK_AUTHORIZATION") end
local f = assert(io.open(os.getenv("WRK_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; bad = 0 end
function response(status, headers, body)
  if status == 200 then ok = ok + 1 else bad = bad + 1 end
end
function done(summary, latency, requests)
  local ok_n, bad_n = 0, 0
  for _, t in ipairs(threads) do ok_n = ok_n + t:get("ok"); bad_n = bad_n + t:get("bad") end
  local e = summary.errors
  io.write(string.format('{"requests": %d, "duration_us": %d, "ok": %d, "not_200": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n', summary.requests, summary.duration, ok_n, bad_n,
    e.connect, e.read, e.write, e.timeout, latency:percentile(50), latency:percentile(99)))
end
