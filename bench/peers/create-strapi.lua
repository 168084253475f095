-- wrk: create Strapi 5 articles through the REST API (a write per request).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"data": {"title": "Benchmark article", "rating": 7, "category": "news", "body": "written by wrk"}}'

local seen = {}
response = function(status, headers, body)
  if status >= 300 and not seen[status] then
    seen[status] = true
    io.stderr:write("unexpected " .. status .. ": " .. body .. "\n")
  end
end
