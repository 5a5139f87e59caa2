-- wrk script: client-credentials token requests against `rolegate idp`.
--
--   wrk -t1 -c4 -d15s -s bench/idp-token.lua https://127.0.0.1:PORT/<tenant>/oauth2/v2.0/token
--
-- The form comes from the environment (defaults: the Orders daemon of
-- examples/tenant.toml asking for the Orders API). Every response is
-- checked: a status other than 200, or a 200 without an access token, is
-- counted, and done() prints one machine-readable RESULT line that
-- bench/idp-token.sh parses (latencies in microseconds).
--
-- Optional, for a paced stream of a fixed size (bench/idp-wrong-secrets.py):
-- RG_PACE_MS waits that many milliseconds before each request on a
-- connection; RG_MAX_REQUESTS stops the thread after that many responses
-- and then creates the file RG_DONE_FILE (wrk itself runs until -d, or
-- until it gets SIGINT, and prints its summary then).

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

local client_id = env("RG_CLIENT_ID", "7fbf04bb-64db-4661-a8cd-d2d07d250ad8")
local secret = env("RG_CLIENT_SECRET", "daemon-secret-8Qx3vT7pLm2Zr9Wc")
local scope = env("RG_SCOPE", "api://8a1f6c2e-4b7d-4e9a-b3c5-6d7e8f9a0b1c/.default")
local pace_ms = tonumber(env("RG_PACE_MS", "0"))
local max_requests = tonumber(env("RG_MAX_REQUESTS", "0"))
local done_file = env("RG_DONE_FILE", "")

if pace_ms > 0 then
  function delay()
    return pace_ms
  end
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials"
  .. "&client_id=" .. urlencode(client_id)
  .. "&client_secret=" .. urlencode(secret)
  .. "&scope=" .. urlencode(scope)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  non200 = 0
  no_token = 0
  first_bad = ""
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    if first_bad == "" then
      first_bad = tostring(status) .. " " .. string.sub(body or "", 1, 300)
    end
  elseif not string.find(body, "\"access_token\":\"ey", 1, true) then
    no_token = no_token + 1
    if first_bad == "" then
      first_bad = "200 without access_token: " .. string.sub(body or "", 1, 300)
    end
  else
    ok = ok + 1
  end
  if max_requests > 0 and ok + non200 + no_token >= max_requests then
    if done_file ~= "" then
      local f = io.open(done_file, "w")
      if f then f:close() end
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local total_ok, total_non200, total_no_token, bad = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_non200 = total_non200 + t:get("non200")
    total_no_token = total_no_token + t:get("no_token")
    local fb = t:get("first_bad")
    if bad == "" and fb ~= nil and fb ~= "" then bad = fb end
  end
  local e = summary.errors
  local socket_errors = e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    "RESULT requests=%d ok=%d non200=%d no_token=%d socket_errors=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, total_ok, total_non200, total_no_token, socket_errors,
    summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
  if bad ~= "" then
    io.write("FIRST_BAD " .. string.gsub(bad, "\n", " ") .. "\n")
  end
end
