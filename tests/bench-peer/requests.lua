-- wrk script for scripts/bench-peer: POSTs GraphQL requests read from a file,
-- round-robin, each thread starting at its own offset.
--
--   wrk ... -s requests.lua URL -- FILE
--
-- FILE has one request a line: "TOKEN<TAB>JSON BODY" (TOKEN "-" for none).
-- At the end prints one JSON line (prefixed "BENCH-RESULT ") with the requests
-- answered and sent (the difference was in flight when wrk stopped), latency
-- percentiles in microseconds, wrk's error counts and how many answers were
-- not 200 or carried GraphQL "errors".

local threads = {}

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
local next_index = 1
sent = 0
gql_errors = 0
bad_status = 0
first_error = ""

function init(args)
  local path = args[1]
  local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
  for line in f:lines() do
    local tab = line:find("\t", 1, true)
    if tab then
      local token = line:sub(1, tab - 1)
      local body = line:sub(tab + 1)
      local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
      if token ~= "-" and token ~= "" then
        headers["Authorization"] = "Bearer " .. token
      end
      n = n + 1
      reqs[n] = wrk.format("POST", wrk.path, headers, body)
    end
  end
  f:close()
  assert(n > 0, "no requests in " .. tostring(path))
  next_index = (offset or 0) % n + 1
end

function request()
  sent = sent + 1
  local r = reqs[next_index]
  next_index = next_index % n + 1
  return r
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    if first_error == "" then first_error = "HTTP " .. status .. ": " .. (body or ""):sub(1, 300) end
  elseif body and body:find('"errors"', 1, true) then
    gql_errors = gql_errors + 1
    if first_error == "" then first_error = body:sub(1, 300) end
  end
end

local function json_string(s)
  s = s:gsub('\\', '\\\\'):gsub('"', '\\"'):gsub('[%c]', ' ')
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local g, b, s, fe = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    s = s + (t:get("sent") or 0)
    g = g + (t:get("gql_errors") or 0)
    b = b + (t:get("bad_status") or 0)
    if fe == "" then fe = t:get("first_error") or "" end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {"requests": %d, "sent": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, '
      .. '"status_errors": %d, "timeouts": %d, "bad_status": %d, "gql_errors": %d, "first_error": %s}\n',
    summary.requests, s, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    b, g, json_string(fe)))
end
