"""Ops tools: `cabanas bench` (latency percentiles, SLO verdicts, the Markdown report) and
`cabanas overlap-test` (N identical holds released at once; exactly one may win).

The tools are clients: they run (under the same sanitizer build) against real servers started by the
harness. overlap-test runs against SQLite, and against a PostgreSQL cluster plus a Redis server started
once per class (a fresh database per test), including two instances on one database. To prove that the
test can catch a double booking, a scratch database has its guarantee removed (PostgreSQL: the exclusion
constraint and the claim-consistency trigger; SQLite: the overlap trigger on insert) and overlap-test must
then fail with more than one success.

A plain race is decided mostly by the server's read-only pre-check: on a fast machine the first hold often
commits before the other attempts are even read, and a missing guarantee goes unnoticed (measured: 10% of
runs on SQLite with 5 tries). So the decisive races run with the database's writes stalled for STALL_S
(SQLite: a connection holding BEGIN IMMEDIATE; PostgreSQL: a transaction holding SHARE ROW EXCLUSIVE on
stay_claims): every attempt passes the pre-check and queues at the write, which is the interleaving a slow
disk or a busy writer produces, and the database alone decides.

Dates: the tools count from today in UTC; the explicit stays below start 20+ days ahead, far from any
time-zone boundary.
"""

import contextlib
import datetime
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Postgres, Redis, ServerTestCase, free_port  # noqa: E402

BASE_ENV = {"RATE_LIMIT_ENABLED": "0", "HTTP_THREADS": "8", "DB_POOL_SIZE": "8"}
DEFAULT_PATHS = ["/api/v1/healthz", "/api/v1/readyz", "/api/v1/accommodations", None, "/metrics"]
STALL_S = 1.0  # writes stay refused this long after the attempts start (SQLite's busy timeout is 5 s)
SUMMARY_KEYS = {"base_url", "base_urls", "accommodation_id", "check_in", "check_out", "concurrency", "successes",
                "conflicts", "other", "statuses", "codes", "cancelled", "kept", "verdict"}


def utc_day(n):
    return (datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=n)).isoformat()


def plus(d, n):
    return (datetime.date.fromisoformat(d) + datetime.timedelta(days=n)).isoformat()


def client_env(extra=None):
    """A clean environment for the client tools: no RUN_MUTATING unless a test sets it."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
         "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
    e.update(extra or {})
    return e


class Run:
    """A finished tool run: exit code, stdout, stderr (from a CompletedProcess)."""

    def __init__(self, p):
        self.rc = p.returncode
        self.out = p.stdout.decode("utf-8", "replace")
        self.err = p.stderr.decode("utf-8", "replace")

    @property
    def json(self):
        return json.loads(self.out)

    @property
    def summary(self):
        """overlap-test's last stdout line."""
        return json.loads(self.out.strip().splitlines()[-1])

    def __repr__(self):
        return "<exit %d\nstdout: %s\nstderr: %s>" % (self.rc, self.out[-3000:], self.err[-3000:])


