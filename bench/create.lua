-- wrk: create entries (a write per request).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"entry": {"title": "Benchmark article", "rating": 7, "category": "news", "body": "written by wrk"}}'

-- Show the first answer of each unexpected status, so failures are visible in the run's log.
local seen = {}
response = function(status, headers, body)
  if status >= 300 and not seen[status] then
    seen[status] = true
    io.stderr:write("unexpected " .. status .. ": " .. body .. "\n")
  end
end
