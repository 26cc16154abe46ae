"""Payments: MercadoPago payment links for holds, signed webhook notifications, the payment rules, the
admin payments API, health and metrics — against a fake MercadoPago (tests/integration/fakes/
fake_mercadopago.py) started by each test on a free loopback port, with failure injection (500s, timeouts,
slow answers).

Every check runs on both engines (PaymentChecks mixed into one TestCase per engine): SQLite, and
PostgreSQL with Redis (a fresh database per test). Both classes also run two server instances on one
database and send them the same notification at once.

What the tests look at: the HTTP API, /metrics, the fake's record of what cabanas asked it, and the
database itself (sqlite3 / psql) for the exact outbox, audit and inbox rows. The outbox delivery worker
runs (email and WhatsApp point at a closed port, so their messages are written and retried, never
sent); it retries payment links through mp_preference_deliver().
"""

import datetime
import hashlib
import hmac
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServerTestCase, request, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "fakes", "fake_mercadopago.py")
FIXTURES = os.path.join(harness.ROOT, "tests", "data", "mercadopago")
JWT = "payments-tests-jwt-secret-0123456789abcd"
OWNER = "owner@example.com"
WEBHOOK_SECRET = "mp-webhook-secret-test"  # the fixture's signing secret
TOKEN = "APP_USR-fake-access-token"
PUBLIC = "https://cabanas.example.com"
BASE_ENV = {"RATE_LIMIT_ENABLED": "0", "JWT_SECRET": JWT, "ADMIN_ALLOWED_EMAILS": OWNER, "OWNER_EMAIL": OWNER,
            "HTTP_THREADS": "8", "DB_POOL_SIZE": "8", "PUBLIC_BASE_URL": PUBLIC,
            "JOB_PAYMENTS_INTERVAL_SECONDS": "1", "JOB_OUTBOX_INTERVAL_SECONDS": "1",
            "OUTBOX_MAX_BACKOFF_SECONDS": "1", "MERCADOPAGO_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "MERCADOPAGO_ACCESS_TOKEN": TOKEN,
            # Email and WhatsApp on, pointing at a closed port: the tests read the messages a payment plans
            # (which are written only for configured channels), not their delivery
            "SMTP_URL": "smtp://127.0.0.1:9", "SMTP_FROM": "reservas@example.com",
            "WHATSAPP_ACCESS_TOKEN": "test-token", "WHATSAPP_PHONE_NUMBER_ID": "100200300",
            "WHATSAPP_API_BASE": "http://127.0.0.1:9"}

_token = []


def day(n):
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if m:
            labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())), 0)


