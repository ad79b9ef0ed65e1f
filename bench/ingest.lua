-- wrk script of bench/ingest.py: replays pre-signed POST /hooks/events requests.
--
-- wrk's Lua has no HMAC, so bench/ingest.py signs the requests just before each run and writes
-- one file per wrk thread, "<prefix>.<thread index>", one request per line:
--   webhook-id <TAB> webhook-timestamp <TAB> webhook-signature <TAB> JSON body
-- Each thread replays only its own file, so no request is sent twice unless a file runs out; it
-- then starts over and counts the repeats ("reused") so the driver can tell.
-- done() prints one line "BENCH_RESULT {json}" with exact percentiles and per-status counts.
--
-- Usage: wrk -t2 -c16 -d10s --latency -s bench/ingest.lua http://127.0.0.1:PORT/hooks/events -- PREFIX

local threads = {}

function setup(thread)
   thread:set("index", #threads)
   table.insert(threads, thread)
end

-- Per-thread state; the globals are read by done() through thread:get().
local requests = {}
local position = 0
loaded = 0
sent = 0
statuses = {}

local function split_line(line)
   local a = line:find("\t", 1, true)
   local b = line:find("\t", a + 1, true)
   local c = line:find("\t", b + 1, true)
   return line:sub(1, a - 1), line:sub(a + 1, b - 1), line:sub(b + 1, c - 1), line:sub(c + 1)
end

function init(args)
   local path = args[1] .. "." .. index
   local file = assert(io.open(path, "r"), "cannot open " .. path)
   for line in file:lines() do
      if #line > 0 then
         local id, ts, sig, body = split_line(line)
         local headers = {
            ["Host"] = wrk.headers["Host"],
            ["Content-Type"] = "application/json",
            ["webhook-id"] = id,
            ["webhook-timestamp"] = ts,
            ["webhook-signature"] = sig,
         }
         loaded = loaded + 1
         requests[loaded] = wrk.format("POST", wrk.path, headers, body)
      end
   end
   file:close()
   assert(loaded > 0, "no requests in " .. path)
end

function request()
   position = position + 1
   if position > loaded then
      position = 1
   end
   sent = sent + 1
   return requests[position]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

local function percentile(latency, p)
   return string.format("%.1f", latency:percentile(p))
end

function done(summary, latency, requests_stats)
   local total_sent, reused = 0, 0
   local merged = {}
   for _, thread in ipairs(threads) do
      local thread_sent = thread:get("sent") or 0
      total_sent = total_sent + thread_sent
      reused = reused + math.max(0, thread_sent - (thread:get("loaded") or 0))
      for status, n in pairs(thread:get("statuses") or {}) do
         merged[status] = (merged[status] or 0) + n
      end
   end
   local parts = {}
   for status, n in pairs(merged) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "sent": %d, "reused": %d, '
      .. '"p50_us": %s, "p90_us": %s, "p99_us": %s, "p999_us": %s, "max_us": %.1f, "mean_us": %.1f, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"statuses": {%s}}\n',
      summary.requests, summary.duration, summary.bytes, total_sent, reused,
      percentile(latency, 50), percentile(latency, 90), percentile(latency, 99),
      percentile(latency, 99.9), latency.max, latency.mean,
      e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ", ")))
end
