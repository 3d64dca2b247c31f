-- wrk script for bench_api_inbound.py: POST /api/v1/messages with a unique external_id per
-- request (run prefix + thread id + counter) and ~500 distinct customers. Every 4th request
-- carries a new thread_key (opens a conversation); the others have none and thread into the
-- customer's open conversation. Counts responses by status for the correctness check.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  run = os.getenv("BENCH_RUN") or "run"
  token = os.getenv("BENCH_TOKEN") or ""
  status = {}
  texts = {
    "My card was charged twice for the same order, please refund me.",
    "Where is my parcel? It was supposed to arrive on Monday.",
    "Ma commande n'est toujours pas arrivée, pouvez-vous vérifier ?",
    "Me han cobrado dos veces el mismo pedido, necesito un reembolso.",
    "Thanks a lot, the replacement arrived and works perfectly.",
    "I cannot log in to my account since yesterday, the password reset email never comes.",
  }
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  counter = counter + 1
  sent = counter
  local n = counter
  local customer = (n * 7919 + tid * 104729) % 500
  local thread_key = "null"
  if n % 4 == 0 then
    thread_key = string.format('"%s-%d-%d"', run, tid, n)
  end
  local body = string.format(
    '{"channel":"api","customer":{"name":"Customer %d","email":"c%d@example.com"},' ..
    '"text":"%s","external_id":"%s-%d-%d","thread_key":%s}',
    customer, customer, texts[(n % #texts) + 1], run, tid, n, thread_key)
  return wrk.format(nil, "/api/v1/messages", nil, body)
end

function response(code, headers, body)
  status[code] = (status[code] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  local sent_total = 0
  for _, thread in ipairs(threads) do
    sent_total = sent_total + (thread:get("sent") or 0)
    local s = thread:get("status")
    if s then
      for code, count in pairs(s) do
        totals[code] = (totals[code] or 0) + count
      end
    end
  end
  local parts = {}
  for code, count in pairs(totals) do
    table.insert(parts, string.format('"%d": %d', code, count))
  end
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "errors_socket": %d, "errors_status": %d, ' ..
    '"timeouts": %d, "sent": %d, "lat_p50_us": %d, "lat_p99_us": %d, "status": {%s}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.status, summary.errors.timeout, sent_total,
    latency:percentile(50), latency:percentile(99), table.concat(parts, ", ")))
end
