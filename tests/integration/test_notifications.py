"""Notifications: the outbox delivery worker, email over SMTP (against tests/integration/fakes/fake_smtp.py),
the Spanish templates as a guest and the owner receive them, retries, dead messages, the admin outbox API,
metrics, and several instances delivering one outbox.

Every check runs against SQLite and against PostgreSQL (NotificationChecks mixed into one TestCase per
engine; the PostgreSQL class shares one cluster, a fresh database per test). Each test starts its own fake
SMTP server (AUTH required) on free loopback ports and stops it, pass or fail. Messages are parsed with the
standard library's email package, so the test reads what a mail client would (RFC 2047 subjects,
quoted-printable bodies) instead of the bytes the server wrote.
"""

import datetime
import email
import email.policy
import email.utils
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServerTestCase, free_port, wait_for  # noqa: E402

from zoneinfo import ZoneInfo  # noqa: E402

FAKE_SMTP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fakes", "fake_smtp.py")
SECRET = "notification-tests-jwt-secret-0123456789"
ADMIN = "admin@example.com"
OWNER_EMAIL = "duena@cabanas-del-lago.com.ar"
SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-secret-pw"
SENDER = "Cabañas del Lago <reservas@example.com>"
TZ = ZoneInfo("America/Argentina/Buenos_Aires")
BASE_ENV = {"RATE_LIMIT_ENABLED": "0", "JWT_SECRET": SECRET, "ADMIN_ALLOWED_EMAILS": ADMIN,
            "JOB_OUTBOX_INTERVAL_SECONDS": "1", "OUTBOX_MAX_BACKOFF_SECONDS": "1", "SMTP_TIMEOUT_SECONDS": "3",
            "OWNER_EMAIL": OWNER_EMAIL, "SMTP_FROM": SENDER}
_token = []


# --- helpers ---------------------------------------------------------------------------------------------

def day(n):
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()


def ddmmyyyy(iso):
    return "%s/%s/%s" % (iso[8:10], iso[5:7], iso[0:4])


def ars(amount):
    """"48960.00" -> "$ 48.960,00" (written independently of the C formatter)."""
    units, cents = amount.split(".")
    groups = []
    while len(units) > 3:
        groups.insert(0, units[-3:])
        units = units[:-3]
    groups.insert(0, units)
    return "$ %s,%s" % (".".join(groups), cents)


def local_time(iso_utc):
    t = datetime.datetime.strptime(iso_utc, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return t.astimezone(TZ).strftime("%d/%m/%Y %H:%M")


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if m:
            labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(metrics, name, **labels):
    return metrics.get((name, frozenset(labels.items())), 0)


class FakeSmtp:
    """fake_smtp.py on free ports; messages come back parsed (email.message.EmailMessage)."""

    def __init__(self, tmp, user=SMTP_USER, password=SMTP_PASSWORD):
        self.port, self.control = free_port(), free_port()
        self.logf = open(tmp.file("fake_smtp.log"), "ab")
        argv = [sys.executable, FAKE_SMTP, "--smtp-port", str(self.port), "--control-port", str(self.control)]
        if user:
            argv += ["--user", user, "--password", password]
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=self.logf)
        harness._started.append(self.proc)
        harness._record_pid(self.proc.pid)
        wait_for(lambda: harness._can_connect(self.control) and harness._can_connect(self.port), 15,
                 what="the fake SMTP server")

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    def _call(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.control, path), data=data,
                                     method="POST" if data is not None else "GET")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def mode(self, mode, count=None, delay=None):
        body = {"mode": mode}
        if count is not None:
            body["count"] = count
        if delay is not None:
            body["delay"] = delay
        self._call("/mode", body)

    def stats(self):
        return self._call("/stats")

    def raw(self):
        return self._call("/messages")

    def messages(self):
        out = []
        for m in self.raw():
            # CRLF on the wire (the fake flags a bare LF); LF here, so get_content() reads as the template
            msg = email.message_from_string(m["data"].replace("\r\n", "\n"), policy=email.policy.default)
            msg.envelope = m
            out.append(msg)
        return out

    def wait(self, n, timeout=20, what=None):
        """The messages once there are at least n."""
        wait_for(lambda: len(self.raw()) >= n, timeout, interval=0.1, what=what or "%d email(s)" % n)
        return self.messages()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


