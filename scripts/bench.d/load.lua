-- wrk script for scripts/bench: closed-loop load with exact accounting.
--
--   wrk -t2 -c64 -d<seconds+grace>s --timeout 10s -s load.lua http://127.0.0.1:PORT \
--       -- MODE SECONDS KEY TAG MARKER_DIR [BATCH_SIZE]
--
-- MODE: get (GET /healthz) | single (a distinct valid event per request) | batch
-- (BATCH_SIZE distinct events per request) | dup (the same event_id every request) |
-- badkey (a key whose checksum fails) | ctype (text/plain) | big (a 70 KiB body).
--
-- Each thread sends the measured requests for SECONDS, then switches every connection
-- to `GET /__cc/inbound` (a 405 answered without database work) until every measured
-- request it sent has been answered, and stops. So no measured request is left in
-- flight when wrk stops: the 2xx it counts can be compared exactly with the rows the
-- database stored. Rates are measured responses ÷ (last measured response − first
-- request), from a monotonic clock. done() prints one line: `BENCH_RESULT {json}`.

local ffi = require("ffi")
pcall(ffi.cdef, [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clk_id, bench_timespec_t *tp);
]])
local ts = ffi.new("bench_timespec_t")
local CLOCK_MONOTONIC = 1
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

-- Main thread: number the threads and keep them for done().
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- Per thread (each thread has its own Lua state and globals).
mode, seconds, key, tag, marker_dir, batch_size = nil
issued, answered, tail_answered, seq = 0, 0, 0, 0
first, last, deadline = nil, nil, nil
counts, accepted_events, duplicate_bodies = {}, 0, 0
finished, verified = false, false
local static_req, tail_req

local function json_headers()
  return { ["Content-Type"] = "application/json", ["X-CC-Api-Key"] = key }
end

function init(args)
  mode = args[1]
  seconds = tonumber(args[2])
  key = args[3]
  tag = args[4]
  marker_dir = args[5]
  batch_size = tonumber(args[6] or "500")
  tail_req = wrk.format("GET", "/__cc/inbound")
  if mode == "get" then
    static_req = wrk.format("GET", "/healthz")
  elseif mode == "dup" then
    static_req = wrk.format("POST", "/__cc/inbound", json_headers(),
      '{"email":"dup@bench.example","event":"purchase","value":"19.99","currency":"USD","event_id":"'
        .. tag .. '-dup"}')
  elseif mode == "badkey" then
    static_req = wrk.format("POST", "/__cc/inbound", json_headers(),
      '{"email":"bad@bench.example","event":"purchase"}')
  elseif mode == "ctype" then
    static_req = wrk.format("POST", "/__cc/inbound",
      { ["Content-Type"] = "text/plain", ["X-CC-Api-Key"] = key },
      '{"email":"ctype@bench.example","event":"purchase"}')
  elseif mode == "big" then
    local head = '{"email":"big@bench.example","event":"purchase","properties":{"pad":"'
    local tailjson = '"}}'
    local pad = string.rep("x", 70 * 1024 - #head - #tailjson)
    static_req = wrk.format("POST", "/__cc/inbound", json_headers(), head .. pad .. tailjson)
  elseif mode ~= "single" and mode ~= "batch" then
    error("unknown mode " .. tostring(mode))
  end
end

local function event_json()
  seq = seq + 1
  return string.format(
    '{"email":"u%d.%s.t%d@bench.example","event":"purchase","value":"19.99","currency":"USD","event_id":"%s-%d-%d"}',
    seq, tag, tid, tag, tid, seq)
end

function request()
  -- wrk calls request() once on the first thread before any connection exists, only to
  -- check the request parses (script_verify_request): answer that call without counting.
  if tid == 1 and not verified then
    verified = true
    return tail_req
  end
  local t = now()
  if not first then
    first = t
    deadline = t + seconds
  end
  if t >= deadline then
    return tail_req
  end
  issued = issued + 1
  if mode == "single" then
    return wrk.format("POST", "/__cc/inbound", json_headers(), event_json())
  elseif mode == "batch" then
    local events = {}
    for i = 1, batch_size do
      events[i] = event_json()
    end
    return wrk.format("POST", "/__cc/inbound/batch", json_headers(),
      '{"events":[' .. table.concat(events, ",") .. ']}')
  end
  return static_req
end

local function finish()
  if finished then return end
  finished = true
  local f = io.open(marker_dir .. "/done." .. tid, "w")
  if f then f:write("done\n"); f:close() end
  wrk.thread:stop()
end

function response(status, headers, body)
  local t = now()
  if status == 405 then
    -- a tail request (no measured mode ever answers 405)
    tail_answered = tail_answered + 1
  else
    answered = answered + 1
    last = t
    counts[status] = (counts[status] or 0) + 1
    if mode == "batch" and status >= 200 and status < 300 then
      local n = string.match(body, '"accepted":(%d+)')
      accepted_events = accepted_events + (tonumber(n) or 0)
    elseif mode == "dup" and status == 200 and string.find(body, '"duplicate"', 1, true) then
      duplicate_bodies = duplicate_bodies + 1
    end
  end
  if deadline and t >= deadline and answered >= issued then
    finish()
  end
end

function done(summary, latency, requests)
  local total = { issued = 0, answered = 0, tail = 0, accepted_events = 0, duplicate_bodies = 0 }
  local statuses = {}
  local t0, t1 = nil, nil
  for _, thread in ipairs(threads) do
    total.issued = total.issued + (thread:get("issued") or 0)
    total.answered = total.answered + (thread:get("answered") or 0)
    total.tail = total.tail + (thread:get("tail_answered") or 0)
    total.accepted_events = total.accepted_events + (thread:get("accepted_events") or 0)
    total.duplicate_bodies = total.duplicate_bodies + (thread:get("duplicate_bodies") or 0)
    local f, l = thread:get("first"), thread:get("last")
    if f and (not t0 or f < t0) then t0 = f end
    if l and (not t1 or l > t1) then t1 = l end
    for status, n in pairs(thread:get("counts") or {}) do
      statuses[status] = (statuses[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(statuses) do
    table.insert(parts, string.format('"%d":%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"issued":%d,"answered":%d,"tail":%d,"accepted_events":%d,"duplicate_bodies":%d,'
      .. '"window":%.6f,"statuses":{%s},"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d},'
      .. '"latency_p50_us":%d,"latency_p99_us":%d}\n',
    total.issued, total.answered, total.tail, total.accepted_events, total.duplicate_bodies,
    (t0 and t1) and (t1 - t0) or 0, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
