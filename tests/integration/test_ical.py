"""Calendar sync: the published iCal calendars (tokens, ETag, per-feed exports) and the import of feeds
(Airbnb, Booking.com and owner calendars as their generators write them), against a fake calendar host
(tests/integration/fakes/fake_ical.py) that also serves hostile answers: 6 MiB, binary junk, an HTML page
with 200, a redirect loop, a stall, 500s, a bad date, 100,000 events, deep nesting, a truncated body.

Every check runs on SQLite and on PostgreSQL (+ Redis). Two instances that sync each other's exports (with a
third channel behind one of them) show that a booking on one becomes a block on the other after one sync,
with no echo, and that a cancellation frees it. The PostgreSQL class adds the job's one-instance-at-a-time
lock. Syncs are triggered through POST .../sync, never by waiting for the job, except in the two tests
about the job itself (bounded polls).

The fixtures are written for December 2026; the fake host moves their dates by (today - 2026-12-01) so they
stay in the future, and the tests shift their expectations the same way.
"""

import datetime
import hashlib
import hmac
import json
import os
import re
import random
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ROOT, ServerTestCase, request, wait_for  # noqa: E402

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None

SECRET = "ical-tests-jwt-secret-0123456789abcdef00"
OWNER = "owner@example.com"
SALT = "ical-tests-salt-0123456789abcdef0123456789"
PROPERTY_TZ = "America/Argentina/Buenos_Aires"
BASE_ENV = {"RATE_LIMIT_ENABLED": "0", "JWT_SECRET": SECRET, "ADMIN_ALLOWED_EMAILS": OWNER, "ICS_SALT": SALT,
            "JOB_ICAL_INTERVAL_SECONDS": "3600", "ICAL_FETCH_TIMEOUT_SECONDS": "2", "HTTP_THREADS": "4"}
DATA = os.path.join(ROOT, "tests", "data", "ical")
FAKE = os.path.join(ROOT, "tests", "integration", "fakes", "fake_ical.py")
FIXTURE_DAY = datetime.date(2026, 12, 1)
PROBLEM_KEYS = {"type", "title", "status", "detail", "error"}

_token = []
_fake = {}


def property_today():
    if ZoneInfo is None:
        return datetime.date.today()
    return datetime.datetime.now(ZoneInfo(PROPERTY_TZ)).date()


SHIFT = (property_today() - FIXTURE_DAY).days


def fx(iso):
    """A fixture date as the fake host serves it."""
    return (datetime.date.fromisoformat(iso) + datetime.timedelta(days=SHIFT)).isoformat()


def day(n):
    return (property_today() + datetime.timedelta(days=n)).isoformat()


def ics_date(iso):
    return iso.replace("-", "")