def cents(amount):
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def money(c):
    return "%d.%02d" % (c // 100, c % 100)


def sign(data_id, secret=WEBHOOK_SECRET, ts=None, request_id=None):
    """The x-signature and x-request-id headers MercadoPago would send for this data.id."""
    ts = str(int(time.time())) if ts is None else str(ts)
    rid = request_id or str(uuid.uuid4())
    manifest = "id:%s;request-id:%s;ts:%s;" % (data_id.lower(), rid, ts)
    v1 = hmac.new(secret.encode(), manifest.encode(), hashlib.sha256).hexdigest()
    return {"x-signature": "ts=%s,v1=%s" % (ts, v1), "x-request-id": rid}


def notification_body(pid):
    return {"action": "payment.updated", "api_version": "v1", "data": {"id": pid}, "type": "payment",
            "id": random.randint(10 ** 10, 10 ** 11), "live_mode": False, "user_id": "1234567890",
            "date_created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}


def payment_json(pid, status, code, amount, currency="ARS", detail=None):
    """The payment resource as MercadoPago writes it; `amount` is the JSON number's text, sent verbatim."""
    return ('{"id": %d, "status": "%s", "status_detail": "%s", "currency_id": "%s", "external_reference": %s, '
            '"transaction_amount": %s, "description": "Seña", "payer": {"email": "guest@example.com"}, '
            '"operation_type": "regular_payment", "installments": 1}'
            % (int(pid), status, detail or {"approved": "accredited"}.get(status, status), currency,
               json.dumps(code), amount))


class FakeMercadoPago:
    def __init__(self):
        self.port = harness.free_port()
        self.proc = subprocess.Popen([sys.executable, FAKE, "--port", str(self.port), "--token", TOKEN],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness._started.append(self.proc)
        harness._record_pid(self.proc.pid)
        wait_for(lambda: harness._can_connect(self.port), 10, what="the fake MercadoPago to listen")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def _call(self, method, path, body=None):
        r = request(self.port, method, path, body=body, timeout=10)
        assert r.status == 200, r
        return r.json

    def set_payment(self, pid, status, code, amount, **kw):
        r = request(self.port, "PUT", "/_fake/payments/%s" % pid, body=payment_json(pid, status, code, amount, **kw),
                    headers={"Content-Type": "application/json"}, timeout=10)
        assert r.status == 200, r

    def fail(self, path, mode, count=1, delay=5, method=None):
        self._call("POST", "/_fake/fail", {"path": path, "mode": mode, "count": count, "delay": delay,
                                           "method": method})

    def clear(self):
        self._call("POST", "/_fake/clear", {})

    def requests(self, path_prefix=""):
        return [r for r in self._call("GET", "/_fake/requests") if r["path"].startswith(path_prefix)]

    def preferences(self):
        return self._call("GET", "/_fake/preferences")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class PaymentChecks:
    """Mixed into one TestCase per engine; subclasses give new_database_url(), base_env(), query()."""

    # --- fixtures ---

    def setUp(self):
        super().setUp()
        self.mp = FakeMercadoPago()
        self.addCleanup(self.mp.stop)
        self.pids = iter(range(random.randint(10 ** 9, 2 * 10 ** 9), 3 * 10 ** 9))

    def start(self, env=None, database_url=None, name="cabanas"):
        e = dict(BASE_ENV)
        e["MERCADOPAGO_API_BASE"] = self.mp.url
        e.update(self.base_env())
        e.update(env or {})
        return self.server(args=("serve", "--migrate"), env=e, database_url=database_url or self.new_database_url(),
                           name=name)

    def admin(self, s):
        if not _token:
            p = s.run("admin", "token", OWNER)
            self.assertEqual(p.returncode, 0, p.stderr)
            _token.append(p.stdout.decode().strip())
        return {"Authorization": "Bearer " + _token[0]}

    def accommodation(self, s):
        body = {"name": "Cabaña %d" % random.randint(1, 10 ** 9), "capacity": 4, "base_price": "1440.00"}
        r = s.req("POST", "/api/v1/admin/accommodations", body=body, headers=self.admin(s))
        self.assertEqual(r.status, 201, r)
        return r.json["id"]

    def hold(self, s, acc, start=20, nights=3, status=201, **extra):
        body = {"accommodation_id": acc, "check_in": day(start), "check_out": day(start + nights), "guests": 2,
                "guest_name": "Ana Gómez", "guest_phone": "+54 9 11 5555-0000", "guest_email": "ana@example.com"}
        body.update(extra)
        r = s.req("POST", "/api/v1/reservations", body=body, timeout=30)
        self.assertEqual(r.status, status, r)
        return r.json

    def pid(self):
        return str(next(self.pids))

    def notify(self, s, pid, path="/api/v1/webhooks/mercadopago", headers=None, query=None, body="default"):
        q = query if query is not None else {"data.id": pid, "type": "payment"}
        url = path + ("?" + urllib.parse.urlencode(q) if q else "")
        h = sign(pid) if headers is None else headers
        return s.req("POST", url, body=notification_body(pid) if body == "default" else body, headers=h)

    def accepted(self, s, pid, **kw):
        r = self.notify(s, pid, **kw)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "accepted", r)
        return r

    def get(self, s, code):
        r = s.get("/api/v1/admin/reservations/" + code, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        return r.json

    def wait_status(self, s, code, status, timeout=20):
        return wait_for(lambda: self.get(s, code)["status"] == status and self.get(s, code), timeout,
                        interval=0.1, what="%s to be %s" % (code, status))

    def wait_processed(self, s, n, timeout=20):
        """Until at least n notifications are in the inbox and none is waiting."""
        def done():
            rows = self.query(s, "SELECT status, count(*) FROM mp_inbox GROUP BY status")
            counts = {k: int(v) for k, v in rows}
            return sum(counts.values()) >= n and not counts.get("pending") and not counts.get("processing")
        wait_for(done, timeout, interval=0.1, what="%d notification(s) processed" % n)

    def payment(self, s, pid):
        r = s.get("/api/v1/admin/payments/" + pid, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        return r.json

    def metrics(self, s):
        return parse_metrics(s.get("/metrics").body.decode())

    def count(self, s, sql):
        return int(self.query(s, sql)[0][0])

    def outbox(self, s, code, template=None):
        sql = "SELECT channel, template, recipient, dedupe_key FROM outbox WHERE reservation_code = '%s'" % code
        if template:
            sql += " AND template = '%s'" % template
        return sorted(self.query(s, sql + " ORDER BY id"))

    # --- the whole path ---

    def test_hold_link_notification_confirms(self):
        s = self.start()
        acc = self.accommodation(s)
        h = self.hold(s, acc)
        code, deposit = h["code"], h["deposit_amount"]
        self.assertTrue(h["payment_url"].startswith("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id="), h)
        self.assertEqual(s.get("/api/v1/reservations/" + code).json["payment_url"], h["payment_url"])
        prefs = list(self.mp.preferences().values())
        self.assertEqual(len(prefs), 1)
        pref = prefs[0]
        req = pref["request"]
        self.assertEqual(req["external_reference"], code)
        self.assertEqual(req["notification_url"], PUBLIC + "/api/v1/webhooks/mercadopago")
        self.assertEqual(len(req["items"]), 1)
        item = req["items"][0]
        self.assertEqual((item["quantity"], item["currency_id"], item["id"]), (1, "ARS", code))
        self.assertIn("(3 noches)", item["title"])
        self.assertIn('"unit_price":%s' % deposit, pref["raw"], "unit_price is the deposit as a JSON number")
        self.assertTrue(req["expires"])
        self.assertRegex(req["expiration_date_to"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000[-+]\d\d:\d\d$")
        self.assertEqual(req["payer"], {"email": "ana@example.com"})
        self.assertEqual(pref["idempotency_key"], "cabanas-preference-%s-1" % code)
        self.assertEqual(self.outbox(s, code, "preference"), [], "no retry queued when the link was made at once")

        pid = self.pid()
        self.mp.set_payment(pid, "approved", code, deposit)
        self.accepted(s, pid)
        r = self.wait_status(s, code, "confirmed")
        self.assertEqual((r["payment_status"], r["paid_amount"]), ("paid", deposit))
        self.assertIsNotNone(r["confirmed_at"])
        self.assertEqual([(p["payment_id"], p["status"], p["outcome"], p["amount"]) for p in r["payments"]],
                         [(pid, "approved", "confirmed", deposit)])
        # the confirmation's messages (the same as an admin confirm's) and its audit row
        self.assertEqual(self.outbox(s, code, "booking_confirmed"),
                         [("email", "booking_confirmed", "ana@example.com",
                           "booking_confirmed:%s:email:ana@example.com" % code),
                          ("email", "booking_confirmed", "owner", "booking_confirmed:%s:email:owner" % code),
                          ("whatsapp", "booking_confirmed", "5491155550000",
                           "booking_confirmed:%s:whatsapp:5491155550000" % code)])
        self.assertEqual(self.query(s, "SELECT actor FROM audit_log WHERE entity_id = '%s' AND action = "
                                       "'reservation.booking_confirmed'" % code), [("webhook:mercadopago",)])
        kinds = [e["kind"] for e in self.payment(s, pid)["events"]]
        self.assertEqual(kinds[0], "notification")
        self.assertIn("fetched", kinds)
        self.assertEqual(kinds.count("applied"), 2, kinds)  # confirming, then confirmed
        calls = self.mp.requests("/v1/payments/")
        self.assertEqual([c["path"] for c in calls], ["/v1/payments/" + pid])
        m = self.metrics(s)
        self.assertEqual(metric(m, "reservations_confirmed_total", source="mercadopago"), 1)
        self.assertEqual(metric(m, "mp_webhooks_total", result="accepted"), 1)
        self.assertEqual(metric(m, "payments_total", status="approved"), 1)
        self.assertEqual(metric(m, "mp_preferences_total", result="created"), 1)

    # --- signatures ---

    def test_signature_is_required_and_checked(self):
        s = self.start()
        code = self.hold(s, self.accommodation(s))["code"]
        pid = self.pid()
        self.mp.set_payment(pid, "approved", code, "100000")
        good = sign(pid)
        v1 = good["x-signature"].split("v1=")[1]
        flipped = "%x" % (int(v1[-1], 16) ^ 1)
        cases = {
            "missing header": {"x-request-id": good["x-request-id"]},
            "wrong secret": sign(pid, secret="not-the-secret"),
            "old ts": sign(pid, ts=int(time.time()) - 601),
            "ts far ahead": sign(pid, ts=int(time.time()) + 3600),
            "one bit of v1": dict(good, **{"x-signature": good["x-signature"][:-1] + flipped}),
            "another data.id": sign(str(int(pid) + 1)),
            "another request id": dict(good, **{"x-request-id": str(uuid.uuid4())}),
            "garbage": {"x-signature": "ts=abc,v1=xyz", "x-request-id": "r"},
        }
        for what, headers in cases.items():
            r = self.notify(s, pid, headers=headers)
            self.assertEqual((r.status, r.json.get("error")), (401, "invalid_signature"), "%s: %r" % (what, r))
            self.assertEqual(r.header("content-type"), "application/problem+json")
        # the signed fixture, as delivered: authentic, but its ts is long past
        with open(os.path.join(FIXTURES, "notification_payment.headers")) as f:
            lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("#")]
        fixture_headers = dict(ln.split(": ", 1) for ln in lines)
        with open(os.path.join(FIXTURES, "notification_payment.json"), "rb") as f:
            fixture_body = f.read()
        r = s.req("POST", "/api/v1/webhooks/mercadopago?data.id=1319381416&type=payment", body=fixture_body,
                  headers=fixture_headers)
        self.assertEqual((r.status, r.json["error"]), (401, "invalid_signature"), r)
        self.assertIn("expired", r.json["detail"])
        self.assertEqual(self.count(s, "SELECT count(*) FROM mp_inbox"), 0, "nothing refused was recorded")
        self.assertEqual(self.mp.requests("/v1/payments/"), [], "a refused notification makes no lookup")
        self.assertEqual(self.get(s, code)["status"], "pre_reserved")
        self.assertEqual(metric(self.metrics(s), "mp_webhooks_total", result="invalid_signature"), len(cases) + 1)
        # data.id taken from the body when the query string has none; alphanumeric ids lowercased
        r = self.notify(s, pid, query={"type": "payment"}, headers=sign(pid))
        self.assertEqual(r.status, 200, r)
        self.wait_status(s, code, "confirmed")

    def test_other_topics_and_malformed_notifications(self):
        s = self.start()
        r = s.req("POST", "/api/v1/webhooks/mercadopago?data.id=123&type=merchant_order", body={})
        self.assertEqual((r.status, r.json), (200, {"status": "ignored"}))
        r = s.req("POST", "/api/v1/mercadopago/webhook?topic=merchant_order&id=123", body=b"")
        self.assertEqual((r.status, r.json), (200, {"status": "ignored"}))
        for path, body in (("/api/v1/webhooks/mercadopago", {}),
                           ("/api/v1/webhooks/mercadopago?type=payment", {"data": {}}),
                           ("/api/v1/webhooks/mercadopago?type=payment&data.id=12%2F34", {}),
                           ("/api/v1/webhooks/mercadopago?type=payment&data.id=" + "9" * 65, {}),
                           ("/api/v1/webhooks/mercadopago", b"\x00\xff not json")):
            r = s.req("POST", path, body=body, headers=sign("12/34"))
            self.assertEqual((r.status, r.json["error"]), (400, "invalid_notification"), "%s %r" % (path, r))
        r = s.req("GET", "/api/v1/webhooks/mercadopago")
        self.assertEqual(r.status, 405)
        self.assertEqual(self.count(s, "SELECT count(*) FROM mp_inbox"), 0)
        m = self.metrics(s)
        self.assertEqual(metric(m, "mp_webhooks_total", result="ignored"), 2)
        self.assertEqual(metric(m, "mp_webhooks_total", result="invalid"), 5)

    def test_not_configured(self):
        s = self.start(env={"MERCADOPAGO_WEBHOOK_SECRET": "", "MERCADOPAGO_ACCESS_TOKEN": ""})
        pid = self.pid()
        r = self.notify(s, pid)
        self.assertEqual((r.status, r.json["error"]), (503, "not_configured"), r)
        h = s.get("/api/v1/healthz").json
        self.assertEqual(h["checks"]["mercadopago"], {"status": "disabled", "webhooks": "disabled"})
        self.assertEqual(h["status"], "healthy")
        hold = self.hold(s, self.accommodation(s))
        self.assertIsNone(hold["payment_url"])
        self.assertEqual(self.mp.requests(), [], "no MercadoPago call at all")
        self.assertEqual(self.outbox(s, hold["code"], "preference"), [])
        r = s.req("POST", "/api/v1/admin/reservations/%s/payment-link" % hold["code"], body={},
                  headers=self.admin(s))
        self.assertEqual((r.status, r.json["error"]), (503, "not_configured"))
        self.assertEqual(metric(self.metrics(s), "mp_webhooks_total", result="not_configured"), 1)
        # a token without a webhook secret: links yes, notifications no
        s2 = self.start(env={"MERCADOPAGO_WEBHOOK_SECRET": ""}, name="token-only")
        self.assertEqual(s2.get("/api/v1/healthz").json["checks"]["mercadopago"],
                         {"status": "ok", "webhooks": "disabled"})
        self.assertEqual(self.notify(s2, pid).status, 503)
        self.assertIsNotNone(self.hold(s2, self.accommodation(s2))["payment_url"])

    # --- exactly once ---

    def five_at_once(self, servers):
        s = servers[0]
        code = self.hold(s, self.accommodation(s))["code"]
        deposit = self.get(s, code)["deposit_amount"]
        pid = self.pid()
        self.mp.set_payment(pid, "approved", code, deposit)
        headers = sign(pid)  # one delivery, repeated: the same signed request five times
        barrier = threading.Barrier(5)
        results = [None] * 5

        def one(i):
            try:
                barrier.wait(10)
                results[i] = self.notify(servers[i % len(servers)], pid, headers=headers)
            except Exception as e:  # noqa: BLE001 - reported below
                results[i] = e

        threads = [threading.Thread(target=one, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual([getattr(r, "status", r) for r in results], [200] * 5)
        self.wait_status(s, code, "confirmed")
        self.wait_processed(s, 5)
        r = self.get(s, code)
        self.assertEqual((r["payment_status"], r["paid_amount"]), ("paid", deposit))
        self.assertEqual(len(r["payments"]), 1)
        self.assertEqual(self.count(s, "SELECT count(*) FROM audit_log WHERE entity_id = '%s' AND action = "
                                       "'reservation.booking_confirmed'" % code), 1, "one confirmation")
        confirmations = self.outbox(s, code, "booking_confirmed")
        self.assertEqual(len(confirmations), 3, confirmations)  # guest email, owner email, guest WhatsApp
        self.assertEqual(len([c for c in confirmations if c[0] == "email" and c[2] == "ana@example.com"]), 1,
                         "one email to the guest")
        self.assertEqual(self.count(s, "SELECT count(*) FROM payment_events WHERE payment_id = '%s' AND kind = "
                                       "'notification'" % pid), 5, "every notification is in the events")
        total = sum(metric(self.metrics(x), "reservations_confirmed_total", source="mercadopago") for x in servers)
        self.assertEqual(total, 1)
        self.assertEqual(sum(metric(self.metrics(x), "payments_total", status="approved") for x in servers), 1)
        return code

    def test_five_identical_notifications_at_once(self):
        self.five_at_once([self.start()])

    def test_two_instances_share_the_notifications(self):
        url = self.new_database_url()
        a = self.start(database_url=url, name="one")
        b = self.start(database_url=url, name="two")
        self.five_at_once([a, b])

    # --- the rules ---

    def test_pending_then_approved(self):
        s = self.start()
        h = self.hold(s, self.accommodation(s))
        code, deposit = h["code"], h["deposit_amount"]
        pid = self.pid()
        self.mp.set_payment(pid, "pending", code, deposit, detail="pending_waiting_payment")
        self.accepted(s, pid)
        self.wait_processed(s, 1)
        r = self.get(s, code)
        self.assertEqual((r["status"], r["payment_status"]), ("pre_reserved", "pending"))
        self.assertEqual([(p["status"], p["outcome"]) for p in r["payments"]], [("pending", "recorded")])
        self.mp.set_payment(pid, "in_process", code, deposit)
        self.accepted(s, pid)
        self.wait_processed(s, 2)
        self.assertEqual(self.get(s, code)["status"], "pre_reserved")
        self.mp.set_payment(pid, "approved", code, deposit)
        self.accepted(s, pid)
        r = self.wait_status(s, code, "confirmed")
        self.assertEqual([(p["status"], p["outcome"]) for p in r["payments"]], [("approved", "confirmed")])
        m = self.metrics(s)
        self.assertEqual((metric(m, "payments_total", status="pending"), metric(m, "payments_total", status="in_process"),
                          metric(m, "payments_total", status="approved")), (1, 1, 1))

    def test_approved_then_late_pending_stays_confirmed(self):
        s = self.start()
        h = self.hold(s, self.accommodation(s))
        code, deposit = h["code"], h["deposit_amount"]
        pid = self.pid()
        self.mp.set_payment(pid, "approved", code, deposit)
        self.accepted(s, pid)
        self.wait_status(s, code, "confirmed")
        self.mp.set_payment(pid, "pending", code, deposit)  # a stale read served late
        self.accepted(s, pid)
        self.accepted(s, pid)
        self.wait_processed(s, 3)
        r = self.get(s, code)
        self.assertEqual((r["status"], r["payment_status"]), ("confirmed", "paid"))
        p = self.payment(s, pid)
        self.assertEqual((p["status"], p["mp_status"], p["outcome"]), ("approved", "approved", "confirmed"))
        fetched = [e["status"] for e in p["events"] if e["kind"] == "fetched"]
        self.assertEqual(fetched, ["approved", "pending", "pending"], "the late states are kept as events")
        # the same approved state again changes nothing either
        self.mp.set_payment(pid, "approved", code, deposit)
        self.accepted(s, pid)
        self.wait_processed(s, 4)
        self.assertEqual(self.count(s, "SELECT count(*) FROM audit_log WHERE entity_id = '%s' AND action = "
                                       "'reservation.booking_confirmed'" % code), 1)
        m = self.metrics(s)
        self.assertEqual((metric(m, "payments_total", status="pending"), metric(m, "payments_total", status="approved")),
                         (0, 1))
        applied = [e["detail"].get("outcome") for e in self.payment(s, pid)["events"] if e["kind"] == "applied"]
        self.assertEqual(applied, ["confirming", "confirmed"], "nothing was applied a second time")

    def test_rejected_keeps_the_hold(self):
        s = self.start()
        h = self.hold(s, self.accommodation(s))
        pid = self.pid()
        self.mp.set_payment(pid, "rejected", h["code"], h["deposit_amount"], detail="cc_rejected_insufficient_amount")
        self.accepted(s, pid)
        self.wait_processed(s, 1)
        r = self.get(s, h["code"])
        self.assertEqual((r["status"], r["payment_status"]), ("pre_reserved", "pending"))
        self.assertEqual([(p["status"], p["status_detail"]) for p in r["payments"]],
                         [("rejected", "cc_rejected_insufficient_amount")])
        # the guest pays again: a new payment id confirms
        pid2 = self.pid()
        self.mp.set_payment(pid2, "approved", h["code"], h["deposit_amount"])
        self.accepted(s, pid2)
        self.wait_status(s, h["code"], "confirmed")

    def test_approved_for_an_unknown_code(self):
        s = self.start()
        self.accommodation(s)
        pid = self.pid()
        self.mp.set_payment(pid, "approved", "RESZZZZZZZZZZ", "500.00")
        self.accepted(s, pid)
        self.wait_processed(s, 1)
        p = self.payment(s, pid)
        self.assertEqual((p["status"], p["outcome"], p["reservation_code"], p["amount"]),
                         ("approved", "unknown_reservation", "RESZZZZZZZZZZ", "500.00"))
        listed = s.get("/api/v1/admin/payments?code=RESZZZZZZZZZZ", headers=self.admin(s)).json
        self.assertEqual([i["payment_id"] for i in listed["items"]], [pid])
        pid2 = self.pid()
        self.mp.set_payment(pid2, "approved", None, "500.00")  # no external_reference at all
        self.accepted(s, pid2)
        self.wait_processed(s, 2)
        self.assertEqual(self.payment(s, pid2)["outcome"], "unknown_reservation")
        self.assertEqual(self.count(s, "SELECT count(*) FROM reservations WHERE status = 'confirmed'"), 0)

    def test_amount_below_deposit_and_other_currency(self):
        s = self.start()
        acc = self.accommodation(s)
        h = self.hold(s, acc)
        code, deposit = h["code"], h["deposit_amount"]
        short = money(cents(deposit) - 1)
        pid = self.pid()
        self.mp.set_payment(pid, "approved", code, short)
        self.accepted(s, pid)
        self.wait_processed(s, 1)
        r = self.get(s, code)
        self.assertEqual((r["status"], r["payment_status"]), ("pre_reserved", "pending"))
        self.assertEqual(self.payment(s, pid)["outcome"], "amount_below_deposit")
        # 0.005 short of the deposit is still short: digits past the centavo are dropped, never rounded up
        pid2 = self.pid()
        self.mp.set_payment(pid2, "approved", code, money(cents(deposit) - 1) + "5")
        self.accepted(s, pid2)
        pid3 = self.pid()
        self.mp.set_payment(pid3, "approved", code, deposit, currency="USD")
        self.accepted(s, pid3)
        self.wait_processed(s, 3)
        self.assertEqual((self.payment(s, pid2)["outcome"], self.payment(s, pid3)["outcome"]),
                         ("amount_below_deposit", "currency_mismatch"))
        self.assertEqual(self.get(s, code)["status"], "pre_reserved")
        # more than the deposit (written with an exponent) confirms, and paid_amount is what was paid
        pid4 = self.pid()
        paid = cents(deposit) + 1250
        self.mp.set_payment(pid4, "approved", code, "%de-2" % paid)
        self.accepted(s, pid4)
        r = self.wait_status(s, code, "confirmed")
        self.assertEqual(r["paid_amount"], money(paid))

    def test_approved_after_expiry_with_free_nights(self):
        s = self.start(env={"HOLD_SECONDS": "2"})
        h = self.hold(s, self.accommodation(s))
        code = h["code"]
        wait_for(lambda: s.get("/api/v1/reservations/" + code).json["status"] == "expired", 10, what="expiry")
        pid = self.pid()
        self.mp.set_payment(pid, "approved", code, h["deposit_amount"])
        self.accepted(s, pid)
        r = self.wait_status(s, code, "confirmed")
        self.assertEqual(r["payment_status"], "paid")
        self.assertEqual(self.payment(s, pid)["outcome"], "confirmed")

    def test_approved_after_expiry_with_taken_nights(self):
        s = self.start(env={"HOLD_SECONDS": "2"})
        acc = self.accommodation(s)
        first = self.hold(s, acc)
        code = first["code"]
        wait_for(lambda: s.get("/api/v1/reservations/" + code).json["status"] == "expired", 10, what="expiry")
        other = self.hold(s, acc, guest_name="Otro Huésped", guest_phone="1144443333", guest_email="otro@example.com")
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % other["code"], body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        pid = self.pid()
        self.mp.set_payment(pid, "approved", code, first["deposit_amount"])
        self.accepted(s, pid)
        self.wait_processed(s, 1)
        p = self.payment(s, pid)
        self.assertEqual((p["status"], p["needs_refund"], p["outcome"]), ("needs_refund", True, "nights_taken"))
        r = self.get(s, code)
        self.assertEqual((r["status"], r["payment_status"], r["paid_amount"]),
                         ("expired", "needs_refund", first["deposit_amount"]))
        self.assertEqual((r["guest_name"], r["guest_phone"], r["guest_email"]),
                         ("Ana Gómez", "5491155550000", "ana@example.com"), "the guest's data is kept")
        self.assertEqual(self.get(s, other["code"])["status"], "confirmed", "the other booking stands")
        listed = s.get("/api/v1/admin/payments?needs_refund=true", headers=self.admin(s)).json
        self.assertEqual([(i["payment_id"], i["reservation_code"]) for i in listed["items"]], [(pid, code)])
        self.assertEqual(self.outbox(s, code, "payment_needs_refund"),
                         [("email", "payment_needs_refund", "owner", "payment_needs_refund:%s:needs_refund" % pid)])
        self.assertEqual(self.outbox(s, code, "booking_confirmed"), [])
        # again: no second email, no second alert
        self.accepted(s, pid)
        self.wait_processed(s, 2)
        self.assertEqual(len(self.outbox(s, code, "payment_needs_refund")), 1)
        m = self.metrics(s)
        self.assertEqual(metric(m, "payments_needs_refund_total"), 1)
        self.assertEqual(metric(m, "payments_total", status="needs_refund"), 1)
        self.assertEqual(metric(m, "reservations_conflicts_total", reason="confirm_after_expiry"), 1)
        # the owner refunds it at MercadoPago: the flag clears and the reservation says refunded
        self.mp.set_payment(pid, "refunded", code, first["deposit_amount"])
        self.accepted(s, pid)
        self.wait_processed(s, 3)
        p = self.payment(s, pid)
        self.assertEqual((p["status"], p["needs_refund"]), ("refunded", False))
        self.assertEqual(self.get(s, code)["payment_status"], "refunded")

    def test_second_payment_for_a_confirmed_hold_needs_refund(self):
        s = self.start()
        h = self.hold(s, self.accommodation(s))
        a, b = self.pid(), self.pid()
        self.mp.set_payment(a, "approved", h["code"], h["deposit_amount"])
        self.accepted(s, a)
        self.wait_status(s, h["code"], "confirmed")
        self.mp.set_payment(b, "approved", h["code"], h["deposit_amount"])
        self.accepted(s, b)
        self.wait_processed(s, 2)
        self.assertEqual((self.payment(s, a)["outcome"], self.payment(s, b)["outcome"]),
                         ("confirmed", "duplicate_payment"))
        self.assertEqual(self.payment(s, b)["status"], "needs_refund")
        self.assertEqual(self.get(s, h["code"])["payment_status"], "paid", "the booking itself is untouched")

    def test_refund_and_chargeback(self):
        s = self.start()
        h = self.hold(s, self.accommodation(s))
        code = h["code"]
        pid = self.pid()
        self.mp.set_payment(pid, "approved", code, h["deposit_amount"])
        self.accepted(s, pid)
        self.wait_status(s, code, "confirmed")
        self.mp.set_payment(pid, "refunded", code, h["deposit_amount"])
        self.accepted(s, pid)
        self.wait_processed(s, 2)
        r = self.get(s, code)
        self.assertEqual((r["status"], r["payment_status"]), ("confirmed", "refunded"))
        self.assertEqual(self.outbox(s, code, "payment_refunded"),
                         [("email", "payment_refunded", "owner", "payment_refunded:%s:refunded" % pid)])
        self.mp.set_payment(pid, "charged_back", code, h["deposit_amount"])
        self.accepted(s, pid)
        self.wait_processed(s, 3)
        self.mp.set_payment(pid, "approved", code, h["deposit_amount"])  # a stale approved after it
        self.accepted(s, pid)
        self.wait_processed(s, 4)
        r = self.get(s, code)
        self.assertEqual(r["payment_status"], "charged_back")
        self.assertEqual(self.payment(s, pid)["status"], "charged_back")
        self.assertEqual(len(self.outbox(s, code, "payment_refunded")), 2)
        self.assertEqual(self.query(s, "SELECT count(*) FROM audit_log WHERE entity_id = '%s' AND action IN "
                                       "('reservation.payment_refunded', 'reservation.payment_charged_back')"
                                    % code), [("2",)])

    def test_legacy_path_and_topic_form(self):
        s = self.start()
        h = self.hold(s, self.accommodation(s))
        pid = self.pid()
        self.mp.set_payment(pid, "approved", h["code"], h["deposit_amount"])
        r = self.notify(s, pid, path="/api/v1/mercadopago/webhook", query={"topic": "payment", "id": pid},
                        body={"resource": pid, "topic": "payment"})
        self.assertEqual((r.status, r.json["status"]), (200, "accepted"), r)
        self.wait_status(s, h["code"], "confirmed")
        r = self.notify(s, pid, path="/api/v1/mercadopago/webhook", query={"topic": "payment", "id": pid},
                        headers={})
        self.assertEqual(r.status, 401, "the older form is verified as well")

    # --- MercadoPago failures ---

    def test_payment_lookup_retried_with_backoff(self):
        s = self.start()
        h = self.hold(s, self.accommodation(s))
        pid = self.pid()
        self.mp.set_payment(pid, "approved", h["code"], h["deposit_amount"])
        # four failures: one attempt (3 tries) fails, the next succeeds on its second try
        self.mp.fail("/v1/payments/", "500", count=4)
        t0 = time.monotonic()
        self.accepted(s, pid)
        self.wait_status(s, h["code"], "confirmed", timeout=30)
        self.assertGreater(time.monotonic() - t0, 1.5, "the second attempt waited for its backoff")
        self.assertEqual(len(self.mp.requests("/v1/payments/")), 5)
        p = self.payment(s, pid)
        self.assertEqual([e["kind"] for e in p["events"]].count("fetch_failed"), 1)
        self.assertEqual(self.query(s, "SELECT status, attempts FROM mp_inbox"), [("done", "2")])
        # a payment MercadoPago does not know stays queued for a later attempt
        ghost = self.pid()
        self.accepted(s, ghost)
        wait_for(lambda: self.query(s, "SELECT status, attempts, last_error FROM mp_inbox WHERE resource_id = '%s'"
                                    % ghost)[0][1] == "1" and
                 self.query(s, "SELECT status FROM mp_inbox WHERE resource_id = '%s'" % ghost)[0][0] == "pending",
                 15, what="the unknown payment to be rescheduled")

    def link_of(self, s, code):
        return s.get("/api/v1/reservations/" + code).json["payment_url"]

    def test_mercadopago_down_while_creating_the_hold(self):
        # The hold answers 201 without a link; the outbox delivery worker (channel mercadopago) makes it
        # later, with the same X-Idempotency-Key, so there is never a second preference.
        s = self.start()
        acc = self.accommodation(s)
        self.mp.fail("/checkout/preferences", "500", count=-1)
        t0 = time.monotonic()
        h = self.hold(s, acc)
        self.assertLess(time.monotonic() - t0, 3, "a refused creation does not slow the hold")
        self.assertIsNone(h["payment_url"])
        self.assertEqual(h["status"], "pre_reserved")
        code = h["code"]
        self.assertEqual(self.outbox(s, code, "preference"),
                         [("mercadopago", "preference", "", "mercadopago:preference:%s:1" % code)])
        # still down: the worker keeps retrying (and the delivery itself says "retry later")
        wait_for(lambda: len(self.mp.requests("/checkout/preferences")) >= 3, 15, what="the worker's retries")
        r = s.req("POST", "/api/v1/_test/mercadopago/preference/" + code)
        self.assertEqual(r.json["result"], 1, r)
        self.assertIn("500", r.json["error"])
        sql = "SELECT status, last_error FROM outbox WHERE dedupe_key = 'mercadopago:preference:%s:1'" % code
        wait_for(lambda: [(st, "500" in (err or "")) for st, err in self.query(s, sql)] == [("pending", True)], 10,
                 what="the message to wait for its next attempt with MercadoPago's error")
        self.assertIsNone(self.link_of(s, code))
        self.mp.clear()  # MercadoPago is back
        url = wait_for(lambda: self.link_of(s, code), 15, what="the link to appear")
        self.assertTrue(url.startswith("https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id="), url)
        wait_for(lambda: self.query(s, "SELECT status FROM outbox WHERE dedupe_key = 'mercadopago:preference:%s:1'"
                                    % code) == [("sent",)], 10, what="the outbox message to be sent")
        self.assertEqual(len(self.mp.preferences()), 1)
        keys = {c["idempotency_key"] for c in self.mp.requests("/checkout/preferences")}
        self.assertEqual(keys, {"cabanas-preference-%s-1" % code}, "every try used the same key")
        # done again is a no-op: no second preference
        self.assertEqual(s.req("POST", "/api/v1/_test/mercadopago/preference/" + code).json["result"], 0)
        self.assertEqual(len(self.mp.preferences()), 1)

        # a timeout (3 s on the hold's path): 201 without a link, then the worker makes it
        self.mp.fail("/checkout/preferences", "timeout", count=1, delay=6)
        t0 = time.monotonic()
        h2 = self.hold(s, acc, start=40)
        took = time.monotonic() - t0
        self.assertIsNone(h2["payment_url"])
        self.assertGreater(took, 2.5)
        self.assertLess(took, 5.5)
        self.assertEqual(len(self.outbox(s, h2["code"], "preference")), 1)
        wait_for(lambda: self.link_of(s, h2["code"]), 15, what="the second link")

        # slow: MercadoPago made the preference but answered after we gave up; the retry gets the same one
        self.mp.fail("/checkout/preferences", "slow", count=1, delay=4)
        h3 = self.hold(s, acc, start=60)
        self.assertIsNone(h3["payment_url"])
        url = wait_for(lambda: self.link_of(s, h3["code"]), 15, what="the third link")
        time.sleep(1.5)  # the slow creation finishes too
        mine = [p for p in self.mp.preferences().values() if p["request"]["external_reference"] == h3["code"]]
        self.assertEqual(len(mine), 1, "never a second live preference for one hold")
        self.assertEqual(url, "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=" + mine[0]["id"])
        self.assertEqual(len(self.mp.preferences()), 3)
        m = self.metrics(s)
        self.assertGreaterEqual(metric(m, "mp_preferences_total", result="deferred"), 5)
        self.assertEqual(metric(m, "mp_preferences_total", result="created"), 3)
        # the delivery's permanent failure: no such reservation
        self.assertEqual(s.req("POST", "/api/v1/_test/mercadopago/preference/RESZZZZZZZZZZ").json["result"], -1)

        # a hold made on WhatsApp: the bot answered without the link, so the late link is sent there
        self.mp.fail("/checkout/preferences", "500", count=1)
        h4 = self.hold(s, acc, start=80, channel="whatsapp")
        self.assertIsNone(h4["payment_url"])
        wait_for(lambda: self.link_of(s, h4["code"]), 15, what="the WhatsApp hold's link")
        rows = self.query(s, "SELECT channel, template, recipient FROM outbox WHERE reservation_code = '%s' "
                             "AND dedupe_key LIKE 'payment_link:%%'" % h4["code"])
        self.assertEqual([tuple(x) for x in rows], [("whatsapp", "hold_created", "5491155550000")])
        # a web hold's late link goes in its email (which waits for it), not in a second WhatsApp notice
        self.assertEqual(self.query(s, "SELECT count(*) FROM outbox WHERE reservation_code = '%s' AND dedupe_key "
                                       "LIKE 'payment_link:%%'" % h2["code"]), [("0",)])

    def test_admin_fresh_payment_link(self):
        s = self.start()
        h = self.hold(s, self.accommodation(s))
        code, old = h["code"], h["payment_url"]
        r = s.req("POST", "/api/v1/admin/reservations/%s/payment-link" % code, body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        new = r.json["payment_url"]
        self.assertTrue(new and new != old, (old, new))
        self.assertEqual(s.get("/api/v1/reservations/" + code).json["payment_url"], new)
        prefs = self.mp.preferences()
        self.assertEqual(len(prefs), 2)
        old_id = old.split("pref_id=")[1]
        self.assertEqual([u.get("expires") for u in prefs[old_id]["updates"]], [True], "the old link was expired")
        self.assertEqual(prefs[new.split("pref_id=")[1]]["idempotency_key"], "cabanas-preference-%s-2" % code)
        # MercadoPago cannot expire the current one: nothing changes
        self.mp.fail("/checkout/preferences/", "500", count=1, method="PUT")
        r = s.req("POST", "/api/v1/admin/reservations/%s/payment-link" % code, body={}, headers=self.admin(s))
        self.assertEqual((r.status, r.json["error"]), (502, "mercadopago_unavailable"), r)
        self.assertEqual(s.get("/api/v1/reservations/" + code).json["payment_url"], new)
        r = s.req("POST", "/api/v1/admin/reservations/%s/payment-link" % code, body={"x": 1}, headers=self.admin(s))
        self.assertEqual(r.status, 422)
        r = s.req("POST", "/api/v1/admin/reservations/RESZZZZZZZZZZ/payment-link", body={}, headers=self.admin(s))
        self.assertEqual((r.status, r.json["error"]), (404, "reservation_not_found"))
        s.req("POST", "/api/v1/admin/reservations/%s/confirm" % code, body={}, headers=self.admin(s))
        r = s.req("POST", "/api/v1/admin/reservations/%s/payment-link" % code, body={}, headers=self.admin(s))
        self.assertEqual((r.status, r.json["error"]), (409, "invalid_state"))
        self.assertEqual(s.req("POST", "/api/v1/admin/reservations/%s/payment-link" % code, body={}).status, 401)

    def test_admin_payments_api_and_health(self):
        s = self.start()
        h = s.get("/api/v1/healthz").json
        self.assertEqual(h["checks"]["mercadopago"], {"status": "ok", "webhooks": "enabled"})
        hold = self.hold(s, self.accommodation(s))
        pid = self.pid()
        self.mp.set_payment(pid, "pending", hold["code"], hold["deposit_amount"])
        self.accepted(s, pid)
        self.wait_processed(s, 1)
        adm = self.admin(s)
        r = s.get("/api/v1/admin/payments?code=%s" % hold["code"], headers=adm).json
        self.assertEqual((r["total"], r["items"][0]["payment_id"], r["items"][0]["status"]), (1, pid, "pending"))
        self.assertEqual(s.get("/api/v1/admin/payments?status=approved", headers=adm).json["total"], 0)
        self.assertEqual(s.get("/api/v1/admin/payments?needs_refund=false", headers=adm).json["total"], 1)
        for bad in ("needs_refund=maybe", "status=APPROVED", "limit=0", "code=" + "x" * 65):
            r = s.get("/api/v1/admin/payments?" + bad, headers=adm)
            self.assertEqual((r.status, r.json["error"]), (422, "invalid_field"), bad)
        self.assertEqual(s.get("/api/v1/admin/payments/999", headers=adm).status, 404)
        self.assertEqual(s.get("/api/v1/admin/payments/a%20b", headers=adm).status, 404)
        self.assertEqual(s.get("/api/v1/admin/payments").status, 401)
        text = s.get("/metrics").body.decode()
        for family in ("mp_webhooks_total", "payments_total", "payments_needs_refund_total", "mp_inbox_pending",
                       "mp_inbox_failed", "mp_preferences_total"):
            self.assertIn("# TYPE %s " % family, text)


class SqlitePaymentsTest(PaymentChecks, ServerTestCase):
    def new_database_url(self):
        return "sqlite://" + harness.Tmp().file("payments.db")

    def base_env(self):
        return {}

    def query(self, s, sql):
        con = sqlite3.connect(s.database_url[len("sqlite://"):], timeout=10)
        try:
            rows = con.execute(sql).fetchall()
        finally:
            con.close()
        return [tuple("" if v is None else str(v) for v in row) for row in rows]


class PostgresPaymentsTest(PaymentChecks, harness.PostgresRedisTestCase):
    def new_database_url(self):
        return self.fresh_database("payments")

    def base_env(self):
        return {"REDIS_URL": self.redis.url}

    def query(self, s, sql):
        out = self.pg.psql(sql, db=s.database_url.rsplit("/", 1)[1])
        return [tuple(line.split("|")) for line in out.splitlines() if line]


if __name__ == "__main__":
    harness.main()