class ToolsTestCase(ServerTestCase):
    def tool(self, *args, env=None, timeout=180):
        p = subprocess.run([BIN] + [str(a) for a in args], env=client_env(env), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return self.checked(Run(p), args[0])

    def checked(self, r, what):
        reports = [m for m in harness.SANITIZER_MARKERS if m in r.err]
        self.assertEqual(reports, [], "sanitizer report from %s: %r" % (what, r))
        return r

    def overlap(self, *args, mutating=True, **kw):
        return self.tool("overlap-test", *args, env={"RUN_MUTATING": "1"} if mutating else None, **kw)

    def start(self, seed=True, env=None, database_url=None, name="cabanas"):
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

    def base_env(self):
        return {}

    def new_database_url(self):
        return "sqlite://" + harness.Tmp().file("tools.db")

    def url(self, s, suffix=""):
        return "http://127.0.0.1:%d%s" % (s.port, suffix)

    def migrate(self, database_url):
        p = subprocess.run([BIN, "migrate"], env=client_env({"DATABASE_URL": database_url}), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)


# --- bench ----------------------------------------------------------------------------------------------

class BenchTest(ToolsTestCase):
    def check_endpoint(self, e, requests):
        self.assertEqual(e["requests"], requests, e)
        self.assertEqual(e["errors"], 0, e)
        self.assertEqual(e["error_rate"], 0, e)
        self.assertEqual(e["latency_samples"], requests, e)
        self.assertLessEqual(e["min_ms"], e["p50_ms"], e)
        self.assertLessEqual(e["p50_ms"], e["p95_ms"], e)
        self.assertLessEqual(e["p95_ms"], e["p99_ms"], e)
        self.assertLessEqual(e["p99_ms"], e["max_ms"], e)
        self.assertGreater(e["rps"], 0, e)
        self.assertEqual(e["slo"], {"p95": True, "error_rate": True, "pass": True}, e)

    def test_default_endpoints_json(self):
        s = self.start()
        r = self.tool("bench", "--base-url", self.url(s), "--requests", 40, "--concurrency", 4, "--json")
        self.assertEqual(r.rc, 0, r)
        j = r.json
        self.assertEqual(j["base_url"], self.url(s))
        self.assertEqual(j["environment"], "staging")
        self.assertEqual(j["percentiles"], "nearest-rank")
        self.assertEqual(j["settings"], {"concurrency": 4, "requests": 40, "timeout_s": 10, "slo_p95_ms": 3000,
                                         "slo_error_rate": 0.01})
        self.assertTrue(j["slo_pass"])
        paths = [e["path"] for e in j["endpoints"]]
        avail = "/api/v1/availability?check_in=%s&check_out=%s&guests=2" % (utc_day(14), utc_day(16))
        self.assertEqual(paths, [p or avail for p in DEFAULT_PATHS])
        for e in j["endpoints"]:
            self.check_endpoint(e, 40)
            self.assertEqual(e["4xx"], 0, e)
            self.assertEqual(e["url"], self.url(s) + e["path"])
        # the bench's requests reached the server, through kept-alive connections
        metrics = s.get("/metrics").body.decode()
        self.assertRegex(metrics, r'http_requests_total\{method="GET",route="/api/v1/readyz",status="200"\} 40\b')

    def test_table_and_report(self):
        s = self.start()
        report = harness.Tmp().file("runtime.md")
        r = self.tool("bench", "--base-url", self.url(s, "/api/v1/"), "--requests", 20, "--report", report,
                      "--environment", "ci-staging")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("p95 ms", r.out)
        self.assertIn("PASS", r.out)
        for p in DEFAULT_PATHS[:3] + DEFAULT_PATHS[4:]:
            self.assertRegex(r.out, r"(?m)^\s+20\s+0\s+0\s.*\sok\s+%s$" % re.escape(p))
        with open(report, encoding="utf-8") as f:
            md = f.read()
        self.assertTrue(md.startswith("# "), md[:200])
        self.assertIn(self.url(s), md)
        self.assertIn("ci-staging", md)
        self.assertRegex(md, r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC")
        self.assertIn("nearest-rank", md)
        self.assertRegex(md, r"(?m)^\| `/api/v1/healthz` \| 20 \| 0 \| 0 \| 0\.00 % \|")
        self.assertEqual(len(re.findall(r"(?m)^- ✅ `", md)), 5, md)
        self.assertNotIn("❌", md)
        self.assertRegex(md, r"(?m)^\*\*Global: ✅")
        self.assertRegex(md, r"(?m)^## Notas\n\n- \S")

    def test_endpoint_repeatable_and_relative(self):
        s = self.start()
        r = self.tool("bench", "--base-url", self.url(s), "--requests", 15, "--concurrency", 3, "--json",
                      "--endpoint", "healthz", "--endpoint", "/api/v1/version", "--endpoint=accommodations/1",
                      "--endpoint", "nope")
        self.assertEqual(r.rc, 0, r)
        eps = r.json["endpoints"]
        self.assertEqual([e["path"] for e in eps],
                         ["/api/v1/healthz", "/api/v1/version", "/api/v1/accommodations/1", "/api/v1/nope"])
        for e in eps:
            self.check_endpoint(e, 15)
        # a 404 is counted as 4xx, not as an error
        self.assertEqual([e["4xx"] for e in eps], [0, 0, 0, 15])

    def test_dead_server_fails_the_error_slo(self):
        port = free_port()
        r = self.tool("bench", "--base-url", "http://127.0.0.1:%d" % port, "--requests", 5, "--concurrency", 2,
                      "--timeout", 2, "--json")
        self.assertEqual(r.rc, 1, r)
        j = r.json
        self.assertFalse(j["slo_pass"])
        self.assertEqual(len(j["endpoints"]), 5)
        for e in j["endpoints"]:
            self.assertEqual((e["requests"], e["errors"], e["transport_errors"], e["error_rate"]), (5, 5, 5, 1.0), e)
            self.assertIsNone(e["p95_ms"], e)
            self.assertFalse(e["slo"]["pass"], e)
        report = harness.Tmp().file("dead.md")
        r = self.tool("bench", "--base-url", "http://127.0.0.1:%d" % port, "--requests", 2, "--report", report)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("FAIL", r.out)
        with open(report, encoding="utf-8") as f:
            md = f.read()
        self.assertEqual(len(re.findall(r"(?m)^- ❌ `", md)), 5, md)
        self.assertRegex(md, r"(?m)^\*\*Global: ❌")

    def test_slow_endpoint_against_the_p95_slo(self):
        s = self.start(seed=False)
        slow = "/api/v1/_test/sleep?ms=50"
        r = self.tool("bench", "--base-url", self.url(s), "--requests", 8, "--concurrency", 2, "--endpoint", slow,
                      "--slo-p95-ms", 10, "--json")
        self.assertEqual(r.rc, 1, r)
        e = r.json["endpoints"][0]
        self.assertEqual(e["errors"], 0, e)
        self.assertGreaterEqual(e["min_ms"], 50, e)
        self.assertEqual(e["slo"], {"p95": False, "error_rate": True, "pass": False}, e)
        r = self.tool("bench", "--base-url", self.url(s), "--requests", 8, "--concurrency", 2, "--endpoint", slow,
                      "--slo-p95-ms", 5000, "--json")
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(r.json["slo_pass"])

    def test_usage_errors(self):
        url = "http://127.0.0.1:%d" % free_port()
        bad = [
            [],
            ["--bogus"],
            ["--base-url"],
            ["--base-url", "ftp://example.com"],
            ["--base-url", "127.0.0.1:8080"],
            ["--base-url", url, "--requests", "abc"],
            ["--base-url", url, "--requests", "0"],
            ["--base-url", url, "--requests", "10x"],
            ["--base-url", url, "--concurrency", "-1"],
            ["--base-url", url, "--concurrency", "100000"],
            ["--base-url", url, "--timeout"],
            ["--base-url", url, "--timeout", "0"],
            ["--base-url", url, "--slo-p95-ms", "fast"],
            ["--base-url", url, "--slo-error-rate", "2"],
            ["--base-url", url, "--slo-error-rate", "nan"],
            ["--base-url", url, "--endpoint", ""],
            ["--base-url", url, "--report"],
            ["--base-url", url, "extra"],
        ]
        for argv in bad:
            r = self.tool("bench", *argv)
            self.assertEqual(r.rc, 2, (argv, r))
            self.assertIn("usage: cabanas bench", r.err, argv)
            self.assertEqual(r.out, "", argv)
        r = self.tool("bench", "--help")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("nearest-rank", r.out)
        self.assertIn("ceil(p/100*n)-1", r.out)


# --- overlap-test ---------------------------------------------------------------------------------------

class OverlapChecks:
    """Mixed into one TestCase per engine."""

    engine = None

    def reservation(self, s, code):
        r = s.get("/api/v1/reservations/" + code)
        self.assertEqual(r.status, 200, r)
        return r.json

    def stalled_race(self, database_url, *args):
        """overlap-test while the database refuses writes (see the module docstring). The stall lasts until
        STALL_S after overlap-test has found its stay (its "N attempts at ..." line on stderr): enough for
        the warm-up requests, the barrier and the pre-checks, however long the discovery took."""
        argv = [BIN, "overlap-test"] + [str(a) for a in args]
        with self.writes_stalled(database_url):
            p = subprocess.Popen(argv, env=client_env({"RUN_MUTATING": "1"}), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            err_lines, ready = [], threading.Event()

            def read_stderr():
                for line in p.stderr:
                    err_lines.append(line)
                    if b" attempts at accommodation " in line:
                        ready.set()
                ready.set()

            reader = threading.Thread(target=read_stderr, daemon=True)
            reader.start()
            try:
                ready.wait(60)
                time.sleep(STALL_S)
            except BaseException:
                p.kill()
                raise
        out = p.stdout.read()
        p.wait(timeout=180)
        reader.join(timeout=30)
        r = Run(subprocess.CompletedProcess(argv, p.returncode, out, b"".join(err_lines)))
        return self.checked(r, "overlap-test")

    def conflicts_by_reason(self, s):
        text = s.get("/metrics").body.decode()
        out = {}
        for m in re.finditer(r'(?m)^reservations_conflicts_total\{reason="([a-z_]+)"\} (\d+)$', text):
            out[m.group(1)] = int(m.group(2))
        return out

    def assert_one_winner(self, r, n):
        self.assertEqual(r.rc, 0, r)
        lines = r.out.strip().splitlines()
        self.assertEqual(len(lines), n + 1, r)
        for i, line in enumerate(lines[:-1]):
            self.assertRegex(line, r"^Attempt %d: (201 Created \(success\)|409 Conflict \(overlap detected\))$"
                             % (i + 1))
        self.assertEqual(sum("201 Created" in l for l in lines), 1, r)
        self.assertEqual(sum("409 Conflict" in l for l in lines), n - 1, r)
        j = r.summary
        self.assertEqual(set(j), SUMMARY_KEYS, j)
        self.assertEqual((j["concurrency"], j["successes"], j["conflicts"], j["other"], j["verdict"]),
                         (n, 1, n - 1, 0, "pass"), j)
        self.assertEqual(len(j["codes"]), 1, j)
        self.assertRegex(j["codes"][0], r"^RES[0-9A-Z]{10}$")
        self.assertEqual(sorted(j["statuses"]), [201] + [409] * (n - 1), j)
        return j

    def test_refuses_without_run_mutating(self):
        s = self.start()
        for env in (None, {"RUN_MUTATING": "0"}, {"RUN_MUTATING": ""}, {"RUN_MUTATING": "on"}):
            r = self.tool("overlap-test", "--base-url", self.url(s), env=env)
            self.assertEqual(r.rc, 3, (env, r))
            self.assertIn("RUN_MUTATING", r.err)
            self.assertIn("creates a reservation", r.err)
            self.assertEqual(r.out, "")
        self.assertNotIn('method="POST",route="/api/v1/reservations"', s.get("/metrics").body.decode())
        for flag in ("true", "yes", "1"):
            r = self.tool("overlap-test", "--base-url", self.url(s), env={"RUN_MUTATING": flag})
            self.assert_one_winner(r, 2)

    def test_concurrency_2_and_20_one_winner_then_cancelled(self):
        s = self.start()
        first = s.seeded[0]["id"]
        j2 = self.assert_one_winner(self.overlap("--base-url", self.url(s)), 2)
        self.assertEqual(j2["accommodation_id"], first)
        self.assertEqual((j2["check_in"], j2["check_out"]), (utc_day(14), utc_day(16)))  # min_nights 2
        self.assertEqual(j2["cancelled"], j2["codes"])
        res = self.reservation(s, j2["codes"][0])
        self.assertEqual(res["status"], "cancelled")
        self.assertEqual(res["channel"], "api")
        # the cancelled hold freed its nights, so the next run races for the same ones
        j20 = self.assert_one_winner(self.overlap("--base-url", self.url(s, "/api/v1"), "--concurrency", 20), 20)
        self.assertEqual((j20["check_in"], j20["check_out"]), (j2["check_in"], j2["check_out"]))
        self.assertEqual(j20["cancelled"], j20["codes"])
        self.assertEqual(self.reservation(s, j20["codes"][0])["status"], "cancelled")
        self.assertNotEqual(j20["codes"], j2["codes"])

    def test_keep_leaves_the_hold_and_the_next_run_moves_on(self):
        s = self.start()
        j = self.assert_one_winner(self.overlap("--base-url", self.url(s), "--keep", "--concurrency", 5), 5)
        self.assertEqual(j["cancelled"], [])
        self.assertTrue(j["kept"])
        res = self.reservation(s, j["codes"][0])
        self.assertEqual(res["status"], "pre_reserved")
        self.assertEqual((res["check_in"], res["check_out"]), (j["check_in"], j["check_out"]))
        # the kept hold blocks 14..16: the search moves forward a day at a time to a free range (16..18)
        j2 = self.assert_one_winner(self.overlap("--base-url", self.url(s)), 2)
        self.assertEqual((j2["check_in"], j2["check_out"]), (utc_day(16), utc_day(18)))
        self.assertEqual(self.reservation(s, j["codes"][0])["status"], "pre_reserved")

    def test_explicit_stay_and_guest(self):
        s = self.start()
        acc = s.seeded[2]["id"]  # Departamento Centro, min_nights 1
        ci = utc_day(40)
        j = self.assert_one_winner(self.overlap("--base-url", self.url(s), "--accommodation-id", acc,
                                                "--check-in", ci, "--concurrency", 3, "--guest-name",
                                                "Carla Ruiz", "--guest-phone", "+54 9 11 4444-1234", "--keep"), 3)
        self.assertEqual((j["accommodation_id"], j["check_in"], j["check_out"]), (acc, ci, plus(ci, 2)))
        res = self.reservation(s, j["codes"][0])
        self.assertEqual((res["guest_name"], res["guest_phone"], res["guests"]), ("C**** R***", "*********1234", 1))
        # explicit dates are used as given, even when taken: then every attempt is a 409 and the test fails
        r = self.overlap("--base-url", self.url(s), "--accommodation-id", acc, "--check-in", ci, "--check-out",
                         plus(ci, 3))
        self.assertEqual(r.rc, 1, r)
        self.assertEqual((r.summary["successes"], r.summary["conflicts"], r.summary["verdict"]), (0, 2, "fail"))
        # an unknown accommodation is a runtime failure, before any hold is attempted
        r = self.overlap("--base-url", self.url(s), "--accommodation-id", 999999)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("404", r.err)
        self.assertEqual(r.out, "")

    def test_usage_errors(self):
        url = "http://127.0.0.1:%d" % free_port()
        bad = [
            [],
            ["--bogus"],
            ["--base-url"],
            ["--base-url", "localhost:8080"],
            ["--base-url", url, "--concurrency", "1"],
            ["--base-url", url, "--concurrency", "201"],
            ["--base-url", url, "--concurrency", "two"],
            ["--base-url", url, "--accommodation-id", "0"],
            ["--base-url", url, "--check-in", "2027-02-30"],
            ["--base-url", url, "--check-in", utc_day(30), "--check-out", utc_day(30)],
            ["--base-url", url, "--check-out", utc_day(30)],
            ["--base-url", url, "--timeout", "-5"],
            ["--base-url", url, "--guest-name", ""],
        ]
        for argv in bad:
            for env in (None, {"RUN_MUTATING": "1"}):
                r = self.tool("overlap-test", *argv, env=env)
                self.assertEqual(r.rc, 2, (argv, env, r))
                self.assertIn("usage: RUN_MUTATING=1 cabanas overlap-test", r.err)
        r = self.tool("overlap-test", "--help")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("--keep", r.out)

    def test_catches_a_double_booking(self):
        # Without the database guarantee the race lets several holds through; overlap-test must say so.
        url = self.new_database_url()
        self.migrate(url)
        self.remove_guarantee(url)
        # as many handler threads and connections as attempts, so the 20 pre-checks can run side by side
        s = self.start(database_url=url, env={"HTTP_THREADS": "20", "DB_POOL_SIZE": "20"})
        detected = []
        for k in range(5):
            ci = utc_day(30 + 5 * k)
            r = self.stalled_race(url, "--base-url", self.url(s), "--concurrency", 20, "--check-in", ci,
                                  "--check-out", plus(ci, 2))
            j = r.summary
            self.assertEqual(j["other"], 0, r)
            self.assertEqual(j["successes"] + j["conflicts"], 20, r)
            # cleanup cancels every hold it created, double bookings included
            self.assertEqual(sorted(j["cancelled"]), sorted(j["codes"]), r)
            for code in j["codes"]:
                self.assertEqual(self.reservation(s, code)["status"], "cancelled")
            if j["successes"] > 1:
                self.assertEqual(r.rc, 1, r)
                self.assertEqual(j["verdict"], "fail", r)
                self.assertEqual(sum("201 Created (success)" in l for l in r.out.splitlines()), j["successes"])
                self.assertIn("FAIL", r.err)
                detected.append(j["successes"])
                break
            self.assertEqual(r.rc, 0, r)  # a single winner by timing: the stall ended before the attempts came
        self.assertTrue(detected, "5 races without the guarantee never let two holds through")

    def test_database_decides_when_every_attempt_passes_the_precheck(self):
        # The control for the test above: the same stalled race with the guarantee in place. The attempts
        # that reach the pre-check during the stall all pass it, so those refusals come from the database
        # (the claim insert). Not all 19: libmicrohttpd may put two connections on one handler thread, and
        # the second request is then read only after the first has finished, when the pre-check sees it.
        # On a loaded machine a stall can end before the attempts arrive: up to 3 races, each with exactly one
        # winner, until one shows refusals by the database.
        url = self.new_database_url()
        s = self.start(database_url=url, env={"HTTP_THREADS": "20", "DB_POOL_SIZE": "20"})
        seen = []
        for _ in range(3):
            before = self.conflicts_by_reason(s)
            j = self.assert_one_winner(self.stalled_race(url, "--base-url", self.url(s), "--concurrency", 20), 20)
            self.assertEqual(j["cancelled"], j["codes"])
            after = self.conflicts_by_reason(s)
            by_db = after.get("date_overlap", 0) - before.get("date_overlap", 0)
            by_precheck = after.get("precheck", 0) - before.get("precheck", 0)
            self.assertEqual(by_db + by_precheck, 19, after)
            seen.append(by_db)
            if by_db >= 1:
                break
        self.assertGreaterEqual(seen[-1], 1, "no attempt reached the database in 3 stalled races: %r" % seen)


class SqliteOverlapTest(OverlapChecks, ToolsTestCase):
    engine = "sqlite"

    @contextlib.contextmanager
    def writes_stalled(self, database_url):
        # WAL: readers (the pre-check) go on; writers wait in SQLite's busy handler
        db = sqlite3.connect(database_url[len("sqlite://"):], isolation_level=None, timeout=10)
        try:
            db.execute("BEGIN IMMEDIATE")
            yield
        finally:
            db.close()  # rolls back

    def remove_guarantee(self, database_url):
        path = database_url[len("sqlite://"):]
        db = sqlite3.connect(path)
        try:
            db.execute("DROP TRIGGER stay_claims_no_overlap_insert")
            db.commit()
        finally:
            db.close()


class PostgresOverlapTest(OverlapChecks, ToolsTestCase, harness.PostgresRedisTestCase):
    engine = "postgresql"

    def new_database_url(self):
        return self.fresh_database("tools")

    def base_env(self):
        return {"REDIS_URL": self.redis.url}

    @contextlib.contextmanager
    def writes_stalled(self, database_url):
        # SHARE ROW EXCLUSIVE lets SELECT (the pre-check) through and blocks every INSERT into stay_claims
        argv = [os.path.join(self.pg.bindir, "psql"), "-h", "127.0.0.1", "-p", str(self.pg.port), "-U", "postgres",
                "-d", database_url.rsplit("/", 1)[1], "-v", "ON_ERROR_STOP=1", "-tA"]
        if harness._as_postgres_user():
            argv = ["runuser", "-u", "postgres", "--"] + argv
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        harness._record_pid(p.pid)
        try:
            p.stdin.write(b"BEGIN;\nLOCK TABLE stay_claims IN SHARE ROW EXCLUSIVE MODE;\nSELECT 'locked';\n")
            p.stdin.flush()
            seen = b""
            while b"locked" not in seen:
                line = p.stdout.readline()
                self.assertTrue(line, "psql ended before taking the lock: %r" % seen)
                seen += line
            yield
        finally:
            try:
                p.stdin.write(b"ROLLBACK;\n")
                p.stdin.close()
            except OSError:
                pass
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def remove_guarantee(self, database_url):
        db = database_url.rsplit("/", 1)[1]
        self.pg.psql("ALTER TABLE stay_claims DROP CONSTRAINT stay_claims_no_overlap", db=db)
        self.pg.psql("DROP TRIGGER reservations_claim_consistent ON reservations", db=db)

    def test_engine_is_postgresql_with_redis(self):
        s = self.start(seed=False)
        h = s.get("/api/v1/healthz").json
        self.assertEqual((h["checks"]["database"]["engine"], h["checks"]["redis"]["status"]), ("postgresql", "ok"))

    def test_two_instances_one_database(self):
        url = self.new_database_url()
        s1 = self.start(database_url=url, name="one")
        s2 = self.start(database_url=url, seed=False, name="two")
        for n in (2, 20):
            j = self.assert_one_winner(self.overlap("--base-url", self.url(s1), "--base-url", self.url(s2),
                                                    "--concurrency", n), n)
            self.assertEqual(j["base_url"], self.url(s1))
            self.assertEqual(j["base_urls"], [self.url(s1), self.url(s2)])
            self.assertEqual(self.reservation(s2, j["codes"][0])["status"], "cancelled")
        # round-robin: both instances answered holds
        for s in (s1, s2):
            self.assertRegex(s.get("/metrics").body.decode(),
                             r'http_requests_total\{method="POST",route="/api/v1/reservations",status="409"\} '
                             r'([1-9]\d*)')

    def test_two_instances_without_redis(self):
        # No shared lock: only the database decides between the instances.
        url = self.new_database_url()
        s1 = self.start(database_url=url, env={"REDIS_URL": ""}, name="one")
        s2 = self.start(database_url=url, env={"REDIS_URL": ""}, seed=False, name="two")
        self.assert_one_winner(self.overlap("--base-url", self.url(s1), "--base-url", self.url(s2),
                                            "--concurrency", 20), 20)


if __name__ == "__main__":
    harness.main()
