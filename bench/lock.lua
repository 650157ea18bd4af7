-- wrk script: lock / unlock real images in turn, so every request is a
-- durable write (BEGIN IMMEDIATE, audit event, feedback on unlock).
-- IMAGES (comma-separated ids) and TOKEN come from the environment.
local all = {}
for id in string.gmatch(os.getenv("IMAGES") or "", "[^,]+") do
  all[#all + 1] = id
end
local threads = tonumber(os.getenv("THREADS") or "2")
local ids = {}
local token = os.getenv("TOKEN")
local counter = {}
local i = 0
local created = 0

function setup(thread)
  -- A global in the thread's own Lua state (a local would shadow it).
  thread:set("thread_index", created)
  created = created + 1
end

local function mine()
  -- Each thread takes its own share of the images: no two threads race.
  local me = thread_index or 0
  for k, id in ipairs(all) do
    if (k - 1) % threads == me then
      ids[#ids + 1] = id
    end
  end
end

request = function()
  if #ids == 0 then mine() end
  i = i + 1
  local id = ids[(i % #ids) + 1]
  local n = (counter[id] or 0)
  counter[id] = n + 1
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  if n % 2 == 0 then
    return wrk.format("POST", "/api/v1/images/" .. id .. "/lock", headers, "{}")
  else
    return wrk.format("POST", "/api/v1/images/" .. id .. "/unlock", headers,
      '{"reasons":["BLURRY"]}')
  end
end

local statuses = {}
response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  io.write(string.format("lock/unlock: p50 %.2f ms, p99 %.2f ms, %d requests, %d non-2xx/3xx\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status))
end
