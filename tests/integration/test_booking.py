"""Booking: holds, the no-double-booking guarantee under concurrency, cancel/expiry, validation, pricing,
idempotency, the admin booking API (lists, confirm, blocks) and the booking metrics.

Every check that depends on the engine runs twice (EngineChecks mixed into one TestCase per engine):
against SQLite, and against a PostgreSQL cluster plus a Redis server started once per class (a fresh
database per test). The PostgreSQL class adds the multi-instance and Redis-outage checks.

Dates are relative to today so the module never goes stale; the server's "today" is the date in
America/Argentina/Buenos_Aires, so stays start at least 2 days ahead unless a test aims at that boundary.
Random scenarios print their seed; CABANAS_TEST_SEED=N reproduces one.
"""

import csv
import datetime
import io
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Postgres, Redis, ServerTestCase, request, wait_for  # noqa: E402

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover - Python < 3.9
    ZoneInfo = None

SECRET = "booking-tests-jwt-secret-0123456789abcde"  # 40 bytes
OWNER = "owner@example.com"
BASE_ENV = {"RATE_LIMIT_ENABLED": "0", "JWT_SECRET": SECRET, "ADMIN_ALLOWED_EMAILS": OWNER,
            "HTTP_THREADS": "8", "DB_POOL_SIZE": "8"}
PROBLEM_KEYS = {"type", "title", "status", "detail", "error"}
PROPERTY_TZ = "America/Argentina/Buenos_Aires"
ACTIVE = ("pre_reserved", "confirmed")
assert len(SECRET) == 40

_token = []  # one admin token for the module: every server shares SECRET and ADMIN_ALLOWED_EMAILS


# --- helpers ---------------------------------------------------------------------------------------------

def today():
    return datetime.date.today()


def day(n):
    """today + n days as YYYY-MM-DD (n >= 2 keeps clear of the property's UTC-3 "today")."""
    return (today() + datetime.timedelta(days=n)).isoformat()


def property_today():
    """The server's "today": the date in PROPERTY_TZ."""
    if ZoneInfo is None:
        return None
    return datetime.datetime.now(ZoneInfo(PROPERTY_TZ)).date()


def plus(d, n):
    return (datetime.date.fromisoformat(d) + datetime.timedelta(days=n)).isoformat()


def nights_of(check_in, check_out):
    d = datetime.date.fromisoformat(check_in)
    end = datetime.date.fromisoformat(check_out)
    out = []
    while d < end:
        out.append(d)
        d += datetime.timedelta(days=1)
    return out


def overlaps(a_in, a_out, b_in, b_out):
    return a_in < b_out and b_in < a_out  # ISO dates compare as strings


def parse_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def round_half_away(num, den):
    """num/den rounded to an integer, halves away from zero (num, den > 0)."""
    return (2 * num + den) // (2 * den)


