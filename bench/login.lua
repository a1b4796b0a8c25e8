-- wrk script: every connection logs in without pause (a login storm from many addresses, with
-- nginx's per-address limit out of the way). Prints the answers per status at the end, so the
-- caller counts the successful logins (200) apart from the ones the hashing budget refused (503).
-- EMAIL and PASSWORD name the account.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

function init(args)
   statuses = {}
end

function request()
   local body = string.format('{"email":"%s","password":"%s"}', os.getenv("EMAIL"), os.getenv("PASSWORD"))
   return wrk.format("POST", "/jwt-allauth/login/", { ["Content-Type"] = "application/json" }, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local totals = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses") or {}) do totals[status] = (totals[status] or 0) + count end
   end
   for status, count in pairs(totals) do io.write(string.format("status %d: %d\n", status, count)) end
end
