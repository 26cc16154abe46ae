"""Platform: the binary, HTTP behaviour, health/readiness/metrics, config, migrations, shutdown.

Each check that depends on the engine runs twice: against SQLite, and against a PostgreSQL cluster plus a
Redis server that this module starts in temporary directories.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Cabanas, Postgres, Redis, ServerTestCase, request, wait_for  # noqa: E402

PROBLEM_KEYS = {"type", "title", "status", "detail", "error"}


def assert_problem(tc, r, status, code):
    tc.assertEqual(r.status, status, r)
    tc.assertTrue(r.header("content-type").startswith("application/problem+json"), r.headers)
    body = r.json
    tc.assertEqual(set(body), PROBLEM_KEYS, body)
    tc.assertEqual(body["status"], status)
    tc.assertEqual(body["error"], code)
    tc.assertTrue(r.header("x-request-id"), "every response carries X-Request-ID")


def promtool_check(tc, text):
    p = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    tc.assertEqual(p.returncode, 0, "promtool check metrics:\n" + p.stdout.decode())


class EngineChecks:
    """Mixed into one TestCase per engine; self.start() returns a running server on that engine."""

    engine = None

    def test_healthz_reports_each_dependency(self):
        s = self.start()
        r = s.get("/api/v1/healthz")
        self.assertEqual(r.status, 200, r)
        body = r.json
        self.assertEqual(body["status"], "healthy")
        self.assertEqual(body["checks"]["database"]["status"], "ok")
        self.assertEqual(body["checks"]["database"]["engine"], self.engine)
        self.assertIsInstance(body["checks"]["database"]["latency_ms"], (int, float))
        self.assertEqual(body["checks"]["redis"]["status"], self.redis_status)
        self.assertEqual(body["version"], s.run("version").stdout.decode().split()[1])

    def test_readyz_ready_with_current_schema(self):
        s = self.start()
        r = s.get("/api/v1/readyz")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "ready")
        self.assertEqual(r.json["schema_version"], r.json["schema_latest"])

    def test_metrics_prometheus_format(self):
        s = self.start()
        s.get("/api/v1/healthz")
        s.get("/api/v1/nope/123")
        r = s.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/plain; version=0.0.4"), r.headers)
        text = r.body.decode()
        promtool_check(self, text)
        for name in ("http_requests_total", "http_request_duration_seconds_bucket", "process_start_time_seconds",
                     "process_resident_memory_bytes", "db_pool_connections_max", "db_pool_connections_in_use",
                     "redis_connected", "cabanas_build_info{"):
            self.assertIn(name, text)
        self.assertRegex(text, r'http_requests_total\{method="GET",route="/api/v1/healthz",status="200"\} [1-9]')
        # raw paths never become labels
        self.assertNotIn("/api/v1/nope/123", text)
        self.assertIn('route="unmatched"', text)
        rss = float(re.search(r"^process_resident_memory_bytes (\S+)$", text, re.M).group(1))
        self.assertGreater(rss, 1e6)

    def test_concurrent_migrate_is_safe(self):
        s = self.start()
        url = self.fresh_database_url()
        env = dict(s.env, DATABASE_URL=url)
        procs = [subprocess.Popen([BIN, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for _ in range(3)]
        outs = [p.communicate(timeout=60) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, (out, err))
        total_applied = sum(int(re.search(rb"applied (\d+)", o).group(1)) for o, _ in outs)
        status = subprocess.run([BIN, "migrate", "--status"], env=env, stdout=subprocess.PIPE, timeout=30)
        self.assertIn(b"up to date", status.stdout)
        # versions are assigned per feature branch and may have gaps: count the migration files
        engine = "postgres" if url.startswith("postgres") else "sqlite"
        files = len(os.listdir(os.path.join(harness.ROOT, "migrations", engine)))
        self.assertEqual(total_applied, files, "each migration applied exactly once across the three runs")

    def test_serve_refuses_a_schema_behind(self):
        url = self.fresh_database_url()
        s = Cabanas(database_url=url, wait_ready=False, env=self.extra_env())
        rc = s.wait(timeout=30)
        self.assertNotEqual(rc, 0)
        self.assertIn("cabanas migrate", s.log())
        s2 = self.server(database_url=url, args=("serve", "--migrate"), env=self.extra_env())
        self.assertEqual(s2.get("/api/v1/readyz").status, 200)


class SqlitePlatformTest(EngineChecks, ServerTestCase):
    engine = "sqlite"
    redis_status = "disabled"

    def extra_env(self):
        return {}

    def start(self, **kw):
        s = self.server(args=("serve", "--migrate"), **kw)
        return s

    def fresh_database_url(self):
        tmp = harness.Tmp()
        return "sqlite://" + tmp.file("fresh.db")

    # --- HTTP behaviour (engine-independent, run once) ---

    def test_errors_are_problem_json(self):
        s = self.start()
        assert_problem(self, s.get("/api/v1/does-not-exist"), 404, "not_found")
        assert_problem(self, s.get("/"), 404, "not_found")
        r = s.req("POST", "/api/v1/healthz", body={})
        assert_problem(self, r, 405, "method_not_allowed")
        self.assertEqual(r.header("allow"), "GET, HEAD")
        r = s.req("POST", "/api/v1/_test/echo", body="{not json", headers={"Content-Type": "application/json"})
        assert_problem(self, r, 400, "invalid_json")
        r = s.req("POST", "/api/v1/_test/echo", body='{"a":1}', headers={"Content-Type": "text/plain"})
        assert_problem(self, r, 415, "unsupported_media_type")
        r = s.req("POST", "/api/v1/_test/echo", body='{"a":1,"a":2}', headers={"Content-Type": "application/json"})
        assert_problem(self, r, 400, "invalid_json")
        r = s.req("POST", "/api/v1/_test/echo", body={"a": [1, 2]},
                  headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["json"], {"a": [1, 2]})

    def test_header_limit(self):
        """docs/api.md: about 16 KiB of request line and headers per request (libmicrohttpd's connection
        memory); more is refused, never a crash or a hang, and the server goes on serving."""
        s = self.start()
        browser_like = {"X-Pad-%d" % i: "v" * 200 for i in range(30)}  # 6 KiB: more than browsers send
        r = s.get("/api/v1/version", headers=browser_like)
        self.assertEqual(r.status, 200, r)
        r = s.get("/api/v1/version", headers={"X-Big": "a" * 12000})
        self.assertEqual(r.status, 200, r)
        r = s.get("/api/v1/version", headers={"X-Big": "a" * 40000})
        self.assertEqual(r.status, 431, r)
        self.assertEqual(s.get("/api/v1/version").status, 200)

    def test_body_limit_413(self):
        s = self.start(env={"MAX_BODY_BYTES": "65536"})
        big = b'{"x":"' + b"a" * 70000 + b'"}'
        r = s.req("POST", "/api/v1/_test/echo", body=big, headers={"Content-Type": "application/json"})
        assert_problem(self, r, 413, "payload_too_large")
        # chunked: no Content-Length, so the limit is enforced while reading
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        head = ("POST /api/v1/_test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
        sock.sendall(head)
        chunk = b"a" * 8192
        for _ in range(10):
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        data = b""
        while True:
            part = sock.recv(65536)
            if not part:
                break
            data += part
        sock.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:200])
        self.assertIn(b'"error":"payload_too_large"', data)
        # the server is fine afterwards
        self.assertEqual(s.get("/api/v1/healthz").status, 200)

    def test_head_works_wherever_get_does(self):
        s = self.start()
        for path in ("/api/v1/healthz", "/api/v1/readyz", "/api/v1/version", "/metrics"):
            g = s.get(path)
            h = s.req("HEAD", path)
            self.assertEqual(h.status, g.status, path)
            self.assertEqual(h.body, b"", path)
            self.assertEqual(h.header("content-type"), g.header("content-type"))

    def test_request_id(self):
        s = self.start()
        r = s.get("/api/v1/version", headers={"X-Request-ID": "abc-123_x.y"})
        self.assertEqual(r.header("x-request-id"), "abc-123_x.y")
        for bad in ("has space", "x" * 65, "", "semi;colon", "ünï"):
            r = s.get("/api/v1/version", headers={"X-Request-ID": bad.encode("utf-8").decode("latin-1")})
            rid = r.header("x-request-id")
            self.assertRegex(rid, r"^[0-9a-f]{32}$", bad)
        r = s.get("/nope", headers={"X-Request-ID": "keep-me"})
        self.assertEqual(r.status, 404)
        self.assertEqual(r.header("x-request-id"), "keep-me")
        # the access log line carries it, with the route template
        wait_for(lambda: any(l.get("request_id") == "keep-me" for l in s.log_lines_json()), 5, what="log line")
        line = [l for l in s.log_lines_json() if l.get("request_id") == "keep-me"][0]
        for key in ("ts", "level", "request_id", "method", "route", "status", "duration_ms", "bytes"):
            self.assertIn(key, line)
        self.assertEqual(line["status"], 404)
        self.assertEqual(line["route"], "unmatched")

    def test_security_and_cors_headers(self):
        s = self.start(env={"ALLOWED_ORIGINS": "https://admin.example, https://web.example"})
        r = s.get("/api/v1/version", headers={"Origin": "https://web.example"})
        self.assertEqual(r.header("access-control-allow-origin"), "https://web.example")
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.header("x-frame-options"), "DENY")
        self.assertIn("default-src 'none'", r.header("content-security-policy"))
        r = s.get("/api/v1/version", headers={"Origin": "https://evil.example"})
        self.assertIsNone(r.header("access-control-allow-origin"))
        r = s.req("OPTIONS", "/api/v1/healthz", headers={"Origin": "https://admin.example",
                                                          "Access-Control-Request-Method": "GET"})
        self.assertEqual(r.status, 204)
        self.assertEqual(r.header("access-control-allow-origin"), "https://admin.example")
        self.assertIn("GET", r.header("access-control-allow-methods"))

    def test_version_endpoint(self):
        s = self.start()
        r = s.get("/api/v1/version")
        self.assertEqual(r.status, 200)
        self.assertEqual(set(r.json), {"version", "commit"})
        out = s.run("version").stdout.decode()
        self.assertIn(r.json["version"], out)
        self.assertIn(r.json["commit"], out)

    def test_sigterm_drains_in_flight_requests(self):
        s = self.start(env={"SHUTDOWN_DRAIN_SECONDS": "10"})
        results = []

        def slow():
            results.append(s.get("/api/v1/_test/sleep?ms=1500", timeout=20).status)

        threads = [threading.Thread(target=slow) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.4)  # the three requests are now inside the handler
        t0 = time.monotonic()
        s.signal(signal.SIGTERM)
        # readiness turns 503 at once, while the slow requests are still running
        r = wait_for(lambda: (lambda x: x if x.status == 503 else None)(s.get("/api/v1/readyz", timeout=2)), 2,
                     what="readyz 503")
        self.assertEqual(r.json, {"status": "not_ready", "reason": "draining"})
        for t in threads:
            t.join(20)
        self.assertEqual(results, [200, 200, 200])
        rc = s.wait(timeout=15)
        self.assertEqual(rc, 0, s.log()[-2000:])
        self.assertLess(time.monotonic() - t0, 8)

    def test_drain_is_bounded(self):
        s = self.start(env={"SHUTDOWN_DRAIN_SECONDS": "1"})
        t = threading.Thread(target=lambda: self._swallow(lambda: s.get("/api/v1/_test/sleep?ms=6000", timeout=20)))
        t.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        s.signal(signal.SIGTERM)
        rc = s.wait(timeout=20)
        elapsed = time.monotonic() - t0
        self.assertEqual(rc, 0)
        self.assertIn("drain time over", s.log())
        # the handler still running is not interrupted mid-write; stopping waits for it, but not for new work
        self.assertLess(elapsed, 10)
        t.join(20)

    @staticmethod
    def _swallow(fn):
        try:
            fn()
        except Exception:  # noqa: BLE001 - the connection may be cut at shutdown
            pass

    def test_slow_client_does_not_block_others(self):
        s = self.start(env={"HTTP_CONNECTION_TIMEOUT_SECONDS": "3", "HTTP_THREADS": "1"})
        stalled = []
        for _ in range(20):
            c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
            stalled.append(c)
        # one sends its headers a byte at a time, then stalls mid-header
        trickle = stalled[0]
        for ch in b"GET /api/v1/healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ":
            trickle.send(bytes([ch]))
            time.sleep(0.01)
        t0 = time.monotonic()
        for _ in range(20):
            self.assertEqual(s.get("/api/v1/version", timeout=5).status, 200)
        self.assertLess(time.monotonic() - t0, 3, "others were served while 20 connections stalled")
        # the stalled connections are closed by the connection timeout
        trickle.settimeout(10)
        t0 = time.monotonic()
        data = trickle.recv(100)
        self.assertEqual(data, b"", "stalled connection closed without an answer")
        self.assertLess(time.monotonic() - t0, 8)
        for c in stalled:
            c.close()

    def test_config_errors_exit_2_before_listening(self):
        tmp = harness.Tmp()
        for var, val in (("PORT", "70000"), ("PORT", "http"), ("ENVIRONMENT", "prod"), ("LOG_LEVEL", "loud"),
                         ("DATABASE_URL", "mysql://x/y"), ("REDIS_URL", "http://x"), ("HTTP_THREADS", "0"),
                         ("DB_POOL_SIZE", "-1"), ("PUBLIC_BASE_URL", "ftp://x")):
            env = {"PATH": os.environ["PATH"], var: val, "DATABASE_URL": "sqlite://" + tmp.file("x.db")}
            env[var] = val
            p = subprocess.run([BIN, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(p.returncode, 2, (var, val, p.stderr))
            self.assertIn(var.encode(), p.stderr, (var, val))
        p = subprocess.run([BIN, "serve", "--bogus"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"usage", p.stderr)
        p = subprocess.run([BIN, "frobnicate"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"usage", p.stderr)
        p = subprocess.run([BIN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)

    def test_env_file_and_config_check_redaction(self):
        tmp = harness.Tmp()
        path = tmp.file("app.env")
        marker = tmp.file("executed")
        with open(path, "w") as f:
            f.write("# staging\nexport PORT=9123\nDATABASE_URL='postgresql://app:s3cr3tpw@db.internal:5432/x'\n"
                    "REDIS_URL=redis://:r3d1spw@cache:6379/1\nHOST=$(touch %s)\nENVIRONMENT=staging\n"
                    "JWT_SECRET=0123456789abcdef0123456789abcdef-jwt\n" % marker)
        p = subprocess.run([BIN, "config-check", "--env-file", path], env={"PATH": os.environ["PATH"]},
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertIn("PORT=9123", out)
        self.assertIn("ENVIRONMENT=staging", out)
        self.assertIn("DATABASE_URL=postgresql://app:***@db.internal:5432/x", out)
        self.assertNotIn("s3cr3tpw", out)
        self.assertNotIn("r3d1spw", out)
        self.assertNotIn("0123456789abcdef0123456789abcdef-jwt", out)
        self.assertIn("JWT_SECRET=***", out)
        self.assertIn("HOST=$(touch", out)  # kept literally
        self.assertFalse(os.path.exists(marker), "the env file is parsed, never executed")
        # the real environment wins over the file
        p = subprocess.run([BIN, "config-check", "--env-file", path], env={"PATH": os.environ["PATH"], "PORT": "9999"},
                           stdout=subprocess.PIPE, timeout=30)
        self.assertIn(b"PORT=9999", p.stdout)
        p = subprocess.run([BIN, "config-check", "--env-file", tmp.file("missing.env")],
                           env={"PATH": os.environ["PATH"]}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 2)

    def test_port_in_use_fails_cleanly(self):
        s = self.start()
        other = Cabanas(env={"PORT": str(s.port)}, database_url=s.database_url, wait_ready=False)
        rc = other.wait(timeout=30)
        self.assertEqual(rc, 1)
        self.assertIn("cannot listen", other.log())
        self.assertEqual(s.get("/api/v1/healthz").status, 200)


class PostgresPlatformTest(EngineChecks, harness.PostgresRedisTestCase):
    engine = "postgresql"
    redis_status = "ok"

    def fresh_database_url(self):
        PostgresPlatformTest.counter += 1
        return self.pg.create_database("t%d_%d" % (os.getpid(), PostgresPlatformTest.counter))

    def extra_env(self):
        return {"REDIS_URL": self.redis.url}

    def start(self, **kw):
        env = kw.pop("env", {})
        env.setdefault("REDIS_URL", self.redis.url)
        return self.server(database_url=self.fresh_database_url(), args=("serve", "--migrate"), env=env, **kw)

    def test_redis_outage_degrades_but_serves(self):
        s = self.start()
        self.assertEqual(s.get("/api/v1/healthz").json["checks"]["redis"]["status"], "ok")
        self.redis.stop()
        try:
            # healthz shares a check for HEALTH_CHECK_CACHE_MS (100 ms): the outage shows right after
            r = wait_for(lambda: (lambda x: x if x.json["status"] != "healthy" else None)(s.get("/api/v1/healthz")), 3,
                         what="healthz to notice redis is down")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json["status"], "degraded")
            self.assertEqual(r.json["checks"]["redis"]["status"], "error")
            self.assertEqual(s.get("/api/v1/readyz").status, 200)
            self.assertEqual(s.get("/api/v1/version").status, 200)
            self.assertIn("redis_connected 0", s.get("/metrics").body.decode())
        finally:
            self.redis.start()
        r = wait_for(lambda: (lambda x: x if x.json["status"] == "healthy" else None)(s.get("/api/v1/healthz")), 10,
                     what="healthy after redis returns")
        self.assertEqual(r.json["checks"]["redis"]["status"], "ok")

    def test_postgres_restart_is_survived(self):
        s = self.start()
        self.assertEqual(s.get("/api/v1/healthz").status, 200)
        self.pg.stop()
        try:
            t0 = time.monotonic()
            r = wait_for(lambda: (lambda x: x if x.status == 503 else None)(s.get("/api/v1/healthz", timeout=8)), 10,
                         what="healthz 503")
            self.assertEqual(r.json["status"], "unhealthy")
            self.assertEqual(r.json["checks"]["database"]["status"], "error")
            r = s.get("/api/v1/readyz", timeout=8)
            self.assertEqual(r.status, 503)
            self.assertEqual(r.json["status"], "not_ready")
            self.assertLess(time.monotonic() - t0, 10)
            self.assertEqual(s.get("/api/v1/version").status, 200, "requests without the database still work")
        finally:
            self.pg.start()
        wait_for(lambda: s.get("/api/v1/healthz", timeout=8).status == 200, 15, what="healthz 200 after restart")
        wait_for(lambda: s.get("/api/v1/readyz", timeout=8).status == 200, 15, what="readyz 200 after restart")
        # every pooled connection recovers, not only the first one
        for _ in range(20):
            self.assertEqual(s.get("/api/v1/readyz").status, 200)


if __name__ == "__main__":
    harness.main()
