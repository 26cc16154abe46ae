"""Middleware: rate limiting (per client, fixed windows, Redis-shared or in-process) and Idempotency-Key.

Rate limits run against SQLite without Redis (the in-process table, TRUST_PROXY on and off), and against
PostgreSQL with a shared Redis (two instances share one budget; a Redis outage falls back to the table).
The idempotency checks run on both engines through the test-only route POST /api/v1/_test/effect, whose
answers carry a per-process execution number, so a replay is told apart from a second run.
"""

import os
import re
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Postgres, Redis, ServerTestCase  # noqa: E402

PROBLEM_KEYS = {"type", "title", "status", "detail", "error"}
EFFECT = "/api/v1/_test/effect"
LIMITED = {"RATE_LIMIT_REQUESTS": "5", "RATE_LIMIT_WINDOW_SECONDS": "2"}


def assert_problem(tc, r, status, code):
    tc.assertEqual(r.status, status, r)
    tc.assertTrue(r.header("content-type").startswith("application/problem+json"), r.headers)
    body = r.json
    tc.assertEqual(set(body), PROBLEM_KEYS, body)
    tc.assertEqual(body["status"], status)
    tc.assertEqual(body["error"], code)
    return body


def wait_window_start(window):
    """Sleeps until just after the next window boundary (windows are aligned to multiples of the window
    length since the epoch), so the requests that follow all fall into one window."""
    time.sleep(window - time.time() % window + 0.05)


