-- wrk script for bench/load.sh: POSTs one GraphQL query per request, as a current client
-- sends it (errors then show as non-2xx statuses, which wrk counts). QUERY=recommend asks
-- for recommendations(first: 10) of a random user among USERS; QUERY=typename asks for
-- { __typename }. Both carry the tenant's key, so both pay authentication.
local kind = os.getenv("QUERY") or "recommend"
local users = tonumber(os.getenv("USERS") or "943")
local id_prefix = os.getenv("USER_PREFIX") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/graphql-response+json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("KEY") or "")

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("seed", counter)
end

-- Built in init: at the script's top level wrk has not yet set the URL's path and host,
-- and a request formatted there is malformed (the server answers 400). Every user's
-- request is formatted once there too, so both queries cost the load generator (which
-- shares the server's cores) the same per request: formatting one per request took a
-- share of the cores the typename figure did not pay.
local typename
local recommend = {}
function init(args)
  math.randomseed(os.time() * 1000 + (seed or 0))
  typename = wrk.format(nil, nil, nil, '{"query":"{ __typename }"}')
  if kind ~= "typename" then
    for u = 1, users do
      recommend[u] = wrk.format(nil, nil, nil,
        '{"query":"query Recommend($u: String!) { recommendations(userId: $u, first: 10) { strategy items { contentId score } } }","variables":{"u":"'
        .. id_prefix .. u .. '"}}')
    end
  end
end

function request()
  if kind == "typename" then
    return typename
  end
  return recommend[math.random(1, users)]
end

function done(summary, latency, requests)
  local e = summary.errors
  local errors = e.status + e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT requests=%d errors=%d rps=%.0f p50_ms=%.3f p99_ms=%.3f\n",
    summary.requests, errors, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
