"""WhatsApp assistant: the webhook (verification, signatures, batches, duplicates, statuses), the dialog
(whole conversations from tests/data/whatsapp/*.txt), the Graph API sender (retries, circuit breaker,
failures recorded), notifications inside and outside the 24-hour window, the safety rules (own number,
reply limit, someone else's code), the admin conversations API, health and metrics.

The server talks to a fake Graph API (fakes/fake_graph.py) on loopback that records every send. Every
webhook body is signed with the app secret like Meta signs it. Conversation checks run on both engines:
SQLite with in-process sessions, and PostgreSQL with Redis sessions (a fresh database per test). Dates are
relative to the property's today, so the module never goes stale; prices are computed here from the
accommodations' published rules, independently of the server.
"""

import datetime
import glob
import hashlib
import hmac
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import PostgresRedisTestCase, ServerTestCase, free_port, request, wait_for  # noqa: E402

try:
    from zoneinfo import ZoneInfo
except ImportError:  # pragma: no cover
    ZoneInfo = None

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(os.environ.get("CABANAS_TEST_DATA", os.path.join(ROOT, "tests", "data")), "whatsapp")
FIXTURES = os.path.join(os.path.dirname(ROOT), "shared", "fixtures", "whatsapp")
if not os.path.isdir(FIXTURES):
    FIXTURES = "/work/shared/fixtures/whatsapp"

APP_SECRET = "wa-app-secret-test"  # the fixtures' README names it
VERIFY_TOKEN = "verify-token-for-tests"
ACCESS_TOKEN = "test-access-token"
PHONE_ID = "106540352242922"
BUSINESS = "5492944000000"
JWT = "whatsapp-tests-jwt-secret-0123456789abcd"
OWNER = "owner@example.com"
PROPERTY_TZ = "America/Argentina/Buenos_Aires"
DEFAULT_SENDER = ("5492944123456", "Lucía")
REPLY_TIMEOUT = 15.0

_token = []
_wamid = [0]


def property_today():
    if ZoneInfo is None:
        return datetime.date.today()
    return datetime.datetime.now(ZoneInfo(PROPERTY_TZ)).date()


def sign(body, secret=APP_SECRET):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def new_wamid():
    _wamid[0] += 1
    return "wamid.TEST%d.%d.%f" % (os.getpid(), _wamid[0], time.time())


def envelope(messages=(), contacts=(), statuses=None):
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": BUSINESS, "phone_number_id": PHONE_ID}}
    if contacts:
        value["contacts"] = [{"profile": {"name": n}, "wa_id": p} for p, n in contacts]
    if messages:
        value["messages"] = list(messages)
    if statuses is not None:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}


def text_message(phone, text, wamid=None):
    return {"from": phone, "id": wamid or new_wamid(), "timestamp": str(int(time.time())), "type": "text",
            "text": {"body": text}}


def interactive_message(phone, kind, rid, title):
    key = "button_reply" if kind == "button" else "list_reply"
    return {"from": phone, "id": new_wamid(), "timestamp": str(int(time.time())), "type": "interactive",
            "interactive": {"type": key, key: {"id": rid, "title": title}}}


def audio_message(phone):
    m = json.load(open(os.path.join(FIXTURES, "inbound_audio.json")))["entry"][0]["changes"][0]["value"]["messages"][0]
    m = dict(m, **{"from": phone, "id": new_wamid()})
    return m


def ar_money(cents):
    pesos, c = divmod(cents, 100)
    s = "{:,}".format(pesos).replace(",", ".")
    return "$ %s,%02d" % (s, c) if c else "$ %s" % s


def round_half_away(num, den):
    return (2 * num + den) // (2 * den)


def to_cents(s):
    whole, _, frac = s.partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