def money(cents):
    return "%d.%02d" % (cents // 100, cents % 100)


def assert_problem(tc, r, status, code, what=None):
    msg = "%s: %r" % (what, r) if what else repr(r)
    tc.assertNotEqual(r.status, 500, msg)
    tc.assertEqual(r.status, status, msg)
    ct = r.header("content-type") or ""
    tc.assertTrue(ct.startswith("application/problem+json"), "%s: content-type %r" % (msg, ct))
    body = r.json
    tc.assertEqual(set(body), PROBLEM_KEYS, msg)
    tc.assertEqual(body["status"], status, msg)
    tc.assertEqual(body["error"], code, msg)
    return body


def hold_body(acc, check_in, check_out, guests=1, name="Ana Gómez", phone="+54 9 11 5555-0000", **extra):
    b = {"accommodation_id": acc, "check_in": check_in, "check_out": check_out, "guests": guests,
         "guest_name": name, "guest_phone": phone}
    b.update(extra)
    return b


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(metrics, name, **labels):
    """The value of one series (None when absent)."""
    return metrics.get((name, frozenset(labels.items())))


def metric_sum(metrics, name):
    return sum(v for (n, _), v in metrics.items() if n == name)


class BookingChecks:
    """Mixed into one TestCase per engine. Subclasses provide engine, new_database_url() and base_env()."""

    engine = None

    def run(self, result=None):
        """As unittest's, but the failure report of a test that used random_load() names its seeds
        (printing them would break the `name ... ok` lines that tests/run.sh reads)."""
        self.seeds = []
        out = super().run(result)
        if result is not None and self.seeds:
            for lst in (result.failures, result.errors):
                for i, (test, text) in enumerate(lst):
                    if test is self:
                        lst[i] = (test, "%s\nrandom_load seeds: %s (rerun with CABANAS_TEST_SEED=N)\n"
                                  % (text, self.seeds))
        return out

    # --- fixtures ---

    def start(self, env=None, seed=False, database_url=None, name="cabanas"):
        e = dict(BASE_ENV)
        e.update(self.base_env())
        e.update(env or {})
        s = self.server(args=("serve", "--migrate"), env=e, database_url=database_url or self.new_database_url(),
                        name=name)
        if seed:
            p = s.run("seed")
            self.assertEqual(p.returncode, 0, p.stderr)
            s.seeded = json.loads(p.stdout.decode())["accommodations"]
        return s

    def admin(self, s):
        if not _token:
            p = s.run("admin", "token", OWNER)
            self.assertEqual(p.returncode, 0, p.stderr)
            _token.append(p.stdout.decode().strip())
        return {"Authorization": "Bearer " + _token[0]}

    def create_accommodation(self, s, **fields):
        body = {"name": "Cabaña %d" % random.randint(1, 10 ** 9), "capacity": 4, "base_price": "1000.00",
                "min_nights": 1, "max_nights": 30}
        body.update(fields)
        r = s.req("POST", "/api/v1/admin/accommodations", body=body, headers=self.admin(s))
        self.assertEqual(r.status, 201, r)
        return r.json

    def book(self, s, acc, check_in, check_out, headers=None, **kw):
        return s.req("POST", "/api/v1/reservations", body=hold_body(acc, check_in, check_out, **kw), headers=headers)

    def booked(self, s, acc, check_in, check_out, **kw):
        r = self.book(s, acc, check_in, check_out, **kw)
        self.assertEqual(r.status, 201, r)
        return r.json

    def admin_get(self, s, code):
        r = s.get("/api/v1/admin/reservations/" + code, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        return r.json

    def admin_list(self, s, **query):
        """Every reservation matching the filters, read page by page (limit=200&offset=...)."""
        items, offset, total = [], 0, None
        while True:
            q = dict(query, limit=200, offset=offset)
            path = "/api/v1/admin/reservations?" + urllib.parse.urlencode(sorted(q.items()))
            r = s.get(path, headers=self.admin(s), timeout=30)
            self.assertEqual(r.status, 200, r)
            page = r.json
            if total is None:
                total = page["total"]
            self.assertEqual(page["total"], total, "total is stable while paging")
            self.assertEqual((page["limit"], page["offset"]), (200, offset))
            self.assertLessEqual(len(page["items"]), 200)
            items.extend(page["items"])
            if not page["items"] or len(items) >= total:
                break
            offset += 200
        self.assertEqual(len(items), total, "paging returns exactly `total` items")
        codes = [i["code"] for i in items]
        self.assertEqual(len(codes), len(set(codes)), "no reservation on two pages")
        return items

    def active_stays(self, s, **query):
        out = []
        for status in ACTIVE:
            out.extend(self.admin_list(s, status=status, **query))
        for i in out:
            self.assertIn(i["status"], ACTIVE, i)
        return out

    def assert_no_double_booking(self, stays):
        """No two active stays of one accommodation share a night."""
        by_acc = {}
        for st in stays:
            by_acc.setdefault(st["accommodation_id"], []).append(st)
        for acc, lst in by_acc.items():
            seen = {}
            for st in lst:
                for n in nights_of(st["check_in"], st["check_out"]):
                    if n in seen:
                        self.fail("double booking: accommodation %s night %s is held by both %s and %s"
                                  % (acc, n, seen[n], st["code"]))
                    seen[n] = st["code"]

    def metrics(self, s):
        r = s.get("/metrics")
        self.assertEqual(r.status, 200)
        return parse_metrics(r.body.decode())

    def race(self, servers, body, n=50):
        """n POST /api/v1/reservations of `body`, each on its own connection, released together by a
        Barrier; servers take turns. Returns the responses (an exception object where one failed)."""
        barrier = threading.Barrier(n)
        results = [None] * n

        def one(i):
            port = servers[i % len(servers)].port
            try:
                barrier.wait(30)
                results[i] = request(port, "POST", "/api/v1/reservations", body=body, timeout=90)
            except Exception as e:  # noqa: BLE001 - reported by the caller
                results[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return results

    def assert_one_winner(self, servers, results, body):
        errors = [r for r in results if not isinstance(r, harness.Response)]
        self.assertEqual(errors, [], "every request got an answer")
        statuses = sorted(r.status for r in results)
        self.assertEqual(statuses.count(201), 1, "exactly one winner: %s" % statuses)
        self.assertEqual(statuses.count(409), len(results) - 1, statuses)
        for r in results:
            if r.status == 409:
                assert_problem(self, r, 409, "date_overlap")
        win = [r for r in results if r.status == 201][0].json
        self.assertEqual((win["check_in"], win["check_out"], win["accommodation_id"], win["status"]),
                         (body["check_in"], body["check_out"], body["accommodation_id"], "pre_reserved"))
        for s in servers:
            g = s.get("/api/v1/reservations/" + win["code"])
            self.assertEqual(g.status, 200, g)
            self.assertEqual(g.json["status"], "pre_reserved")
            self.assertEqual((g.json["check_in"], g.json["check_out"]), (body["check_in"], body["check_out"]))
        stays = [st for st in self.active_stays(servers[0], accommodation_id=body["accommodation_id"])
                 if overlaps(st["check_in"], st["check_out"], body["check_in"], body["check_out"])]
        self.assertEqual([st["code"] for st in stays], [win["code"]], "the winner is the only stay stored")
        return win

    def random_load(self, servers, accs, n=500, threads=16, on_half=None):
        """n random hold requests (accommodation of `accs`, check-in within 60 days from day+2, 1-5 nights,
        guests within capacity) from `threads` client threads, servers taking turns. Returns
        [(body, response)]. on_half() runs once when half the answers are in."""
        seed = int(os.environ.get("CABANAS_TEST_SEED", random.randrange(1 << 30)))
        self.seeds.append(seed)  # named in the failure message (see run())
        rng = random.Random(seed)
        bodies = []
        for i in range(n):
            acc = rng.choice(accs)
            cin = day(2 + rng.randrange(60))
            cout = plus(cin, rng.randint(1, 5))
            bodies.append(hold_body(acc["id"], cin, cout, guests=rng.randint(1, acc["capacity"]),
                                    name="Guest %d" % i, phone="11%08d" % i))
        results = [None] * n
        lock = threading.Lock()
        state = {"next": 0, "done": 0}

        def worker():
            while True:
                with lock:
                    i = state["next"]
                    state["next"] += 1
                if i >= n:
                    return
                try:
                    r = request(servers[i % len(servers)].port, "POST", "/api/v1/reservations", body=bodies[i],
                                timeout=60)
                except Exception as e:  # noqa: BLE001 - reported by the caller
                    r = e
                results[i] = r
                with lock:
                    state["done"] += 1
                    fire = state["done"] == n // 2 and on_half is not None
                if fire:
                    on_half()

        ts = [threading.Thread(target=worker) for _ in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(300)
        return list(zip(bodies, results))

    def check_load(self, s, outcomes, accs):
        """After random_load: every answer 201 or 409 date_overlap; the stored active stays are exactly
        the 201s, never share a night, and every 409 really hit a stored stay."""
        errors = [(b, r) for b, r in outcomes if not isinstance(r, harness.Response)]
        self.assertEqual(errors, [], "every request got an answer")
        won = {}
        lost = []
        for b, r in outcomes:
            self.assertIn(r.status, (201, 409), "%r -> %r" % (b, r))
            if r.status == 201:
                j = r.json
                self.assertEqual((j["accommodation_id"], j["check_in"], j["check_out"], j["guests"], j["status"]),
                                 (b["accommodation_id"], b["check_in"], b["check_out"], b["guests"], "pre_reserved"))
                self.assertNotIn(j["code"], won)
                won[j["code"]] = b
            else:
                assert_problem(self, r, 409, "date_overlap")
                lost.append(b)
        self.assertGreater(len(won), 10, "the load books something")
        self.assertGreater(len(lost), 10, "the load collides")
        stays = self.active_stays(s)
        self.assertEqual(sorted(st["code"] for st in stays), sorted(won),
                         "the stored active stays are exactly the 201 answers (no 409 stored)")
        for st in stays:
            b = won[st["code"]]
            self.assertEqual((st["accommodation_id"], st["check_in"], st["check_out"], st["guest_name"]),
                             (b["accommodation_id"], b["check_in"], b["check_out"], b["guest_name"]))
        self.assertEqual(len(self.admin_list(s)), len(won), "nothing but the winners was stored")
        self.assert_no_double_booking(stays)
        # no false conflict: nothing was cancelled or expired, so each 409 overlaps a stored stay
        for b in lost:
            hit = [st for st in stays if st["accommodation_id"] == b["accommodation_id"]
                   and overlaps(st["check_in"], st["check_out"], b["check_in"], b["check_out"])]
            self.assertTrue(hit, "409 without any stay on those nights: %r" % b)
        return stays

    def three_accommodations(self, s):
        return [self.create_accommodation(s, name="Load %d" % i, capacity=cap) for i, cap in enumerate((2, 4, 6))]

    # --- 1. the 50-way race ---

    def test_race_50_same_nights_one_winner(self):
        s = self.start(seed=True)
        acc = s.seeded[1]["id"]  # Cabaña del Lago: capacity 6, min 2 nights
        body = hold_body(acc, day(20), day(23), guests=2)
        results = self.race([s], body)
        self.assert_one_winner([s], results, body)
        m = self.metrics(s)
        self.assertEqual(metric(m, "reservations_created_total", channel="web"), 1)
        self.assertEqual(metric_sum(m, "reservations_conflicts_total"), 49, "every refusal counted once")

    # --- 2. random load ---

    def test_random_load_never_double_books(self):
        s = self.start()
        accs = self.three_accommodations(s)
        outcomes = self.random_load([s], accs)
        self.check_load(s, outcomes, accs)

    # --- 3. adjacency ---

    def test_back_to_back_accepted_one_night_overlap_refused(self):
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        other = self.create_accommodation(s)["id"]
        d = day(30)
        first = self.booked(s, acc, d, plus(d, 3))
        self.booked(s, acc, plus(d, 3), plus(d, 5))  # arrives the day the first leaves
        self.booked(s, acc, plus(d, -2), d)  # leaves the day the first arrives
        for cin, cout in ((plus(d, 4), plus(d, 6)), (plus(d, -1), plus(d, 1)), (plus(d, 2), plus(d, 3)),
                          (plus(d, -3), plus(d, 7)), (d, plus(d, 3))):
            assert_problem(self, self.book(s, acc, cin, cout), 409, "date_overlap", "%s..%s" % (cin, cout))
        self.booked(s, other, d, plus(d, 3))  # the same nights elsewhere are fine
        stays = self.active_stays(s, accommodation_id=acc)
        self.assertEqual(sorted((x["check_in"], x["check_out"]) for x in stays),
                         [(plus(d, -2), d), (d, plus(d, 3)), (plus(d, 3), plus(d, 5))])
        r = s.get("/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s" % (acc, plus(d, 5), plus(d, 6)))
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["available"], r.json)
        r = s.get("/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s" % (acc, plus(d, 2), plus(d, 6)))
        self.assertEqual((r.json["available"], r.json["reason"]), (False, "date_overlap"))
        self.assertEqual(first["nights"], 3)

    # --- 4. cancel ---

    def test_cancel_frees_nights_at_once(self):
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        d = day(25)
        h = self.booked(s, acc, d, plus(d, 2))
        assert_problem(self, self.book(s, acc, plus(d, 1), plus(d, 3)), 409, "date_overlap")
        r = s.req("POST", "/api/v1/reservations/%s/cancel" % h["code"], body={"reason": "plans changed"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "cancelled")
        self.assertEqual(r.json["code"], h["code"])
        self.assertIsNotNone(r.json["cancelled_at"])
        self.assertIsNone(r.json["expires_at"])
        self.assertEqual(s.get("/api/v1/reservations/" + h["code"]).json["status"], "cancelled")
        self.assertEqual(self.admin_get(s, h["code"])["cancel_reason"], "plans changed")
        again = self.booked(s, acc, d, plus(d, 2))  # the same nights, at once
        self.assertNotEqual(again["code"], h["code"])
        assert_problem(self, s.req("POST", "/api/v1/reservations/%s/cancel" % h["code"], body={}), 409,
                       "invalid_state")
        # an empty body (no Content-Type) is fine too
        r = s.req("POST", "/api/v1/reservations/%s/cancel" % again["code"])
        self.assertEqual((r.status, r.json["status"]), (200, "cancelled"))
        assert_problem(self, s.req("POST", "/api/v1/reservations/%s/cancel" % again["code"]), 409, "invalid_state")
        assert_problem(self, s.req("POST", "/api/v1/reservations/RES0000000000/cancel", body={}), 404,
                       "reservation_not_found")
        for bad in ("RES123", "res0000000000", "RESIIIIIIIIII", "RESUUUUUUUUUU", "XYZ0000000000", "RES00000000000",
                    "RES000000000%20"):
            assert_problem(self, s.req("POST", "/api/v1/reservations/%s/cancel" % bad, body={}), 404,
                           "reservation_not_found", bad)
            assert_problem(self, s.get("/api/v1/reservations/" + bad), 404, "reservation_not_found", bad)
        assert_problem(self, s.get("/api/v1/reservations/RES0000000000"), 404, "reservation_not_found")
        self.assertEqual(self.active_stays(s), [])

    # --- 5. expiry ---

    def test_expired_hold_reads_expired_and_nights_can_be_retaken(self):
        s = self.start(env={"HOLD_SECONDS": "2", "JOB_EXPIRATION_INTERVAL_SECONDS": "3600"})
        acc = self.create_accommodation(s)["id"]
        d = day(40)
        h = self.booked(s, acc, d, plus(d, 2))
        self.assertEqual(h["status"], "pre_reserved")
        self.assertEqual((parse_ts(h["expires_at"]) - parse_ts(h["created_at"])).total_seconds(), 2)
        assert_problem(self, self.book(s, acc, d, plus(d, 2)), 409, "date_overlap")
        g = wait_for(lambda: (lambda r: r if r.json["status"] == "expired" else None)(
            s.get("/api/v1/reservations/" + h["code"])), 10, interval=0.2, what="the hold to read expired")
        self.assertIsNone(g.json["expires_at"])
        a = self.admin_get(s, h["code"])
        self.assertEqual((a["status"], a["stored_status"]), ("expired", "pre_reserved"),
                         "read as expired before any sweep (the sweeper sleeps an hour)")
        r = s.get("/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s" % (acc, d, plus(d, 2)))
        self.assertTrue(r.json["available"], r.json)
        assert_problem(self, s.req("POST", "/api/v1/reservations/%s/cancel" % h["code"], body={}), 409,
                       "invalid_state")
        # a new hold takes the nights: the create path expires the stale hold
        h2 = self.booked(s, acc, plus(d, 1), plus(d, 3))
        self.assertEqual(self.admin_get(s, h["code"])["stored_status"], "expired")
        self.assertEqual(metric(self.metrics(s), "holds_expired_total"), 1)
        # the new hold becomes a booking; the expired one cannot win its nights back
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % h2["code"], body={}, headers=self.admin(s))
        self.assertEqual((r.status, r.json["status"]), (200, "confirmed"), r)
        assert_problem(self, s.req("POST", "/api/v1/admin/reservations/%s/confirm" % h["code"], body={},
                                   headers=self.admin(s)), 409, "date_overlap")
        self.assertEqual(self.admin_get(s, h["code"])["stored_status"], "expired")
        self.assert_no_double_booking(self.active_stays(s))

    def test_sweeper_marks_holds_expired(self):
        s = self.start(env={"HOLD_SECONDS": "2", "JOB_EXPIRATION_INTERVAL_SECONDS": "1"})
        acc = self.create_accommodation(s)["id"]
        h = self.booked(s, acc, day(40), day(42))
        keep = self.booked(s, acc, day(50), day(52))
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % keep["code"], body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        wait_for(lambda: self.admin_get(s, h["code"])["stored_status"] == "expired", 15, interval=0.3,
                 what="the sweeper to expire the hold")
        m = self.metrics(s)
        self.assertGreater(metric(m, "holds_expired_total"), 0)
        self.assertEqual(metric(m, "holds_expired_total"), 1)
        wait_for(lambda: metric(self.metrics(s), "holds_active") == 0, 10, what="holds_active 0")
        self.assertEqual(self.admin_get(s, keep["code"])["stored_status"], "confirmed", "bookings never expire")
        self.assertEqual([x["code"] for x in self.admin_list(s, status="expired")], [h["code"]])
        self.booked(s, acc, day(40), day(42))  # the swept nights are free

    # --- 7. validation ---

    def test_validation_errors(self):
        pt = property_today()
        s = self.start(env={"BOOKING_HORIZON_DAYS": "90"})
        acc = self.create_accommodation(s, capacity=3, min_nights=2, max_nights=4)["id"]
        gone = self.create_accommodation(s)["id"]
        r = s.req("DELETE", "/api/v1/admin/accommodations/%d" % gone, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["active"])
        d = day(40)
        good = hold_body(acc, d, plus(d, 2), guests=2)

        def with_(**kw):
            b = dict(good)
            for k, v in kw.items():
                if v is KeyError:
                    b.pop(k, None)
                else:
                    b[k] = v
            return b

        cases = [  # (what, body, status, error, the field the detail must name)
            ("check_in 2027-02-30", with_(check_in="2027-02-30"), 422, "invalid_date", "check_in"),
            ("check_in tomorrow", with_(check_in="tomorrow"), 422, "invalid_date", "check_in"),
            ("check_in 20270101", with_(check_in="20270101"), 422, "invalid_date", "check_in"),
            ("check_in 2027-1-01", with_(check_in="2027-1-01"), 422, "invalid_date", "check_in"),
            ("check_out 2027-13-01", with_(check_out="2027-13-01"), 422, "invalid_date", "check_out"),
            ("check_out == check_in", with_(check_out=d), 422, "invalid_dates", None),
            ("check_out < check_in", with_(check_out=plus(d, -1)), 422, "invalid_dates", None),
            ("check_in in the past", with_(check_in=day(-2), check_out=day(1)), 422, "check_in_in_past", None),
            ("too far ahead", with_(check_in=day(89), check_out=day(92)), 422, "too_far_ahead", None),
            ("min_stay", with_(check_out=plus(d, 1)), 422, "min_stay", None),
            ("max_stay", with_(check_out=plus(d, 5)), 422, "max_stay", None),
            ("capacity + 1", with_(guests=4), 422, "capacity_exceeded", None),
            ("guest_name missing", with_(guest_name=KeyError), 422, "invalid_field", "guest_name"),
            ("guest_name empty", with_(guest_name=""), 422, "invalid_field", "guest_name"),
            ("guest_name blank", with_(guest_name="   "), 422, "invalid_field", "guest_name"),
            ("guest_name 121 chars", with_(guest_name="a" * 121), 422, "invalid_field", "guest_name"),
            ("guest_name control char", with_(guest_name="Ana\nGómez"), 422, "invalid_field", "guest_name"),
            ("guest_name number", with_(guest_name=123), 422, "invalid_field", "guest_name"),
            ("guest_phone missing", with_(guest_phone=KeyError), 422, "invalid_field", "guest_phone"),
            ("guest_phone 7 digits", with_(guest_phone="1234567"), 422, "invalid_field", "guest_phone"),
            ("guest_phone 16 digits", with_(guest_phone="1234567890123456"), 422, "invalid_field", "guest_phone"),
            ("guest_phone letters", with_(guest_phone="11-CALL-ME-NOW"), 422, "invalid_field", "guest_phone"),
            ("guest_email no-at", with_(guest_email="no-at"), 422, "invalid_field", "guest_email"),
            ("guest_email a@b", with_(guest_email="a@b"), 422, "invalid_field", "guest_email"),
            ("unknown field", with_(promo_code="X"), 422, "invalid_field", "promo_code"),
            ("channel unknown", with_(channel="fax"), 422, "invalid_field", "channel"),
            ("guests abc", with_(guests="abc"), 422, "invalid_field", "guests"),
            ("guests 2.5", with_(guests=2.5), 422, "invalid_field", "guests"),
            ("guests true", with_(guests=True), 422, "invalid_field", "guests"),
            ("guests missing", with_(guests=KeyError), 422, "invalid_field", "guests"),
            ("accommodation_id x", with_(accommodation_id="x"), 422, "invalid_field", "accommodation_id"),
            ("accommodation_id missing", with_(accommodation_id=KeyError), 422, "invalid_field", "accommodation_id"),
            ("check_in a number", with_(check_in=20270101), 422, "invalid_field", "check_in"),
            ("check_in missing", with_(check_in=KeyError), 422, "invalid_field", "check_in"),
            ("body is an array", [good], 422, "invalid_field", "body"),
            ("body is null", None, 400, "invalid_json", None),  # jansson takes only an object or array
            ("unknown accommodation", with_(accommodation_id=987654), 404, "accommodation_not_found", None),
            ("deactivated accommodation", with_(accommodation_id=gone), 404, "accommodation_not_found", None),
        ]
        for what, body, status, code, field in cases:
            r = s.req("POST", "/api/v1/reservations", body=json.dumps(body),
                      headers={"Content-Type": "application/json"})
            b = assert_problem(self, r, status, code, what)
            if field:
                self.assertIn(field, b["detail"], "the detail names the field (%s)" % what)
        r = s.req("POST", "/api/v1/reservations", body=json.dumps(good), headers={"Content-Type": "text/plain"})
        assert_problem(self, r, 415, "unsupported_media_type")
        r = s.req("POST", "/api/v1/reservations", body='{"accommodation_id": 1,',
                  headers={"Content-Type": "application/json"})
        assert_problem(self, r, 400, "invalid_json")
        r = s.req("POST", "/api/v1/reservations", body='{"guests": 1, "guests": 2}',
                  headers={"Content-Type": "application/json"})
        assert_problem(self, r, 400, "invalid_json")
        # the same rules on the availability quote
        base = "/api/v1/accommodations/%d/availability?" % acc
        assert_problem(self, s.get(base + "check_in=2027-02-30&check_out=%s" % d), 422, "invalid_date")
        assert_problem(self, s.get(base + "check_in=%s" % d), 422, "invalid_date")
        assert_problem(self, s.get(base + "check_in=%s&check_out=%s" % (d, d)), 422, "invalid_dates")
        assert_problem(self, s.get(base + "check_in=%s&check_out=%s" % (day(-2), d)), 422, "check_in_in_past")
        assert_problem(self, s.get(base + "check_in=%s&check_out=%s&guests=x" % (d, plus(d, 2))), 422,
                       "invalid_field")
        assert_problem(self, s.get("/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s"
                                   % (gone, d, plus(d, 2))), 404, "accommodation_not_found")
        assert_problem(self, s.get("/api/v1/accommodations/%d" % gone), 404, "accommodation_not_found")
        assert_problem(self, s.get("/api/v1/accommodations/abc"), 404, "accommodation_not_found")
        self.assertNotIn(gone, [a["id"] for a in s.get("/api/v1/accommodations").json["items"]])
        self.assertEqual(self.admin_list(s), [], "no refused request stored anything")
        # the boundaries themselves are accepted
        self.assertIsNotNone(pt, "zoneinfo is needed for the property's today")

        def pday(n):
            return (pt + datetime.timedelta(days=n)).isoformat()

        accepted = [
            with_(guest_phone="12345678"),  # 8 digits
            with_(check_in=plus(d, 2), check_out=plus(d, 4), guest_phone="+54 (911) 2345-6789-01"),  # 15 digits
            with_(check_in=plus(d, 4), check_out=plus(d, 8), guest_name="b" * 120, guests=3),  # 4 nights, 3 guests
            with_(check_in=plus(d, 8), check_out=plus(d, 10), guest_email="ana@example.com.ar", channel="whatsapp"),
            with_(check_in=pday(88), check_out=pday(90)),  # check_out on the horizon
            with_(check_in=pday(0), check_out=pday(2)),  # check_in today, in the property's time zone
        ]
        assert_problem(self, s.req("POST", "/api/v1/reservations", body=with_(check_in=pday(-1), check_out=pday(1))),
                       422, "check_in_in_past", "yesterday in %s" % PROPERTY_TZ)
        assert_problem(self, s.req("POST", "/api/v1/reservations", body=with_(check_in=pday(88), check_out=pday(91))),
                       422, "too_far_ahead", "horizon + 1")
        for b in accepted:
            r = s.req("POST", "/api/v1/reservations", body=b)
            self.assertEqual(r.status, 201, (b, r))
        self.assertEqual(len(self.admin_list(s)), len(accepted))

    def test_guests_zero_is_capacity_exceeded(self):
        """docs/api.md: capacity_exceeded is "guests not from 1 to the capacity"; 0, -1 and 101 are such
        counts, yet the input layer answers invalid_field for them."""
        s = self.start()
        acc = self.create_accommodation(s, capacity=3)["id"]
        d = day(40)
        got = {}
        for g in (4, 0, -1, 101):
            r = self.book(s, acc, d, plus(d, 2), guests=g)
            self.assertNotEqual(r.status, 500, r)
            self.assertEqual(r.status, 422, r)
            self.assertTrue(r.header("content-type").startswith("application/problem+json"))
            got[g] = r.json["error"]
        self.assertEqual(got, {4: "capacity_exceeded", 0: "capacity_exceeded", -1: "capacity_exceeded",
                               101: "capacity_exceeded"})
        self.assertEqual(self.admin_list(s), [])

    # --- 8. pricing ---

    def next_friday(self, n=30):
        d = today() + datetime.timedelta(days=n)
        while d.weekday() != 4:
            d += datetime.timedelta(days=1)
        return d

    def test_pricing_quote_weekend_nights_and_deposit(self):
        s = self.start()
        a = self.create_accommodation(s, name="Precio", capacity=2, base_price="100.02", weekend_multiplier="1.25",
                                      weekend_nights="fri,sat")
        self.assertEqual((a["base_price"], a["weekend_multiplier"], a["weekend_nights"]), ("100.02", "1.25", "fri,sat"))
        fri = self.next_friday()
        cin, cout = fri.isoformat(), (fri + datetime.timedelta(days=3)).isoformat()
        # by hand: 100.02 x 1.25 = 125.025 -> 125.03 (half away from zero); 125.03 + 125.03 + 100.02 = 350.08;
        # 30 % of 350.08 = 105.024 -> 105.02
        weekend = round_half_away(10002 * 12500, 10000)
        self.assertEqual(weekend, 12503)
        total = 2 * weekend + 10002
        deposit = round_half_away(total * 30, 100)
        self.assertEqual((money(total), money(deposit)), ("350.08", "105.02"))
        r = s.get("/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s&guests=2" % (a["id"], cin, cout))
        self.assertEqual(r.status, 200, r)
        q = r.json["quote"]
        self.assertEqual((r.json["available"], r.json["reason"]), (True, None))
        self.assertEqual([(n["date"], n["price"], n["weekend"]) for n in q["nightly"]],
                         [(fri.isoformat(), "125.03", True),
                          ((fri + datetime.timedelta(days=1)).isoformat(), "125.03", True),
                          ((fri + datetime.timedelta(days=2)).isoformat(), "100.02", False)])
        self.assertEqual((q["nights"], q["weekend_nights"], q["total_price"], q["deposit_amount"],
                          q["deposit_percent"], q["currency"]), (3, 2, "350.08", "105.02", 30, "ARS"))
        h = self.booked(s, a["id"], cin, cout, guests=2)
        self.assertEqual((h["nights"], h["total_price"], h["deposit_amount"], h["deposit_percent"], h["paid_amount"]),
                         (3, "350.08", "105.02", 30, "0.00"))
        # the search lists it with the same quote until it is taken
        r = s.get("/api/v1/availability?check_in=%s&check_out=%s&guests=2" % (
            (fri + datetime.timedelta(days=7)).isoformat(), (fri + datetime.timedelta(days=10)).isoformat()))
        items = [i for i in r.json["items"] if i["accommodation"]["id"] == a["id"]]
        self.assertEqual(len(items), 1, r.json)
        self.assertEqual(items[0]["quote"]["total_price"], "350.08")
        r = s.get("/api/v1/availability?check_in=%s&check_out=%s&guests=2" % (cin, cout))
        self.assertNotIn(a["id"], [i["accommodation"]["id"] for i in r.json["items"]], "a held stay is not listed")

    def test_deposit_percent_setting(self):
        s = self.start(env={"DEPOSIT_PERCENT": "50"})
        a = self.create_accommodation(s, capacity=2, base_price="100.02", weekend_multiplier="1.25",
                                      weekend_nights="fri,sat")
        fri = self.next_friday()
        cin, cout = fri.isoformat(), (fri + datetime.timedelta(days=3)).isoformat()
        r = s.get("/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s" % (a["id"], cin, cout))
        q = r.json["quote"]
        self.assertEqual((q["total_price"], q["deposit_amount"], q["deposit_percent"]),
                         ("350.08", money(round_half_away(35008 * 50, 100)), 50))
        self.assertEqual(q["deposit_amount"], "175.04")
        # Sat + Sun: 125.03 + 100.02 = 225.05; half is 112.525 -> 112.53
        sat = fri + datetime.timedelta(days=8)
        h = self.booked(s, a["id"], sat.isoformat(), (sat + datetime.timedelta(days=2)).isoformat())
        self.assertEqual((h["total_price"], h["deposit_amount"], h["deposit_percent"]),
                         ("225.05", money(round_half_away(22505 * 50, 100)), 50))
        self.assertEqual(h["deposit_amount"], "112.53")

    # --- 9. idempotency ---

    def test_idempotency_key_replays_and_refuses_reuse(self):
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        d = day(33)
        body = hold_body(acc, d, plus(d, 2))
        k = {"Idempotency-Key": "booking-test-key-1"}
        r1 = s.req("POST", "/api/v1/reservations", body=body, headers=k)
        self.assertEqual(r1.status, 201, r1)
        self.assertIsNone(r1.header("idempotent-replayed"))
        r2 = s.req("POST", "/api/v1/reservations", body=body, headers=k)
        self.assertEqual(r2.status, 201, r2)
        self.assertEqual(r2.body, r1.body)
        self.assertEqual(r2.header("idempotent-replayed"), "true")
        self.assertEqual(r2.header("location"), r1.header("location"))
        self.assertEqual(r1.header("location"), "/api/v1/reservations/" + r1.json["code"])
        stays = self.admin_list(s)
        self.assertEqual([x["code"] for x in stays], [r1.json["code"]], "one reservation only")
        other = dict(body, guest_name="Someone Else")
        assert_problem(self, s.req("POST", "/api/v1/reservations", body=other, headers=k), 422,
                       "idempotency_key_reused")
        # a new key really runs, and its 409 is replayed too
        k2 = {"Idempotency-Key": "booking-test-key-2"}
        r3 = s.req("POST", "/api/v1/reservations", body=body, headers=k2)
        assert_problem(self, r3, 409, "date_overlap")
        r4 = s.req("POST", "/api/v1/reservations", body=body, headers=k2)
        assert_problem(self, r4, 409, "date_overlap")
        self.assertEqual(r4.header("idempotent-replayed"), "true")
        # a retried cancel answers like the first one, not 409 invalid_state
        kc = {"Idempotency-Key": "booking-test-cancel"}
        path = "/api/v1/reservations/%s/cancel" % r1.json["code"]
        c1 = s.req("POST", path, body={}, headers=kc)
        self.assertEqual((c1.status, c1.json["status"]), (200, "cancelled"))
        c2 = s.req("POST", path, body={}, headers=kc)
        self.assertEqual((c2.status, c2.body, c2.header("idempotent-replayed")), (200, c1.body, "true"))
        self.assertEqual(len(self.admin_list(s)), 1)
        self.assertEqual(metric(self.metrics(s), "reservations_cancelled_total"), 1, "the replay cancelled nothing")

    def test_idempotency_concurrent_duplicates_book_once(self):
        """A client retrying while its first request is still running: 12 copies at once, one booking."""
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        body = hold_body(acc, day(35), day(37))
        barrier = threading.Barrier(12)
        results = []

        def one():
            barrier.wait(30)
            results.append(request(s.port, "POST", "/api/v1/reservations", body=body,
                                   headers={"Idempotency-Key": "same-retry-key"}, timeout=60))

        threads = [threading.Thread(target=one) for _ in range(12)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(90)
        self.assertEqual(len(results), 12)
        created = [r for r in results if r.status == 201]
        for r in results:
            if r.status != 201:
                assert_problem(self, r, 409, "idempotency_in_flight")
        self.assertGreaterEqual(len(created), 1)
        self.assertEqual(len({r.body for r in created}), 1, "every 201 is the same answer")
        self.assertEqual(sum(r.header("idempotent-replayed") is None for r in created), 1, "one ran, the rest replayed")
        self.assertEqual([x["code"] for x in self.admin_list(s)], [created[0].json["code"]])
        r = s.req("POST", "/api/v1/reservations", body=body, headers={"Idempotency-Key": "same-retry-key"})
        self.assertEqual((r.status, r.body, r.header("idempotent-replayed")), (201, created[0].body, "true"))

    def test_pre_reserve_path_and_contact_fields(self):
        """POST /reservations/pre-reserve is the same operation; the older contact_* names still work."""
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        body = {"accommodation_id": acc, "check_in": day(30), "check_out": day(32), "guests": 2,
                "contact_name": "Eva Luna", "contact_phone": "11 4444-3333", "contact_email": "eva@example.com"}
        r = s.req("POST", "/api/v1/reservations/pre-reserve", body=body)
        self.assertEqual(r.status, 201, r)
        a = self.admin_get(s, r.json["code"])
        self.assertEqual((a["guest_name"], a["guest_phone"], a["guest_email"]), ("Eva Luna", "1144443333",
                                                                                 "eva@example.com"))
        assert_problem(self, s.req("POST", "/api/v1/reservations", body=dict(body, check_in=day(31),
                                                                             check_out=day(33))), 409,
                       "date_overlap")
        assert_problem(self, s.req("POST", "/api/v1/reservations/pre-reserve", body=hold_body(acc, day(29), day(31))),
                       409, "date_overlap")
        assert_problem(self, s.req("POST", "/api/v1/reservations/pre-reserve", body=dict(body, contact_phone="12")),
                       422, "invalid_field")
        self.assertEqual(len(self.admin_list(s)), 1)

    # --- 10. admin ---

    def test_admin_list_filters(self):
        s = self.start()
        a1 = self.create_accommodation(s, name="Uno")["id"]
        a2 = self.create_accommodation(s, name="Dos")["id"]
        d = day(30)
        r_ana = self.booked(s, a1, d, plus(d, 3), name="Ana Gómez")
        r_bruno = self.booked(s, a1, plus(d, 10), plus(d, 12), name="Bruno Díaz", guest_email="bruno@example.com")
        r_carla = self.booked(s, a2, plus(d, 1), plus(d, 4), name="Carla Ruiz")
        r_dario = self.booked(s, a2, plus(d, 20), plus(d, 22), name="Darío Anaya")
        self.assertEqual(s.req("POST", "/api/v1/reservations/%s/cancel" % r_carla["code"], body={}).status, 200)
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % r_bruno["code"], body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)

        def codes(**q):
            return sorted(x["code"] for x in self.admin_list(s, **q))

        def of(*rs):
            return sorted(x["code"] for x in rs)

        self.assertEqual(codes(), of(r_ana, r_bruno, r_carla, r_dario))
        self.assertEqual(codes(status="cancelled"), of(r_carla))
        self.assertEqual(codes(status="confirmed"), of(r_bruno))
        self.assertEqual(codes(status="pre_reserved"), of(r_ana, r_dario))
        self.assertEqual(codes(status="expired"), [])
        self.assertEqual(codes(accommodation_id=a1), of(r_ana, r_bruno))
        self.assertEqual(codes(accommodation_id=a2, status="pre_reserved"), of(r_dario))
        # (query words that cannot occur in a code: Crockford base 32 has no U, and no non-ASCII letter)
        self.assertEqual(codes(q="bruno"), of(r_bruno))
        self.assertEqual(codes(q="BRUNO"), of(r_bruno), "q ignores ASCII case")
        self.assertEqual(codes(q="uiz"), of(r_carla), "q matches inside the name")
        self.assertEqual(codes(q="gómez"), of(r_ana), "q matches a non-ASCII name")
        self.assertEqual(codes(q="ío an"), of(r_dario), "q matches across words")
        self.assertEqual(codes(q="example.com"), of(r_bruno), "q matches the email")
        self.assertEqual(codes(q=r_carla["code"]), of(r_carla), "q matches the code")
        self.assertEqual(codes(q="nobody"), [])
        # from/to: stays overlapping [from, to)
        self.assertEqual(codes(**{"from": plus(d, 9), "to": plus(d, 13)}), of(r_bruno))
        self.assertEqual(codes(**{"from": plus(d, 2), "to": plus(d, 11)}), of(r_ana, r_bruno, r_carla))
        self.assertEqual(codes(**{"from": plus(d, 12), "to": plus(d, 20)}), [], "half-open on both sides")
        self.assertEqual(codes(**{"from": plus(d, 21)}), of(r_dario))
        self.assertEqual(codes(to=plus(d, 1)), of(r_ana))
        self.assertEqual(codes(accommodation_id=a1, **{"from": plus(d, 2), "to": plus(d, 11)}), of(r_ana, r_bruno))
        # newest first, paging
        page = s.get("/api/v1/admin/reservations?limit=2&offset=0", headers=self.admin(s)).json
        self.assertEqual((page["total"], len(page["items"])), (4, 2))
        rest = s.get("/api/v1/admin/reservations?limit=2&offset=2", headers=self.admin(s)).json
        self.assertEqual(sorted(x["code"] for x in page["items"] + rest["items"]),
                         of(r_ana, r_bruno, r_carla, r_dario))
        past = s.get("/api/v1/admin/reservations?limit=2&offset=10", headers=self.admin(s)).json
        self.assertEqual((past["items"], past["total"]), ([], 4))
        for bad in ("status=paid", "limit=0", "limit=201", "offset=-1", "accommodation_id=x", "from=2027-02-30",
                    "to=soon", "q=" + "x" * 101):
            assert_problem(self, s.get("/api/v1/admin/reservations?" + bad, headers=self.admin(s)), 422,
                           "invalid_date" if bad.startswith(("from", "to")) else "invalid_field", bad)

    def test_admin_confirm(self):
        s = self.start()
        acc = self.create_accommodation(s, base_price="1000.00", weekend_nights="none")["id"]
        d = day(30)
        h = self.booked(s, acc, d, plus(d, 3))
        self.assertEqual((h["total_price"], h["deposit_amount"]), ("3000.00", "900.00"))
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % h["code"], body={"note": "transfer 123"},
                  headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        c = r.json
        self.assertEqual((c["status"], c["stored_status"], c["payment_status"], c["paid_amount"], c["notes"]),
                         ("confirmed", "confirmed", "paid", "900.00", "transfer 123"))
        self.assertIsNotNone(c["confirmed_at"])
        self.assertIsNone(c["expires_at"])
        g = s.get("/api/v1/reservations/" + h["code"]).json
        self.assertEqual((g["status"], g["payment_status"], g["paid_amount"]), ("confirmed", "paid", "900.00"))
        assert_problem(self, self.book(s, acc, plus(d, 2), plus(d, 4)), 409, "date_overlap")
        assert_problem(self, s.req("POST", "/api/v1/admin/reservations/%s/confirm" % h["code"], body={},
                                   headers=self.admin(s)), 409, "invalid_state", "confirming twice")
        # an explicit amount
        h2 = self.booked(s, acc, plus(d, 5), plus(d, 7))
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % h2["code"], body={"amount": "1234.56"},
                  headers=self.admin(s))
        self.assertEqual((r.status, r.json["paid_amount"], r.json["status"]), (200, "1234.56", "confirmed"), r)
        h3 = self.booked(s, acc, plus(d, 8), plus(d, 9))
        assert_problem(self, s.req("POST", "/api/v1/admin/reservations/%s/confirm" % h3["code"],
                                   body={"amount": "12.345"}, headers=self.admin(s)), 422, "invalid_field")
        # a cancelled one cannot be confirmed
        self.assertEqual(s.req("POST", "/api/v1/reservations/%s/cancel" % h3["code"], body={}).status, 200)
        assert_problem(self, s.req("POST", "/api/v1/admin/reservations/%s/confirm" % h3["code"], body={},
                                   headers=self.admin(s)), 409, "invalid_state")
        self.assertEqual(self.admin_get(s, h3["code"])["status"], "cancelled")
        assert_problem(self, s.req("POST", "/api/v1/admin/reservations/RES0000000000/confirm", body={},
                                   headers=self.admin(s)), 404, "reservation_not_found")
        # the admin can cancel a booking; its nights are free at once
        r = s.req("POST", "/api/v1/admin/reservations/%s/cancel" % h["code"], body={"reason": "no show"},
                  headers=self.admin(s))
        self.assertEqual((r.status, r.json["status"], r.json["cancel_reason"]), (200, "cancelled", "no show"), r)
        self.booked(s, acc, plus(d, 2), plus(d, 4))
        self.assert_no_double_booking(self.active_stays(s))

    def test_admin_confirm_expired_holds(self):
        """Swept holds: one whose nights are still free is confirmed (and wins them back); one whose nights
        were taken meanwhile is 409 date_overlap."""
        s = self.start(env={"HOLD_SECONDS": "2", "JOB_EXPIRATION_INTERVAL_SECONDS": "1"})
        acc = self.create_accommodation(s)["id"]
        free = self.booked(s, acc, day(40), day(42))
        lost = self.booked(s, acc, day(50), day(52))
        for h in (free, lost):
            wait_for(lambda: self.admin_get(s, h["code"])["stored_status"] == "expired", 15, interval=0.3,
                     what="the sweeper to expire %s" % h["code"])
        taker = self.booked(s, acc, day(51), day(53))
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % taker["code"], body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % free["code"], body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["status"], r.json["payment_status"], r.json["paid_amount"]),
                         ("confirmed", "paid", free["deposit_amount"]))
        assert_problem(self, self.book(s, acc, day(41), day(43)), 409, "date_overlap",
                       "the confirmed hold owns its nights again")
        assert_problem(self, s.req("POST", "/api/v1/admin/reservations/%s/confirm" % lost["code"], body={},
                                   headers=self.admin(s)), 409, "date_overlap")
        self.assertEqual(self.admin_get(s, lost["code"])["stored_status"], "expired")
        stays = self.active_stays(s)
        self.assertEqual(sorted(x["code"] for x in stays), sorted([free["code"], taker["code"]]))
        self.assert_no_double_booking(stays)

    def test_admin_confirm_expired_hold_over_a_stale_hold(self):
        """An expired hold whose nights are held only by another hold that has itself expired (not yet swept)
        has free nights: confirming it must succeed, as creating a hold or a block there would."""
        s = self.start(env={"HOLD_SECONDS": "2", "JOB_EXPIRATION_INTERVAL_SECONDS": "3600"})
        acc = self.create_accommodation(s)["id"]
        d = day(40)
        first = self.booked(s, acc, d, plus(d, 2))
        wait_for(lambda: s.get("/api/v1/reservations/" + first["code"]).json["status"] == "expired", 10,
                 interval=0.2, what="first hold expired")
        second = self.booked(s, acc, d, plus(d, 2))  # expires the first (create path)
        self.assertEqual(self.admin_get(s, first["code"])["stored_status"], "expired")
        wait_for(lambda: s.get("/api/v1/reservations/" + second["code"]).json["status"] == "expired", 10,
                 interval=0.2, what="second hold expired")
        r = s.get("/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s" % (acc, d, plus(d, 2)))
        self.assertTrue(r.json["available"], "the nights are free: %r" % r.json)
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % first["code"], body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "confirmed")
        self.assertEqual(self.admin_get(s, second["code"])["status"], "expired")
        self.assert_no_double_booking(self.active_stays(s))

    def test_admin_list_status_filter_uses_the_status_it_shows(self):
        """docs/api.md: a hold past its expires_at reads as expired at once, before the sweeper runs. The
        admin list shows it as expired, so ?status=expired must find it and ?status=pre_reserved must not."""
        s = self.start(env={"HOLD_SECONDS": "2", "JOB_EXPIRATION_INTERVAL_SECONDS": "3600"})
        acc = self.create_accommodation(s)["id"]
        h = self.booked(s, acc, day(40), day(42))
        wait_for(lambda: s.get("/api/v1/reservations/" + h["code"]).json["status"] == "expired", 10,
                 interval=0.2, what="the hold to read expired")
        shown = {st: [(x["code"], x["status"]) for x in self.admin_list(s, status=st)]
                 for st in ("pre_reserved", "expired")}
        self.assertEqual(shown, {"pre_reserved": [], "expired": [(h["code"], "expired")]})

    def test_block_path_counts_its_conflicts_and_expiries(self):
        """reservations_conflicts_total is documented as "Hold or block requests refused because the nights
        were taken", and a stale hold expired by a new block expired as surely as one expired by a new hold
        (which holds_expired_total counts)."""
        s = self.start(env={"HOLD_SECONDS": "2", "JOB_EXPIRATION_INTERVAL_SECONDS": "3600"})
        acc = self.create_accommodation(s)["id"]
        blocks = "/api/v1/admin/accommodations/%d/blocks" % acc
        h = self.booked(s, acc, day(40), day(42))
        wait_for(lambda: s.get("/api/v1/reservations/" + h["code"]).json["status"] == "expired", 10,
                 interval=0.2, what="the hold to read expired")
        r = s.req("POST", blocks, body={"start": day(40), "end": day(41)}, headers=self.admin(s))
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.admin_get(s, h["code"])["stored_status"], "expired", "the block expired the hold")
        assert_problem(self, s.req("POST", blocks, body={"start": day(40), "end": day(41)}, headers=self.admin(s)),
                       409, "date_overlap")
        m = self.metrics(s)
        self.assertEqual({"holds_expired_total": metric(m, "holds_expired_total"),
                          "reservations_conflicts_total": metric_sum(m, "reservations_conflicts_total")},
                         {"holds_expired_total": 1, "reservations_conflicts_total": 1})

    def test_blocks(self):
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        adm = self.admin(s)
        d = day(30)
        h = self.booked(s, acc, d, plus(d, 2))
        blocks = "/api/v1/admin/accommodations/%d/blocks" % acc
        assert_problem(self, s.req("POST", blocks, body={"start": plus(d, 1), "end": plus(d, 3)}, headers=adm), 409,
                       "date_overlap", "a block over a hold")
        r = s.req("POST", blocks, body={"start": plus(d, 2), "end": plus(d, 5), "reason": "maintenance"}, headers=adm)
        self.assertEqual(r.status, 201, r)
        b = r.json
        self.assertEqual((b["accommodation_id"], b["start"], b["end"], b["reason"], b["source"], b["created_by"]),
                         (acc, plus(d, 2), plus(d, 5), "maintenance", "manual", OWNER))
        self.assertEqual(r.header("location"), "%s/%d" % (blocks, b["id"]))
        lst = s.get(blocks, headers=adm).json
        self.assertEqual([x["id"] for x in lst["items"]], [b["id"]])
        for cin, cout in ((plus(d, 4), plus(d, 6)), (plus(d, 1), plus(d, 3)), (plus(d, 3), plus(d, 4))):
            assert_problem(self, self.book(s, acc, cin, cout), 409, "date_overlap", "a hold over the block")
        assert_problem(self, s.req("POST", blocks, body={"start": plus(d, 4), "end": plus(d, 6)}, headers=adm), 409,
                       "date_overlap", "a block over a block")
        r = s.get("/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s" % (acc, plus(d, 3), plus(d, 4)))
        self.assertEqual((r.json["available"], r.json["reason"]), (False, "date_overlap"))
        after = self.booked(s, acc, plus(d, 5), plus(d, 6))  # arrives the day the block ends
        for bad, status, code in (({"start": "2027-02-30", "end": plus(d, 9)}, 422, "invalid_date"),
                                  ({"start": plus(d, 9), "end": plus(d, 9)}, 422, "invalid_dates"),
                                  ({"start": plus(d, 9)}, 422, "invalid_field"),
                                  ({"start": plus(d, 9), "end": plus(d, 10), "x": 1}, 422, "invalid_field")):
            assert_problem(self, s.req("POST", blocks, body=bad, headers=adm), status, code, bad)
        assert_problem(self, s.req("POST", "/api/v1/admin/accommodations/987654/blocks",
                                   body={"start": plus(d, 9), "end": plus(d, 10)}, headers=adm), 404,
                       "accommodation_not_found")
        r = s.req("DELETE", "%s/%d" % (blocks, b["id"]), headers=adm)
        self.assertEqual((r.status, r.body), (204, b""), r)
        assert_problem(self, s.req("DELETE", "%s/%d" % (blocks, b["id"]), headers=adm), 404, "block_not_found")
        self.assertEqual(s.get(blocks, headers=adm).json["items"], [])
        freed = self.booked(s, acc, plus(d, 2), plus(d, 5))  # the nights are free again
        stays = self.active_stays(s)
        self.assertEqual(sorted(x["code"] for x in stays), sorted([h["code"], after["code"], freed["code"]]))
        self.assert_no_double_booking(stays)

    def test_admin_endpoints_need_a_token(self):
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        h = self.booked(s, acc, day(30), day(32))
        d = day(40)
        calls = [("GET", "/api/v1/admin/reservations", None),
                 ("GET", "/api/v1/admin/reservations/" + h["code"], None),
                 ("POST", "/api/v1/admin/reservations/%s/confirm" % h["code"], {}),
                 ("POST", "/api/v1/admin/reservations/%s/cancel" % h["code"], {}),
                 ("GET", "/api/v1/admin/accommodations", None),
                 ("POST", "/api/v1/admin/accommodations", {"name": "X", "capacity": 2, "base_price": "1.00"}),
                 ("PATCH", "/api/v1/admin/accommodations/%d" % acc, {"capacity": 1}),
                 ("DELETE", "/api/v1/admin/accommodations/%d" % acc, None),
                 ("GET", "/api/v1/admin/accommodations/%d/blocks" % acc, None),
                 ("POST", "/api/v1/admin/accommodations/%d/blocks" % acc, {"start": d, "end": plus(d, 2)}),
                 ("DELETE", "/api/v1/admin/accommodations/%d/blocks/1" % acc, None)]
        for headers in (None, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic b3duZXI6eA=="}):
            for method, path, body in calls:
                r = s.req(method, path, body=body, headers=headers)
                assert_problem(self, r, 401, "unauthorized", "%s %s %r" % (method, path, headers))
                self.assertTrue((r.header("www-authenticate") or "").startswith("Bearer"), r.headers)
        # nothing happened
        a = self.admin_get(s, h["code"])
        self.assertEqual((a["stored_status"], a["payment_status"]), ("pre_reserved", "pending"))
        self.booked(s, acc, d, plus(d, 2))
        r = s.get("/api/v1/admin/accommodations/%d" % acc, headers=self.admin(s))
        self.assertEqual((r.json["capacity"], r.json["active"]), (4, True))
        self.assertEqual(len(s.get("/api/v1/admin/accommodations", headers=self.admin(s)).json["items"]), 1)

    def test_public_view_masks_the_guest(self):
        s = self.start(seed=True)
        acc = s.seeded[0]["id"]
        r = self.book(s, acc, day(30), day(32), guests=2, name="Juan Pérez", phone="+54 9 11 5555-1234",
                      guest_email="juan@example.com")
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.header("location"), "/api/v1/reservations/" + r.json["code"])
        code = r.json["code"]
        self.assertRegex(code, r"^RES[0-9ABCDEFGHJKMNPQRSTVWXYZ]{10}$")
        for pub in (r.json, s.get("/api/v1/reservations/" + code).json):
            self.assertEqual((pub["guest_name"], pub["guest_phone"]), ("J*** P****", "*********1234"))
            for hidden in ("guest_email", "stored_status", "notes", "cancel_reason"):
                self.assertNotIn(hidden, pub)
            self.assertNotIn("juan@example.com", json.dumps(pub))
            self.assertNotIn("5555", json.dumps(pub))
            self.assertEqual(pub["accommodation_name"], "Cabaña del Bosque")
        a = self.admin_get(s, code)
        self.assertEqual((a["guest_name"], a["guest_phone"], a["guest_email"]),
                         ("Juan Pérez", "5491155551234", "juan@example.com"))
        listed = self.admin_list(s)
        self.assertEqual([(x["guest_name"], x["guest_email"]) for x in listed], [("Juan Pérez", "juan@example.com")])

    # --- 11. metrics ---

    def test_booking_metrics(self):
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        m0 = self.metrics(s)
        self.assertEqual(metric_sum(m0, "reservations_created_total"), 0)
        self.assertEqual(metric_sum(m0, "reservations_conflicts_total"), 0)
        h1 = self.booked(s, acc, day(30), day(32))
        self.booked(s, acc, day(32), day(34))
        self.booked(s, acc, day(40), day(41))
        self.booked(s, acc, day(50), day(52), channel="whatsapp")
        for cin, cout in ((day(31), day(33)), (day(30), day(32)), (day(50), day(51))):
            assert_problem(self, self.book(s, acc, cin, cout), 409, "date_overlap")
        assert_problem(self, self.book(s, acc, day(60), day(60)), 422, "invalid_dates")  # counts nothing
        self.assertEqual(s.req("POST", "/api/v1/reservations/%s/cancel" % h1["code"], body={}).status, 200)
        assert_problem(self, s.req("POST", "/api/v1/reservations/%s/cancel" % h1["code"], body={}), 409,
                       "invalid_state")
        m = self.metrics(s)
        self.assertEqual(metric(m, "reservations_created_total", channel="web"), 3)
        self.assertEqual(metric(m, "reservations_created_total", channel="whatsapp"), 1)
        self.assertEqual(metric_sum(m, "reservations_created_total"), 4)
        self.assertEqual(metric_sum(m, "reservations_conflicts_total"), 3)
        for (name, labels), _ in m.items():
            if name == "reservations_conflicts_total":
                self.assertEqual({k for k, _ in labels}, {"reason"})
        self.assertEqual(metric(m, "reservations_cancelled_total"), 1)
        self.assertEqual(metric(m, "reservations_confirmed_total", source="admin") or 0, 0)
        self.assertRegex(s.get("/metrics").body.decode(),
                         r'(?m)^http_requests_total\{method="POST",route="/api/v1/reservations",status="409"\} 3$')


    def test_every_change_leaves_its_audit_row_and_messages(self):
        """Audit rows and outbox messages are written in the change's own transaction (src/store/journal.c):
        committed changes have them, refused ones (409) have none. Email and WhatsApp are configured
        (pointing at a closed port: delivery is not the point here), because a message for a channel that
        is not configured is not written at all."""
        s = self.start(env={"SMTP_URL": "smtp://127.0.0.1:9", "SMTP_FROM": "reservas@example.com",
                            "OWNER_EMAIL": "owner@example.com", "WHATSAPP_ACCESS_TOKEN": "test-token",
                            "WHATSAPP_PHONE_NUMBER_ID": "100200300", "WHATSAPP_API_BASE": "http://127.0.0.1:9"})
        acc = self.create_accommodation(s)["id"]
        a = self.booked(s, acc, day(30), day(32), guest_email="ana@example.com")
        self.assertEqual(self.book(s, acc, day(31), day(33)).status, 409)
        b = self.booked(s, acc, day(40), day(41), channel="whatsapp")
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % a["code"], body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        r = s.req("POST", "/api/v1/reservations/%s/cancel" % b["code"], body={"reason": "no puedo"})
        self.assertEqual(r.status, 200, r)
        audit = self.db_rows(s, "SELECT entity_id, actor, action, before, after FROM audit_log ORDER BY id")
        self.assertEqual([(x[0], x[1], x[2]) for x in audit],
                         [(str(acc), "admin:" + OWNER, "accommodation.created"),
                          (a["code"], "api", "reservation.hold_created"),
                          (b["code"], "api", "reservation.hold_created"),
                          (a["code"], "admin:" + OWNER, "reservation.booking_confirmed"),
                          (b["code"], "api", "reservation.booking_cancelled")])
        self.assertIsNone(audit[1][3])
        self.assertEqual(json.loads(audit[3][3])["status"], "pre_reserved")
        after = json.loads(audit[3][4])
        self.assertEqual((after["status"], after["payment_status"], after["code"]), ("confirmed", "paid", a["code"]))
        self.assertEqual(json.loads(audit[4][4])["cancel_reason"], "no puedo")
        # (the delivery worker may already have sent or skipped them: their status is not the point here;
        # tests/integration/test_notifications.py covers delivery)
        out = self.db_rows(s, "SELECT reservation_code, channel, template, recipient FROM outbox ORDER BY id")
        phone = "5491155550000"
        self.assertEqual([tuple(x) for x in out],
                         [(a["code"], "email", "hold_created", "ana@example.com"),
                          (a["code"], "whatsapp", "hold_created", phone),
                          # a hold made on WhatsApp is answered there by the bot, not by a notification
                          (a["code"], "email", "booking_confirmed", "ana@example.com"),
                          (a["code"], "whatsapp", "booking_confirmed", phone),
                          (a["code"], "email", "booking_confirmed", "owner"),
                          (b["code"], "whatsapp", "booking_cancelled", phone),
                          (b["code"], "email", "booking_cancelled", "owner")])


