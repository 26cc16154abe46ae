"""The admin page in a real browser: tests/e2e/admin_flow.mjs drives Debian's headless Chromium through
playwright-core (installed by `scripts/install-deps.sh --test` with `npm ci` in tests/e2e/) against the real
binary, and saves screenshots of the dashboard and the calendar at 1280 and 360 px in tests/artifacts/.
Also runs the page's format functions under Node (tests/e2e/format.test.mjs).

Skipped, saying why, only where no browser (or Node) can be found. The data is seeded through the API so
the screenshots show a realistic month: the demo accommodations, holds, bookings and a block.
"""

import datetime
import json
import os
import shutil
import signal
import sqlite3
import struct
import time
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ServerTestCase  # noqa: E402

SECRET = "e2e-tests-jwt-secret-0123456789abcdef0123"
OWNER = "duena@example.com"
PASSWORD = "una-clave-larga-2026"
E2E_DIR = os.path.join(harness.ROOT, "tests", "e2e")
FLOW_TIMEOUT = 150


def find_browser():
    for c in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
              shutil.which("chromium"), shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


def run_bounded(argv, env, timeout, cwd):
    """Runs argv in its own process group (Node and the Chromium it starts), recorded for tests/run.sh and
    killed as a group if it outlives `timeout`. Returns (exit code, output)."""
    p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True)
    harness._record_pid(p.pid)
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        return 124, out.decode("utf-8", "replace") + "\n(killed after %d s)" % timeout
    return p.returncode, out.decode("utf-8", "replace")


class AdminPageInBrowserTest(ServerTestCase):

    def setUp(self):
        super().setUp()
        self.node = shutil.which("node")
        self.browser = find_browser()

    def need_node(self):
        if not self.node:
            self.skipTest("no Node.js found: install Debian's nodejs (scripts/install-deps.sh --test)")

    def test_format_functions(self):
        self.need_node()
        rc, out = run_bounded([self.node, os.path.join(E2E_DIR, "format.test.mjs")], dict(os.environ), 30, E2E_DIR)
        self.assertEqual(rc, 0, out)
        self.assertIn("format: ok", out)

    def seed(self, s, headers, today):
        def day(n):
            return (today + datetime.timedelta(days=n)).isoformat()

        p = s.run("seed")
        self.assertEqual(p.returncode, 0, p.stderr)
        accs = [a["id"] for a in json.loads(p.stdout.decode())["accommodations"]]
        guests = [("Sofía Benítez", 1, 4, 7, True), ("Julián Acosta", 2, 2, 5, False), ("Valentina Ríos", 3, 9, 12, True),
                  ("Tomás Herrera", 1, 15, 19, True), ("Camila Duarte", 2, 11, 13, False),
                  ("Joaquín Sosa", 3, 20, 24, False)]
        for name, acc, a, b, pay in guests:
            r = s.req("POST", "/api/v1/reservations", body={
                "accommodation_id": accs[acc - 1], "check_in": day(a), "check_out": day(b), "guests": 2,
                "guest_name": name, "guest_phone": "+54 9 294 400-%04d" % (a * 37)})
            self.assertEqual(r.status, 201, r)
            if pay:
                r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % r.json["code"], body={}, headers=headers)
                self.assertEqual(r.status, 200, r)
        r = s.req("POST", "/api/v1/admin/accommodations/%d/blocks" % accs[1], headers=headers,
                  body={"start": day(16), "end": day(19), "reason": "Pintura"})
        self.assertEqual(r.status, 201, r)
        # a message the delivery worker gave up on, for the page's retry
        now = int(time.time())
        with sqlite3.connect(s.database_url[len("sqlite://"):], timeout=15) as db:
            db.execute("INSERT INTO outbox (channel, template, recipient, status, attempts, next_attempt_at, "
                       "last_error, created_at, updated_at) VALUES ('email', 'booking_confirmed', "
                       "'huesped.viejo@example.com', 'dead', 30, ?, 'smtp: 550 mailbox unavailable', ?, ?)",
                       (now, now - 3600, now - 60))

    def test_owner_flow_in_chromium(self):
        self.need_node()
        if not self.browser:
            self.skipTest("no browser: Debian's chromium is not installed and could not be "
                          "(scripts/install-deps.sh --test installs it)")
        if not os.path.isdir(os.path.join(E2E_DIR, "node_modules", "playwright-core")):
            self.skipTest("playwright-core is not installed: run `npm ci` in tests/e2e "
                          "(scripts/install-deps.sh --test does)")
        s = self.server(args=("serve", "--migrate"), env={
            "RATE_LIMIT_ENABLED": "0", "JWT_SECRET": SECRET, "ADMIN_ALLOWED_EMAILS": OWNER, "HOLD_MINUTES": "120"})
        p = subprocess.run([harness.BIN, "admin", "set-password", OWNER], env=s.env, input=(PASSWORD + "\n").encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = s.run("admin", "token", OWNER)
        self.assertEqual(p.returncode, 0, p.stderr)
        headers = {"Authorization": "Bearer " + p.stdout.decode().strip()}
        stats = s.get("/api/v1/admin/dashboard/stats", headers=headers)
        self.assertEqual(stats.status, 200, stats)
        today = datetime.date.fromisoformat(stats.json["today"])
        self.seed(s, headers, today)

        shots = harness.ARTIFACTS
        names = ["admin-dashboard-1280.png", "admin-calendar-1280.png", "admin-dashboard-360.png",
                 "admin-calendar-360.png"]
        for n in names:
            if os.path.exists(os.path.join(shots, n)):
                os.unlink(os.path.join(shots, n))
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": s.tmp.path,
               "BASE_URL": "http://127.0.0.1:%d" % s.port, "ADMIN_EMAIL": OWNER, "ADMIN_PASSWORD": PASSWORD,
               "TODAY": today.isoformat(), "CHROMIUM": self.browser, "ARTIFACTS": shots,
               "NO_SANDBOX": "1" if os.geteuid() == 0 else "0"}
        rc, out = run_bounded([self.node, os.path.join(E2E_DIR, "admin_flow.mjs")], env, FLOW_TIMEOUT, E2E_DIR)
        with open(os.path.join(shots, "admin_e2e.out"), "w") as f:
            f.write(out)
        self.assertEqual(rc, 0, "admin_flow.mjs failed:\n" + out[-6000:])
        self.assertIn("e2e: ok", out)
        for n in names:
            w, h = png_size(os.path.join(shots, n))
            self.assertEqual(w, 1280 if "1280" in n else 360, n)
            self.assertGreater(h, 300, n)


if __name__ == "__main__":
    harness.main()
