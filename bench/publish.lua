-- wrk: publish one entry to production again and again (a write per request).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"entry": {"environments": ["production"], "locales": ["en-us"]}}'

-- Show the first answer of each unexpected status, so failures are visible in the run's log.
local seen = {}
response = function(status, headers, body)
  if status >= 300 and not seen[status] then
    seen[status] = true
    io.stderr:write("unexpected " .. status .. ": " .. body .. "\n")
  end
end
