-- wrk script: GET /api/v1/candidates/{id} over the candidates in CANDIDATES
-- (comma-separated ids, from the environment) in turn, with TOKEN.
local ids = {}
for id in string.gmatch(os.getenv("CANDIDATES") or "", "[^,]+") do
  ids[#ids + 1] = id
end
local token = os.getenv("TOKEN")
local i = 0

request = function()
  i = i + 1
  local id = ids[(i % #ids) + 1]
  return wrk.format("GET", "/api/v1/candidates/" .. id,
    { ["Authorization"] = "Bearer " .. token })
end

done = function(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, %d requests, %d non-2xx/3xx\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status))
end