class RateLimitSqliteTest(ServerTestCase):
    def start(self, env=None):
        e = dict(LIMITED)
        e.update(env or {})
        return self.server(args=("serve", "--migrate"), env=e)

    def test_sixth_request_is_429_until_the_window_ends(self):
        s = self.start()
        wait_window_start(2)
        for i in range(5):
            r = s.get("/api/v1/version")
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.header("ratelimit-limit"), "5")
            self.assertEqual(r.header("ratelimit-remaining"), str(4 - i))
        r = s.get("/api/v1/version")
        assert_problem(self, r, 429, "rate_limited")
        retry = int(r.header("retry-after"))
        self.assertTrue(1 <= retry <= 2, retry)
        self.assertEqual(r.header("ratelimit-remaining"), "0")
        self.assertTrue(r.header("x-request-id"))
        # the limiter runs before routing: unknown paths count too
        assert_problem(self, s.get("/api/v1/nope"), 429, "rate_limited")
        # health, readiness and metrics are never limited
        for _ in range(3):
            self.assertEqual(s.get("/api/v1/healthz").status, 200)
            self.assertEqual(s.get("/api/v1/readyz").status, 200)
            self.assertEqual(s.get("/metrics").status, 200)
        text = s.get("/metrics").body.decode()
        self.assertIn("\nrate_limited_total 2\n", text)
        self.assertIn("\nrate_limit_untracked_total 0\n", text)
        # once the window is over the client has a fresh budget
        time.sleep(retry + 0.05)
        r = s.get("/api/v1/version")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("ratelimit-remaining"), "4")

    def test_trust_proxy_gives_each_forwarded_client_its_budget(self):
        s = self.start({"TRUST_PROXY": "1"})
        wait_window_start(2)
        a = {"X-Forwarded-For": "10.0.0.1"}
        for _ in range(5):
            self.assertEqual(s.get("/api/v1/version", headers=a).status, 200)
        assert_problem(self, s.get("/api/v1/version", headers=a), 429, "rate_limited")
        # the first hop is the client; another client has its own budget
        r = s.get("/api/v1/version", headers={"X-Forwarded-For": "10.0.0.2, 10.0.0.1"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("ratelimit-remaining"), "4")
        # Fly-Client-IP wins over X-Forwarded-For
        r = s.get("/api/v1/version", headers={"Fly-Client-IP": "10.0.0.3", "X-Forwarded-For": "10.0.0.1"})
        self.assertEqual(r.status, 200, r)
        r = s.get("/api/v1/version", headers={"Fly-Client-IP": "10.0.0.1"})
        assert_problem(self, r, 429, "rate_limited")

    def test_forwarded_headers_ignored_without_trust_proxy(self):
        s = self.start()
        wait_window_start(2)
        for i in range(5):
            r = s.get("/api/v1/version", headers={"X-Forwarded-For": "10.1.0.%d" % i, "Fly-Client-IP": "10.2.0.%d" % i})
            self.assertEqual(r.status, 200, r)
        r = s.get("/api/v1/version", headers={"X-Forwarded-For": "10.1.0.99", "Fly-Client-IP": "10.2.0.99"})
        assert_problem(self, r, 429, "rate_limited")

    def test_disabled(self):
        s = self.start({"RATE_LIMIT_ENABLED": "false", "RATE_LIMIT_REQUESTS": "1"})
        for _ in range(5):
            r = s.get("/api/v1/version")
            self.assertEqual(r.status, 200, r)
            self.assertIsNone(r.header("ratelimit-limit"))


class IdempotencyChecks:
    """Mixed into one TestCase per engine: self.start() serves on that engine, self.sql(server, statement)
    runs SQL on its database (to age rows as time would)."""

    def post(self, s, key, body, path=EFFECT, **kw):
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return s.req("POST", path, body=body, headers=headers, **kw)

    def test_same_key_and_body_replays_the_answer(self):
        s = self.start()
        r1 = self.post(s, "order-1", '{"a":1}')
        self.assertEqual(r1.status, 201, r1)
        self.assertIsNone(r1.header("idempotent-replayed"))
        n = r1.json["execution"]
        self.assertEqual(r1.header("location"), "/api/v1/_test/effect/%d" % n)
        r2 = self.post(s, "order-1", '{"a":1}')
        self.assertEqual(r2.status, 201, r2)
        self.assertEqual(r2.body, r1.body)
        self.assertEqual(r2.header("location"), r1.header("location"))
        self.assertEqual(r2.header("content-type"), "application/json")
        self.assertEqual(r2.header("idempotent-replayed"), "true")
        # without a key the handler simply runs again
        r3 = self.post(s, None, '{"a":1}')
        self.assertEqual(r3.json["execution"], n + 1)
        r4 = self.post(s, "order-1", '{"a":1}')
        self.assertEqual(r4.json["execution"], n)
        self.assertEqual(r4.header("idempotent-replayed"), "true")

    def test_same_key_different_body_is_422(self):
        s = self.start()
        r1 = self.post(s, "order-2", '{"a":1}')
        self.assertEqual(r1.status, 201, r1)
        assert_problem(self, self.post(s, "order-2", '{"a":2}'), 422, "idempotency_key_reused")
        # the raw body is what is compared: the same JSON spelled differently is another request
        assert_problem(self, self.post(s, "order-2", '{"a": 1}'), 422, "idempotency_key_reused")
        r = self.post(s, "order-2", '{"a":1}')
        self.assertEqual(r.body, r1.body)
        self.assertEqual(r.header("idempotent-replayed"), "true")

    def test_keys_are_scoped_by_route(self):
        s = self.start()
        self.assertEqual(self.post(s, "shared", '{"a":1}').status, 201)
        r = self.post(s, "shared", '{"a":1}', path="/api/v1/_test/echo")
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("idempotent-replayed"))
        self.assertEqual(r.json, {"json": {"a": 1}, "bytes": 7})

    def test_errors_are_replayed_but_5xx_frees_the_key(self):
        s = self.start()
        r1 = self.post(s, "order-3", '{"status":422}')
        assert_problem(self, r1, 422, "test_status")
        r2 = self.post(s, "order-3", '{"status":422}')
        assert_problem(self, r2, 422, "test_status")
        self.assertEqual(r2.body, r1.body)
        self.assertEqual(r2.header("idempotent-replayed"), "true")
        # a 5xx is not kept: the retry runs the handler again
        r1 = self.post(s, "order-4", '{"status":503}')
        assert_problem(self, r1, 503, "test_status")
        r2 = self.post(s, "order-4", '{"status":503}')
        assert_problem(self, r2, 503, "test_status")
        self.assertIsNone(r2.header("idempotent-replayed"))
        self.assertNotEqual(r2.body, r1.body)  # another run number in the detail
        # and the key is free for a different request
        self.assertEqual(self.post(s, "order-4", '{"status":201}').status, 201)

    def test_concurrent_retry_is_409_in_flight(self):
        s = self.start()
        first = []
        t = threading.Thread(target=lambda: first.append(self.post(s, "slow-1", '{"sleep_ms":1500}', timeout=20)))
        t.start()
        try:
            time.sleep(0.5)  # the first request is now inside the handler
            r = self.post(s, "slow-1", '{"sleep_ms":1500}')
            assert_problem(self, r, 409, "idempotency_in_flight")
            self.assertEqual(r.header("retry-after"), "1")
            # a different request under the key is still a misuse of the key
            assert_problem(self, self.post(s, "slow-1", '{"sleep_ms":1}'), 422, "idempotency_key_reused")
        finally:
            t.join(20)
        self.assertEqual(first[0].status, 201, first)
        r = self.post(s, "slow-1", '{"sleep_ms":1500}')
        self.assertEqual(r.body, first[0].body)
        self.assertEqual(r.header("idempotent-replayed"), "true")

    def test_malformed_keys_are_422(self):
        s = self.start()
        for key in ("k" * 256, "k" * 300, "", "cl\u00e9", "tab\there"):
            body = assert_problem(self, self.post(s, key, '{"a":1}'), 422, "invalid_field")
            self.assertIn("Idempotency-Key", body["detail"])
        self.assertEqual(self.post(s, "k" * 255, '{"a":1}').status, 201)
        self.assertEqual(self.post(s, "with spaces and ~!@#$%^&*()", '{"a":1}').status, 201)

    def test_abandoned_claim_is_taken_over(self):
        s = self.start()
        r1 = self.post(s, "crash-1", '{"a":1}')
        self.assertEqual(r1.status, 201)
        # as if the process had died while running it, 30 s ago: still in flight
        self.sql(s, "UPDATE idempotency_keys SET status = NULL, response = NULL, location = NULL, "
                    "created_at = created_at - 30 WHERE key = 'crash-1'")
        assert_problem(self, self.post(s, "crash-1", '{"a":1}'), 409, "idempotency_in_flight")
        # past 60 s the claim counts as abandoned and the retry runs
        self.sql(s, "UPDATE idempotency_keys SET created_at = created_at - 31 WHERE key = 'crash-1'")
        r2 = self.post(s, "crash-1", '{"a":1}')
        self.assertEqual(r2.status, 201, r2)
        self.assertIsNone(r2.header("idempotent-replayed"))
        self.assertGreater(r2.json["execution"], r1.json["execution"])
        r3 = self.post(s, "crash-1", '{"a":1}')
        self.assertEqual(r3.body, r2.body)
        self.assertEqual(r3.header("idempotent-replayed"), "true")

    def test_keys_expire_after_24_hours(self):
        s = self.start()
        self.assertEqual(self.post(s, "old-1", '{"a":1}').status, 201)
        self.sql(s, "UPDATE idempotency_keys SET created_at = created_at - 86401 WHERE key = 'old-1'")
        r = self.post(s, "old-1", '{"a":2}')
        self.assertEqual(r.status, 201, r)
        self.assertIsNone(r.header("idempotent-replayed"))
        self.assertEqual(r.json["json"], {"a": 2})

    def test_expired_rows_are_deleted(self):
        s = self.start()
        self.assertEqual(self.post(s, "old-2", '{"a":1}').status, 201)
        self.sql(s, "UPDATE idempotency_keys SET created_at = created_at - 90000 WHERE key = 'old-2'")
        for i in range(100):  # one keyed request in 100 deletes expired rows
            self.assertEqual(self.post(s, "bulk-%d" % i, '{}', path="/api/v1/_test/echo").status, 200)
        self.assertEqual(str(self.sql(s, "SELECT count(*) FROM idempotency_keys WHERE key = 'old-2'")), "0")
        self.assertEqual(str(self.sql(s, "SELECT count(*) FROM idempotency_keys WHERE key = 'bulk-99'")), "1")


