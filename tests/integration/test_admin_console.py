"""Admin console: the dashboard's numbers on a seeded data set (expected values worked out by hand below),
the month calendar, the CSV export (round trip through the csv module, formula injection, keyset paging),
the audit trail of every action (and none for a change that failed), and the admin page with its assets
(strict Content-Security-Policy, no inline script or style, ETag revalidation).

Every data check runs on both engines (ConsoleChecks mixed into one TestCase per engine). Data is created
through the API; where time must be controlled (an expiry within the hour, a booking confirmed last month,
a stay that began yesterday) the test then moves timestamps or dates with direct SQL, keeping each stay and
its claim on the nights in step. Dates are relative to the server's "today" (PROPERTY_TIMEZONE).
"""

import csv
import datetime
import html.parser
import io
import json
import os
import re
import sqlite3
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServerTestCase  # noqa: E402

from zoneinfo import ZoneInfo  # noqa: E402

SECRET = "console-tests-jwt-secret-0123456789abcdef"
OWNER = "owner@example.com"
ACTOR = "admin:" + OWNER
PROPERTY_TZ = "America/Argentina/Buenos_Aires"
BASE_ENV = {"RATE_LIMIT_ENABLED": "0", "JWT_SECRET": SECRET, "ADMIN_ALLOWED_EMAILS": OWNER,
            "HOLD_MINUTES": "180", "DEPOSIT_PERCENT": "30", "PROPERTY_TIMEZONE": PROPERTY_TZ}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
WEB_DIR = os.path.join(harness.ROOT, "web", "admin")
CSV_HEADER = ["code", "status", "payment_status", "accommodation_id", "accommodation_name", "check_in",
              "check_out", "nights", "guests", "guest_name", "guest_phone", "guest_email", "channel",
              "total_price", "deposit_amount", "paid_amount", "currency", "created_at", "confirmed_at",
              "cancelled_at", "expires_at", "cancel_reason", "notes"]

_token = []


def plus(iso, n):
    return (datetime.date.fromisoformat(iso) + datetime.timedelta(days=n)).isoformat()


def lit(v):
    """A SQL literal (the test builds its own statements; values are ours)."""
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


