-- wrk script: POST /api/v1/reservations, every request a 1-night hold on a night no other request of
-- the run asks for. Used by scripts/bench.sh:
--   wrk -t T -c C -d D -s holds.lua URL -- BASE_EPOCH FIRST_ACC NACC NDAYS THREADS OFFSET
-- BASE_EPOCH: 00:00 UTC of the first check-in date; accommodations FIRST_ACC .. FIRST_ACC + NACC - 1.
-- Slots: thread k (0-based, numbered in setup) takes OFFSET + k, OFFSET + k + THREADS, ...; the connections
-- of one thread share its Lua state and so its counter. Slot s is accommodation FIRST_ACC + s % NACC on
-- the night BASE + floor(s / NACC): consecutive requests go to different accommodations, and a run needs
-- fewer than NACC x NDAYS requests to never repeat a night (math.random would repeat them). The bench
-- runs its warm-up from OFFSET 0 and the measurement from an OFFSET past every slot the warm-up used.
local created = 0

function setup(thread)
    thread:set("tid", created)
    created = created + 1
end

function init(args)
    base = tonumber(args[1])
    first = tonumber(args[2])
    nacc = tonumber(args[3])
    ndays = tonumber(args[4])
    stride = tonumber(args[5])
    seq = tonumber(args[6] or 0) + tid
    headers = {["Content-Type"] = "application/json"}
    -- the dates of the horizon, formatted once
    dates = {}
    for d = 0, ndays do
        dates[d] = os.date("!%Y-%m-%d", base + d * 86400)
    end
end

function request()
    local s = seq
    seq = seq + stride
    local acc = first + s % nacc
    local day = math.floor(s / nacc) % ndays
    local body = string.format('{"accommodation_id":%d,"check_in":"%s","check_out":"%s","guests":2,'
        .. '"guest_name":"Bench Guest","guest_phone":"+54 9 11 5555-1234","channel":"web"}',
        acc, dates[day], dates[day + 1])
    return wrk.format("POST", "/api/v1/reservations", headers, body)
end
