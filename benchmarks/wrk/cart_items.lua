-- POST /cart/items {"product_id": P, "quantity": 1} as a bench user. The threads share one
-- sequence (thread t sends t, t + T, t + 2T, ...); request n is user n mod USERS and the
-- product after that, so the requests in flight at once write different carts.
-- wrk -t T -s cart_items.lua URL -- TOKEN_PREFIX FIRST_USER USERS T PRODUCT_ID,PRODUCT_ID,...
done = dofile("report.lua").done

local next_index = 0

function setup(thread)
  thread:set("thread_index", next_index) -- runs before the thread's init()
  next_index = next_index + 1
end

local prefix, first_user, users, threads, products, sent

function init(args)
  prefix, first_user, users, threads = args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
  products = {}
  for id in string.gmatch(args[5], "%d+") do
    products[#products + 1] = id
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  sent = 0
end

function request()
  local n = thread_index + sent * threads
  sent = sent + 1
  local product = products[math.floor(n / users) % #products + 1]
  wrk.headers["Authorization"] = "Bearer " .. prefix .. (first_user + n % users)
  return wrk.format(nil, "/cart/items", nil, '{"product_id":' .. product .. ',"quantity":1}')
end