WEEKDAYS = {"sun": 6, "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5}  # -> Python weekday()


def stay_price(acc, check_in, check_out, deposit_percent=30):
    """(total, deposit) in centavos from the accommodation's published rules: each weekend night is
    base x multiplier rounded to the centavo (halves away from zero), the deposit is rounded the same way."""
    base = to_cents(acc["base_price"])
    whole, _, frac = acc["weekend_multiplier"].partition(".")
    bp = int(whole) * 10000 + int((frac + "0000")[:4])
    weekend = {WEEKDAYS[w] for w in acc["weekend_nights"].split(",") if w}
    total = 0
    d = check_in
    while d < check_out:
        total += round_half_away(base * bp, 10000) if d.weekday() in weekend else base
        d += datetime.timedelta(days=1)
    return total, round_half_away(total * deposit_percent, 100)


class FakeGraph:
    """fakes/fake_graph.py on a free loopback port; stopped by pid at exit."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fakes", "fake_graph.py"), str(self.port),
                                      "--token", ACCESS_TOKEN], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness._started.append(self.proc)
        harness._record_pid(self.proc.pid)
        wait_for(lambda: request(self.port, "GET", "/_sent", timeout=1).status == 200, 10, what="fake graph")

    @property
    def base(self):
        return "http://127.0.0.1:%d/v21.0" % self.port

    def sent(self):
        return json.loads(request(self.port, "GET", "/_sent").body)

    def fail(self, responses=(), always=None, delay_ms=0):
        request(self.port, "POST", "/_fail", body={"responses": list(responses), "always": always,
                                                   "delay_ms": delay_ms})

    def reset(self):
        request(self.port, "POST", "/_reset", body={})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def body_text(send):
    b = send["body"] or {}
    if b.get("type") == "text":
        return b["text"]["body"]
    if b.get("type") == "interactive":
        return b["interactive"]["body"]["text"]
    if b.get("type") == "template":
        t = b["template"]
        params = [p["text"] for c in t.get("components", []) for p in c.get("parameters", [])]
        return "[template %s] %s" % (t["name"], " | ".join(params))
    return ""


def choices(send):
    """{title: (kind, id)} of the buttons and list rows of a send."""
    out = {}
    inter = (send["body"] or {}).get("interactive") or {}
    action = inter.get("action") or {}
    for b in action.get("buttons", []):
        out[b["reply"]["title"]] = ("button", b["reply"]["id"])
    for sec in action.get("sections", []):
        for r in sec.get("rows", []):
            out[r["title"]] = ("list", r["id"])
    return out


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


def metric(s, name, **labels):
    return parse_metrics(s.get("/metrics").body.decode()).get((name, frozenset(labels.items())), 0.0)


def metric_sum(s, name):
    return sum(v for (n, _), v in parse_metrics(s.get("/metrics").body.decode()).items() if n == name)


class WhatsAppChecks:
    """Mixed into one TestCase per engine: subclasses provide new_database_url(), base_env() and query()."""

    graph = None

    @classmethod
    def fake(cls):
        if WhatsAppChecks.graph is None:
            WhatsAppChecks.graph = FakeGraph()
        return WhatsAppChecks.graph

    # --- fixtures ---

    def start(self, env=None, seed=True):
        g = self.fake()
        g.reset()
        e = {"RATE_LIMIT_ENABLED": "0", "JWT_SECRET": JWT, "ADMIN_ALLOWED_EMAILS": OWNER,
             "OWNER_EMAIL": OWNER, "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
             "WHATSAPP_API_BASE": g.base, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN, "WHATSAPP_APP_SECRET": APP_SECRET,
             "WHATSAPP_RETRY_BASE_MS": "20", "WHATSAPP_SEND_RETRIES": "2", "WHATSAPP_TIMEOUT_MS": "3000"}
        e.update(self.base_env())
        e.update(env or {})
        s = self.server(args=("serve", "--migrate"), env=e, database_url=self.new_database_url())
        s.graph = g
        if seed:
            p = s.run("seed")
            self.assertEqual(p.returncode, 0, p.stderr)
        return s

    def admin(self, s):
        if not _token:
            p = s.run("admin", "token", OWNER)
            self.assertEqual(p.returncode, 0, p.stderr)
            _token.append(p.stdout.decode().strip())
        return {"Authorization": "Bearer " + _token[0]}

    def post(self, s, payload, signature=True, raw=None):
        body = raw if raw is not None else json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature is True:
            headers["X-Hub-Signature-256"] = sign(body)
        elif signature is not False:
            headers["X-Hub-Signature-256"] = signature
        return s.req("POST", "/api/v1/webhooks/whatsapp", body=body, headers=headers)

    def sends_to(self, s, phone):
        return [x for x in s.graph.sent() if (x["body"] or {}).get("to") == phone]

    def wait_sends(self, s, phone, count, timeout=REPLY_TIMEOUT):
        return wait_for(lambda: (lambda l: l if len(l) >= count else None)(self.sends_to(s, phone)), timeout,
                        what="%d send(s) to %s" % (count, phone))

    def settled(self, s):
        """Waits until the worker has finished every recorded inbound message."""
        wait_for(lambda: self.query(s, "SELECT count(*) FROM whatsapp_messages WHERE direction = 'in' AND "
                                       "status IN ('received', 'processing')") == [[0]],
                 REPLY_TIMEOUT, what="the worker to finish")

    def say(self, s, phone, name, message):
        before = len(self.sends_to(s, phone))
        r = self.post(s, envelope([message], [(phone, name)]))
        self.assertEqual(r.status, 200, r)
        return before, r

    def reply_to(self, s, phone, name, text):
        before, _ = self.say(s, phone, name, text_message(phone, text))
        return self.wait_sends(s, phone, before + 1)[before]

    def accommodations(self, s):
        return s.get("/api/v1/admin/accommodations", headers=self.admin(s)).json["items"]

    def test_hola_to_a_paid_booking_through_mercadopago(self):
        """The whole journey against the fakes: the guest asks, taps Reservar, gets the MercadoPago link,
        pays; MercadoPago's signed notification confirms the hold, and the outbox tells the guest here."""
        import test_payments as mp
        fake = mp.FakeMercadoPago()
        try:
            s = self.start(env={"MERCADOPAGO_ACCESS_TOKEN": mp.TOKEN, "MERCADOPAGO_API_BASE": fake.url,
                                "MERCADOPAGO_WEBHOOK_SECRET": mp.WEBHOOK_SECRET,
                                "JOB_PAYMENTS_INTERVAL_SECONDS": "1", "PUBLIC_BASE_URL": mp.PUBLIC})
            phone, name = "5492944777001", "Julia"
            a, b = (property_today() + datetime.timedelta(days=n) for n in (10, 13))
            summary = self.reply_to(s, phone, name, "Hola! Tienen lugar del %s al %s para 6 personas?"
                                    % (a.strftime("%d/%m"), b.strftime("%d/%m")))
            self.assertIn("Cabaña del Lago", body_text(summary))
            kind, rid = choices(summary)["Reservar"]
            before, _ = self.say(s, phone, name, interactive_message(phone, kind, rid, "Reservar"))
            held = body_text(self.wait_sends(s, phone, before + 1)[before])
            code = re.search(r"RES[0-9A-Z]{10}", held).group(0)
            link = re.search(r"https://www\.mercadopago\.com\.ar/checkout/v1/redirect\?pref_id=\S+", held)
            self.assertIsNotNone(link, held)
            r = s.get("/api/v1/admin/reservations/" + code, headers=self.admin(s)).json
            self.assertEqual((r["status"], r["channel"], r["payment_url"]), ("pre_reserved", "whatsapp", link.group(0)))
            # the guest pays the deposit; MercadoPago notifies (signed) and the server fetches the payment
            fake.set_payment("880011", "approved", code, r["deposit_amount"])
            before = len(self.sends_to(s, phone))
            n = s.req("POST", "/api/v1/webhooks/mercadopago?data.id=880011&type=payment",
                      body=mp.notification_body("880011"), headers=mp.sign("880011"))
            self.assertEqual(n.status, 200, n)
            wait_for(lambda: s.get("/api/v1/admin/reservations/" + code, headers=self.admin(s)).json["status"]
                     == "confirmed", 20, what="the payment to confirm the hold")
            told = body_text(self.wait_sends(s, phone, before + 1, timeout=20)[before])
            self.assertIn("¡Tu reserva %s está confirmada!" % code, told)
            self.assertEqual(self.query(s, "SELECT status FROM outbox WHERE channel = 'whatsapp' AND template = "
                                           "'booking_confirmed' AND reservation_code = '%s'" % code), [["sent"]])
            r = s.get("/api/v1/admin/reservations/" + code, headers=self.admin(s)).json
            self.assertEqual(r["payment_status"], "paid")
        finally:
            fake.stop()

    # --- the conversation files ---

    def run_conversation(self, path):
        s = self.start()
        today = property_today()
        accs = {a["name"]: a for a in self.accommodations(s)}
        state = {"phone": DEFAULT_SENDER[0], "name": DEFAULT_SENDER[1], "code": None, "reply": None,
                 "twice": False}

        def day(n, iso=False):
            d = today + datetime.timedelta(days=n)
            return d.isoformat() if iso else d.strftime("%d/%m")

        def expand(text):
            def price(m):
                acc = accs[m.group(2)]
                a = today + datetime.timedelta(days=int(m.group(3)))
                b = today + datetime.timedelta(days=int(m.group(4)))
                total, deposit = stay_price(acc, a, b)
                return ar_money(total if m.group(1) == "price" else deposit)
            text = re.sub(r"\{(price|deposit):([^:}]+):\+(\d+):\+(\d+)\}", price, text)
            text = re.sub(r"\{\+(\d+):iso\}", lambda m: day(int(m.group(1)), True), text)
            text = re.sub(r"\{\+(\d+)\}", lambda m: day(int(m.group(1))), text)
            if "{code}" in text:
                self.assertIsNotNone(state["code"], "%s: {code} before any code was seen" % path)
                text = text.replace("{code}", state["code"])
            return text

        def deliver(message, what):
            phone, name = state["phone"], state["name"]
            before = len(self.sends_to(s, phone))
            suppressed = metric_sum(s, "whatsapp_replies_suppressed_total")
            r = self.post(s, envelope([message], [(phone, name)]))
            self.assertEqual(r.status, 200, "%s: %s: %r" % (path, what, r))
            if state["twice"]:
                state["twice"] = False
                again = self.post(s, envelope([message], [(phone, name)]))
                self.assertEqual(again.status, 200, again)
                self.assertEqual(again.json["duplicates"], 1, again)
                self.assertEqual(again.json["messages"], 0, again)
            state.update(before=before, suppressed=suppressed, what=what, reply=None)

        def reply():
            if state["reply"] is None:
                sends = self.wait_sends(s, state["phone"], state["before"] + 1)
                state["reply"] = sends[state["before"]]
                m = re.search(r"RES[0-9A-Z]{10}", body_text(state["reply"]))
                if m:
                    state["code"] = m.group(0)
            return state["reply"]

        for lineno, raw in enumerate(open(path, encoding="utf-8"), 1):
            line = raw.rstrip("\n")
            where = "%s:%d" % (os.path.basename(path), lineno)
            if not line.strip() or line.startswith("#"):
                continue
            if line.startswith("<") and not line.startswith("<none") and not line.startswith("<nobuttons"):
                got = reply()
                text = body_text(got)
                if line.startswith("<button ") or line.startswith("<row "):
                    kind, title = line.split(" ", 1)
                    title = expand(title)
                    want = "button" if kind == "<button" else "list"
                    self.assertEqual(choices(got).get(title, (None,))[0], want,
                                     "%s: no %s %r in %s" % (where, want, title, json.dumps(got["body"],
                                                                                          ensure_ascii=False)))
                elif line.startswith("<! "):
                    self.assertNotIn(expand(line[3:]), text, "%s: after %s" % (where, state["what"]))
                else:
                    self.assertIn(expand(line[2:]), text, "%s: after %s" % (where, state["what"]))
                continue
            if line == "<nobuttons":
                self.assertEqual(choices(reply()), {}, where)
                continue
            if line == "<none":
                phone = state["phone"]
                wait_for(lambda: metric_sum(s, "whatsapp_replies_suppressed_total") > state["suppressed"],
                         REPLY_TIMEOUT, what="%s: the message to be left unanswered" % where)
                self.settled(s)
                self.assertEqual(len(self.sends_to(s, phone)), state["before"], "%s: an answer was sent" % where)
                continue
            if line.startswith(">> "):
                # the most recent message that offered it (a guest can tap an older message's button)
                title = expand(line[3:])
                offered = [choices(x) for x in self.sends_to(s, state["phone"]) if title in choices(x)]
                self.assertTrue(offered, "%s: %r was never offered" % (where, title))
                kind, rid = offered[-1][title]
                deliver(interactive_message(state["phone"], kind, rid, title), "tap %r" % title)
                continue
            if line == ">audio":
                deliver(audio_message(state["phone"]), "audio")
                continue
            if line.startswith("> "):
                text = expand(line[2:])
                deliver(text_message(state["phone"], text), repr(text))
                continue
            cmd, _, arg = line.partition(" ")
            if cmd == "@as":
                state["phone"], _, state["name"] = arg.partition(" ")
            elif cmd == "@twice":
                state["twice"] = True
            elif cmd == "@block":
                start, end = (expand(x) for x in arg.split())
                for a in accs.values():
                    r = s.req("POST", "/api/v1/admin/accommodations/%d/blocks" % a["id"],
                              body={"start": start, "end": end, "reason": "test"}, headers=self.admin(s))
                    self.assertEqual(r.status, 201, r)
            elif cmd == "@confirm":
                r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % state["code"], body={},
                          headers=self.admin(s))
                self.assertEqual(r.status, 200, "%s: %r" % (where, r))
            elif cmd == "@status":
                r = s.get("/api/v1/admin/reservations/" + state["code"], headers=self.admin(s))
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.json["status"], arg, where)
                self.assertEqual(r.json["channel"], "whatsapp", where)
                self.assertEqual(r.json["guest_phone"], state["phone"], where)
            elif cmd == "@notify":
                # the outbox worker delivers the event to the guest on WhatsApp (src/notify/channels.c)
                sql = ("SELECT status, last_error FROM outbox WHERE channel = 'whatsapp' AND template = '%s' "
                       "AND reservation_code = '%s'" % (arg, state["code"]))
                harness.wait_for(lambda: (self.query(s, sql) or [[None]])[0][0] == "sent", 20,
                                 what="%s: the outbox to send %s (%r)" % (where, arg, self.query(s, sql)))
                state.update(before=len(self.sends_to(s, state["phone"])) - 1, reply=None,
                             what="notification %s" % arg)
            elif cmd == "@handoff":
                items = s.get("/api/v1/admin/conversations", headers=self.admin(s)).json["items"]
                conv = [c for c in items if c["phone"] == state["phone"]]
                self.assertEqual(len(conv), 1, where)
                self.assertEqual(conv[0]["handoff"], arg == "on", where)
            elif cmd == "@resume":
                r = s.req("POST", "/api/v1/admin/conversations/%s/resume" % state["phone"], body={},
                          headers=self.admin(s))
                self.assertEqual(r.status, 200, r)
            else:
                self.fail("%s: unknown line %r" % (where, line))
        self.settled(s)
        # at most one reply per inbound message, whatever the conversation did
        dup = self.query(s, "SELECT in_reply_to, count(*) FROM whatsapp_messages WHERE direction = 'out' AND "
                            "in_reply_to IS NOT NULL GROUP BY in_reply_to HAVING count(*) > 1")
        self.assertEqual(dup, [], path)
        return s

    # --- the webhook ---

    def test_batch_of_two_guests_gets_two_answers(self):
        s = self.start()
        body = open(os.path.join(FIXTURES, "inbound_batch_two.json"), "rb").read()
        r = self.post(s, None, raw=body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"messages": 2, "duplicates": 0, "statuses": 0})
        marcos = self.wait_sends(s, "5491155550000", 1)
        sofia = self.wait_sends(s, "5493515550001", 1)
        self.assertIn("personas", body_text(marcos[0]))  # "Precio para este finde, somos 2": the options
        self.assertIn("Soy el asistente de reservas", body_text(sofia[0]))
        # the same batch again: both are duplicates, nobody gets a second answer
        r = self.post(s, None, raw=body)
        self.assertEqual(r.json, {"messages": 0, "duplicates": 2, "statuses": 0})
        self.settled(s)
        self.assertEqual(len(s.graph.sent()), 2)
        self.assertEqual(metric(s, "whatsapp_duplicates_total"), 2)
        self.assertEqual(metric(s, "whatsapp_messages_total", direction="in", type="text"), 2)
        self.assertGreaterEqual(metric(s, "whatsapp_messages_total", direction="out", type="list"), 1)
        self.assertEqual(metric(s, "whatsapp_intents_total", intent="greet"), 1)
        # every send went to the configured phone number id with the bearer token, as JSON
        for x in s.graph.sent():
            self.assertEqual(x["path"], "/v21.0/%s/messages" % PHONE_ID)
            self.assertEqual(x["authorization"], "Bearer " + ACCESS_TOKEN)
            self.assertTrue(x["content_type"].startswith("application/json"))

    def test_signature_missing_or_wrong_is_401_and_nothing_is_processed(self):
        s = self.start()
        body = open(os.path.join(FIXTURES, "inbound_text.json"), "rb").read()
        cases = [("missing", False), ("wrong secret", sign(body, "another-secret")), ("garbage", "sha256=zz"),
                 ("no prefix", sign(body)[7:]), ("sha1", "sha1=" + hashlib.sha1(body).hexdigest()),
                 ("empty", "")]
        for what, sig in cases:
            r = self.post(s, None, raw=body, signature=sig)
            self.assertEqual(r.status, 401, "%s: %r" % (what, r))
            self.assertEqual(r.json["error"], "invalid_signature", what)
        # the signature is over the exact bytes: the same JSON re-spaced does not verify
        respaced = json.dumps(json.loads(body)).encode()
        self.assertNotEqual(respaced, body)
        r = self.post(s, None, raw=respaced, signature=sign(body))
        self.assertEqual(r.status, 401, r)
        time.sleep(0.3)
        self.assertEqual(self.query(s, "SELECT count(*) FROM whatsapp_messages"), [[0]])
        self.assertEqual(s.graph.sent(), [])
        self.assertEqual(metric(s, "whatsapp_webhook_rejected_total", reason="signature_missing"), 1)
        self.assertEqual(metric(s, "whatsapp_webhook_rejected_total", reason="signature_invalid"), 6)
        # signed right (fixture bytes as they are): accepted, answered
        r = self.post(s, None, raw=body)
        self.assertEqual(r.status, 200, r)
        self.assertIn("Tengo estas opciones", body_text(self.wait_sends(s, "5492944123456", 1)[0]))

    def test_graph_api_failing_retries_then_records_the_failure(self):
        s = self.start(env={"WHATSAPP_BREAKER_FAILURES": "2", "WHATSAPP_BREAKER_SECONDS": "2"})
        phone = "5491166660001"
        # two transient errors, then success: retried, delivered once
        s.graph.fail(responses=[503, 429])
        self.say(s, phone, "Ana", text_message(phone, "hola"))
        sends = self.wait_sends(s, phone, 3)
        self.assertEqual([x["answered"] for x in sends], [503, 429, 200])
        self.settled(s)
        self.assertEqual(self.query(s, "SELECT status FROM whatsapp_messages WHERE direction = 'in'"),
                         [["answered"]])
        self.assertEqual(metric(s, "whatsapp_send_retries_total"), 2)
        # down for good: 1 + WHATSAPP_SEND_RETRIES attempts, then the failure is recorded
        s.graph.reset()
        s.graph.fail(always=500)
        self.say(s, phone, "Ana", text_message(phone, "ayuda"))
        self.wait_sends(s, phone, 3)
        self.settled(s)
        rows = self.query(s, "SELECT status, error FROM whatsapp_messages WHERE direction = 'in' ORDER BY id")
        self.assertEqual(rows[-1], ["failed", "unavailable"])
        out = self.query(s, "SELECT status, error FROM whatsapp_messages WHERE direction = 'out' ORDER BY id")
        self.assertEqual(out[-1], ["failed", "unavailable"])
        self.assertEqual(metric(s, "whatsapp_send_failures_total", reason="unavailable"), 1)
        # a second failed send opens the breaker; the third message is not even tried
        self.say(s, phone, "Ana", text_message(phone, "precios"))
        self.wait_sends(s, phone, 6)
        self.settled(s)
        self.assertEqual(metric(s, "whatsapp_circuit_open"), 1)
        self.assertEqual(s.get("/api/v1/healthz").json["checks"]["whatsapp"]["circuit"], "open")
        n = len(s.graph.sent())
        self.say(s, phone, "Ana", text_message(phone, "gracias"))
        self.settled(s)
        self.assertEqual(len(s.graph.sent()), n, "sent while the circuit was open")
        self.assertEqual(metric(s, "whatsapp_send_failures_total", reason="circuit_open"), 1)
        self.assertEqual(s.get("/api/v1/healthz").status, 200)  # an outage of WhatsApp is not ours
        # the API is back: after WHATSAPP_BREAKER_SECONDS one probe goes through and closes the circuit
        s.graph.reset()
        time.sleep(2.2)
        self.say(s, phone, "Ana", text_message(phone, "hola de nuevo"))
        self.wait_sends(s, phone, 1)
        self.settled(s)
        self.assertEqual(metric(s, "whatsapp_circuit_open"), 0)
        # a refusal (4xx) is final: no retry
        s.graph.reset()
        s.graph.fail(responses=[{"status": 400, "code": 100}])
        self.say(s, phone, "Ana", text_message(phone, "hola otra vez"))
        self.wait_sends(s, phone, 1)
        self.settled(s)
        time.sleep(0.2)
        self.assertEqual(len(self.sends_to(s, phone)), 1)
        self.assertEqual(metric(s, "whatsapp_send_failures_total", reason="rejected"), 1)

    def test_statuses_are_recorded_against_sent_messages(self):
        s = self.start()
        phone = DEFAULT_SENDER[0]
        sent = self.reply_to(s, phone, "Lucía", "hola")
        wamid = sent["wamid"]
        self.settled(s)
        self.assertEqual(self.query(s, "SELECT status FROM whatsapp_messages WHERE wamid = '%s'" % wamid),
                         [["accepted"]])
        fixture = json.load(open(os.path.join(FIXTURES, "status_delivered.json")))
        st = fixture["entry"][0]["changes"][0]["value"]["statuses"][0]

        def status(name, sid=wamid, ts=None, errors=None):
            x = dict(st, id=sid, status=name, timestamp=str(ts or int(time.time())))
            if errors:
                x["errors"] = errors
            return envelope(statuses=[x])

        for name in ("sent", "delivered", "read"):
            r = self.post(s, status(name))
            self.assertEqual((r.status, r.json["statuses"]), (200, 1), r)
        self.assertEqual(self.query(s, "SELECT status FROM whatsapp_messages WHERE wamid = '%s'" % wamid),
                         [["read"]])
        # late and out of order: a "delivered" after "read" does not go back
        self.post(s, status("delivered"))
        self.assertEqual(self.query(s, "SELECT status FROM whatsapp_messages WHERE wamid = '%s'" % wamid),
                         [["read"]])
        # failed wins, with the error
        self.post(s, status("failed", errors=[{"code": 131026, "title": "Message undeliverable"}]))
        self.assertEqual(self.query(s, "SELECT status, error FROM whatsapp_messages WHERE wamid = '%s'" % wamid),
                         [["failed", "131026 Message undeliverable"]])
        # a status for a message we never sent, and a status callback never gets an answer
        self.post(s, status("delivered", sid="wamid.NOT-OURS"))
        self.assertEqual(metric(s, "whatsapp_statuses_total", status="unmatched"), 1)
        self.assertEqual(metric(s, "whatsapp_statuses_total", status="read"), 1)
        time.sleep(0.3)
        self.assertEqual(len(s.graph.sent()), 1)
        # the fixture as it is (an id we did not send) is accepted
        r = self.post(s, None, raw=open(os.path.join(FIXTURES, "status_delivered.json"), "rb").read())
        self.assertEqual(r.status, 200, r)

    def test_never_answers_the_business_number_and_limits_replies_per_phone(self):
        s = self.start(env={"WHATSAPP_REPLIES_PER_MINUTE": "10"})
        r = self.post(s, envelope([text_message(BUSINESS, "hola")], [(BUSINESS, "Cabañas")]))
        self.assertEqual(r.json["messages"], 1)
        self.assertEqual(self.query(s, "SELECT status FROM whatsapp_messages WHERE phone = '%s'" % BUSINESS),
                         [["silent"]])
        # twelve messages in one minute from one phone: ten answers (a normal dialog never gets close)
        if time.time() % 60 > 45:
            time.sleep(61 - time.time() % 60)
        phone = "5491177770000"
        msgs = [text_message(phone, "hola %d" % i) for i in range(12)]
        r = self.post(s, envelope(msgs, [(phone, "Flood")]))
        self.assertEqual(r.json["messages"], 12)
        self.settled(s)
        self.assertEqual(len(self.sends_to(s, phone)), 10)
        self.assertEqual(metric(s, "whatsapp_replies_suppressed_total", reason="rate_limited"), 2)
        self.assertEqual(self.sends_to(s, BUSINESS), [])

    def test_hostile_bodies(self):
        s = self.start()
        phone = "5491188880000"
        for raw in (b"not json", b"[1,2]", b'{"object": "whatsapp_business_account", "entry": 5',
                    b'{"a": 1, "a": 2}'):
            r = self.post(s, None, raw=raw)
            self.assertEqual(r.status, 400, "%r: %r" % (raw, r))
        # other objects and shapes are acknowledged and ignored
        for payload in ({"object": "page", "entry": []}, {"object": "whatsapp_business_account", "entry": "x"},
                        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": 3}]}]}):
            r = self.post(s, payload)
            self.assertEqual((r.status, r.json["messages"]), (200, 0), r)
        # messages without a usable sender or id are skipped, the good one in the batch still counts
        bad = [dict(text_message(phone, "hola"), **{"from": "12ab"}), dict(text_message(phone, "x"), id=""),
               {"from": phone}, "junk", dict(text_message(phone, "hola"), id="a" * 300)]
        r = self.post(s, envelope(bad + [text_message(phone, "hola")], [(phone, "Ok")]))
        self.assertEqual((r.status, r.json["messages"]), (200, 1), r)
        self.wait_sends(s, phone, 1)
        # a 5,000-character text: stored capped at 1,000 bytes, answered once, never echoed
        long_text = "del 10 al 12 " + "ñ" * 2500
        r = self.post(s, envelope([text_message(phone, long_text)], [(phone, "Ok")]))
        self.assertEqual(r.status, 200)
        self.settled(s)
        stored = self.query(s, "SELECT body FROM whatsapp_messages WHERE direction = 'in' ORDER BY id DESC LIMIT 1")
        self.assertLessEqual(len(stored[0][0].encode()), 1000)
        self.assertTrue(stored[0][0].startswith("del 10 al 12 ñ"))
        answers = self.sends_to(s, phone)
        self.assertEqual(len(answers), 2)
        self.assertNotIn("ñññ", body_text(answers[-1]))
        # an unknown message type and a reaction
        r = self.post(s, envelope([{"from": phone, "id": new_wamid(), "timestamp": "1", "type": "sticker"},
                                   {"from": phone, "id": new_wamid(), "timestamp": "1", "type": "reaction",
                                    "reaction": {"message_id": "x", "emoji": "👍"}},
                                   {"from": phone, "id": new_wamid(), "timestamp": "1", "type": "NEW-TYPE!"}],
                                  [(phone, "Ok")]))
        self.assertEqual(r.json["messages"], 3)
        self.settled(s)
        self.assertEqual(len(self.sends_to(s, phone)), 4)  # sticker and unknown: "send text"; reaction: none
        self.assertIn("solo puedo leer texto", body_text(self.sends_to(s, phone)[-1]))

    def test_notifications_respect_the_24_hour_window(self):
        s = self.start(env={"WHATSAPP_TEMPLATES": "booking_confirmed=reserva_confirmada, hold_expired=reserva_vencida"})
        phone = DEFAULT_SENDER[0]
        summary = self.reply_to(s, phone, "Lucía", "del 10/1 al 13/1 para 6")
        rid = choices(summary)["Reservar"][1]
        before, _ = self.say(s, phone, "Lucía", interactive_message(phone, "button", rid, "Reservar"))
        hold = self.wait_sends(s, phone, before + 1)[before]
        code = re.search(r"RES[0-9A-Z]{10}", body_text(hold)).group(0)
        self.settled(s)

        def notify(event, who=phone):
            return s.req("POST", "/api/v1/_test/whatsapp/notify", body={"event": event, "code": code, "phone": who})

        # someone else's phone: nothing sent
        n = len(s.graph.sent())
        self.assertEqual(notify("hold_expired", "5491100000000").json["sent"], False)
        self.assertEqual(len(s.graph.sent()), n)
        # inside the window: a text
        r = notify("booking_cancelled")
        self.assertEqual(r.json["sent"], True, r)
        self.assertIn("fue cancelada", body_text(s.graph.sent()[-1]))
        self.assertEqual(s.graph.sent()[-1]["body"]["type"], "text")
        # the API says the window closed (131047): the configured template instead
        s.graph.fail(responses=[{"status": 400, "code": 131047}])
        r = notify("booking_confirmed")
        self.assertEqual(r.json["sent"], True, r)
        tpl = s.graph.sent()[-1]["body"]
        self.assertEqual(tpl["type"], "template")
        self.assertEqual(tpl["template"]["name"], "reserva_confirmada")
        self.assertEqual(tpl["template"]["language"]["code"], "es_AR")
        params = [p["text"] for p in tpl["template"]["components"][0]["parameters"]]
        self.assertEqual(params[0], code)
        self.assertEqual(params[1], "Cabaña del Lago")
        # our own record says the guest wrote more than 24 h ago: template at once, or "use email"
        self.execute(s, "UPDATE whatsapp_conversations SET last_inbound_at = last_inbound_at - 90000")
        n = len(s.graph.sent())
        r = notify("hold_expired")
        self.assertEqual(r.json["sent"], True, r)
        self.assertEqual(len(s.graph.sent()), n + 1)
        self.assertEqual(s.graph.sent()[-1]["body"]["template"]["name"], "reserva_vencida")
        r = notify("booking_cancelled")  # no template configured for it
        self.assertEqual((r.json["sent"], r.json["reason"]), (False, "outside_window"))
        self.assertEqual(len(s.graph.sent()), n + 1)

    def test_admin_conversations_and_handoff_notifies_the_owner(self):
        # email on (a closed port: the message is read from the outbox, not delivered); without it the
        # owner's email would not be written at all
        s = self.start(env={"SMTP_URL": "smtp://127.0.0.1:9", "SMTP_FROM": "reservas@example.com"})
        phone = DEFAULT_SENDER[0]
        self.assertEqual(s.get("/api/v1/admin/conversations").status, 401)
        r = s.req("POST", "/api/v1/admin/conversations/%s/resume" % phone, body={})
        self.assertEqual(r.status, 401)
        self.assertIn("una persona", body_text(self.reply_to(s, phone, "Lucía", "hablar con una persona")))
        self.reply_to(s, "5491199990000", "Otro", "hola")
        items = s.get("/api/v1/admin/conversations", headers=self.admin(s)).json
        self.assertEqual(items["total"], 2)
        by_phone = {c["phone"]: c for c in items["items"]}
        self.assertTrue(by_phone[phone]["handoff"])
        self.assertIsNotNone(by_phone[phone]["handoff_until"])
        self.assertEqual(by_phone[phone]["name"], "Lucía")
        self.assertFalse(by_phone["5491199990000"]["handoff"])
        self.assertEqual(items["items"][0]["phone"], "5491199990000")  # most recent first
        page = s.get("/api/v1/admin/conversations?limit=1&offset=1", headers=self.admin(s)).json
        self.assertEqual([c["phone"] for c in page["items"]], [phone])
        self.assertEqual(s.get("/api/v1/admin/conversations?limit=0", headers=self.admin(s)).status, 422)
        # the owner is told by email, through the outbox, in the same transaction as the handoff
        rows = self.query(s, "SELECT channel, template, recipient, payload FROM outbox WHERE template = "
                             "'handoff'")
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0][:3], ["email", "handoff", "owner"])
        self.assertEqual(json.loads(rows[0][3])["phone"], phone)
        self.assertEqual(self.query(s, "SELECT actor, action FROM audit_log WHERE entity = 'conversation'"),
                         [["bot:whatsapp", "conversation.handoff"]])
        for bad in ("123", "abc45678901", "1" * 16):
            r = s.req("POST", "/api/v1/admin/conversations/%s/resume" % bad, body={}, headers=self.admin(s))
            self.assertEqual((r.status, r.json["error"]), (404, "conversation_not_found"), bad)
        r = s.req("POST", "/api/v1/admin/conversations/5491100001111/resume", body={}, headers=self.admin(s))
        self.assertEqual(r.status, 404)
        r = s.req("POST", "/api/v1/admin/conversations/%s/resume" % phone, body={}, headers=self.admin(s))
        self.assertEqual(r.json, {"phone": phone, "handoff": False})
        self.assertIn("asistente", body_text(self.reply_to(s, phone, "Lucía", "hola")))


