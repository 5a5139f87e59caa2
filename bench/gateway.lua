-- wrk script: GET with a bearer token (RG_TOKEN, optional) against the
-- upstream, nginx or `rolegate gateway`, for bench/gateway.sh.
--
--   RG_TOKEN=eyJ... wrk -t1 -c16 -d10s -s bench/gateway.lua http://127.0.0.1:PORT/orders/1
--
-- Every response is checked: a status other than 200 is counted, and done()
-- prints one machine-readable RESULT line (latencies in microseconds) plus
-- the first bad answer, if any.

local token = os.getenv("RG_TOKEN") or ""
if token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  non200 = 0
  first_bad = ""
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  else
    non200 = non200 + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local total_ok, total_non200, bad = 0, 0, ""
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_non200 = total_non200 + t:get("non200")
    local fb = t:get("first_bad")
    if bad == "" and fb ~= nil and fb ~= "" then bad = fb end
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "RESULT requests=%d ok=%d non200=%d socket_errors=%d status_errors=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, total_ok, total_non200, socket_errors, e.status,
    summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  if bad ~= "" then
    io.write("FIRST_BAD " .. string.gsub(bad, "\n", " ") .. "\n")
  end
end
