#!/usr/bin/env python3
"""A fake calendar host on 127.0.0.1: the fixture feeds as Airbnb, Booking.com and an owner's calendar
publish them, and hostile answers. Python standard library only.

    python3 fake_ical.py --data DIR [--shift-days N]     prints "port N" once listening

Paths:
  /fixtures/NAME           tests/data/ical/NAME with every date moved by --shift-days (so feeds written for
                           December 2026 stay in the future), with an ETag; If-None-Match -> 304
  /feed/KEY                whatever the last POST /_set/KEY said: {"mode": ..., "body": ..., "status": ...}
                           modes: body (default), fixture (body = NAME), big (6 MiB), junk (binary), html,
                           redirect_loop, redirect (body = target path), stall, slow (body = fixture NAME,
                           delay_ms), status (status, body), many (100,000 events), deep (10,000 nested),
                           truncated (body = fixture NAME, cut in half)
  /_stats                  {"hits": {path: n}, "max_concurrent": {path: n}, "last_headers": {path: {...}}}
Every stall or delay is bounded (at most 30 s), so the process never hangs a test.
"""

import argparse
import datetime
import hashlib
import http.server
import json
import os
import random
import re
import sys
import threading
import time

DATE_LINE = re.compile(r"^(DTSTART|DTEND|DTSTAMP|RECURRENCE-ID|EXDATE|RDATE|RRULE|LAST-MODIFIED|CREATED)\b",
                       re.I)


def shift_dates(text, days):
    """Moves every YYYYMMDD in the date-bearing lines by `days` (folded lines never carry dates here)."""
    if not days:
        return text

    def one(m):
        d = datetime.datetime.strptime(m.group(0), "%Y%m%d").date() + datetime.timedelta(days=days)
        return d.strftime("%Y%m%d")

    out = []
    for line in text.split("\n"):
        if DATE_LINE.match(line):
            line = re.sub(r"(?<!\d)\d{8}(?!\d)", one, line)
        out.append(line)
    return "\n".join(out)


def many_events(n):
    parts = ["BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fake//many//EN\r\n"]
    for i in range(n):
        parts.append("BEGIN:VEVENT\r\nUID:%d\r\nEND:VEVENT\r\n" % i)
    parts.append("END:VCALENDAR\r\n")
    return "".join(parts).encode()


def deep_components(n):
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "BEGIN:X-NEST\r\n" * n + "END:X-NEST\r\n" * n
            + "END:VCALENDAR\r\n").encode()


class State:
    def __init__(self, data_dir, shift):
        self.data_dir = data_dir
        self.shift = shift
        self.lock = threading.Lock()
        self.routes = {}
        self.hits = {}
        self.active = {}
        self.max_concurrent = {}
        self.last_headers = {}

    def fixture(self, name):
        name = os.path.basename(name)
        with open(os.path.join(self.data_dir, name), "rb") as f:
            text = f.read().decode("utf-8")
        return shift_dates(text, self.shift).encode("utf-8")


def make_handler(state):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send(self, status, body=b"", ctype="text/calendar; charset=utf-8", headers=None):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def calendar(self, body):
            etag = '"%s"' % hashlib.sha256(body).hexdigest()[:24]
            if self.headers.get("If-None-Match") == etag:
                self.send(304, headers={"ETag": etag})
            else:
                self.send(200, body, headers={"ETag": etag})

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            if self.path.startswith("/_set/"):
                with state.lock:
                    state.routes[self.path[len("/_set/"):]] = json.loads(data.decode() or "{}")
                self.send(204, ctype="application/json")
            else:
                self.send(404, b"{}", "application/json")

        def do_GET(self):
            path = self.path.split("?")[0]
            with state.lock:
                state.hits[path] = state.hits.get(path, 0) + 1
                state.active[path] = state.active.get(path, 0) + 1
                state.max_concurrent[path] = max(state.max_concurrent.get(path, 0), state.active[path])
                state.last_headers[path] = {k: v for k, v in self.headers.items()}
            try:
                self.route(path)
            finally:
                with state.lock:
                    state.active[path] -= 1

        def route(self, path):
            if path == "/_stats":
                with state.lock:
                    body = json.dumps({"hits": state.hits, "max_concurrent": state.max_concurrent,
                                       "last_headers": state.last_headers}).encode()
                return self.send(200, body, "application/json")
            if path.startswith("/fixtures/"):
                try:
                    return self.calendar(state.fixture(path[len("/fixtures/"):]))
                except OSError:
                    return self.send(404, b"not found", "text/plain")
            if path.startswith("/feed/"):
                with state.lock:
                    spec = dict(state.routes.get(path[len("/feed/"):], {"mode": "status", "status": 404}))
                return self.answer(spec)
            return self.send(404, b"not found", "text/plain")

        def answer(self, spec):
            mode = spec.get("mode", "body")
            if mode == "body":
                return self.calendar(spec.get("body", "").encode("utf-8"))
            if mode == "fixture":
                return self.calendar(state.fixture(spec["body"]))
            if mode == "slow":
                time.sleep(min(spec.get("delay_ms", 1000), 30000) / 1000.0)
                return self.calendar(state.fixture(spec["body"]))
            if mode == "big":
                line = b"X-PADDING:" + b"a" * 60 + b"\r\n"
                body = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + line * (6 * 1024 * 1024 // len(line) + 1)
                return self.send(200, body)
            if mode == "junk":
                rng = random.Random(7)
                return self.send(200, bytes(rng.randrange(256) for _ in range(64 * 1024)), "application/octet-stream")
            if mode == "html":
                body = b"<!DOCTYPE html><html><head><title>Error</title></head><body><h1>Something went wrong" \
                       b"</h1><p>Please try again later.</p></body></html>"
                return self.send(200, body, "text/html; charset=utf-8")
            if mode == "redirect_loop":
                return self.send(302, b"", "text/plain", {"Location": self.path})
            if mode == "redirect":
                return self.send(302, b"", "text/plain", {"Location": spec["body"]})
            if mode == "stall":
                # headers promise a body that never comes (bounded: the client gives up first)
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"BEGIN:VCALENDAR\r\n")
                self.wfile.flush()
                time.sleep(min(spec.get("delay_ms", 10000), 30000) / 1000.0)
                self.close_connection = True
                return
            if mode == "status":
                return self.send(spec.get("status", 500), spec.get("body", "").encode("utf-8"), "text/plain")
            if mode == "many":
                return self.send(200, many_events(spec.get("count", 100000)))
            if mode == "deep":
                return self.send(200, deep_components(spec.get("depth", 10000)))
            if mode == "truncated":
                body = state.fixture(spec["body"])
                return self.send(200, body[:len(body) // 2])
            return self.send(500, b"unknown mode", "text/plain")

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--shift-days", type=int, default=0)
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    state = State(args.data, args.shift_days)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(state))
    httpd.daemon_threads = True
    print("port %d" % httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
