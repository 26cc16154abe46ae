-- wrk script: every request the same POST /api/v1/reservations body, so every client fights for the
-- same nights: the first request gets 201, all the others 409 date_overlap. Used by scripts/bench.sh:
--   wrk -t T -c C -d D -s contention.lua URL -- ACCOMMODATION_ID CHECK_IN CHECK_OUT
function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.body = string.format('{"accommodation_id":%d,"check_in":"%s","check_out":"%s","guests":2,'
        .. '"guest_name":"Bench Guest","guest_phone":"+54 9 11 5555-1234","channel":"web"}',
        tonumber(args[1]), args[2], args[3])
end