def _conversation_test(path):
    def test(self):
        self.run_conversation(path)
    test.__doc__ = "conversation %s" % os.path.basename(path)
    return test


CONVERSATIONS = sorted(glob.glob(os.path.join(DATA, "*.txt")))
for _path in CONVERSATIONS:
    setattr(WhatsAppChecks, "test_conversation_" + os.path.basename(_path)[:-4], _conversation_test(_path))


class SqliteWhatsAppTest(WhatsAppChecks, ServerTestCase):
    def new_database_url(self):
        self._db = harness.Tmp("cabanas-wa-").file("wa.db")
        return "sqlite://" + self._db

    def base_env(self):
        return {}

    def query(self, s, sql):
        con = sqlite3.connect(self._db, timeout=10)
        try:
            return [list(r) for r in con.execute(sql).fetchall()]
        finally:
            con.close()

    def execute(self, s, sql):
        con = sqlite3.connect(self._db, timeout=10)
        try:
            con.execute(sql)
            con.commit()
        finally:
            con.close()

    # --- checks that do not depend on the engine run here only ---

    def test_conversation_files_exist(self):
        names = {os.path.basename(p) for p in CONVERSATIONS}
        for want in ("booking_one_message.txt", "booking_four_messages.txt", "new_year.txt",
                     "no_availability.txt", "cancel_own.txt", "cancel_other.txt", "audio.txt", "handoff.txt",
                     "duplicate.txt"):
            self.assertIn(want, names)

    def test_verification_handshake(self):
        s = self.start(seed=False)

        def verify(**q):
            return s.get("/api/v1/webhooks/whatsapp?" + urllib.parse.urlencode(q))

        r = verify(**{"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
        self.assertEqual((r.status, r.body), (200, b"1158201444"))
        self.assertTrue(r.header("content-type").startswith("text/plain"))
        for q in ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
                  {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
                  {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
                  {"hub.mode": "subscribe", "hub.challenge": "1"},
                  {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
                  {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN[:-1], "hub.challenge": "1"},
                  {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "x" * 300}, {}):
            r = verify(**q)
            self.assertEqual(r.status, 403, "%r: %r" % (q, r))

    def test_not_configured(self):
        s = self.start(seed=False, env={"WHATSAPP_APP_SECRET": "", "WHATSAPP_VERIFY_TOKEN": "",
                                        "WHATSAPP_ACCESS_TOKEN": ""})
        body = open(os.path.join(FIXTURES, "inbound_text.json"), "rb").read()
        r = self.post(s, None, raw=body)
        self.assertEqual((r.status, r.json["error"]), (503, "not_configured"))
        # with no verify token configured, even an empty token is refused
        r = s.get("/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=&hub.challenge=1")
        self.assertEqual(r.status, 403)
        health = s.get("/api/v1/healthz").json
        self.assertEqual(health["status"], "healthy")
        self.assertEqual(health["checks"]["whatsapp"]["status"], "disabled")
        self.assertIn("WHATSAPP_APP_SECRET", health["checks"]["whatsapp"]["missing"])

    def test_health_ok_when_configured(self):
        s = self.start(seed=False)
        self.assertEqual(s.get("/api/v1/healthz").json["checks"]["whatsapp"], {"status": "ok", "circuit": "closed"})
        p = s.run("config-check")
        out = p.stdout.decode()
        self.assertIn("WHATSAPP_APP_SECRET=***", out)
        self.assertIn("WHATSAPP_ACCESS_TOKEN=***", out)
        self.assertNotIn(APP_SECRET, out)
        self.assertNotIn(ACCESS_TOKEN, out)


class PostgresWhatsAppTest(WhatsAppChecks, PostgresRedisTestCase):
    def new_database_url(self):
        # the Redis server is shared by the class: dialog state must not leak from one test to the next
        subprocess.run(["redis-cli", "-p", str(self.redis.port), "FLUSHALL"], stdout=subprocess.DEVNULL, timeout=10)
        self._url = self.fresh_database("wa")
        return self._url

    def base_env(self):
        return {"REDIS_URL": self.redis.url}

    def _dbname(self):
        return self._url.rsplit("/", 1)[1]

    def query(self, s, sql):
        out = self.pg.psql("COPY (%s) TO STDOUT WITH (FORMAT csv)" % sql, db=self._dbname())
        import csv
        import io
        rows = []
        for r in csv.reader(io.StringIO(out)):
            rows.append([int(v) if re.fullmatch(r"-?\d+", v) else v for v in r])
        return rows

    def execute(self, s, sql):
        self.pg.psql(sql, db=self._dbname())

    def test_sessions_live_in_redis_with_a_ttl(self):
        s = self.start(env={"WHATSAPP_SESSION_MINUTES": "2"})
        phone = DEFAULT_SENDER[0]
        self.assertIn("¿Cuántas personas son?", body_text(self.reply_to(s, phone, "Lucía", "del 10/1 al 13/1")))
        cli = ["redis-cli", "-p", str(self.redis.port)]
        ttl = int(subprocess.run(cli + ["TTL", "wa:s:" + phone], stdout=subprocess.PIPE).stdout.decode().strip())
        self.assertTrue(60 < ttl <= 120, ttl)
        state = json.loads(subprocess.run(cli + ["GET", "wa:s:" + phone], stdout=subprocess.PIPE).stdout.decode())
        self.assertTrue(state["in"].endswith("-01-10"), state)
        # another instance on the same database and Redis carries the dialog on
        t = self.server(args=("serve",), env={k: v for k, v in s.env.items() if k not in ("PORT", "DATABASE_URL")},
                        database_url=s.database_url)
        t.graph = s.graph
        before, _ = (len(self.sends_to(s, phone)), None)
        r = self.post(t, envelope([text_message(phone, "somos 6")], [(phone, "Lucía")]))
        self.assertEqual(r.status, 200)
        answer = self.wait_sends(s, phone, before + 1)[before]
        self.assertIn("Cabaña del Lago", body_text(answer))
        self.assertIn("Reservar", choices(answer))


if __name__ == "__main__":
    harness.main()
