-- POST /checkout as the next bench user, each request with an Idempotency-Key of its own.
-- Every user's cart was filled before the run and each user checks out once: request n
-- (threads share the sequence as in cart_items.lua) is user FIRST_USER + n. Past USERS
-- requests the carts are empty again and the answers are errors, which api.py reports.
-- wrk -t T -s checkout.lua URL -- TOKEN_PREFIX FIRST_USER USERS T RUN_ID
done = dofile("report.lua").done

local next_index = 0

function setup(thread)
  thread:set("thread_index", next_index)
  next_index = next_index + 1
end

local prefix, first_user, users, threads, run_id, sent

function init(args)
  prefix, first_user, users, threads = args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
  run_id = args[5]
  wrk.method = "POST"
  sent = 0
end

function request()
  local n = thread_index + sent * threads
  sent = sent + 1
  wrk.headers["Authorization"] = "Bearer " .. prefix .. (first_user + n % users)
  wrk.headers["Idempotency-Key"] = run_id .. "-" .. n
  return wrk.format()
end
