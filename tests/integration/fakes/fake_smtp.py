#!/usr/bin/env python3
"""A fake SMTP server for the notification tests (Python standard library only).

    fake_smtp.py --smtp-port N --control-port M [--user U --password P]

SMTP on 127.0.0.1:N speaks enough ESMTP for libcurl: EHLO/HELO, AUTH PLAIN and LOGIN (advertised; required
when --user is given), MAIL, RCPT, DATA (dot-unstuffed), RSET, NOOP, QUIT. No STARTTLS is offered, so a
client with CURLUSESSL_TRY stays in plain text.

Control HTTP on 127.0.0.1:M (JSON):
    GET  /messages   every accepted message: mail_from, rcpt_to, auth_user, data (the raw DATA text),
                     bare_lf (a line ended with LF alone), long_line (a line over 998 bytes)
    GET  /stats      connections, transactions, failures_injected, mode
    POST /mode       {"mode": M, "count": K, "delay": S}: the failure to inject from now on
                       ok        normal service
                       down      the SMTP port is closed (connection refused)
                       refuse    greet with "421" and hang up
                       stall     accept and never answer (the client times out)
                       tempfail  "451" to MAIL FROM
                       permfail  "550" to RCPT TO
                       authfail  "535" to AUTH
                     with "count": K the failure is injected K times, then the mode is "ok" again;
                     "delay": S seconds before answering DATA's final dot (a slow server)
    POST /reset      forget the messages and counters, mode ok
"""

import argparse
import base64
import http.server
import json
import re
import socket
import threading
import time

LINE_MAX = 4096
DATA_MAX = 10 * 1024 * 1024


def path_of(arg):
    """The address of "FROM:<a@b> SIZE=1" / "TO:<a@b>" (without the angle brackets)."""
    m = re.search(r"<([^>]*)>", arg)
    return m.group(1) if m else arg.split(":", 1)[-1].strip()


class State:
    def __init__(self, user, password):
        self.lock = threading.Lock()
        self.user = user
        self.password = password
        self.reset()

    def reset(self):
        with self.lock:
            self.messages = []
            self.connections = 0
            self.transactions = 0
            self.failures = 0
            self.mode = "ok"
            self.count = None
            self.delay = 0.0

    def inject(self, mode):
        """True when the current mode is `mode` and a failure is to be injected now (counts it)."""
        with self.lock:
            if self.mode != mode:
                return False
            self.failures += 1
            if self.count is not None:
                self.count -= 1
                if self.count <= 0:
                    self.mode, self.count = "ok", None
            return True


class Listener:
    """The SMTP port: can be closed (mode down) and opened again on the same port."""

    def __init__(self, port, state):
        self.port = port
        self.state = state
        self.sock = None
        self.lock = threading.Lock()

    def set_open(self, want):
        with self.lock:
            if want and self.sock is None:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", self.port))
                s.listen(64)
                s.settimeout(0.1)
                self.sock = s
                threading.Thread(target=self.accept_loop, args=(s,), daemon=True).start()
            elif not want and self.sock is not None:
                self.sock.close()
                self.sock = None

    def accept_loop(self, s):
        while True:
            try:
                conn, _ = s.accept()
            except socket.timeout:
                if self.sock is not s:
                    return
                continue
            except OSError:
                return
            with self.state.lock:
                self.state.connections += 1
            threading.Thread(target=Session(conn, self.state).run, daemon=True).start()