class SqliteBookingTest(BookingChecks, ServerTestCase):
    engine = "sqlite"

    def new_database_url(self):
        return "sqlite://" + harness.Tmp().file("booking.db")

    def db_rows(self, s, query):
        with sqlite3.connect(s.database_url[len("sqlite://"):], timeout=10) as db:
            return [list(r) for r in db.execute(query)]

    def base_env(self):
        return {}


    def test_race_two_instances_one_sqlite_file(self):
        url = self.new_database_url()
        s1 = self.start(database_url=url, name="one")
        s2 = self.start(database_url=url, name="two")
        acc = self.create_accommodation(s1)
        body = hold_body(acc["id"], day(20), day(23))
        self.assert_one_winner([s1, s2], self.race([s1, s2], body), body)


class PostgresBookingTest(BookingChecks, harness.PostgresRedisTestCase):
    engine = "postgresql"

    def new_database_url(self):
        PostgresBookingTest.counter += 1
        return self.pg.create_database("booking_%d_%d" % (os.getpid(), PostgresBookingTest.counter))

    def base_env(self):
        return {"REDIS_URL": self.redis.url}

    def db_rows(self, s, query):
        db = s.database_url.rsplit("/", 1)[1]
        out = self.pg.psql("COPY (%s) TO STDOUT WITH (FORMAT csv)" % query, db=db)
        return [[None if v == "" else v for v in row] for row in csv.reader(io.StringIO(out))]

    def test_a_failing_query_spoils_no_answer_of_its_batch(self):
        """The event loop's reads (availability, the holds' pre-check) share one Sync per loop iteration. A
        query that fails in such a batch makes PostgreSQL skip the ones behind it: those must come back as
        DB_UNAVAILABLE (their requests go the blocking way), the ones before it keep their rows, and the
        connection goes on, or starts over when a skipped query carried a Parse. The HTTP API cannot make
        one query of a batch fail on demand, so build-asan/tests/db_async_check (make test builds it) drives
        db_async against this suite's PostgreSQL and checks every case; see its header."""
        exe = os.path.join(harness.ROOT, "build-asan", "tests", "db_async_check")
        self.assertTrue(os.access(exe, os.X_OK), "%s is missing: make build-asan/tests/db_async_check" % exe)
        env = dict(os.environ, ENVIRONMENT="development", DATABASE_URL=self.new_database_url())
        env.pop("REDIS_URL", None)
        done = subprocess.run([exe], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        out = done.stdout.decode()
        self.assertEqual(done.returncode, 0, out + done.stderr.decode()[-2000:])
        self.assertEqual(out.count("ok: "), 10, out)
        self.assertIn("0 failed", out)

    def test_the_claim_trigger_refuses_inconsistent_rows(self):
        """The claim-consistency trigger (0002; its second test rewritten in 0009 so that PostgreSQL does not
        plan it again on every write) still refuses both inconsistencies, written behind the server's back:
        a reservation that is no longer active but keeps its claim, and an active one without a claim."""
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        code = self.booked(s, acc, day(20), day(22))["code"]
        db = s.database_url.rsplit("/", 1)[1]

        def refused(sql, message):
            with self.assertRaises(subprocess.CalledProcessError) as caught:
                self.pg.psql(sql % code, db=db)
            self.assertIn(message, caught.exception.stdout.decode())

        refused("UPDATE reservations SET status = 'cancelled' WHERE code = '%s'", "still claims its nights")
        self.assertEqual(self.db_rows(s, "SELECT status FROM reservations WHERE code = '%s'" % code),
                         [["pre_reserved"]])
        r = s.req("POST", "/api/v1/reservations/%s/cancel" % code, body={})
        self.assertEqual((r.status, r.json["status"]), (200, "cancelled"), r)
        claims = "SELECT count(*) FROM stay_claims c JOIN reservations r ON r.id = c.reservation_id WHERE r.code = '%s'"
        self.assertEqual(self.db_rows(s, claims % code), [["0"]])
        refused("UPDATE reservations SET status = 'confirmed' WHERE code = '%s'", "without its claim on the nights")
        self.assertEqual(self.db_rows(s, "SELECT status FROM reservations WHERE code = '%s'" % code),
                         [["cancelled"]])

    def test_a_hold_waits_for_a_busy_lock_without_holding_up_its_loop(self):
        """On PostgreSQL a hold waits for the database and for the Redis lock without blocking its event loop
        (src/api/booking_api.c): with one loop, a hold whose lock someone else holds for 0.8 s is tried again
        on the loop's timer, and meanwhile the same loop answers other requests. A loop that slept on the
        lock would answer them only after the hold."""
        s = self.start(env={"HTTP_THREADS": "1"})
        acc = self.create_accommodation(s)["id"]
        self.booked(s, acc, day(30), day(31))  # the connections and statements are ready
        self.assertEqual(self.redis.cli("SET", "lock:acc:%d" % acc, "someone-else", "PX", "800"), "OK")
        done = {}

        def hold():
            r = self.book(s, acc, day(40), day(42))
            done["hold"] = (time.monotonic(), r)

        t = threading.Thread(target=hold)
        t.start()
        time.sleep(0.15)
        for _ in range(5):
            self.assertEqual(s.get("/api/v1/accommodations/%d" % acc).status, 200)
        answered = time.monotonic()
        t.join(30)
        at, r = done["hold"]
        self.assertEqual(r.status, 201, r)
        self.assertLess(answered, at, "the loop answered the other requests only after the hold")
        self.assertEqual(self.redis.cli("EXISTS", "lock:acc:%d" % acc), "0", "the hold released its lock")
        m = s.get("/metrics").body.decode()
        waits = dict(re.findall(r'booking_lock_wait_seconds_bucket\{le="([^"]+)"\} (\d+)', m))
        self.assertEqual(int(waits["+Inf"]) - int(waits["0.5"]), 1, "exactly one hold waited 0.5 s or more: %s" % waits)
        self.assertEqual(waits["+Inf"], waits["2.5"], "no hold waited out the 2 s bound: %s" % waits)

    def test_holds_go_on_when_redis_hangs(self):
        """A Redis that keeps its connections but never answers (SIGSTOP) costs a hold about the reply timeout
        (0.5 s): the loop's asynchronous connection gives up, the hold goes on without the cross-instance
        lock, and the database still decides."""
        s = self.start()
        acc = self.create_accommodation(s)["id"]
        self.booked(s, acc, day(30), day(31))  # the loop's Redis connection is open
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            first = self.book(s, acc, day(40), day(42))
            second = self.book(s, acc, day(41), day(43))
            elapsed = time.monotonic() - t0
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        self.assertEqual((first.status, second.status), (201, 409), (first, second))
        self.assertLess(elapsed, 8, "the holds waited for the hung Redis")
        self.assertEqual(self.booked(s, acc, day(50), day(51))["status"], "pre_reserved", "Redis is back")

    def test_engine_is_postgresql_with_redis(self):
        s = self.start()
        h = s.get("/api/v1/healthz").json
        self.assertEqual((h["checks"]["database"]["engine"], h["checks"]["redis"]["status"]), ("postgresql", "ok"))

    def test_random_load_two_instances_one_database(self):
        url = self.new_database_url()
        s1 = self.start(database_url=url, name="one")
        s2 = self.start(database_url=url, name="two")
        accs = self.three_accommodations(s1)
        self.assertEqual(len(s2.get("/api/v1/accommodations").json["items"]), 3, "both serve one database")
        outcomes = self.random_load([s1, s2], accs)
        for i, s in enumerate((s1, s2)):
            mine = [r for j, (_, r) in enumerate(outcomes) if j % 2 == i and isinstance(r, harness.Response)]
            self.assertTrue(any(r.status == 201 for r in mine), "instance %d booked something" % i)
        self.check_load(s1, outcomes, accs)
        body = hold_body(accs[2]["id"], day(70), day(72))
        self.assert_one_winner([s1, s2], self.race([s1, s2], body), body)

    def test_holds_after_a_postgres_restart(self):
        """A server restart closes every pooled connection while it idles. The holds that follow all get
        their 201 and nothing is written twice, although a hold's transaction travels with its COMMIT in
        one round trip and so is never resent after a lost connection (the COMMIT may have run): the
        pre-check's statement, which may be resent, replaces a closed connection first, and the
        transaction itself checks its connection before sending (db_pg_alive; this test does not isolate
        that second step)."""
        s = self.start(env={"DB_POOL_SIZE": "4", "HTTP_THREADS": "8"})
        acc = self.create_accommodation(s)
        nights = iter(range(1, 200))

        def holds(n):
            results = [None] * n

            def one(i, night):
                try:
                    results[i] = self.book(s, acc["id"], day(night), day(night + 1))
                except Exception as e:  # noqa: BLE001 - reported below
                    results[i] = e

            threads = [threading.Thread(target=one, args=(i, next(nights))) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            return [r.status if isinstance(r, harness.Response) else repr(r) for r in results]

        self.assertEqual(holds(8), [201] * 8)  # every pooled connection open
        for _ in range(3):
            self.pg.stop()
            self.pg.start()
            self.assertEqual(holds(8), [201] * 8)
        stays = self.active_stays(s)
        self.assertEqual(len(stays), 32)
        self.assert_no_double_booking(stays)

    def test_availability_on_the_event_loop_survives_postgres_outages(self):
        """On PostgreSQL the availability GET is answered from each HTTP loop's own asynchronous
        connection (many in flight at once). Those connections are lost when the server restarts: the
        requests then in flight, and those after, still get a correct answer (the blocking pool is the
        fallback, and the loop connects again), a stopped server gets 503 database_unavailable problems
        and never a hang, and the answers during a concurrent load equal the blocking path's."""
        s = self.start(env={"HTTP_THREADS": "4"})
        acc = self.create_accommodation(s)
        self.assertEqual(self.book(s, acc["id"], day(10), day(12)).status, 201)
        free = "/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s&guests=2" % (acc["id"], day(3),
                                                                                              day(5))
        taken = "/api/v1/accommodations/%d/availability?check_in=%s&check_out=%s&guests=2" % (acc["id"], day(11),
                                                                                               day(13))
        missing = "/api/v1/accommodations/999999/availability?check_in=%s&check_out=%s" % (day(3), day(5))

        def load(n=64):
            results = [None] * n

            def one(i):
                path = (free, taken, missing)[i % 3]
                try:
                    r = s.get(path, timeout=15)
                    results[i] = (path, r.status, r.json.get("available", r.json.get("error")))
                except Exception as e:  # noqa: BLE001 - reported below
                    results[i] = (path, repr(e), None)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            return results

        want = {free: (200, True), taken: (200, False), missing: (404, "accommodation_not_found")}
        for round_ in range(3):
            for path, status, what in load():
                self.assertEqual((status, what), want[path], "round %d: %s" % (round_, path))
            self.pg.stop()
            try:
                t0 = time.monotonic()
                r = s.get(free, timeout=15)
                self.assertLess(time.monotonic() - t0, 12, "no hang while PostgreSQL is down")
                assert_problem(self, r, 503, "database_unavailable")
            finally:
                self.pg.start()
            wait_for(lambda: s.get(free, timeout=15).status == 200, 15, what="availability after the restart")
        for path, status, what in load():
            self.assertEqual((status, what), want[path], "after the restarts: %s" % path)

    def test_race_two_instances_without_redis(self):
        """No Redis, so no shared lock: only the database's exclusion constraint stands between two
        instances."""
        url = self.new_database_url()
        s1 = self.start(database_url=url, env={"REDIS_URL": ""}, name="one")
        s2 = self.start(database_url=url, env={"REDIS_URL": ""}, name="two")
        self.assertEqual(s1.get("/api/v1/healthz").json["checks"]["redis"]["status"], "disabled")
        acc = self.create_accommodation(s1, capacity=4)
        for k in range(3):
            body = hold_body(acc["id"], day(20 + 5 * k), day(23 + 5 * k))
            self.assert_one_winner([s1, s2], self.race([s1, s2], body), body)
        accs = [acc] + [self.create_accommodation(s1, capacity=c) for c in (2, 6)]
        outcomes = self.random_load([s1, s2], accs, n=300)
        # the three race winners are stored too
        winners = [x for x in self.active_stays(s1) if x["check_in"] in (day(20), day(25), day(30))
                   and x["guest_name"] == "Ana Gómez"]
        self.assertEqual(len(winners), 3)
        errors = [(b, r) for b, r in outcomes if not isinstance(r, harness.Response) or r.status not in (201, 409)]
        self.assertEqual(errors, [])
        self.assert_no_double_booking(self.active_stays(s1))

    def test_redis_stopped_mid_run(self):
        s = self.start()
        accs = self.three_accommodations(s)
        self.assertEqual(s.get("/api/v1/healthz").json["checks"]["redis"]["status"], "ok")
        stopped = []

        def stop_redis():
            self.redis.stop()
            stopped.append(time.monotonic())

        try:
            outcomes = self.random_load([s], accs, n=200, on_half=stop_redis)
            self.assertEqual(len(stopped), 1)
            h = s.get("/api/v1/healthz").json
            self.assertEqual((h["status"], h["checks"]["redis"]["status"]), ("degraded", "error"))
            self.check_load(s, outcomes, accs)
            # single bookings and the 50-way race still work without Redis
            one = self.booked(s, accs[0]["id"], day(75), day(77))
            assert_problem(self, self.book(s, accs[0]["id"], day(76), day(78)), 409, "date_overlap")
            body = hold_body(accs[1]["id"], day(75), day(78))
            t0 = time.monotonic()
            self.assert_one_winner([s], self.race([s], body), body)
            self.assertLess(time.monotonic() - t0, 60)
            self.assertEqual(s.get("/api/v1/reservations/" + one["code"]).json["status"], "pre_reserved")
        finally:
            if self.redis.proc.poll() is not None:
                self.redis.start()
        wait_for(lambda: s.get("/api/v1/healthz").json["status"] == "healthy", 15, what="healthy again")
        self.booked(s, accs[2]["id"], day(75), day(77))


if __name__ == "__main__":
    harness.main()