def calendar(events, crlf=True):
    """A small feed: events are (uid, start, end[, extra lines])."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//cabanas tests//EN"]
    for ev in events:
        uid, start, end = ev[:3]
        lines += ["BEGIN:VEVENT", "UID:" + uid, "DTSTART;VALUE=DATE:" + ics_date(start),
                  "DTEND;VALUE=DATE:" + ics_date(end), "SUMMARY:Reserved"] + list(ev[3:]) + ["END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n" if crlf else "\n").join(lines) + "\r\n"


def token(salt, acc, feed=0):
    msg = "ical:%d" % acc if not feed else "ical:%d:feed:%d" % (acc, feed)
    return hmac.new(salt.encode(), msg.encode(), hashlib.sha256).hexdigest()[:32]


def path_of(url):
    return urllib.parse.urlsplit(url).path


def unfold(body):
    text = body.decode("utf-8")
    return text.replace("\r\n ", "").split("\r\n")


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if m and not line.startswith("#"):
            labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def setUpModule():
    proc = subprocess.Popen([sys.executable, FAKE, "--data", DATA, "--shift-days", str(SHIFT)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    harness._started.append(proc)
    harness._record_pid(proc.pid)
    line = proc.stdout.readline().decode()
    m = re.match(r"port (\d+)", line)
    if not m:
        proc.kill()
        raise RuntimeError("fake_ical did not start: %r" % line)
    _fake["proc"] = proc
    _fake["port"] = int(m.group(1))


def tearDownModule():
    proc = _fake.get("proc")
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fake_url(path):
    return "http://127.0.0.1:%d%s" % (_fake["port"], path)


def fake_set(key, **spec):
    r = request(_fake["port"], "POST", "/_set/" + key, body=json.dumps(spec))
    assert r.status == 204, r


def fake_stats():
    return request(_fake["port"], "GET", "/_stats").json


class IcalChecks:
    """Mixed into one TestCase per engine; subclasses give new_database_url(), base_env() and db_count()."""

    counter = 0

    def start(self, env=None, database_url=None, name="cabanas"):
        e = dict(BASE_ENV)
        e.update(self.base_env())
        e.update(env or {})
        s = self.server(args=("serve", "--migrate"), env=e, database_url=database_url or self.new_database_url(),
                        name=name)
        return s

    def admin(self, s):
        if not _token:
            p = s.run("admin", "token", OWNER)
            self.assertEqual(p.returncode, 0, p.stderr)
            _token.append(p.stdout.decode().strip())
        return {"Authorization": "Bearer " + _token[0]}

    def accommodation(self, s, **fields):
        IcalChecks.counter += 1
        body = {"name": "Cabaña %d" % IcalChecks.counter, "capacity": 4, "base_price": "1000.00",
                "min_nights": 1, "max_nights": 60}
        body.update(fields)
        r = s.req("POST", "/api/v1/admin/accommodations", body=body, headers=self.admin(s))
        self.assertEqual(r.status, 201, r)
        return r.json

    def add_feed(self, s, acc, name, url, status=201):
        r = s.req("POST", "/api/v1/admin/accommodations/%d/ical-feeds" % acc, body={"name": name, "url": url},
                  headers=self.admin(s))
        self.assertEqual(r.status, status, r)
        return r.json

    def sync(self, s, acc, feed, force=None, want=None):
        body = {} if force is None else {"force": force}
        r = s.req("POST", "/api/v1/admin/accommodations/%d/ical-feeds/%d/sync" % (acc, feed), body=body,
                  headers=self.admin(s), timeout=30)
        self.assertEqual(r.status, 200, r)
        j = r.json
        if want:
            self.assertEqual(j["result"], want, j)
        return j

    def feeds(self, s, acc):
        r = s.get("/api/v1/admin/accommodations/%d/ical-feeds" % acc, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        return {f["id"]: f for f in r.json["items"]}

    def blocks(self, s, acc):
        r = s.get("/api/v1/admin/accommodations/%d/blocks" % acc, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        return sorted((b["start"], b["end"], b["source"]) for b in r.json["items"])

    def hold(self, s, acc, check_in, check_out, status=201):
        r = s.req("POST", "/api/v1/reservations",
                  body={"accommodation_id": acc, "check_in": check_in, "check_out": check_out, "guests": 2,
                        "guest_name": "Ana Gómez", "guest_phone": "+54 9 11 5555-0000",
                        "guest_email": "ana@example.com"})
        self.assertEqual(r.status, status, r)
        return r.json

    def metrics(self, s):
        return parse_metrics(s.get("/metrics").body.decode())

    def assert_problem(self, r, status, code):
        self.assertEqual(r.status, status, r)
        self.assertTrue((r.header("content-type") or "").startswith("application/problem+json"), r)
        self.assertEqual(set(r.json), PROBLEM_KEYS)
        self.assertEqual(r.json["error"], code, r)

    # --- import ---

    def test_import_the_fixture_formats(self):
        s = self.start()
        acc = self.accommodation(s)["id"]
        airbnb = self.add_feed(s, acc, "Airbnb", fake_url("/fixtures/airbnb_export.ics"))
        booking = self.add_feed(s, acc, "Booking.com", fake_url("/fixtures/booking_export.ics"))
        owner = self.add_feed(s, acc, "Dueño", fake_url("/fixtures/owner_calendar_lf.ics"))
        ra = self.sync(s, acc, airbnb["id"], want="ok")
        rb = self.sync(s, acc, booking["id"], want="ok")
        ro = self.sync(s, acc, owner["id"], want="ok")
        self.assertEqual((ra["events"], rb["events"], ro["events"]), (3, 2, 2))
        self.assertEqual((ra["quarantined"], ro["cancelled"]), (0, 1))
        src = lambda f: "ical:%d" % f["id"]  # noqa: E731
        self.assertEqual(self.blocks(s, acc), sorted([
            (fx("2027-01-12"), fx("2027-01-15"), src(airbnb)),
            (fx("2027-02-01"), fx("2027-02-04"), src(airbnb)),
            (fx("2027-06-01"), fx("2027-11-30"), src(airbnb)),  # the months-long "Not available" window
            (fx("2026-12-24"), fx("2026-12-27"), src(booking)),
            (fx("2027-02-20"), fx("2027-02-22"), src(booking)),
            (fx("2027-03-05"), fx("2027-03-08"), src(owner)),  # 15:00 on the 5th to 10:00 on the 8th
            (fx("2027-04-10"), fx("2027-04-11"), src(owner)),  # a date without DTEND: one night
        ]))  # and the CANCELLED one blocks nothing
        # imported nights are taken like any block; the night before is free
        self.hold(s, acc, fx("2027-03-07"), fx("2027-03-09"), status=409)
        self.hold(s, acc, fx("2027-03-04"), fx("2027-03-05"))
        self.hold(s, acc, fx("2027-05-01"), fx("2027-05-03"))  # the cancelled event's nights

        # the second download is conditional: the fake answers 304 and nothing changes
        again = self.sync(s, acc, airbnb["id"], want="not_modified")
        self.assertEqual(again["events"], 3)
        sent = fake_stats()["last_headers"]["/fixtures/airbnb_export.ics"]
        self.assertTrue(sent.get("If-None-Match", "").startswith('"'), sent)
        feeds = self.feeds(s, acc)
        f = feeds[airbnb["id"]]
        self.assertEqual((f["last_status"], f["event_count"], f["conflicts"], f["failures"]),
                         ("not_modified", 3, 0, 0))
        self.assertIsNotNone(f["last_success_at"])
        self.assertIsNone(f["last_error"])
        m = self.metrics(s)
        self.assertGreaterEqual(m[("ical_sync_total", frozenset({("result", "ok")}))], 3)
        self.assertEqual(m[("ical_sync_total", frozenset({("result", "not_modified")}))], 1)
        self.assertEqual(m[("ical_feed_events", frozenset({("feed", str(airbnb["id"]))}))], 3)
        self.assertGreater(m[("ical_feed_last_success_timestamp_seconds", frozenset({("feed", str(owner["id"]))}))],
                           time.time() - 120)

    def test_feed_crud_and_validation(self):
        s = self.start()
        acc = self.accommodation(s)["id"]
        h = self.admin(s)
        base = "/api/v1/admin/accommodations/%d/ical-feeds" % acc
        r = s.req("POST", base, body={"name": "Airbnb", "url": fake_url("/fixtures/airbnb_export.ics")}, headers=h)
        self.assertEqual(r.status, 201, r)
        f = r.json
        self.assertEqual(r.header("location"), "%s/%d" % (base, f["id"]))
        for k in ("last_sync_at", "last_success_at", "last_status", "last_error", "event_count", "conflicts",
                  "quarantined", "export_url"):
            self.assertIn(k, f)
        self.assertEqual((f["last_status"], f["event_count"], f["conflicts"]), ("pending", 0, 0))
        self.assertTrue(path_of(f["export_url"]).endswith("/ical/%d/feeds/%d/%s.ics"
                                                          % (acc, f["id"], token(SALT, acc, f["id"]))))
        self.assert_problem(s.req("POST", base, body={"name": "again", "url": f["url"]}, headers=h), 409,
                            "feed_exists")
        for bad in ({"name": "x", "url": "ftp://example.com/a.ics"}, {"name": "x", "url": "http://"},
                    {"name": "x", "url": "http://exa mple.com/a.ics"}, {"name": "x", "url": "calendar.ics"},
                    {"url": "https://example.com/a.ics"}, {"name": "", "url": "https://example.com/a.ics"},
                    {"name": "x", "url": "https://example.com/a.ics", "color": "red"}, {"name": "x", "url": 7}):
            self.assert_problem(s.req("POST", base, body=bad, headers=h), 422, "invalid_field")
        own = "http://127.0.0.1:8080/api/v1/ical/%d/%s.ics" % (acc, token(SALT, acc))
        self.assert_problem(s.req("POST", base, body={"name": "me", "url": own}, headers=h), 422, "feed_loop")
        self.assert_problem(s.req("POST", "/api/v1/admin/accommodations/999999/ical-feeds",
                                  body={"name": "x", "url": "https://example.com/a.ics"}, headers=h),
                            404, "accommodation_not_found")
        self.assertEqual(s.req("POST", base, body={"name": "x", "url": "https://example.com/a.ics"}).status, 401)
        self.assertEqual(s.get(base).status, 401)
        self.assertEqual(list(self.feeds(s, acc)), [f["id"]])
        self.sync(s, acc, f["id"], want="ok")
        self.assertEqual(len(self.blocks(s, acc)), 3)
        self.assertEqual(s.req("DELETE", "%s/%d" % (base, f["id"]), headers=h).status, 204)
        self.assertEqual(self.blocks(s, acc), [])  # its nights are free again
        self.hold(s, acc, fx("2027-01-12"), fx("2027-01-15"))
        self.assert_problem(s.req("DELETE", "%s/%d" % (base, f["id"]), headers=h), 404, "feed_not_found")
        self.assert_problem(s.req("POST", "%s/%d/sync" % (base, f["id"]), body={}, headers=h), 404, "feed_not_found")
        self.assert_problem(s.req("POST", "%s/abc/sync" % base, body={}, headers=h), 404, "feed_not_found")
        self.assertEqual(self.feeds(s, acc), {})
        self.assertNotIn('feed="%d"' % f["id"], s.get("/metrics").body.decode())  # deleted feeds leave /metrics

    def test_hostile_feeds_fail_closed(self):
        s = self.start()
        acc = self.accommodation(s)["id"]
        key = "hostile-%s" % self.engine
        fake_set(key, mode="fixture", body="booking_export.ics")
        f = self.add_feed(s, acc, "Booking.com", fake_url("/feed/" + key))
        self.sync(s, acc, f["id"], want="ok")
        good = self.blocks(s, acc)
        self.assertEqual(len(good), 2)
        failed_before = self.metrics(s)[("ical_sync_total", frozenset({("result", "failed")}))]
        cases = [
            ({"mode": "big"}, "fetch: too_large"),
            ({"mode": "junk"}, "not_vcalendar"),
            ({"mode": "html"}, "not_vcalendar"),
            ({"mode": "redirect_loop"}, "fetch: error"),
            ({"mode": "stall", "delay_ms": 6000}, "fetch: timeout"),
            ({"mode": "status", "status": 500, "body": "oops"}, "http_status"),
            ({"mode": "status", "status": 404}, "http_status"),
            ({"mode": "truncated", "body": "booking_export.ics"}, "not_vcalendar"),
            ({"mode": "many", "count": 100000}, "too_many_events"),
            ({"mode": "deep", "depth": 10000}, "too_deep"),
            ({"mode": "body", "body": ""}, "not_vcalendar"),
        ]
        for spec, code in cases:
            fake_set(key, **spec)
            t0 = time.monotonic()
            r = self.sync(s, acc, f["id"])
            self.assertEqual(r["result"], "failed", (spec, r))
            self.assertTrue(r["error"].startswith(code), (spec, r["error"]))
            self.assertLess(time.monotonic() - t0, 15, spec)
            self.assertEqual(self.blocks(s, acc), good, "%s freed nights" % spec)
            feed = self.feeds(s, acc)[f["id"]]
            self.assertEqual((feed["last_status"], feed["last_error"], feed["event_count"]), ("failed", r["error"], 2))
        self.assertEqual(self.feeds(s, acc)[f["id"]]["failures"], len(cases))
        m = self.metrics(s)
        self.assertEqual(m[("ical_sync_total", frozenset({("result", "failed")}))], failed_before + len(cases))
        self.assertEqual(s.get("/api/v1/healthz").status, 200)
        # a redirect is followed; a good answer heals the feed's status. The feed still holds the validators of
        # its last good download, so the host may answer 304 (unchanged since then) through the redirect.
        fake_set(key, mode="redirect", body="/fixtures/booking_export.ics")
        self.assertIn(self.sync(s, acc, f["id"])["result"], ("ok", "not_modified"))
        self.assertEqual(self.blocks(s, acc), good)
        self.assertEqual(self.feeds(s, acc)[f["id"]]["failures"], 0)

    def test_bad_events_are_quarantined_the_rest_imported(self):
        s = self.start()
        acc = self.accommodation(s)["id"]
        key = "quarantine-%s" % self.engine
        body = calendar([("good@x", day(10), day(12)),
                         ("bad@x", day(20), day(22)), ("reversed@x", day(30), day(28))])
        body = body.replace("DTSTART;VALUE=DATE:%s" % ics_date(day(20)), "DTSTART;VALUE=DATE:2026-11-2X")
        body = body.replace("\r\n", "\n")  # LF-only too
        fake_set(key, mode="body", body=body)
        f = self.add_feed(s, acc, "Owner", fake_url("/feed/" + key))
        r = self.sync(s, acc, f["id"], want="ok")
        self.assertEqual((r["events"], r["quarantined"]), (1, 2))
        reasons = {q["uid"]: q["reason"] for q in r["quarantine"]}
        self.assertEqual(reasons, {"bad@x": "invalid_date", "reversed@x": "end_before_start"})
        self.assertIn("2026-11-2X", [q for q in r["quarantine"] if q["uid"] == "bad@x"][0]["detail"])
        self.assertEqual(self.blocks(s, acc), [(day(10), day(12), "ical:%d" % f["id"])])
        feed = self.feeds(s, acc)[f["id"]]
        self.assertEqual((feed["last_status"], feed["quarantined"]), ("ok", 2))
        self.assertEqual({q["uid"] for q in feed["quarantine"]}, {"bad@x", "reversed@x"})
        self.assertEqual(self.metrics(s)[("ical_events_quarantined_total", frozenset())], 2)

    def test_removed_events_and_the_lost_events_rule(self):
        s = self.start()
        acc = self.accommodation(s)["id"]
        key = "lost-%s" % self.engine
        six = [("e%d@x" % i, day(10 + 3 * i), day(11 + 3 * i)) for i in range(6)]
        fake_set(key, mode="body", body=calendar(six))
        f = self.add_feed(s, acc, "Airbnb", fake_url("/feed/" + key))
        self.sync(s, acc, f["id"], want="ok")
        self.assertEqual(len(self.blocks(s, acc)), 6)
        # 2 of 6 future events left: more likely a broken feed than a cancelled season
        fake_set(key, mode="body", body=calendar(six[:2]))
        r = self.sync(s, acc, f["id"], want="failed")
        self.assertTrue(r["error"].startswith("lost_events: 2 of 6"), r["error"])
        self.assertEqual(len(self.blocks(s, acc)), 6)
        # the owner checked: force accepts it, and the gone events free their nights
        self.sync(s, acc, f["id"], force=True, want="ok")
        self.assertEqual(self.blocks(s, acc), sorted((a, b, "ical:%d" % f["id"]) for _, a, b in six[:2]))
        self.hold(s, acc, six[3][1], six[3][2])
        # moved and removed events, below the rule's minimum of 4
        fake_set(key, mode="body", body=calendar([("e0@x", day(50), day(53))]))
        self.sync(s, acc, f["id"], want="ok")
        self.assertEqual(self.blocks(s, acc), [(day(50), day(53), "ical:%d" % f["id"])])
        self.assert_problem(s.req("POST", "/api/v1/admin/accommodations/%d/ical-feeds/%d/sync" % (acc, f["id"]),
                                  body={"force": "yes"}, headers=self.admin(s)), 422, "invalid_field")

    def test_conflict_with_our_booking(self):
        # email on (a closed port: the owner's message is read from the outbox, not delivered); without it
        # that message would not be written at all
        s = self.start(env={"SMTP_URL": "smtp://127.0.0.1:9", "SMTP_FROM": "reservas@example.com",
                            "OWNER_EMAIL": "owner@example.com"})
        acc = self.accommodation(s)["id"]
        ours = self.hold(s, acc, day(20), day(23))
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % ours["code"], body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        key = "conflict-%s" % self.engine
        fake_set(key, mode="body", body=calendar([("airbnb-HM123@airbnb.com", day(18), day(22))]))
        f = self.add_feed(s, acc, "Airbnb", fake_url("/feed/" + key))
        r = self.sync(s, acc, f["id"], want="ok")
        self.assertEqual((r["new_conflict_count"], r["conflicts"]), (1, 1))
        # the channel's nights that none of our stays covers are blocked; ours stay ours
        self.assertEqual(self.blocks(s, acc), [(day(18), day(20), "ical:%d" % f["id"])])
        got = s.get("/api/v1/admin/ical-conflicts", headers=self.admin(s))
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.json["total"], 1)
        c = got.json["items"][0]
        self.assertEqual(c["feed"], {"id": f["id"], "name": "Airbnb"})
        self.assertEqual((c["event"]["uid"], c["event"]["start"], c["event"]["end"]),
                         ("airbnb-HM123@airbnb.com", day(18), day(22)))
        self.assertEqual(c["nights"], {"start": day(20), "end": day(22)})
        self.assertEqual(c["reservation"], {"code": ours["code"], "check_in": day(20), "check_out": day(23),
                                            "status": "confirmed"})
        self.assertEqual(c["accommodation_id"], acc)
        self.assertEqual(s.get("/api/v1/admin/ical-conflicts?accommodation_id=%d" % acc,
                               headers=self.admin(s)).json["total"], 1)
        self.assertEqual(s.get("/api/v1/admin/ical-conflicts?accommodation_id=999999",
                               headers=self.admin(s)).json["total"], 0)
        self.assertEqual(s.get("/api/v1/admin/ical-conflicts").status, 401)
        self.assertEqual(self.feeds(s, acc)[f["id"]]["conflicts"], 1)
        # the owner's calendar shows the shared nights as conflicts, both sides named
        states = {}
        for month in sorted({day(n)[:7] for n in range(18, 23)}):
            cal = s.get("/api/v1/admin/calendar?month=%s&accommodation_id=%d" % (month, acc), headers=self.admin(s))
            self.assertEqual(cal.status, 200, cal)
            states.update({x["date"]: x for x in cal.json["accommodations"][0]["nights"]})
        self.assertEqual([states[day(n)]["state"] for n in range(18, 23)],
                         ["block", "block", "conflict", "conflict", "confirmed"])
        entries = states[day(20)]["entries"]
        self.assertEqual(sorted(e["kind"] for e in entries), ["block", "confirmed"])
        self.assertIn("ical:%d" % f["id"], [e.get("source") for e in entries])
        # never cancelled for it
        self.assertEqual(s.get("/api/v1/admin/reservations/" + ours["code"], headers=self.admin(s)).json["status"],
                         "confirmed")
        # the owner is told, once, in the transaction that stored the conflict
        self.assertEqual(self.db_count("SELECT count(*) FROM outbox WHERE template = 'ical_conflict' AND "
                                       "channel = 'email' AND recipient = 'owner' AND reservation_code = '%s'"
                                       % ours["code"]), 1)
        self.assertEqual(self.metrics(s)[("ical_conflicts_total", frozenset())], 1)
        again = self.sync(s, acc, f["id"])
        self.assertEqual((again["result"], again["new_conflict_count"], again["conflicts"]), ("not_modified", 0, 1))
        self.assertEqual(self.db_count("SELECT count(*) FROM outbox WHERE template = 'ical_conflict'"), 1)
        self.assertEqual(self.metrics(s)[("ical_conflicts_total", frozenset())], 1)
        # our guest cancels: the next sync resolves the conflict and blocks all of the channel's nights
        r = s.req("POST", "/api/v1/admin/reservations/%s/cancel" % ours["code"], body={"reason": "double booking"},
                  headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        r = self.sync(s, acc, f["id"])
        self.assertEqual(r["conflicts"], 0)
        self.assertEqual(self.blocks(s, acc), [(day(18), day(22), "ical:%d" % f["id"])])
        self.assertEqual(s.get("/api/v1/admin/ical-conflicts", headers=self.admin(s)).json["total"], 0)

    # --- export ---

    def test_export_calendar_token_and_etag(self):
        s = self.start()
        a = self.accommodation(s, name="Cabaña del Lago, la grande")
        acc = a["id"]
        self.assertEqual(path_of(a["ical_export_url"]), "/api/v1/ical/%d/%s.ics" % (acc, token(SALT, acc)))
        other = self.accommodation(s)["id"]
        hold = self.hold(s, acc, day(10), day(12))
        booked = self.hold(s, acc, day(30), day(33))  # clear of the Booking.com fixture's nights
        self.assertEqual(s.req("POST", "/api/v1/admin/reservations/%s/confirm" % booked["code"], body={},
                               headers=self.admin(s)).status, 200)
        r = s.req("POST", "/api/v1/admin/accommodations/%d/blocks" % acc,
                  body={"start": day(40), "end": day(41), "reason": "Pintura, señora Pérez"}, headers=self.admin(s))
        self.assertEqual(r.status, 201, r)
        feed = self.add_feed(s, acc, "Booking.com", fake_url("/fixtures/booking_export.ics"))
        self.sync(s, acc, feed["id"], want="ok")

        url = path_of(a["ical_export_url"])
        r = s.get(url)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("content-type"), "text/calendar; charset=utf-8")
        body = r.body
        self.assertNotIn(b"\n", body.replace(b"\r\n", b""), "CRLF line ends only")
        for raw in body.split(b"\r\n"):
            self.assertLessEqual(len(raw), 75)
        lines = unfold(body)
        self.assertEqual((lines[0], lines[-2], lines[-1]), ("BEGIN:VCALENDAR", "END:VCALENDAR", ""))
        self.assertIn("VERSION:2.0", lines)
        self.assertTrue(any(l.startswith("PRODID:") for l in lines))
        self.assertIn("X-WR-CALNAME:Cabaña del Lago\\, la grande", lines)
        events, cur = [], None
        for l in lines:
            if l == "BEGIN:VEVENT":
                cur = {}
            elif l == "END:VEVENT":
                events.append(cur)
                cur = None
            elif cur is not None:
                k, v = l.split(":", 1)
                cur[k] = v
        got = sorted((e["DTSTART;VALUE=DATE"], e["DTEND;VALUE=DATE"], e["SUMMARY"]) for e in events)
        self.assertEqual(got, sorted([(ics_date(day(10)), ics_date(day(12)), "On hold"),
                                      (ics_date(day(30)), ics_date(day(33)), "Reserved"),
                                      (ics_date(day(40)), ics_date(day(41)), "Not available"),
                                      (ics_date(fx("2026-12-24")), ics_date(fx("2026-12-27")), "Not available"),
                                      (ics_date(fx("2027-02-20")), ics_date(fx("2027-02-22")), "Not available")]))
        for e in events:
            self.assertRegex(e["DTSTAMP"], r"^\d{8}T\d{6}Z$")
            self.assertTrue(e["UID"])
        self.assertEqual(len({e["UID"] for e in events}), len(events))
        for private in (b"Ana", b"5555", b"ana@example.com", hold["code"].encode(), booked["code"].encode(),
                        "Pérez".encode(), b"CLOSED"):
            self.assertNotIn(private, body)

        # ETag: an unchanged calendar answers 304, on a HEAD too; a change gives a new one
        etag = r.header("etag")
        self.assertRegex(etag, r'^"[0-9a-f]{32}"$')
        self.assertEqual(s.get(url).header("etag"), etag, "stable across requests")
        r304 = s.get(url, headers={"If-None-Match": etag})
        self.assertEqual((r304.status, r304.body), (304, b""))
        self.assertEqual(s.get(url, headers={"If-None-Match": 'W/"x", ' + etag}).status, 304)
        self.assertEqual(s.get(url, headers={"If-None-Match": '"other"'}).status, 200)
        self.assertEqual(s.req("HEAD", url).status, 200)
        r = s.req("POST", "/api/v1/reservations/%s/cancel" % hold["code"], body={})
        self.assertEqual(r.status, 200, r)
        r2 = s.get(url, headers={"If-None-Match": etag})
        self.assertEqual(r2.status, 200)
        self.assertNotEqual(r2.header("etag"), etag)
        self.assertNotIn(ics_date(day(10)).encode(), r2.body)

        # the calendar given to Booking.com leaves out Booking.com's own events (no echo)
        r = s.get(path_of(feed["export_url"]))
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(ics_date(fx("2026-12-24")).encode(), r.body)
        self.assertIn(ics_date(day(30)).encode(), r.body)

        # a wrong token reveals nothing: the same 404 as an unknown accommodation
        nope = s.get("/api/v1/ical/%d/%s.ics" % (acc, "0" * 32))
        self.assert_problem(nope, 404, "not_found")
        for path in ("/api/v1/ical/999999/%s.ics" % token(SALT, 999999),  # valid token, no such accommodation
                     "/api/v1/ical/%d/%s.ics" % (other, token(SALT, acc)),  # another accommodation's token
                     "/api/v1/ical/%d/%s.ics" % (acc, token(SALT, acc).upper()),
                     "/api/v1/ical/%d/%s.ical" % (acc, token(SALT, acc)),
                     "/api/v1/ical/%d/%s" % (acc, token(SALT, acc)),
                     "/api/v1/ical/0%d/%s.ics" % (acc, token(SALT, acc)),
                     "/api/v1/ical/%d/feeds/%d/%s.ics" % (acc, feed["id"], token(SALT, acc)),
                     "/api/v1/ical/%d/%s.ics" % (acc, token("another salt", acc))):
            r = s.get(path)
            self.assertEqual((r.status, r.body), (404, nope.body), path)
        # a deleted feed's calendar goes with it
        self.assertEqual(s.req("DELETE", "/api/v1/admin/accommodations/%d/ical-feeds/%d" % (acc, feed["id"]),
                               headers=self.admin(s)).status, 204)
        self.assertEqual(s.get(path_of(feed["export_url"])).status, 404)

    def test_job_syncs_due_feeds_by_itself(self):
        s = self.start(env={"JOB_ICAL_INTERVAL_SECONDS": "1"})
        acc = self.accommodation(s)["id"]
        f = self.add_feed(s, acc, "Booking.com", fake_url("/fixtures/booking_export.ics"))
        wait_for(lambda: self.feeds(s, acc)[f["id"]]["last_status"] in ("ok", "not_modified"), 20,
                 what="the job to sync the new feed")
        self.assertEqual(len(self.blocks(s, acc)), 2)
        # a failing feed backs off: its next attempt moves out
        key = "job-fail-%s" % self.engine
        fake_set(key, mode="status", status=503)
        bad = self.add_feed(s, acc, "Broken", fake_url("/feed/" + key))
        wait_for(lambda: self.feeds(s, acc)[bad["id"]]["failures"] >= 2, 20, what="two failures")
        fb = self.feeds(s, acc)[bad["id"]]
        self.assertEqual(fb["last_status"], "failed")
        self.assertTrue(fb["last_error"].startswith("http_status"), fb)

    def test_health_reports_stale_feeds(self):
        s = self.start()
        acc = self.accommodation(s)["id"]
        h = s.get("/api/v1/healthz").json
        self.assertEqual(h["checks"]["ical"], {"status": "ok", "feeds": 0, "stale": 0, "max_age_minutes": 60})
        key = "stale-%s" % self.engine
        fake_set(key, mode="status", status=500)
        f = self.add_feed(s, acc, "Airbnb", fake_url("/feed/" + key))
        self.assertEqual(s.get("/api/v1/healthz").json["checks"]["ical"]["status"], "ok",
                         "a new feed counts from when it was added")
        self.sync(s, acc, f["id"], want="failed")
        # two hours later, still failing
        self.db_exec("UPDATE ical_feeds SET created_at = created_at - 7200 WHERE id = %d" % f["id"])
        h = wait_for(lambda: (lambda j: j if j["checks"]["ical"]["stale"] == 1 else None)(
            s.get("/api/v1/healthz").json), 5, what="the stale feed in healthz")
        self.assertEqual((h["status"], h["checks"]["ical"]["status"]), ("degraded", "degraded"))
        self.assertEqual(s.get("/api/v1/healthz").status, 200)
        fake_set(key, mode="fixture", body="booking_export.ics")
        self.sync(s, acc, f["id"], want="ok")
        wait_for(lambda: s.get("/api/v1/healthz").json["status"] == "healthy", 5, what="healthy again")

    # --- two instances syncing each other ---

    def test_two_instances_sync_each_other_with_a_third_channel(self):
        salt_b = "second-instance-salt-0123456789abcdefgh"
        a = self.start(name="a")
        b = self.start(env={"ICS_SALT": salt_b}, name="b")
        acc_a = self.accommodation(a)["id"]
        acc_b = self.accommodation(b)["id"]
        # each gives the other its per-feed calendar (without the other's own events): A's feed "B" reads
        # B's calendar for B's feed "A", and the other way round. B's first feed will have id 1.
        fb = self.add_feed(a, acc_a, "Instance B",
                           "http://127.0.0.1:%d/api/v1/ical/%d/feeds/1/%s.ics" % (b.port, acc_b, token(salt_b, acc_b, 1)))
        fa = self.add_feed(b, acc_b, "Instance A", "http://127.0.0.1:%d%s" % (a.port, path_of(fb["export_url"])))
        self.assertEqual(fa["id"], 1)
        self.assertEqual(path_of(fa["export_url"]), urllib.parse.urlsplit(fb["url"]).path)
        # a third channel (Booking.com) feeds A; its nights reach B through A
        third = self.add_feed(a, acc_a, "Booking.com", fake_url("/fixtures/booking_export.ics"))
        self.sync(a, acc_a, third["id"], want="ok")

        on_a = self.hold(a, acc_a, day(10), day(13))
        self.sync(b, acc_b, fa["id"], want="ok")
        self.assertEqual(self.blocks(b, acc_b), sorted([
            (day(10), day(13), "ical:1"),
            (fx("2026-12-24"), fx("2026-12-27"), "ical:1"), (fx("2027-02-20"), fx("2027-02-22"), "ical:1")]))
        self.hold(b, acc_b, day(11), day(12), status=409)  # the booking on A blocks B after one sync

        on_b = self.hold(b, acc_b, day(30), day(32))
        self.assertEqual(b.req("POST", "/api/v1/admin/reservations/%s/confirm" % on_b["code"], body={},
                               headers=self.admin(b)).status, 200)
        r = self.sync(a, acc_a, fb["id"], want="ok")
        self.assertEqual((r["events"], r["conflicts"]), (1, 0), "B's calendar for A holds only B's own stay")
        self.assertIn((day(30), day(32), "ical:%d" % fb["id"]), self.blocks(a, acc_a))
        self.hold(a, acc_a, day(30), day(31), status=409)

        # no echo: syncing both ways again changes nothing and finds no conflict
        ra = self.sync(a, acc_a, fb["id"])
        rb = self.sync(b, acc_b, fa["id"])
        self.assertEqual((ra["conflicts"], rb["conflicts"]), (0, 0))
        self.assertEqual(len(self.blocks(a, acc_a)), 3)
        self.assertEqual(len(self.blocks(b, acc_b)), 3)

        # a cancellation on A frees the nights on B at B's next sync
        r = a.req("POST", "/api/v1/reservations/%s/cancel" % on_a["code"], body={})
        self.assertEqual(r.status, 200, r)
        r = self.sync(b, acc_b, fa["id"], want="ok")
        self.assertEqual(r["removed"], 1)
        self.assertNotIn((day(10), day(13), "ical:1"), self.blocks(b, acc_b))
        self.hold(b, acc_b, day(11), day(12))


class SqliteIcalTest(IcalChecks, ServerTestCase):
    engine = "sqlite"

    def new_database_url(self):
        self.db_path = harness.Tmp().file("ical.db")
        return "sqlite://" + self.db_path

    def base_env(self):
        return {}

    def db_count(self, sql):
        with sqlite3.connect(self.db_path, timeout=10) as c:
            return c.execute(sql).fetchone()[0]

    def db_exec(self, sql):
        c = sqlite3.connect(self.db_path, timeout=10)
        try:
            c.execute(sql)
            c.commit()
        finally:
            c.close()

    def test_salt_rotation_and_disabled_export(self):
        url = self.new_database_url()
        s = self.start(database_url=url)
        acc = self.accommodation(s)["id"]
        old = path_of(s.get("/api/v1/admin/accommodations/%d" % acc, headers=self.admin(s)).json["ical_export_url"])
        self.assertEqual(s.get(old).status, 200)
        self.assertEqual(s.stop(), 0)
        s2 = self.start(database_url=url, env={"ICS_SALT": "a-brand-new-salt-0123456789abcdefghijk"})
        self.assertEqual(s2.get(old).status, 404, "changing ICS_SALT revokes every URL")
        new = path_of(s2.get("/api/v1/admin/accommodations/%d" % acc, headers=self.admin(s2)).json["ical_export_url"])
        self.assertNotEqual(new, old)
        self.assertEqual(s2.get(new).status, 200)
        self.assertEqual(s2.stop(), 0)
        s3 = self.start(database_url=url, env={"ICS_SALT": ""})
        self.assertIsNone(s3.get("/api/v1/admin/accommodations/%d" % acc, headers=self.admin(s3)).json["ical_export_url"])
        self.assertEqual(s3.get(new).status, 404)
        self.assertIn("ICS_SALT is not set", s3.log())


class PostgresIcalTest(IcalChecks, harness.PostgresRedisTestCase):
    engine = "postgresql"

    def new_database_url(self):
        url = self.fresh_database("ical")
        self.db_name = url.rsplit("/", 1)[1]
        return url

    def base_env(self):
        return {"REDIS_URL": self.redis.url}

    def db_count(self, sql):
        return int(self.pg.psql(sql, db=self.db_name))

    def db_exec(self, sql):
        self.pg.psql(sql, db=self.db_name)

    def test_job_runs_on_one_instance_at_a_time(self):
        url = self.new_database_url()
        env = {"JOB_ICAL_INTERVAL_SECONDS": "1"}
        s1 = self.start(database_url=url, env=env, name="one")
        s2 = self.start(database_url=url, env=env, name="two")
        acc = self.accommodation(s1)["id"]
        key = "slow-pg"
        fake_set(key, mode="slow", body="booking_export.ics", delay_ms=1200)
        self.add_feed(s1, acc, "Slow channel", fake_url("/feed/" + key))
        path = "/feed/" + key
        wait_for(lambda: fake_stats()["hits"].get(path, 0) >= 4, 30, what="four syncs by the job")
        stats = fake_stats()
        self.assertEqual(stats["max_concurrent"][path], 1, "two instances fetched the feed at once: %s" % stats)
        self.assertEqual(len(self.blocks(s1, acc)), 2)

    def test_syncs_racing_guest_bookings_never_overlap(self):
        # Guests book while two instances re-sync a feed whose events move by a night each time: every
        # answer is 201 or 409, every sync succeeds, and afterwards each imported night is either blocked by
        # its event or held by one of our stays with the conflict recorded. One guest holds an odd night
        # before the race, so the first sync (to the odd nights) meets a guest whatever the timing; how many
        # of the racing guests meet an event depends on the machine's scheduling.
        url = self.new_database_url()
        s1 = self.start(database_url=url, name="one")
        s2 = self.start(database_url=url, name="two")
        acc = self.accommodation(s1)["id"]
        key = "race-pg"
        sets = [[("ev%d@x" % i, day(10 + 2 * i + k), day(11 + 2 * i + k)) for i in range(30)] for k in (0, 1)]
        fake_set(key, mode="body", body=calendar(sets[0]))
        f = self.add_feed(s1, acc, "Airbnb", fake_url("/feed/" + key))
        self.sync(s1, acc, f["id"], want="ok")
        early = request(s1.port, "POST", "/api/v1/reservations", timeout=30,
                        body={"accommodation_id": acc, "check_in": day(11), "check_out": day(12), "guests": 1,
                              "guest_name": "Early guest", "guest_phone": "1199999999"})
        self.assertEqual(early.status, 201, early)
        rng = random.Random(int(os.environ.get("CABANAS_TEST_SEED", "7")))
        holds, syncs = [], []

        def guests():
            for i in range(120):
                start = 10 + rng.randrange(60)
                r = request((s1, s2)[i % 2].port, "POST", "/api/v1/reservations", timeout=30,
                            body={"accommodation_id": acc, "check_in": day(start), "check_out": day(start + 1),
                                  "guests": 1, "guest_name": "Guest %d" % i, "guest_phone": "11%08d" % i})
                holds.append(r.status)

        def channel():
            for k in range(8):
                fake_set(key, mode="body", body=calendar(sets[(k + 1) % 2]))
                syncs.append(self.sync((s1, s2)[k % 2], acc, f["id"], force=True))

        threads = [threading.Thread(target=guests), threading.Thread(target=channel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(sorted(set(holds)), [201, 409], holds)
        self.assertEqual([x["result"] for x in syncs], ["ok"] * 8, [x.get("error") for x in syncs])
        self.sync(s2, acc, f["id"])  # settle: re-check every open event once more
        rows = self.pg.psql(
            "SELECT e.id, e.start_date, e.end_date FROM ical_events e WHERE e.feed_id = %d" % f["id"], db=self.db_name)
        claims = self.pg.psql("SELECT c.check_in, c.check_out, COALESCE(c.reservation_id, 0), "
                              "COALESCE(b.ical_event_id, 0) FROM stay_claims c LEFT JOIN blocks b ON b.id = "
                              "c.block_id WHERE c.accommodation_id = %d" % acc, db=self.db_name)
        conflicts = set(tuple(l.split("|")) for l in self.pg.psql(
            "SELECT event_id, reservation_id FROM ical_conflicts", db=self.db_name).splitlines())
        parsed = [l.split("|") for l in claims.splitlines()]
        nights = {}
        for cin, cout, res, ev in parsed:
            d = datetime.date.fromisoformat(cin)
            while d < datetime.date.fromisoformat(cout):
                self.assertNotIn(d, nights, "two claims share the night %s" % d)
                nights[d] = (res, ev)
                d += datetime.timedelta(days=1)
        events = [l.split("|") for l in rows.splitlines()]
        self.assertEqual(len(events), 30)
        for ev_id, start, end in events:
            d = datetime.date.fromisoformat(start)
            while d < datetime.date.fromisoformat(end):
                self.assertIn(d, nights, "night %s of event %s is not blocked" % (d, ev_id))
                res, owner = nights[d]
                if res != "0":
                    self.assertIn((ev_id, res), conflicts, "a clash on %s without its conflict" % d)
                d += datetime.timedelta(days=1)
        met = [c["reservation"]["code"] for c in syncs[0]["new_conflicts"]]
        self.assertIn(early.json["code"], met, "the first move met the early guest (else this test proves little)")


if __name__ == "__main__":
    harness.main()
