#!/usr/bin/env python3
"""A fake MercadoPago API on 127.0.0.1 for the integration tests (Python standard library only).

    fake_mercadopago.py --port N [--token T]

API (what cabanas calls; every call needs `Authorization: Bearer T`):
  POST /checkout/preferences        creates a preference; the same X-Idempotency-Key returns the same one
  PUT  /checkout/preferences/{id}   updates it (cabanas expires an old link this way)
  GET  /checkout/preferences/{id}
  GET  /v1/payments/{id}            the payment set through the control API, 404 otherwise

Control (for the tests, no token):
  PUT  /_fake/payments/{id}         body = the payment resource's JSON text, stored and served verbatim
                                    (so an amount such as 432.10 reaches cabanas exactly as written)
  POST /_fake/fail                  {"path": prefix, "method": "GET"|"POST"|…|null, "mode": "500"|"timeout"|
                                    "slow", "count": N (-1 = until cleared), "delay": seconds}
                                    500: answer 500; timeout: hold the request `delay` s, then drop it
                                    without doing anything; slow: wait `delay` s, then do the work and answer
  POST /_fake/clear                 removes every failure rule
  GET  /_fake/requests              every API request seen: [{"method","path","idempotency_key","body"}]
  GET  /_fake/preferences           {id: {"request": body, "idempotency_key", "updates": [bodies]}}
"""

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"payments": {}, "preferences": {}, "by_key": {}, "rules": [], "requests": [], "seq": 0}
TOKEN = [""]


def _rule_for(method, path):
    """The first active failure rule matching this request (its count is consumed)."""
    with LOCK:
        for rule in STATE["rules"]:
            if not path.startswith(rule["path"]):
                continue
            if rule.get("method") and rule["method"] != method:
                continue
            if rule["count"] == 0:
                continue
            if rule["count"] > 0:
                rule["count"] -= 1
            return dict(rule)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, obj=None, raw=None):
        data = raw if raw is not None else (json.dumps(obj).encode() if obj is not None else b"")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _control(self, method, body):
        path = self.path
        if method == "PUT" and path.startswith("/_fake/payments/"):
            pid = path[len("/_fake/payments/"):]
            json.loads(body)  # must be JSON; stored as written
            with LOCK:
                STATE["payments"][pid] = body
            return self._send(200, {"ok": True})
        if method == "POST" and path == "/_fake/fail":
            rule = json.loads(body)
            rule.setdefault("count", 1)
            rule.setdefault("delay", 5)
            rule.setdefault("method", None)
            with LOCK:
                STATE["rules"].append(rule)
            return self._send(200, {"ok": True})
        if method == "POST" and path == "/_fake/clear":
            with LOCK:
                STATE["rules"] = []
            return self._send(200, {"ok": True})
        if method == "GET" and path == "/_fake/requests":
            with LOCK:
                return self._send(200, list(STATE["requests"]))
        if method == "GET" and path == "/_fake/preferences":
            with LOCK:
                return self._send(200, STATE["preferences"])
        return self._send(404, {"message": "no such control"})

    def _api(self, method, body):
        path = self.path.split("?")[0]
        key = self.headers.get("X-Idempotency-Key")
        with LOCK:
            STATE["requests"].append({"method": method, "path": path, "idempotency_key": key,
                                      "body": body.decode("utf-8", "replace")})
        rule = _rule_for(method, path)
        if rule and rule["mode"] == "timeout":
            time.sleep(rule["delay"])
            self.close_connection = True
            return None
        if rule and rule["mode"] == "500":
            return self._send(500, {"message": "injected failure", "status": 500})
        if rule and rule["mode"] == "slow":
            time.sleep(rule["delay"])
        if self.headers.get("Authorization") != "Bearer " + TOKEN[0]:
            return self._send(401, {"message": "invalid access token", "status": 401})

        if method == "POST" and path == "/checkout/preferences":
            req = json.loads(body)
            with LOCK:
                if key and key in STATE["by_key"]:
                    pref = STATE["preferences"][STATE["by_key"][key]]
                else:
                    STATE["seq"] += 1
                    pid = "1234567890-fake-%06d" % STATE["seq"]
                    pref = {"request": req, "raw": body.decode(), "idempotency_key": key, "updates": [],
                            "id": pid}
                    STATE["preferences"][pid] = pref
                    if key:
                        STATE["by_key"][key] = pid
                pid = pref["id"]
                answer = {"id": pid, "external_reference": pref["request"].get("external_reference"),
                          "init_point": "https://www.mercadopago.com.ar/checkout/v1/redirect?pref_id=" + pid,
                          "sandbox_init_point": "https://sandbox.mercadopago.com.ar/checkout/v1/redirect?pref_id="
                          + pid,
                          "items": pref["request"].get("items"), "expires": pref["request"].get("expires")}
            return self._send(201, answer)
        if path.startswith("/checkout/preferences/"):
            pid = path[len("/checkout/preferences/"):]
            with LOCK:
                pref = STATE["preferences"].get(pid)
                if pref is None:
                    return self._send(404, {"message": "preference not found"})
                if method == "PUT":
                    upd = json.loads(body)
                    pref["updates"].append(upd)
                    pref["request"].update(upd)
                elif method != "GET":
                    return self._send(405, {"message": "method"})
                return self._send(200, dict(pref["request"], id=pid))
        if method == "GET" and path.startswith("/v1/payments/"):
            pid = path[len("/v1/payments/"):]
            with LOCK:
                raw = STATE["payments"].get(pid)
            if raw is None:
                return self._send(404, {"message": "Payment not found", "status": 404})
            return self._send(200, raw=raw)
        return self._send(404, {"message": "not found"})

    def _handle(self, method):
        body = self._body()
        if self.path.startswith("/_fake/"):
            return self._control(method, body)
        return self._api(method, body)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", default="TEST-fake-token")
    args = ap.parse_args()
    TOKEN[0] = args.token
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