class Session:
    def __init__(self, conn, state):
        self.conn = conn
        self.state = state
        self.rfile = conn.makefile("rb")
        self.authed = None
        self.mail_from = None
        self.rcpts = []

    def send(self, line):
        self.conn.sendall(line.encode() + b"\r\n")

    def readline(self):
        line = self.rfile.readline(LINE_MAX + 2)
        if not line:
            raise EOFError
        return line

    def run(self):
        self.conn.settimeout(60)
        try:
            if self.state.inject("refuse"):
                self.send("421 fake.smtp service not available")
                return
            if self.state.inject("stall"):
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and self.state.mode == "stall":
                    time.sleep(0.05)
                return
            self.send("220 fake.smtp ESMTP ready")
            while True:
                raw = self.readline()
                line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                if verb == "EHLO":
                    for l in ("250-fake.smtp", "250-AUTH PLAIN LOGIN", "250-8BITMIME", "250-SIZE %d" % DATA_MAX):
                        self.send(l)
                    self.send("250 OK")
                elif verb == "HELO":
                    self.send("250 fake.smtp")
                elif verb == "AUTH":
                    self.auth(arg)
                elif verb == "MAIL":
                    if self.state.user and not self.authed:
                        self.send("530 5.7.0 authentication required")
                    elif self.state.inject("tempfail"):
                        self.send("451 4.3.0 temporary failure, try again later")
                    else:
                        self.mail_from = path_of(arg)
                        self.rcpts = []
                        self.send("250 OK")
                elif verb == "RCPT":
                    if self.mail_from is None:
                        self.send("503 5.5.1 MAIL first")
                    elif self.state.inject("permfail"):
                        self.send("550 5.1.1 mailbox unavailable")
                    else:
                        self.rcpts.append(path_of(arg))
                        self.send("250 OK")
                elif verb == "DATA":
                    if not self.rcpts:
                        self.send("503 5.5.1 RCPT first")
                        continue
                    self.send("354 end with <CRLF>.<CRLF>")
                    self.data()
                elif verb == "RSET":
                    self.mail_from, self.rcpts = None, []
                    self.send("250 OK")
                elif verb == "NOOP":
                    self.send("250 OK")
                elif verb == "QUIT":
                    self.send("221 bye")
                    return
                else:
                    self.send("502 5.5.2 command not implemented")
        except (EOFError, OSError, socket.timeout):
            pass
        finally:
            try:
                self.conn.close()
            except OSError:
                pass

    def auth(self, arg):
        mech, _, initial = arg.partition(" ")
        mech = mech.upper()
        if mech == "PLAIN":
            if not initial:
                self.send("334 ")
                initial = self.readline().strip().decode()
            try:
                parts = base64.b64decode(initial).split(b"\0")
                user, password = parts[1].decode(), parts[2].decode()
            except Exception:  # noqa: BLE001 - a malformed exchange is a 501
                self.send("501 5.5.4 malformed AUTH PLAIN")
                return
        elif mech == "LOGIN":
            try:
                if initial:
                    user = base64.b64decode(initial).decode()
                else:
                    self.send("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.readline().strip()).decode()
                self.send("334 UGFzc3dvcmQ6")
                password = base64.b64decode(self.readline().strip()).decode()
            except Exception:  # noqa: BLE001
                self.send("501 5.5.4 malformed AUTH LOGIN")
                return
        else:
            self.send("504 5.5.4 mechanism not supported")
            return
        if self.state.inject("authfail") or (self.state.user and (user, password) != (self.state.user,
                                                                                        self.state.password)):
            self.send("535 5.7.8 authentication failed")
            return
        self.authed = user
        self.send("235 2.7.0 authenticated")

    def data(self):
        lines, size, bare_lf, long_line = [], 0, False, False
        while True:
            raw = self.rfile.readline(LINE_MAX + 2)
            if not raw:
                raise EOFError
            if raw in (b".\r\n", b".\n"):
                break
            if not raw.endswith(b"\r\n"):
                bare_lf = True
            if len(raw.rstrip(b"\r\n")) > 998:
                long_line = True
            if raw.startswith(b"."):
                raw = raw[1:]
            size += len(raw)
            if size > DATA_MAX:
                self.send("552 5.3.4 message too big")
                return
            lines.append(raw)
        if self.state.delay:
            time.sleep(self.state.delay)
        text = b"".join(lines).decode("utf-8", "replace")
        with self.state.lock:
            self.state.transactions += 1
            n = len(self.state.messages) + 1
            self.state.messages.append({"mail_from": self.mail_from, "rcpt_to": list(self.rcpts),
                                        "auth_user": self.authed, "data": text, "bare_lf": bare_lf,
                                        "long_line": long_line, "received_at": time.time()})
        self.mail_from, self.rcpts = None, []
        self.send("250 2.0.0 OK queued as fake-%d" % n)


def control_handler(state, listener):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, obj, status=200):
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            with state.lock:
                if self.path == "/messages":
                    return self.reply(list(state.messages))
                if self.path == "/stats":
                    return self.reply({"connections": state.connections, "transactions": state.transactions,
                                       "failures_injected": state.failures, "mode": state.mode})
            self.reply({"error": "not found"}, 404)

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(n) or b"{}")
            if self.path == "/reset":
                state.reset()
                listener.set_open(True)
                return self.reply({"ok": True})
            if self.path == "/mode":
                mode = body.get("mode", "ok")
                if mode not in ("ok", "down", "refuse", "stall", "tempfail", "permfail", "authfail"):
                    return self.reply({"error": "unknown mode"}, 400)
                with state.lock:
                    state.mode = mode
                    state.count = body.get("count")
                    state.delay = float(body.get("delay", state.delay))
                listener.set_open(mode != "down")
                return self.reply({"ok": True})
            self.reply({"error": "not found"}, 404)

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smtp-port", type=int, required=True)
    ap.add_argument("--control-port", type=int, required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    a = ap.parse_args()
    state = State(a.user, a.password)
    listener = Listener(a.smtp_port, state)
    listener.set_open(True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.control_port), control_handler(state, listener))
    server.serve_forever()


if __name__ == "__main__":
    main()