class IdempotencySqliteTest(IdempotencyChecks, ServerTestCase):
    def start(self):
        return self.server(args=("serve", "--migrate"), env={"RATE_LIMIT_ENABLED": "false"})

    def sql(self, s, statement):
        path = s.database_url[len("sqlite://"):]
        db = sqlite3.connect(path, timeout=10)
        try:
            rows = db.execute(statement).fetchall()
            db.commit()
        finally:
            db.close()
        return rows[0][0] if rows else None


class PostgresMiddlewareTest(IdempotencyChecks, harness.PostgresRedisTestCase):

    def server_on_postgres(self, env):
        PostgresMiddlewareTest.counter += 1
        url = self.pg.create_database("m%d_%d" % (os.getpid(), PostgresMiddlewareTest.counter))
        e = {"REDIS_URL": self.redis.url}
        e.update(env)
        return self.server(database_url=url, args=("serve", "--migrate"), env=e)

    def start(self):
        # Idempotency checks: the limiter is off so their requests do not spend the Redis-shared budget.
        return self.server_on_postgres({"RATE_LIMIT_ENABLED": "false"})

    def sql(self, s, statement):
        return self.pg.psql(statement, db=s.database_url.rsplit("/", 1)[1])

    def test_instances_sharing_redis_share_the_budget(self):
        a = self.server_on_postgres(LIMITED)
        b = self.server_on_postgres(LIMITED)
        wait_window_start(2)
        for s in (a, a, a, b, b):
            self.assertEqual(s.get("/api/v1/version").status, 200)
        r = a.get("/api/v1/version")
        assert_problem(self, r, 429, "rate_limited")
        self.assertTrue(1 <= int(r.header("retry-after")) <= 2)
        assert_problem(self, b.get("/api/v1/version"), 429, "rate_limited")
        self.assertIn("\nrate_limit_redis_errors_total 0\n", a.get("/metrics").body.decode())

    def test_a_busy_client_far_below_its_limit_does_not_cost_a_redis_call_per_request(self):
        """Hits are sent to Redis in batches (src/http/ratelimit.c): at most one EVAL per 50 ms per client
        while it is below half its limit, and the shared counter still receives every hit."""
        s = self.server_on_postgres({"RATE_LIMIT_REQUESTS": "100000", "RATE_LIMIT_WINDOW_SECONDS": "60"})
        if time.time() % 60 > 50:
            wait_window_start(60)  # all 301 requests in one window
        self.redis.cli("CONFIG", "RESETSTAT")
        t0 = time.time()
        for _ in range(300):
            self.assertEqual(s.get("/api/v1/version").status, 200)
        elapsed = time.time() - t0
        stats = self.redis.cli("INFO", "commandstats")
        m = re.search(r"cmdstat_eval:calls=(\d+)", stats)
        calls = int(m.group(1)) if m else 0
        self.assertGreaterEqual(calls, 1, stats)
        self.assertLessEqual(calls, elapsed / 0.05 + 2, "more than one EVAL per 50 ms: %d in %.2f s" % (calls, elapsed))
        self.assertLess(calls, 300)
        # one more request after the batching interval sends what was left: the shared total is exact
        time.sleep(0.06)
        self.assertEqual(s.get("/api/v1/version").status, 200)
        keys = self.redis.cli("KEYS", "rl:*").split()
        self.assertEqual(len(keys), 1, keys)
        self.assertEqual(int(self.redis.cli("GET", keys[0])), 301)

    def test_redis_outage_falls_back_to_in_process_limits(self):
        s = self.server_on_postgres(LIMITED)
        self.redis.stop()
        try:
            wait_window_start(2)
            for _ in range(5):
                self.assertEqual(s.get("/api/v1/version", timeout=5).status, 200)
            assert_problem(self, s.get("/api/v1/version", timeout=5), 429, "rate_limited")
            text = s.get("/metrics").body.decode()
            errors = float(text.split("\nrate_limit_redis_errors_total ", 1)[1].split("\n", 1)[0])
            self.assertGreaterEqual(errors, 6)
        finally:
            self.redis.start()
        # once Redis is back the server keeps serving
        harness.wait_for(lambda: s.get("/api/v1/healthz").json["checks"]["redis"]["status"] == "ok", 10,
                         what="redis reconnected")
        time.sleep(2)
        self.assertEqual(s.get("/api/v1/version").status, 200)

    def test_database_down_is_503(self):
        s = self.start()
        self.assertEqual(self.post(s, "db-1", '{"a":1}').status, 201)
        self.pg.stop()
        try:
            assert_problem(self, self.post(s, "db-2", '{"a":1}', timeout=15), 503, "database_unavailable")
        finally:
            self.pg.start()
        harness.wait_for(lambda: s.get("/api/v1/readyz", timeout=8).status == 200, 15, what="readyz after restart")
        r = self.post(s, "db-1", '{"a":1}')
        self.assertEqual(r.header("idempotent-replayed"), "true")


if __name__ == "__main__":
    harness.main()
