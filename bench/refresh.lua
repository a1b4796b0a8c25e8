-- wrk script: every request rotates a refresh token, so each connection must use the token the
-- previous answer returned. Tokens come from the file named by TOKENS (one per line, from logins);
-- each wrk thread keeps its share in a queue: a request takes one, its answer puts the successor back.
-- wrk calls request() once more on thread 1 to check the script, so run.sh logs in one extra
-- time per thread: that token is taken but never sent.

local tokens_file = os.getenv("TOKENS")
local counter = 0
local threads = {}

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

function init(args)
   local count = tonumber(os.getenv("THREADS") or "2")
   queue = {}
   local index = 0
   for line in io.lines(tokens_file) do
      if index % count == id - 1 then table.insert(queue, line) end
      index = index + 1
   end
   lost = 0
end

function request()
   local token = table.remove(queue, 1)
   if token == nil then
      lost = lost + 1
      token = "exhausted"
   end
   return wrk.format("POST", "/jwt-allauth/refresh/", { ["Cookie"] = "refresh_token=" .. token, ["Content-Length"] = "0" }, "")
end

function response(status, headers, body)
   local cookie = headers["Set-Cookie"] or headers["set-cookie"]
   if status == 200 and cookie then
      local token = string.match(cookie, "refresh_token=([^;]+)")
      if token then table.insert(queue, token) end
   end
end

-- Per-status counts, printed at the end (wrk only reports "non-2xx" as one number).
statuses = {}
local base_response = response
function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
   base_response(status, headers, body)
end

function done(summary, latency, requests)
   local totals = {}
   for _, thread in ipairs(threads) do
      local counts = thread:get("statuses")
      for status, count in pairs(counts or {}) do totals[status] = (totals[status] or 0) + count end
      local lost = thread:get("lost") or 0
      if lost > 0 then io.write(string.format("requests sent without a token: %d\n", lost)) end
   end
   for status, count in pairs(totals) do io.write(string.format("status %d: %d\n", status, count)) end
end
