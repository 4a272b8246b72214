-- GET the URL given to wrk; with an argument after "--", as that bearer token.
-- wrk -s get.lua http://127.0.0.1:8000/feed -- TOKEN
done = dofile("report.lua").done

function init(args)
  if args[1] then
    wrk.headers["Authorization"] = "Bearer " .. args[1]
  end
end