class NotificationChecks:
    """Mixed into one TestCase per engine: subclasses provide new_database_url() and db_exec()."""

    def setUp(self):
        super().setUp()
        self.tmp = harness.Tmp("cabanas-notify-")
        self._fakes = []

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            for f in self._fakes:
                f.stop()

    # --- fixtures ---

    def fake(self, **kw):
        f = FakeSmtp(self.tmp, **kw)
        self._fakes.append(f)
        return f

    def start(self, smtp=None, env=None, database_url=None, name="cabanas"):
        e = dict(BASE_ENV)
        if smtp is not None:
            e.update({"SMTP_URL": smtp.url, "SMTP_USERNAME": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD})
        e.update(env or {})
        return self.server(args=("serve", "--migrate"), env=e, database_url=database_url or self.new_database_url(),
                           name=name)

    def admin(self, s):
        if not _token:
            p = s.run("admin", "token", ADMIN)
            self.assertEqual(p.returncode, 0, p.stderr)
            _token.append(p.stdout.decode().strip())
        return {"Authorization": "Bearer " + _token[0]}

    def accommodation(self, s, name="Cabaña del Bosque"):
        r = s.req("POST", "/api/v1/admin/accommodations", headers=self.admin(s),
                  body={"name": name, "capacity": 4, "base_price": "14400.00", "min_nights": 1, "max_nights": 30})
        self.assertEqual(r.status, 201, r)
        return r.json["id"]

    def hold(self, s, acc, start, nights=3, email_addr="ana@example.com", **extra):
        body = {"accommodation_id": acc, "check_in": day(start), "check_out": day(start + nights), "guests": 2,
                "guest_name": "Ana Gómez", "guest_phone": "+54 9 11 5555-0000"}
        if email_addr:
            body["guest_email"] = email_addr
        body.update(extra)
        r = s.req("POST", "/api/v1/reservations", body=body)
        self.assertEqual(r.status, 201, r)
        return r.json

    def confirm(self, s, code):
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % code, body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        return r.json

    def messages_of(self, s, code):
        r = s.get("/api/v1/admin/reservations/" + code, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        return r.json["messages"]

    def message(self, s, code, template, recipient=None, channel="email"):
        for m in self.messages_of(s, code):
            if (m["template"], m["channel"]) == (template, channel) and recipient in (None, m["recipient"]):
                return m
        return None

    def wait_message(self, s, code, template, pred, recipient=None, timeout=20, what=None):
        def check():
            m = self.message(s, code, template, recipient)
            return m if m and pred(m) else None
        return wait_for(check, timeout, interval=0.1, what=what or "%s %s" % (template, code))

    def outbox(self, s, **query):
        q = "&".join("%s=%s" % kv for kv in sorted(query.items()))
        r = s.get("/api/v1/admin/outbox" + ("?" + q if q else ""), headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        return r.json

    def metrics(self, s):
        return parse_metrics(s.get("/metrics").body.decode())

    def insert_outbox(self, s, channel, template, recipient, payload="{}", status="pending", attempts=0,
                      locked_until=None, code=None):
        now = int(time.time())
        self.db_exec(s, "INSERT INTO outbox (channel, template, recipient, reservation_code, payload, status, "
                        "attempts, next_attempt_at, locked_until, created_at, updated_at) VALUES "
                        "(%s, %s, %s, %s, %s, %s, %d, %d, %s, %d, %d)"
                     % (q(channel), q(template), q(recipient), q(code) if code else "NULL", q(payload), q(status),
                        attempts, now - 100, "NULL" if locked_until is None else str(locked_until), now - 100,
                        now - 100))

    def outbox_row(self, s, template):
        items = self.outbox(s, limit=200)["items"]
        return next(i for i in items if i["template"] == template)

    # --- the tests ---

    def test_admin_confirm_sends_guest_and_owner_the_spanish_emails(self):
        smtp = self.fake()
        s = self.start(smtp)
        acc = self.accommodation(s)
        h = self.hold(s, acc, 10)
        code = h["code"]
        [held] = smtp.wait(1, what="the hold_created email")
        self.assertEqual(held["To"], "ana@example.com")
        self.assertEqual(held["Subject"], "Tu pre-reserva en Cabaña del Bosque (%s)" % code)
        body = held.get_content()
        for want in ("Hola, Ana Gómez:", "hasta el %s (hora local)" % local_time(h["expires_at"]),
                     "Alojamiento: Cabaña del Bosque\n", "Código de reserva: %s\n" % code,
                     "Llegada (check-in): %s\n" % ddmmyyyy(h["check_in"]),
                     "Salida (check-out): %s\n" % ddmmyyyy(h["check_out"]), "Noches: 3\n", "Huéspedes: 2\n",
                     "Total: %s\n" % ars(h["total_price"]), "Seña (30 %%): %s\n" % ars(h["deposit_amount"]),
                     "coordiná con nosotros el pago de la seña"):
            self.assertIn(want, body)

        c = self.confirm(s, code)
        msgs = smtp.wait(3, what="the two confirmation emails")
        self.assertEqual(len(msgs), 3)
        by_to = {m["To"]: m for m in msgs[1:]}
        self.assertEqual(set(by_to), {"ana@example.com", OWNER_EMAIL})
        guest, owner = by_to["ana@example.com"], by_to[OWNER_EMAIL]
        self.assertEqual(guest["Subject"], "Reserva confirmada en Cabaña del Bosque (%s)" % code)
        gb = guest.get_content()
        for want in ("¡Tu reserva está confirmada!", "Pagado: %s\n" % ars(c["paid_amount"]),
                     "Total: %s\n" % ars(c["total_price"]), "tu código de reserva es %s" % code):
            self.assertIn(want, gb)
        self.assertEqual(owner["Subject"], "Reserva confirmada: Cabaña del Bosque, %s al %s (%s)"
                         % (ddmmyyyy(c["check_in"]), ddmmyyyy(c["check_out"]), code))
        ob = owner.get_content()
        for want in ("Se confirmó una reserva.", "Huésped: Ana Gómez\n", "Teléfono: +5491155550000\n",
                     "Email: ana@example.com\n", "Canal: web\n", "Noches: 3\n"):
            self.assertIn(want, ob)

        # what a mail client needs, and what the server got on the wire
        rows = {(m["template"], m["recipient"]): m for m in self.messages_of(s, code) if m["channel"] == "email"}
        for msg in msgs:
            self.assertEqual(msg.defects, [])
            self.assertEqual(str(msg["From"]), SENDER)
            self.assertEqual(msg["MIME-Version"], "1.0")
            self.assertEqual(msg.get_content_type(), "text/plain")
            self.assertEqual(msg.get_content_charset(), "utf-8")
            self.assertEqual(msg["Content-Transfer-Encoding"], "quoted-printable")
            self.assertLess(abs(email.utils.parsedate_to_datetime(msg["Date"]).timestamp() - time.time()), 120)
            env = msg.envelope
            self.assertEqual((env["mail_from"], env["auth_user"], env["bare_lf"], env["long_line"]),
                             ("reservas@example.com", SMTP_USER, False, False))
            self.assertEqual(env["rcpt_to"], [msg["To"]])
        self.assertEqual({m["Message-ID"] for m in msgs}, {r["provider_id"] for r in rows.values()})
        for r in rows.values():
            self.assertEqual((r["status"], r["attempts"], r["last_error"]), ("sent", 1, None), r)
            self.assertIsNotNone(r["sent_at"])
        self.assertEqual(set(rows), {("hold_created", "ana@example.com"), ("booking_confirmed", "ana@example.com"),
                                     ("booking_confirmed", "owner")})
        # WhatsApp is not configured: its two messages were counted as skipped, never written
        self.assertEqual([m for m in self.messages_of(s, code) if m["channel"] == "whatsapp"], [])

        m = wait_for(lambda: (lambda x: x if metric(x, "outbox_pending") == 0 else None)(self.metrics(s)), 10,
                     what="outbox_pending 0")
        self.assertEqual(metric(m, "notifications_total", channel="email", template="booking_confirmed",
                                result="sent"), 2)
        self.assertEqual(metric(m, "notifications_total", channel="email", template="hold_created", result="sent"), 1)
        self.assertEqual(metric(m, "notifications_total", channel="whatsapp", template="hold_created",
                                result="skipped"), 1)
        self.assertEqual(metric(m, "outbox_dead"), 0)
        self.assertEqual(s.get("/api/v1/healthz").json["checks"]["smtp"], {"status": "ok"})
        self.assertNotIn(SMTP_PASSWORD, s.log())

    def test_smtp_down_messages_are_retried_and_delivered_once_when_it_returns(self):
        smtp = self.fake()
        smtp.mode("down")
        s = self.start(smtp)
        acc = self.accommodation(s)
        code = self.hold(s, acc, 12)["code"]
        m = self.wait_message(s, code, "hold_created", lambda m: m["attempts"] >= 2 and m["status"] == "pending",
                              what="two failed attempts")
        self.assertIn("smtp:", m["last_error"])
        self.assertIsNotNone(m["next_attempt_at"])
        self.confirm(s, code)
        self.wait_message(s, code, "booking_confirmed", lambda m: m["attempts"] >= 1 and m["last_error"],
                          recipient="owner")
        smtp.mode("ok")
        for who in ("ana@example.com", "owner"):
            self.wait_message(s, code, "booking_confirmed", lambda m: m["status"] == "sent", recipient=who)
        # the hold's "please pay" message came too late: the booking is confirmed, so it is not sent
        held = self.wait_message(s, code, "hold_created", lambda m: m["status"] == "skipped")
        self.assertEqual(held["last_error"], "no longer applies: the reservation is confirmed")
        time.sleep(1.5)  # a worker run later: still exactly one email per message
        msgs = smtp.messages()
        self.assertEqual(sorted(m["To"] for m in msgs), sorted(["ana@example.com", OWNER_EMAIL]))
        self.assertTrue(all(m["Subject"].startswith("Reserva confirmada") for m in msgs))
        mt = self.metrics(s)
        self.assertGreaterEqual(metric(mt, "notifications_total", channel="email", template="hold_created",
                                       result="retry"), 2)
        self.assertEqual(metric(mt, "notifications_total", channel="email", template="hold_created",
                                result="skipped"), 1)

    def test_dead_after_max_attempts_visible_and_retried_by_the_admin(self):
        smtp = self.fake()
        smtp.mode("tempfail")  # 451 to every MAIL FROM
        s = self.start(smtp, env={"OUTBOX_MAX_ATTEMPTS": "3"})
        acc = self.accommodation(s)
        code = self.hold(s, acc, 14)["code"]
        dead = self.wait_message(s, code, "hold_created", lambda m: m["status"] == "dead", what="a dead message")
        self.assertEqual(dead["attempts"], 3)
        self.assertTrue(dead["last_error"].startswith("gave up after 3 attempts: smtp:"), dead)
        self.assertIn("451", dead["last_error"])
        self.assertEqual(smtp.stats()["failures_injected"], 3, "exactly OUTBOX_MAX_ATTEMPTS attempts")
        listed = self.outbox(s, status="dead")
        self.assertEqual((listed["total"], [i["id"] for i in listed["items"]]), (1, [dead["id"]]))
        self.assertEqual(listed["items"][0]["reservation_code"], code)
        m = wait_for(lambda: (lambda x: x if metric(x, "outbox_dead") == 1 else None)(self.metrics(s)), 10,
                     what="outbox_dead 1")
        self.assertEqual(metric(m, "notifications_total", channel="email", template="hold_created", result="dead"), 1)
        self.assertEqual(metric(m, "notifications_total", channel="email", template="hold_created", result="retry"), 2)
        self.assertEqual(smtp.raw(), [])

        smtp.mode("ok")
        path = "/api/v1/admin/outbox/%d/retry" % dead["id"]
        self.assertEqual(s.req("POST", path, body={}).status, 401)
        r = s.req("POST", path, body={}, headers=self.admin(s))
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["status"], r.json["attempts"], r.json["id"]), ("pending", 0, dead["id"]))
        [msg] = smtp.wait(1, what="the retried email")
        self.assertEqual(msg["Subject"], "Tu pre-reserva en Cabaña del Bosque (%s)" % code)
        sent = self.wait_message(s, code, "hold_created", lambda m: m["status"] == "sent")
        self.assertEqual((sent["attempts"], sent["provider_id"]), (1, msg["Message-ID"]))
        wait_for(lambda: metric(self.metrics(s), "outbox_dead") == 0, 10, what="outbox_dead back to 0")
        self.assertEqual(self.outbox(s, status="dead")["total"], 0)

        r = s.req("POST", path, body={}, headers=self.admin(s))
        self.assertEqual((r.status, r.json["error"]), (409, "invalid_state"))
        for bad in ("/api/v1/admin/outbox/999999/retry", "/api/v1/admin/outbox/abc/retry",
                    "/api/v1/admin/outbox/0/retry"):
            r = s.req("POST", bad, body={}, headers=self.admin(s))
            self.assertEqual((r.status, r.json["error"]), (404, "outbox_message_not_found"), bad)
        r = s.req("POST", path, body={"force": True}, headers=self.admin(s))
        self.assertEqual((r.status, r.json["error"]), (422, "invalid_field"))

    def test_admin_outbox_list_filters_and_pages(self):
        smtp = self.fake()
        s = self.start(smtp)  # email on, WhatsApp off: one message per hold (the guest's email)
        acc = self.accommodation(s)
        codes = [self.hold(s, acc, 20 + 4 * i)["code"] for i in range(6)]
        self.insert_outbox(s, "whatsapp", "hold_created", "5491155550000", code=codes[0])  # another instance's
        wait_for(lambda: self.outbox(s, status="sent")["total"] == 6 and self.outbox(s, status="skipped")["total"] == 1,
                 15, what="every message handled")
        everything = self.outbox(s, limit=200)
        self.assertEqual(everything["total"], 7)
        ids = [i["id"] for i in everything["items"]]
        self.assertEqual(ids, sorted(ids, reverse=True), "newest first")
        paged = []
        for offset in range(0, 8, 2):
            page = self.outbox(s, limit=2, offset=offset)
            self.assertEqual((page["total"], page["limit"], page["offset"]), (7, 2, offset))
            paged += [i["id"] for i in page["items"]]
        self.assertEqual(paged, ids)
        self.assertEqual(self.outbox(s, channel="whatsapp")["total"], 1)
        self.assertEqual(self.outbox(s, status="sent", channel="email")["total"], 6)
        self.assertEqual(self.outbox(s, status="skipped")["total"], 1)
        one = self.outbox(s, reservation_code=codes[0])
        self.assertEqual({i["reservation_code"] for i in one["items"]}, {codes[0]})
        self.assertEqual(one["total"], 2)
        for bad in ("status=bogus", "channel=fax", "limit=0", "limit=201", "offset=-1", "limit=x",
                    "reservation_code=" + "R" * 80):
            r = s.get("/api/v1/admin/outbox?" + bad, headers=self.admin(s))
            self.assertEqual((r.status, r.json["error"]), (422, "invalid_field"), bad)
        self.assertEqual(s.get("/api/v1/admin/outbox").status, 401)

    def test_permanent_refusal_is_dead_at_once(self):
        smtp = self.fake()
        smtp.mode("permfail", count=1)  # 550 to the first RCPT TO, then normal service
        s = self.start(smtp)
        acc = self.accommodation(s)
        code = self.hold(s, acc, 16)["code"]
        dead = self.wait_message(s, code, "hold_created", lambda m: m["status"] == "dead")
        self.assertEqual(dead["attempts"], 1)
        self.assertIn("550", dead["last_error"])
        self.confirm(s, code)
        msgs = smtp.wait(2, what="the confirmations after the refusal")
        self.assertEqual(sorted(m["To"] for m in msgs), sorted(["ana@example.com", OWNER_EMAIL]))

    def test_stalled_server_times_out_and_shutdown_does_not_wait_for_it(self):
        smtp = self.fake()
        smtp.mode("stall")
        url = self.new_database_url()
        s = self.start(smtp, env={"SMTP_TIMEOUT_SECONDS": "2"}, database_url=url)
        acc = self.accommodation(s)
        code = self.hold(s, acc, 18)["code"]
        m = self.wait_message(s, code, "hold_created", lambda m: m["attempts"] >= 1 and m["last_error"])
        self.assertRegex(m["last_error"], r"(?i)timed? ?out")
        s.stop()
        # a long timeout: the stop request interrupts the send instead of waiting 30 s for it
        before = smtp.stats()["connections"]
        s2 = self.start(smtp, env={"SMTP_TIMEOUT_SECONDS": "30"}, database_url=url, name="patient")
        wait_for(lambda: smtp.stats()["connections"] > before, 15, what="a send in progress")
        time.sleep(0.5)
        t0 = time.monotonic()
        self.assertEqual(s2.stop(), 0)
        self.assertLess(time.monotonic() - t0, 6, "shutdown waited for the stalled SMTP server")
        smtp.mode("ok")
        s3 = self.start(smtp, database_url=url, name="after")
        [msg] = smtp.wait(1, what="the email after the restart")
        self.assertEqual(msg["To"], "ana@example.com")
        self.wait_message(s3, code, "hold_created", lambda m: m["status"] == "sent")

    def test_channels_not_configured_are_skipped(self):
        """docs/notifications.md: a message for a channel this instance has not configured is counted as
        skipped and not written; one that is in the table anyway (written by an instance configured
        differently) is marked skipped by the worker."""
        s = self.start(None)
        acc = self.accommodation(s)
        code = self.hold(s, acc, 22)["code"]
        self.insert_outbox(s, "mercadopago", "preference", "", code=code)
        self.insert_outbox(s, "email", "hold_created", "ana@example.com", code=code)
        for channel, why in (("email", "email not configured"), ("mercadopago", "mercadopago not configured")):
            def skipped(channel=channel):
                m = [x for x in self.messages_of(s, code) if x["channel"] == channel]
                return m if m and all(x["status"] == "skipped" for x in m) else None
            [m] = wait_for(skipped, 15, what="%s skipped" % channel)
            self.assertEqual((m["last_error"], m["attempts"]), (why, 0))
        self.assertEqual(len(self.messages_of(s, code)), 2, "the hold itself wrote no message")
        mt = self.metrics(s)
        # the hold's two (email and WhatsApp, counted when planned) and the inserted email (by the worker)
        self.assertEqual(metric(mt, "notifications_total", channel="email", template="hold_created",
                                result="skipped"), 2)
        self.assertEqual(metric(mt, "notifications_total", channel="whatsapp", template="hold_created",
                                result="skipped"), 1)
        self.assertEqual(metric(mt, "notifications_total", channel="mercadopago", template="preference",
                                result="skipped"), 1)
        self.assertEqual(s.get("/api/v1/healthz").json["checks"]["smtp"], {"status": "disabled"})
        self.assertIn("email: disabled (SMTP_URL not set)", s.log())

        # email on, OWNER_EMAIL unset: the guest is told, the owner's copy is skipped
        smtp = self.fake()
        s2 = self.start(smtp, env={"OWNER_EMAIL": ""}, name="no-owner")
        acc2 = self.accommodation(s2)
        code2 = self.hold(s2, acc2, 26)["code"]
        self.confirm(s2, code2)
        self.wait_message(s2, code2, "booking_confirmed", lambda m: m["status"] == "sent", recipient="ana@example.com")
        self.assertEqual([m for m in self.messages_of(s2, code2) if m["recipient"] == "owner"], [])
        self.assertEqual(metric(self.metrics(s2), "notifications_total", channel="email",
                                template="booking_confirmed", result="skipped"), 1)
        self.assertEqual({x["To"] for x in smtp.messages()}, {"ana@example.com"})
        # a hold without an email address has no email message at all (and WhatsApp is off: none at all)
        code3 = self.hold(s2, acc2, 30, email_addr=None)["code"]
        time.sleep(0.5)
        self.assertEqual([x["channel"] for x in self.messages_of(s2, code3)], [])
        self.assertEqual(metric(self.metrics(s2), "notifications_total", channel="whatsapp",
                                template="hold_created", result="skipped"), 2)

    def test_expired_hold_and_cancellations_reach_the_guest(self):
        smtp = self.fake()
        s = self.start(smtp, env={"HOLD_SECONDS": "3", "JOB_EXPIRATION_INTERVAL_SECONDS": "1"})
        acc = self.accommodation(s)
        h = self.hold(s, acc, 8)
        m = self.wait_message(s, h["code"], "hold_expired", lambda m: m["status"] == "sent", timeout=25)
        [expired] = [x for x in smtp.messages() if x["Message-ID"] == m["provider_id"]]
        self.assertEqual(expired["Subject"], "Tu pre-reserva %s venció" % h["code"])
        body = expired.get_content()
        self.assertIn("Tu pre-reserva en Cabaña del Bosque del %s al %s (código %s) venció"
                      % (ddmmyyyy(h["check_in"]), ddmmyyyy(h["check_out"]), h["code"]), body)
        self.assertIn("no recibimos el pago de la seña a tiempo", body)
        self.assertIsNone(self.message(s, h["code"], "hold_expired", recipient="owner"), "the owner is not told")

        h2 = self.hold(s, acc, 40)  # cancelled at once, well inside its 3 s
        r = s.req("POST", "/api/v1/reservations/%s/cancel" % h2["code"], body={"reason": "cambio de planes"})
        self.assertEqual(r.status, 200, r)
        g = self.wait_message(s, h2["code"], "booking_cancelled", lambda m: m["status"] == "sent",
                              recipient="ana@example.com")
        o = self.wait_message(s, h2["code"], "booking_cancelled", lambda m: m["status"] == "sent", recipient="owner")
        got = {x["Message-ID"]: x for x in smtp.messages()}
        self.assertEqual(got[g["provider_id"]]["Subject"], "Reserva cancelada: Cabaña del Bosque (%s)" % h2["code"])
        self.assertIn("Motivo: cambio de planes\n", got[g["provider_id"]].get_content())
        self.assertIn("Motivo: cambio de planes\n", got[o["provider_id"]].get_content())
        self.assertEqual(got[o["provider_id"]]["To"], OWNER_EMAIL)

    def test_hold_email_waits_for_the_payment_link(self):
        smtp = self.fake()
        mp = {"MERCADOPAGO_ACCESS_TOKEN": "TEST-notify-fake",
              "MERCADOPAGO_API_BASE": "http://127.0.0.1:%d" % free_port()}  # nothing listens there
        s = self.start(smtp, env=dict(mp, OUTBOX_PAYMENT_LINK_WAIT_SECONDS="60"))
        acc = self.accommodation(s)
        code = self.hold(s, acc, 34)["code"]
        m = self.wait_message(s, code, "hold_created", lambda m: m["last_error"] == "waiting for the payment link")
        self.assertEqual((m["status"], m["attempts"]), ("pending", 0))
        time.sleep(2.5)
        self.assertEqual(smtp.raw(), [], "no email before the link is ready")
        link = "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=123-abc"
        self.db_exec(s, "UPDATE reservations SET payment_url = %s WHERE code = %s" % (q(link), q(code)))
        [msg] = smtp.wait(1, timeout=10, what="the email with the link")
        self.assertIn("pagá la seña de", msg.get_content())
        self.assertIn(link + "\n", msg.get_content())
        sent = self.wait_message(s, code, "hold_created", lambda m: m["status"] == "sent")
        self.assertEqual((sent["attempts"], sent["last_error"]), (1, None))

        # the link never comes: after OUTBOX_PAYMENT_LINK_WAIT_SECONDS the email goes without it
        s2 = self.start(smtp, env=dict(mp, OUTBOX_PAYMENT_LINK_WAIT_SECONDS="2"), name="short-wait")
        acc2 = self.accommodation(s2, name="Cabaña del Río")
        t0 = time.monotonic()
        self.hold(s2, acc2, 34)
        msgs = smtp.wait(2, timeout=15, what="the email without the link")
        self.assertGreaterEqual(time.monotonic() - t0, 1.0)
        self.assertIn("todavía se está generando", msgs[1].get_content())

    def test_stuck_sending_rows_are_reclaimed_and_payload_templates_render(self):
        smtp = self.fake()
        s = self.start(smtp)
        now = int(time.time())
        self.insert_outbox(s, "email", "handoff", "owner", status="sending", attempts=1, locked_until=now - 5,
                           payload=json.dumps({"name": "Juan Pérez", "phone": "5491166667777",
                                               "message": "¿Aceptan mascotas?", "reason": "pregunta"}))
        self.insert_outbox(s, "email", "ical_conflict", "owner",
                           payload=json.dumps({"accommodation_name": "Cabaña del Lago", "feed": "Airbnb",
                                               "start": day(50), "end": day(52), "summary": "Reserved",
                                               "uid": "abc@airbnb.com"}))
        # a live lease: another instance is sending it right now, so it is left alone
        self.insert_outbox(s, "email", "handoff", "owner", status="sending", attempts=1, locked_until=now + 3600,
                           payload=json.dumps({"name": "En curso"}))
        self.insert_outbox(s, "email", "no_such_template", "owner")
        self.insert_outbox(s, "carrier_pigeon", "handoff", "owner")
        msgs = smtp.wait(2, what="the reclaimed and the pending owner alerts")
        by_subject = {m["Subject"]: m for m in msgs}
        handoff = by_subject["Un huésped pide hablar con una persona: Juan Pérez (+5491166667777)"]
        self.assertEqual(handoff["To"], OWNER_EMAIL)
        self.assertIn("Último mensaje: ¿Aceptan mascotas?\n", handoff.get_content())
        ical = by_subject["Conflicto de calendario: Cabaña del Lago"]
        body = ical.get_content()
        self.assertIn("Desde: %s\nHasta: %s\n" % (ddmmyyyy(day(50)), ddmmyyyy(day(52))), body)
        self.assertIn("uid: abc@airbnb.com\n", body)

        def settled():
            items = self.outbox(s)["items"]
            return items if all(i["status"] in ("sent", "dead") or i["payload"].get("name") == "En curso"
                                for i in items) else None
        items = {(i["channel"], i["template"], i["payload"].get("name")): i for i in wait_for(settled, 15)}
        self.assertEqual(items[("email", "handoff", "Juan Pérez")]["attempts"], 2, "the reclaim counts an attempt")
        self.assertEqual(items[("email", "handoff", "En curso")]["status"], "sending")
        self.assertEqual((items[("email", "no_such_template", None)]["status"],
                          items[("email", "no_such_template", None)]["last_error"]),
                         ("dead", "unknown template 'no_such_template'"))
        self.assertEqual(items[("carrier_pigeon", "handoff", None)]["last_error"], "unknown channel 'carrier_pigeon'")
        time.sleep(1.2)
        self.assertEqual(len(smtp.raw()), 2)

    def test_two_instances_deliver_each_message_exactly_once(self):
        smtp = self.fake()
        smtp.mode("ok", delay=0.05)  # a slow server keeps both workers busy at once
        url = self.new_database_url()
        servers = [self.start(smtp, database_url=url, name="one"), self.start(smtp, database_url=url, name="two")]
        acc = self.accommodation(servers[0])
        codes = []
        for i in range(10):
            s = servers[i % 2]
            codes.append(self.hold(s, acc, 3 + 3 * i, nights=2, email_addr="guest%d@example.com" % i)["code"])
        smtp.wait(10, timeout=30, what="the hold emails")  # before confirming: a late one would be skipped
        for i, code in enumerate(codes[:6]):
            self.confirm(servers[(i + 1) % 2], code)
        expected = 10 + 6 * 2
        smtp.wait(expected, timeout=30, what="every email")

        def settled():
            page = self.outbox(servers[1], channel="email", limit=200)
            return page if all(i["status"] == "sent" for i in page["items"]) else None
        rows = wait_for(settled, 20, what="every email row sent")["items"]
        time.sleep(1.5)  # another run of both workers: nothing more goes out
        msgs = smtp.messages()
        self.assertEqual(len(rows), expected)
        self.assertEqual(len(msgs), expected, "each message sent exactly once")
        self.assertEqual(sorted(m["Message-ID"] for m in msgs), sorted(r["provider_id"] for r in rows))
        pairs = [(m["To"], m["Subject"]) for m in msgs]
        self.assertEqual(len(pairs), len(set(pairs)))
        self.assertTrue(all(r["attempts"] == 1 for r in rows), [r for r in rows if r["attempts"] != 1])
        per_instance = [len(re.findall(r"outbox \d+: email \S+ \(\S+\) sent", s.log())) for s in servers]
        self.assertEqual(sum(per_instance), expected, per_instance)
        self.assertTrue(all(n > 0 for n in per_instance), "both instances delivered: %s" % per_instance)


