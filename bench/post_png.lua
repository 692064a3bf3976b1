-- wrk script: POST a PNG body read from the file named in env BODY to the path in env PATH_
local f = io.open(os.getenv("BODY"), "rb"); local body = f:read("*a"); f:close()
wrk.method = "POST"; wrk.body = body
wrk.headers["Content-Type"] = "image/png"
wrk.path = os.getenv("PATH_") or "/invocations"
