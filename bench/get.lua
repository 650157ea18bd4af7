-- wrk script: an authenticated GET of the path given on the command line.
local token = os.getenv("TOKEN")
wrk.headers["Authorization"] = "Bearer " .. (token or "")

done = function(summary, latency, requests)
  io.write(string.format("p50 %.2f ms, p99 %.2f ms, %d requests, %d non-2xx/3xx\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status))
end