def q(v):
    return "'" + str(v).replace("'", "''") + "'"


class SqliteNotificationTest(NotificationChecks, ServerTestCase):
    def new_database_url(self):
        return "sqlite://" + self.tmp.file("notify-%d.db" % free_port())

    def db_exec(self, s, sql):
        with sqlite3.connect(s.database_url[len("sqlite://"):], timeout=10) as c:
            c.execute(sql)

    def test_invalid_email_settings_refuse_to_start(self):
        """Engine-independent: a bad sender or scheme is refused before anything is sent or served."""
        s = self.start(None)
        cases = [({"SMTP_URL": "http://127.0.0.1:25"}, "SMTP_URL: expected smtp://"),
                 ({"SMTP_URL": "smtp://127.0.0.1:25", "SMTP_FROM": ""}, "SMTP_FROM: required when SMTP_URL is set"),
                 ({"SMTP_URL": "smtp://127.0.0.1:25", "SMTP_FROM": "Evil\r\nBcc: x@example.com <r@example.com>"},
                  "SMTP_FROM: must not contain control characters"),
                 ({"OWNER_EMAIL": "a@example.com, b@example.com"}, "OWNER_EMAIL: must be one address")]
        for env, msg in cases:
            p = s.run("config-check", env=env)
            self.assertEqual(p.returncode, 2, p)  # a configuration error
            self.assertIn(msg, p.stderr.decode(), env)
        for env, msg in (({"SMTP_URL": "smtp://127.0.0.1:25", "SMTP_FROM": "not an address"},
                          "SMTP_FROM is not a valid sender"),
                         ({"SMTP_URL": "smtp://127.0.0.1:25", "OWNER_EMAIL": "owner@localhost"},
                          "OWNER_EMAIL is not a valid address")):
            p = s.run("serve", env=dict(env, PORT=str(free_port())), timeout=30)
            self.assertEqual(p.returncode, 1, p)
            self.assertIn(msg, p.stderr.decode())


class PostgresNotificationTest(NotificationChecks, harness.PostgresRedisTestCase):
    def new_database_url(self):
        return self.fresh_database("notify")

    def db_exec(self, s, sql):
        self.pg.psql(sql, db=s.database_url.rsplit("/", 1)[1])


if __name__ == "__main__":
    harness.main()