class ConsoleChecks:
    """Mixed into one TestCase per engine: subclasses give new_database_url(), base_env(), sql(), query()."""

    # --- fixtures ---

    def start(self, env=None):
        e = dict(BASE_ENV)
        e.update(self.base_env())
        e.update(env or {})
        return self.server(args=("serve", "--migrate"), env=e, database_url=self.new_database_url())

    def admin(self, s):
        if not _token:
            p = s.run("admin", "token", OWNER)
            self.assertEqual(p.returncode, 0, p.stderr)
            _token.append(p.stdout.decode().strip())
        return {"Authorization": "Bearer " + _token[0]}

    def get(self, s, path, status=200):
        r = s.get(path, headers=self.admin(s), timeout=30)
        self.assertEqual(r.status, status, r)
        return r

    def post(self, s, path, body=None, status=(200, 201)):
        r = s.req("POST", path, body=body if body is not None else {}, headers=self.admin(s), timeout=30)
        self.assertIn(r.status, status if isinstance(status, tuple) else (status,), r)
        return r.json if r.body else None

    def accommodation(self, s, name, price, **extra):
        body = {"name": name, "capacity": 4, "base_price": price, "weekend_multiplier": "1.00",
                "min_nights": 1, "max_nights": 30}
        body.update(extra)
        return self.post(s, "/api/v1/admin/accommodations", body, 201)

    def hold(self, s, acc, check_in, check_out, name="Ana Gómez", phone="+54 9 11 5555-0000", **extra):
        body = {"accommodation_id": acc, "check_in": check_in, "check_out": check_out, "guests": 2,
                "guest_name": name, "guest_phone": phone}
        body.update(extra)
        r = s.req("POST", "/api/v1/reservations", body=body)
        self.assertEqual(r.status, 201, r)
        return r.json["code"]

    def confirm(self, s, code, amount=None):
        return self.post(s, "/api/v1/admin/reservations/%s/confirm" % code,
                         {"amount": amount} if amount else {}, 200)

    def cancel(self, s, code, reason="el huésped no viaja"):
        return self.post(s, "/api/v1/admin/reservations/%s/cancel" % code, {"reason": reason}, 200)

    def block(self, s, acc, start, end, reason=""):
        return self.post(s, "/api/v1/admin/accommodations/%d/blocks" % acc,
                         {"start": start, "end": end, "reason": reason}, 201)

    def stats(self, s):
        return self.get(s, "/api/v1/admin/dashboard/stats").json

    def move_stay(self, code, check_in, check_out):
        """Moves a stay and its claim together (one transaction: the claim must match the stay)."""
        self.sql([
            "UPDATE stay_claims SET check_in = %s, check_out = %s WHERE reservation_id = "
            "(SELECT id FROM reservations WHERE code = %s)" % (lit(check_in), lit(check_out), lit(code)),
            "UPDATE reservations SET check_in = %s, check_out = %s WHERE code = %s"
            % (lit(check_in), lit(check_out), lit(code)),
        ])

    def set_times(self, code, **cols):
        sets = ", ".join("%s = %s" % (k, lit(v)) for k, v in sorted(cols.items()))
        self.sql(["UPDATE reservations SET %s WHERE code = %s" % (sets, lit(code))])

    # --- dashboard ---

    def test_dashboard_numbers_on_a_seeded_data_set(self):
        s = self.start()
        empty = self.stats(s)
        T = empty["today"]
        self.assertEqual(T, datetime.datetime.now(ZoneInfo(PROPERTY_TZ)).date().isoformat())
        self.assertEqual(empty["reservations"], {"by_status": {"pre_reserved": 0, "confirmed": 0, "cancelled": 0,
                                                                "expired": 0}, "total": 0})
        self.assertIsNone(empty["conversion"]["rate"])
        self.assertEqual(empty["revenue"]["by_currency"], [])

        a = self.accommodation(s, "Alfa", "1000.00")["id"]
        b = self.accommodation(s, "Beta", "2000.00")["id"]
        c = self.accommodation(s, "Gamma (inactiva)", "5000.00", active=False)["id"]
        now = int(time.time())
        today = datetime.date.fromisoformat(T)
        month_start = int(datetime.datetime(today.year, today.month, 1, tzinfo=ZoneInfo(PROPERTY_TZ)).timestamp())

        r9 = self.hold(s, a, plus(T, 60), plus(T, 62))          # 2 nights, 2000.00; later moved to T-1..T+1
        self.confirm(s, r9, "2000.00")
        self.move_stay(r9, plus(T, -1), plus(T, 1))
        r1 = self.hold(s, a, plus(T, 2), plus(T, 5))            # 3 nights, 3000.00, deposit 900.00
        self.confirm(s, r1, "900.00")
        r2 = self.hold(s, b, plus(T, 28), plus(T, 33))          # 5 nights, 10000.00; 2 inside the window
        self.confirm(s, r2, "5000.00")
        r3 = self.hold(s, a, plus(T, 10), plus(T, 12))          # confirmed (deposit 600.00), then cancelled
        self.confirm(s, r3)
        self.cancel(s, r3)
        r4 = self.hold(s, a, plus(T, 20), plus(T, 22))          # live hold, expires in 3 h
        r5 = self.hold(s, b, plus(T, 3), plus(T, 4))            # live hold, expiring in 10 minutes
        self.set_times(r5, expires_at=now + 600)
        r6 = self.hold(s, b, plus(T, 6), plus(T, 8))            # past its expiry, still stored pre_reserved
        self.set_times(r6, expires_at=now - 10)
        r7 = self.hold(s, a, plus(T, 40), plus(T, 42))          # cancelled hold, never confirmed
        self.cancel(s, r7)
        r8 = self.hold(s, b, plus(T, 50), plus(T, 52))          # confirmed last month, created 40 days ago
        self.confirm(s, r8)
        self.set_times(r8, confirmed_at=month_start - 3600, created_at=now - 40 * 86400)
        self.block(s, a, plus(T, 12), plus(T, 14), "pintura")   # 2 nights in the window
        self.block(s, b, plus(T, 15), plus(T, 25), "obra")      # 10 nights in the window
        self.block(s, a, plus(T, 35), plus(T, 37))              # outside the window
        k4 = self.block(s, b, plus(T, 26), plus(T, 27))         # deleted: counts nothing
        r = s.req("DELETE", "/api/v1/admin/accommodations/%d/blocks/%d" % (b, k4["id"]), headers=self.admin(s))
        self.assertEqual(r.status, 204, r)
        self.sql(["INSERT INTO outbox (channel, template, recipient, status, attempts, next_attempt_at, "
                  "created_at, updated_at) VALUES ('email', 'booking_confirmed', 'x@example.com', '%s', 30, "
                  "%d, %d, %d)" % (st, now, now, now) for st in ("dead", "dead", "pending", "sent")])
        # payments: one approved for nights taken meanwhile (needs a refund), one refunded after that, one fine
        self.sql(["INSERT INTO payments (payment_id, reservation_code, status, mp_status, amount_cents, "
                  "currency, needs_refund, created_at, updated_at) VALUES ('%s', '%s', '%s', '%s', 90000, 'ARS', "
                  "%d, %d, %d)" % (pid, r1, status, mp, flag, now, now)
                  for pid, status, mp, flag in (("9001", "needs_refund", "approved", 1),
                                                ("9002", "refunded", "refunded", 0),
                                                ("9003", "approved", "approved", 0))])
        # iCal feeds (ICAL_SYNC_MAX_AGE_MINUTES 60): failing and stale, failing but fresh (a success 10 min
        # ago, then a failure), fine, never synced but added now, and a stale one of the inactive Gamma
        self.sql(["INSERT INTO ical_feeds (accommodation_id, name, url, created_at, last_success_at, last_status) "
                  "VALUES (%d, '%s', 'http://127.0.0.1:9/%s.ics', %d, %s, '%s')" % (acc, name, name, created, ok, st)
                  for acc, name, created, ok, st in ((a, "f1", now - 86400, now - 7200, "failed"),
                                                     (a, "f2", now - 86400, now - 600, "failed"),
                                                     (b, "f3", now - 86400, now - 60, "ok"),
                                                     (b, "f4", now, "NULL", "pending"),
                                                     (c, "f5", now - 86400, now - 7200, "ok"))])
        # WhatsApp: one guest waiting for a person, one whose handoff ended, one never handed over
        self.sql(["INSERT INTO whatsapp_conversations (phone, handoff_until, created_at, updated_at) "
                  "VALUES ('%s', %s, %d, %d)" % (phone, until, now, now)
                  for phone, until in (("5491100000001", now + 3600), ("5491100000002", now - 60),
                                       ("5491100000003", "NULL"))])

        st = self.stats(s)
        self.assertEqual(st["today"], T)
        self.assertEqual(st["timezone"], PROPERTY_TZ)
        # by status, all time, as the API shows them: r6 is past its expiry, so expired
        self.assertEqual(st["reservations"]["by_status"],
                         {"confirmed": 4, "cancelled": 2, "pre_reserved": 2, "expired": 1})  # r1 r2 r8 r9 / r3 r7 / r4 r5 / r6
        self.assertEqual(st["reservations"]["total"], 9)
        # occupancy of [T, T+30): confirmed nights / nights not blocked; holds are not sold; Gamma is inactive
        occ = st["occupancy"]
        self.assertEqual((occ["from"], occ["to"], occ["nights"]), (T, plus(T, 30), 30))
        by_acc = {x["id"]: x for x in occ["accommodations"]}
        self.assertEqual(set(by_acc), {a, b})
        self.assertNotIn(c, by_acc)
        # Alfa: r9 covers T (1), r1 covers T+2..T+4 (3) = 4; blocked T+12, T+13 = 2; sellable 28
        self.assertEqual({k: by_acc[a][k] for k in ("name", "confirmed_nights", "blocked_nights", "sellable_nights")},
                         {"name": "Alfa", "confirmed_nights": 4, "blocked_nights": 2, "sellable_nights": 28})
        self.assertAlmostEqual(by_acc[a]["rate"], 4 / 28, places=9)
        # Beta: r2 covers T+28, T+29 = 2; blocked T+15..T+24 = 10; sellable 20
        self.assertEqual({k: by_acc[b][k] for k in ("confirmed_nights", "blocked_nights", "sellable_nights")},
                         {"confirmed_nights": 2, "blocked_nights": 10, "sellable_nights": 20})
        self.assertAlmostEqual(by_acc[b]["rate"], 0.1, places=9)
        self.assertEqual({k: occ["overall"][k] for k in ("confirmed_nights", "blocked_nights", "sellable_nights")},
                         {"confirmed_nights": 6, "blocked_nights": 12, "sellable_nights": 48})
        self.assertAlmostEqual(occ["overall"]["rate"], 0.125, places=9)
        # revenue of bookings confirmed this month (r1 r2 r9 still confirmed: 3000 + 10000 + 2000) and the
        # deposits received with them (r1 900 + r2 5000 + r3 600, cancelled later, + r9 2000); r8 was last month
        self.assertEqual(st["revenue"]["month"], T[:7])
        self.assertEqual(st["revenue"]["by_currency"],
                         [{"currency": "ARS", "confirmed_total": "15000.00", "deposits_received": "8500.00"}])
        # holds: r4 and r5 are live; r5 expires within the hour
        self.assertEqual(st["holds"], {"active": 2, "expiring_within_hour": 1})
        # conversion over 30 days: 8 created (r8 is 40 days old), 4 of them confirmed (r1 r2 r3 r9)
        self.assertEqual(st["conversion"], {"days": 30, "holds_created": 8, "converted": 4, "rate": 0.5})
        self.assertEqual(st["outbox"], {"dead": 2})
        # features whose tables this server does not have: null, not 0
        self.assertEqual(st["payments_needing_refund"], 1)
        self.assertEqual(st["ical_feeds"], {"failing": 2, "stale": 1})
        self.assertEqual(st["whatsapp_waiting_for_person"], 1)
        self.assertEqual(st["features"], {"payments": True, "ical": True, "whatsapp": True})

        # the numbers follow the data: cancelling r1 frees 3 nights and takes 3000.00 off the month
        self.cancel(s, r1)
        st2 = self.stats(s)
        self.assertEqual(st2["reservations"]["by_status"]["confirmed"], 3)
        self.assertEqual(st2["occupancy"]["overall"]["confirmed_nights"], 3)
        self.assertEqual(st2["revenue"]["by_currency"][0]["confirmed_total"], "12000.00")
        self.assertEqual(st2["revenue"]["by_currency"][0]["deposits_received"], "8500.00")

    def test_dashboard_needs_a_token(self):
        s = self.start()
        for path in ("/api/v1/admin/dashboard/stats", "/api/v1/admin/calendar?month=2027-01",
                     "/api/v1/admin/reservations.csv", "/api/v1/admin/audit"):
            r = s.get(path)
            self.assertEqual(r.status, 401, (path, r))
            r = s.get(path, headers={"Authorization": "Bearer nope"})
            self.assertEqual(r.status, 401, (path, r))

    # --- calendar ---

    def test_calendar_month(self):
        s = self.start()
        T = self.stats(s)["today"]
        t = datetime.date.fromisoformat(T)
        # the month after next: every night of it is in the future
        y, m = (t.year, t.month + 2) if t.month <= 10 else (t.year + 1, t.month - 10)
        M = "%04d-%02d" % (y, m)
        first = datetime.date(y, m, 1)
        days = ((datetime.date(y + (m == 12), m % 12 + 1, 1)) - first).days

        def d(n):
            return (first + datetime.timedelta(days=n - 1)).isoformat()

        a = self.accommodation(s, "Alfa", "1000.00")["id"]
        b = self.accommodation(s, "Beta", "1000.00")["id"]
        hold = self.hold(s, a, d(3), d(5), name="Hold Uno", channel="whatsapp")
        conf = self.hold(s, a, d(10), d(13), name="Conf Dos")
        self.confirm(s, conf)
        back = self.hold(s, a, d(13), d(15), name="Back Tres")
        self.confirm(s, back)
        blk = self.block(s, a, d(20), d(22), "Mantenimiento")
        tail = self.hold(s, a, d(days), plus(d(days), 2), name="Cruza Mes")  # last night of the month and on
        self.confirm(s, tail)
        stale = self.hold(s, a, d(25), d(27))
        self.set_times(stale, expires_at=int(time.time()) - 5)             # expired by time: free
        gone = self.hold(s, a, d(7), d(8))
        self.cancel(s, gone)                                               # cancelled: free
        bconf = self.hold(s, b, d(7), d(9), name="Beta Conf")
        self.confirm(s, bconf)
        # an imported event stored outside the no-overlap guarantee (as the calendar sync stores a clash)
        self.sql(["INSERT INTO blocks (accommodation_id, start_date, end_date, reason, source, created_by, "
                  "created_at) VALUES (%d, %s, %s, 'Reserva de Airbnb', 'ical:airbnb', '', %d)"
                  % (b, lit(d(6)), lit(d(8)), int(time.time()))])

        cal = self.get(s, "/api/v1/admin/calendar?month=" + M).json
        self.assertEqual((cal["month"], cal["from"], cal["nights"], cal["today"], cal["truncated"]),
                         (M, d(1), days, T, False))
        self.assertEqual(cal["to"], plus(d(days), 1))
        accs = {x["id"]: x for x in cal["accommodations"]}
        self.assertEqual(set(accs), {a, b})
        self.assertTrue(accs[a]["active"])
        na = {n["date"]: n for n in accs[a]["nights"]}
        self.assertEqual(len(accs[a]["nights"]), days)
        self.assertEqual([n["date"] for n in accs[a]["nights"]], [d(i) for i in range(1, days + 1)])

        def states(nights):
            letter = {"free": ".", "hold": "h", "confirmed": "c", "block": "b", "conflict": "X"}
            return "".join(letter[n["state"]] for n in nights)

        expect_a = ["."] * days
        for i in (3, 4):
            expect_a[i - 1] = "h"
        for i in (10, 11, 12, 13, 14, days):
            expect_a[i - 1] = "c"
        for i in (20, 21):
            expect_a[i - 1] = "b"
        self.assertEqual(states(accs[a]["nights"]), "".join(expect_a))
        h3 = na[d(3)]
        self.assertEqual({k: h3[k] for k in ("state", "code", "channel", "guest_name", "guests", "check_in",
                                              "check_out")},
                         {"state": "hold", "code": hold, "channel": "whatsapp", "guest_name": "Hold Uno",
                          "guests": 2, "check_in": d(3), "check_out": d(5)})
        self.assertRegex(h3["expires_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual((na[d(12)]["code"], na[d(13)]["code"]), (conf, back))  # back to back
        self.assertNotIn("expires_at", na[d(12)])
        self.assertEqual(na[d(days)]["code"], tail)
        self.assertEqual({k: na[d(20)][k] for k in ("state", "block_id", "reason", "source", "start", "end")},
                         {"state": "block", "block_id": blk["id"], "reason": "Mantenimiento", "source": "manual",
                          "start": d(20), "end": d(22)})
        self.assertEqual(na[d(25)], {"date": d(25), "state": "free"})

        nb = {n["date"]: n for n in accs[b]["nights"]}
        self.assertEqual((nb[d(6)]["state"], nb[d(7)]["state"], nb[d(8)]["state"], nb[d(9)]["state"]),
                         ("block", "conflict", "confirmed", "free"))
        self.assertEqual(nb[d(6)]["source"], "ical:airbnb")
        conflict = nb[d(7)]
        self.assertEqual(conflict["count"], 2)
        kinds = sorted((e["kind"], e.get("code") or e.get("source")) for e in conflict["entries"])
        self.assertEqual(kinds, [("block", "ical:airbnb"), ("confirmed", bconf)])

        one = self.get(s, "/api/v1/admin/calendar?month=%s&accommodation_id=%d" % (M, b)).json
        self.assertEqual([x["id"] for x in one["accommodations"]], [b])
        self.assertEqual(states(one["accommodations"][0]["nights"]), states(accs[b]["nights"]))
        # the month before: the stay that crosses into it is not there, the next month has its 2nd night
        nxt = "%04d-%02d" % (y + (m == 12), m % 12 + 1)
        nm = self.get(s, "/api/v1/admin/calendar?month=%s&accommodation_id=%d" % (nxt, a)).json
        self.assertEqual(states(nm["accommodations"][0]["nights"])[:2], "c.")
        # an inactive accommodation is still shown (its bookings stay), flagged
        r = s.req("DELETE", "/api/v1/admin/accommodations/%d" % b, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        cal2 = self.get(s, "/api/v1/admin/calendar?month=" + M).json
        self.assertFalse({x["id"]: x for x in cal2["accommodations"]}[b]["active"])

        for bad in ("", "2027", "2027-1", "2027-13", "2027-00", "27-01", "2027-01-01", "abcd-ef", "1899-12",
                    "2027_01", "%00"):
            r = s.get("/api/v1/admin/calendar?month=" + bad, headers=self.admin(s))
            self.assertEqual(r.status, 422, (bad, r))
            self.assertEqual(r.json["error"], "invalid_field")
        self.assertEqual(s.get("/api/v1/admin/calendar", headers=self.admin(s)).status, 422)
        r = s.get("/api/v1/admin/calendar?month=%s&accommodation_id=999999" % M, headers=self.admin(s))
        self.assertEqual((r.status, r.json["error"]), (404, "accommodation_not_found"))
        r = s.get("/api/v1/admin/calendar?month=%s&accommodation_id=x" % M, headers=self.admin(s))
        self.assertEqual(r.status, 422, r)
        r = s.req("HEAD", "/api/v1/admin/calendar?month=" + M, headers=self.admin(s))
        self.assertEqual((r.status, r.body), (200, b""))

    # --- CSV export ---

    def csv_rows(self, s, query=""):
        r = self.get(s, "/api/v1/admin/reservations.csv" + query)
        self.assertEqual(r.header("content-type"), "text/csv; charset=utf-8; header=present")
        self.assertRegex(r.header("content-disposition"), r'^attachment; filename="reservas-\d{4}-\d\d-\d\d\.csv"$')
        text = r.body.decode("utf-8")  # UTF-8, or this raises
        self.assertTrue(text.endswith("\r\n"))
        self.assertTrue(text.startswith(",".join(CSV_HEADER) + "\r\n"), "a header row ending in CRLF")
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        self.assertEqual(rows[0], CSV_HEADER)
        return [dict(zip(CSV_HEADER, row)) for row in rows[1:]], text

    def test_csv_round_trip_and_formula_injection(self):
        s = self.start()
        T = self.stats(s)["today"]
        a = self.accommodation(s, "Cabaña, \"La Nueva\"", "43200.00")["id"]
        names = ['Pérez, Juan "el Tano"', '=HYPERLINK("http://evil.example/x","clic")', "+54 9 11 5555",
                 "-2+3", "@SUM(A1:A9)", "Ñandú Müller 山田"]
        codes = []
        for i, name in enumerate(names):
            codes.append(self.hold(s, a, plus(T, 2 + 3 * i), plus(T, 4 + 3 * i), name=name,
                                   guest_email="g%d@example.com" % i))
        self.confirm(s, codes[0], "25920.00")
        self.cancel(s, codes[1], '=cmd|" /C calc"!A0')
        # control characters cannot come in through the API; they can be in old data: tab, CR, LF
        self.sql(["UPDATE reservations SET notes = %s WHERE code = %s" % (n, lit(c)) for n, c in (
            (self.text_with("\t", "tab first"), codes[2]), (self.text_with("\r", "cr first"), codes[3]),
            ("'línea 1' || " + self.text_with("\n", "línea 2"), codes[4]))])

        rows, text = self.csv_rows(s)
        self.assertEqual([r["code"] for r in rows], list(reversed(codes)), "newest first, as the list")
        by = {r["code"]: r for r in rows}
        first = by[codes[0]]
        self.assertEqual({k: first[k] for k in ("status", "payment_status", "accommodation_id", "accommodation_name",
                                                 "check_in", "check_out", "nights", "guests", "guest_name",
                                                 "guest_phone", "guest_email", "channel", "total_price",
                                                 "deposit_amount", "paid_amount", "currency", "cancelled_at",
                                                 "expires_at", "cancel_reason", "notes")},
                         {"status": "confirmed", "payment_status": "paid", "accommodation_id": str(a),
                          "accommodation_name": 'Cabaña, "La Nueva"', "check_in": plus(T, 2),
                          "check_out": plus(T, 4), "nights": "2", "guests": "2",
                          "guest_name": 'Pérez, Juan "el Tano"', "guest_phone": "5491155550000",
                          "guest_email": "g0@example.com", "channel": "web", "total_price": "86400.00",
                          "deposit_amount": "25920.00", "paid_amount": "25920.00", "currency": "ARS",
                          "cancelled_at": "", "expires_at": "", "cancel_reason": "", "notes": ""})
        self.assertRegex(first["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertRegex(first["confirmed_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        # formula neutralizing: a leading ' makes the cell text; the rest is kept byte for byte
        self.assertEqual(by[codes[1]]["guest_name"], "'" + names[1])
        self.assertEqual(by[codes[1]]["cancel_reason"], "'" + '=cmd|" /C calc"!A0')
        self.assertEqual(by[codes[1]]["status"], "cancelled")
        self.assertEqual(by[codes[2]]["guest_name"], "'+54 9 11 5555")
        self.assertEqual(by[codes[2]]["notes"], "'\ttab first")
        self.assertEqual(by[codes[3]]["guest_name"], "'-2+3")
        self.assertEqual(by[codes[3]]["notes"], "'\rcr first")
        self.assertEqual(by[codes[4]]["guest_name"], "'@SUM(A1:A9)")
        self.assertEqual(by[codes[4]]["notes"], "línea 1\nlínea 2")
        self.assertEqual(by[codes[5]]["guest_name"], "Ñandú Müller 山田")
        self.assertRegex(by[codes[5]]["expires_at"], r"^\d{4}-\d\d-\d\dT")
        for r in rows:
            for k, v in r.items():
                self.assertFalse(v[:1] in ("=", "+", "-", "@", "\t", "\r"), (k, v))
            for k in ("total_price", "deposit_amount", "paid_amount"):
                self.assertRegex(r[k], r"^\d+\.\d\d$")
        self.assertIn('"Cabaña, ""La Nueva"""', text)  # RFC 4180 quoting, inner quotes doubled

        # the same filters as the list, and the same rows
        for q in ({"status": "confirmed"}, {"status": "pre_reserved"}, {"q": "Müller"}, {"q": "TANO"},
                  {"accommodation_id": a, "from": plus(T, 5), "to": plus(T, 9)}, {"status": "cancelled", "q": "hyper"}):
            qs = "?" + urllib.parse.urlencode(q)
            listed = self.get(s, "/api/v1/admin/reservations" + qs + "&limit=200").json["items"]
            exported, _ = self.csv_rows(s, qs)
            self.assertEqual([r["code"] for r in exported], [i["code"] for i in listed], q)
        rows, text = self.csv_rows(s, "?status=expired")
        self.assertEqual((rows, text), ([], ",".join(CSV_HEADER) + "\r\n"))
        for bad in ("?status=paid", "?limit=5", "?offset=1", "?from=2027-02-30", "?accommodation_id=0",
                    "?q=" + "x" * 101):
            r = s.get("/api/v1/admin/reservations.csv" + bad, headers=self.admin(s))
            self.assertEqual(r.status, 422, (bad, r))

    def test_csv_export_pages_through_every_row(self):
        s = self.start()
        a = self.accommodation(s, "Alfa", "1000.00")["id"]
        now = int(time.time())
        # 450 old cancelled stays (no claims needed), 50 of them sharing one created_at (the keyset's tie)
        values = ["('RESX%09d', %d, '2020-01-%02d', '2020-01-%02d', 2, 'Guest %d', '5491100000000', 'web', "
                  "'cancelled', 'pending', 1, 100000, 30, 30000, 0, 'ARS', %d, %d)"
                  % (i, a, 1 + i % 27, 2 + i % 27, i, now - (i if i >= 50 else 0), now)
                  for i in range(450)]
        self.sql(["INSERT INTO reservations (code, accommodation_id, check_in, check_out, guests, guest_name, "
                  "guest_phone, channel, status, payment_status, nights, total_cents, deposit_percent, "
                  "deposit_cents, paid_cents, currency, created_at, updated_at) VALUES " + ", ".join(values)])
        rows, _ = self.csv_rows(s)
        codes = [r["code"] for r in rows]
        self.assertEqual(len(codes), 450)
        self.assertEqual(len(set(codes)), 450, "no row twice across pages")
        self.assertEqual(set(codes), {"RESX%09d" % i for i in range(450)})
        listed = []
        for off in range(0, 450, 200):
            listed += [i["code"] for i in self.get(s, "/api/v1/admin/reservations?limit=200&offset=%d" % off).json["items"]]
        self.assertEqual(codes, listed, "the export's order is the list's")

    # --- audit trail ---

    def audit(self, s, **q):
        return self.get(s, "/api/v1/admin/audit?" + urllib.parse.urlencode(q)).json

    def test_audit_rows_for_each_action(self):
        s = self.start()
        T = self.stats(s)["today"]
        acc = self.accommodation(s, "Auditada", "1000.00")
        aid = str(acc["id"])
        rows = self.audit(s, entity="accommodation", id=aid)["items"]
        self.assertEqual(len(rows), 1)
        created = rows[0]
        self.assertEqual((created["actor"], created["action"], created["entity"], created["entity_id"],
                          created["before"]), (ACTOR, "accommodation.created", "accommodation", aid, None))
        self.assertEqual({k: created["after"][k] for k in ("id", "name", "base_price_cents", "weekend_multiplier_bp",
                                                            "capacity", "active", "weekend_nights")},
                         {"id": acc["id"], "name": "Auditada", "base_price_cents": 100000,
                          "weekend_multiplier_bp": 10000, "capacity": 4, "active": True, "weekend_nights": "fri,sat"})
        self.assertRegex(created["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

        r = s.req("PATCH", "/api/v1/admin/accommodations/" + aid, body={"base_price": "1250.50", "min_nights": 2},
                  headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        upd = self.audit(s, entity="accommodation", id=aid, limit=1)["items"][0]
        self.assertEqual((upd["action"], upd["actor"]), ("accommodation.updated", ACTOR))
        self.assertEqual((upd["before"]["base_price_cents"], upd["after"]["base_price_cents"]), (100000, 125050))
        self.assertEqual((upd["before"]["min_nights"], upd["after"]["min_nights"]), (1, 2))
        # a PATCH refused by validation changes nothing and writes no row
        r = s.req("PATCH", "/api/v1/admin/accommodations/" + aid, body={"capacity": 0}, headers=self.admin(s))
        self.assertEqual(r.status, 422, r)
        self.assertEqual(len(self.audit(s, entity="accommodation", id=aid)["items"]), 2)

        blk = self.block(s, acc["id"], plus(T, 5), plus(T, 7), "pintura")
        bid = str(blk["id"])
        bc = self.audit(s, entity="block", id=bid)["items"]
        self.assertEqual([(x["action"], x["actor"], x["before"]) for x in bc], [("block.created", ACTOR, None)])
        self.assertEqual({k: bc[0]["after"][k] for k in ("id", "accommodation_id", "start", "end", "reason", "source")},
                         {"id": blk["id"], "accommodation_id": acc["id"], "start": plus(T, 5), "end": plus(T, 7),
                          "reason": "pintura", "source": "manual"})
        # a block refused by the no-overlap guarantee leaves no audit row (same transaction)
        before = self.audit(s, limit=1)["items"][0]["id"]
        r = s.req("POST", "/api/v1/admin/accommodations/%s/blocks" % aid,
                  body={"start": plus(T, 6), "end": plus(T, 8)}, headers=self.admin(s))
        self.assertEqual(r.status, 409, r)
        self.assertEqual(self.audit(s, limit=1)["items"][0]["id"], before)
        r = s.req("DELETE", "/api/v1/admin/accommodations/%s/blocks/%s" % (aid, bid), headers=self.admin(s))
        self.assertEqual(r.status, 204, r)
        bd = self.audit(s, entity="block", id=bid)["items"]
        self.assertEqual([x["action"] for x in bd], ["block.deleted", "block.created"])
        self.assertEqual((bd[0]["before"]["reason"], bd[0]["after"], bd[0]["actor"]), ("pintura", None, ACTOR))
        r = s.req("DELETE", "/api/v1/admin/accommodations/%s/blocks/%s" % (aid, bid), headers=self.admin(s))
        self.assertEqual(r.status, 404, r)
        self.assertEqual(len(self.audit(s, entity="block", id=bid)["items"]), 2)

        code = self.hold(s, acc["id"], plus(T, 10), plus(T, 13), name="Guest Audit")
        self.confirm(s, code, "1000.00")
        self.cancel(s, code, "cambio de planes")
        rr = self.audit(s, entity="reservation", id=code)["items"]
        self.assertEqual([(x["action"], x["actor"]) for x in rr],
                         [("reservation.booking_cancelled", ACTOR), ("reservation.booking_confirmed", ACTOR),
                          ("reservation.hold_created", "api")])
        self.assertEqual((rr[0]["before"]["status"], rr[0]["after"]["status"], rr[0]["after"]["cancel_reason"]),
                         ("confirmed", "cancelled", "cambio de planes"))
        self.assertEqual((rr[1]["before"]["status"], rr[1]["after"]["paid_cents"]), ("pre_reserved", 100000))

        r = s.req("DELETE", "/api/v1/admin/accommodations/" + aid, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        de = self.audit(s, entity="accommodation", id=aid)["items"]
        self.assertEqual([x["action"] for x in de],
                         ["accommodation.deactivated", "accommodation.updated", "accommodation.created"])
        self.assertEqual((de[0]["before"]["active"], de[0]["after"]["active"]), (True, False))

        # paging with the id cursor: newest first, no row twice, every row once
        everything = self.audit(s, limit=200)
        self.assertIsNone(everything["next_before"])
        ids = [x["id"] for x in everything["items"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        seen, cursor = [], None
        while True:
            q = {"limit": 2}
            if cursor:
                q["before"] = cursor
            page = self.audit(s, **q)
            self.assertLessEqual(len(page["items"]), 2)
            seen += [x["id"] for x in page["items"]]
            cursor = page["next_before"]
            if cursor is None:
                break
            self.assertEqual(cursor, page["items"][-1]["id"])
        self.assertEqual(seen, ids)
        self.assertEqual({x["entity"] for x in self.audit(s, entity="block")["items"]}, {"block"})
        self.assertEqual(self.audit(s, entity="feed")["items"], [])
        for bad in ({"limit": 0}, {"limit": 201}, {"limit": "x"}, {"before": "abc"}, {"before": 0},
                    {"entity": "Reservation!"}, {"entity": "x" * 40}, {"id": "RES1"},
                    {"entity": "reservation", "id": "a b"}, {"entity": "reservation", "id": "x" * 64}):
            r = s.get("/api/v1/admin/audit?" + urllib.parse.urlencode(bad), headers=self.admin(s))
            self.assertEqual(r.status, 422, (bad, r))
            self.assertEqual(r.json["error"], "invalid_field")

    def test_seed_is_audited_as_the_cli(self):
        s = self.start()
        p = s.run("seed")
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = self.audit(s, entity="accommodation")["items"]
        self.assertEqual(len(rows), 3)
        self.assertEqual({(x["actor"], x["action"]) for x in rows}, {("cli:seed", "accommodation.created")})


class SqliteConsoleTest(ConsoleChecks, ServerTestCase):
    engine = "sqlite"

    def new_database_url(self):
        self._db_path = harness.Tmp("cabanas-console-").file("cabanas.db")
        return "sqlite://" + self._db_path

    def base_env(self):
        return {}

    def sql(self, statements):
        con = sqlite3.connect(self._db_path, timeout=15)
        try:
            con.execute("BEGIN IMMEDIATE")
            for st in statements:
                con.execute(st)
            con.commit()
        finally:
            con.close()

    def text_with(self, ch, rest):
        return "(char(%d) || %s)" % (ord(ch), lit(rest))

    # --- the page (engine-independent, so only here) ---

    def test_admin_page_and_assets(self):
        s = self.start()
        seen = {}
        for path in ("/admin", "/admin/"):
            r = s.get(path)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
            self.assertEqual(r.header("content-security-policy"), CSP)
            self.assertEqual(r.header("cache-control"), "no-cache")
            self.assertEqual(r.header("x-content-type-options"), "nosniff")
            self.assertEqual(r.header("x-frame-options"), "DENY")
            self.assertRegex(r.header("etag"), r'^"[0-9a-f]{16}"$')
            with open(os.path.join(WEB_DIR, "index.html"), "rb") as f:
                self.assertEqual(r.body, f.read(), "the embedded page is the file")
            seen[path] = r
        page = seen["/admin/"]
        p = PageAudit()
        p.feed(page.body.decode("utf-8"))
        self.assertEqual(p.inline_scripts, 0, "no inline script")
        self.assertEqual(p.style_elements, 0, "no <style> element")
        self.assertEqual(p.style_attrs, [], "no style attribute")
        self.assertEqual(p.event_attrs, [], "no on* handler attribute")
        self.assertTrue(p.scripts and p.stylesheets, (p.scripts, p.stylesheets))
        self.assertEqual(p.lang, "es-AR")

        # every asset the page loads, and every module those import, from the binary itself
        queue = list(p.scripts) + list(p.stylesheets)
        fetched = {}
        while queue:
            url = queue.pop()
            if url in fetched:
                continue
            self.assertTrue(url.startswith("/admin/assets/"), url)
            r = s.get(url)
            self.assertEqual(r.status, 200, (url, r))
            self.assertEqual(r.header("content-security-policy"), CSP, url)
            self.assertRegex(r.header("etag"), r'^"[0-9a-f]{16}"$')
            name = url.rsplit("/", 1)[1]
            with open(os.path.join(WEB_DIR, name), "rb") as f:
                self.assertEqual(r.body, f.read(), url)
            want = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}[name.rsplit(".", 1)[1]]
            self.assertEqual(r.header("content-type"), want, url)
            fetched[url] = r
            if name.endswith(".js"):
                for mod in re.findall(r"""\bfrom\s+'\./([A-Za-z0-9_.-]+\.js)'""", r.body.decode()):
                    queue.append("/admin/assets/" + mod)
        self.assertEqual(set(n for n in os.listdir(WEB_DIR)) - {"index.html"},
                         {u.rsplit("/", 1)[1] for u in fetched}, "every file is used, every used file is served")
        for url, r in fetched.items():
            text = r.body.decode("utf-8")
            self.assertNotRegex(text, r"https?://(?!www\.w3\.org)", "%s: no external resource (CDN)" % url)
            if url.endswith(".js"):
                for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "new Function",
                               "document.write", "localStorage", ".style."):
                    self.assertNotIn(banned, text, "%s uses %s" % (url, banned))
        # the token stays out of URLs: the page never puts it in a query string
        self.assertNotRegex(fetched["/admin/assets/api.js"].body.decode(), r"[?&](access_)?token=")

        # revalidation
        etag = page.header("etag")
        r = s.get("/admin/", headers={"If-None-Match": etag})
        self.assertEqual((r.status, r.body, r.header("etag")), (304, b"", etag))
        self.assertEqual(s.get("/admin/", headers={"If-None-Match": "W/" + etag}).status, 304)
        self.assertEqual(s.get("/admin/", headers={"If-None-Match": '"0000000000000000", ' + etag}).status, 304)
        self.assertEqual(s.get("/admin/", headers={"If-None-Match": '"0000000000000000"'}).status, 200)
        css = [u for u in fetched if u.endswith(".css")][0]
        self.assertEqual(s.get(css, headers={"If-None-Match": fetched[css].header("etag")}).status, 304)
        r = s.req("HEAD", "/admin/")
        self.assertEqual((r.status, r.body, r.header("etag")), (200, b"", etag))

        for bad in ("/admin/assets/nope.js", "/admin/assets/", "/admin/assets/..%2F..%2Fetc%2Fpasswd",
                    "/admin/assets/../../etc/passwd", "/admin/assets/%2e%2e", "/admin/index.html",
                    "/admin/assets/app.js/x", "/admin/x"):
            r = s.get(bad)
            self.assertEqual(r.status, 404, (bad, r))
        self.assertEqual(s.req("POST", "/admin", body={}).status, 405)


class PageAudit(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.scripts, self.stylesheets = [], []
        self.inline_scripts = self.style_elements = 0
        self.style_attrs, self.event_attrs = [], []
        self.lang = None
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        for k, v in attrs:
            if k == "style":
                self.style_attrs.append((tag, v))
            if k.startswith("on"):
                self.event_attrs.append((tag, k))
        if tag == "script":
            self._in_script = True
            if a.get("src"):
                self.scripts.append(a["src"])
        if tag == "style":
            self.style_elements += 1
        if tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline_scripts += 1


class PostgresConsoleTest(ConsoleChecks, harness.PostgresRedisTestCase):
    engine = "postgresql"

    def new_database_url(self):
        self._db_url = self.fresh_database("console")
        self._db_name = self._db_url.rsplit("/", 1)[1]
        return self._db_url

    def base_env(self):
        return {"REDIS_URL": self.redis.url}

    def sql(self, statements):
        self.pg.psql("BEGIN; " + "; ".join(statements) + "; COMMIT;", db=self._db_name)

    def text_with(self, ch, rest):
        return "(chr(%d) || %s)" % (ord(ch), lit(rest))


if __name__ == "__main__":
    harness.main()
