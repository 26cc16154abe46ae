"""Admin authentication: `cabanas admin set-password|token`, POST /api/v1/admin/login, bearer tokens on
ROUTE_ADMIN routes (GET /api/v1/admin/me), lockout after repeated failures, and the JWT_SECRET rules.

Runs against SQLite; one class repeats login and the lockout against PostgreSQL + Redis (counters in
Redis, shared across a restart). Tokens for the negative cases are made here with hmac/hashlib, so the
server is checked against an independent HS256 implementation.
"""

import base64
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, Postgres, Redis, ServerTestCase  # noqa: E402

SECRET = "test-jwt-secret-0123456789-0123456789-ab"  # 40 bytes
OWNER = "owner@example.com"
HELPER = "helper@example.com"
OUTSIDER = "outsider@example.com"  # has a password but is not allow-listed
PASSWORD = "correct horse battery staple"
PROBLEM_KEYS = {"type", "title", "status", "detail", "error"}


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_jwt(claims, secret=SECRET, header=None, digest=hashlib.sha256, signed=True):
    header = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = b64url(hmac.new(secret.encode(), ("%s.%s" % (h, p)).encode(), digest).digest()) if signed else ""
    return "%s.%s.%s" % (h, p, sig)


def claims_for(email, ttl=3600):
    now = int(time.time())
    return {"sub": email, "iat": now, "exp": now + ttl}


def bearer(token):
    return {"Authorization": "Bearer " + token}


def assert_problem(tc, r, status, code):
    tc.assertEqual(r.status, status, r)
    tc.assertTrue(r.header("content-type").startswith("application/problem+json"), r.headers)
    body = r.json
    tc.assertEqual(set(body), PROBLEM_KEYS, body)
    tc.assertEqual(body["status"], status)
    tc.assertEqual(body["error"], code)


def set_password(s, email, password, env=None):
    """`cabanas admin set-password EMAIL` with the password on stdin, in the server's environment."""
    e = dict(s.env)
    e.update(env or {})
    data = password if isinstance(password, bytes) else password.encode() + b"\n"
    return subprocess.run([BIN, "admin", "set-password", email], input=data, env=e, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60)


def login(s, email, password, ip=None):
    headers = {"Fly-Client-IP": ip} if ip else None
    return s.req("POST", "/api/v1/admin/login", body={"email": email, "password": password}, headers=headers)


def base_env(**extra):
    env = {"ADMIN_ALLOWED_EMAILS": "%s, %s" % (OWNER, HELPER), "JWT_SECRET": SECRET}
    env.update(extra)
    return env


class SqliteAdminAuthTest(ServerTestCase):

    def start(self, users=(OWNER,), **env):
        """A migrated server with PASSWORD set for each of `users`."""
        s = self.server(args=("serve", "--migrate"), env=base_env(**env))
        for u in users:
            p = set_password(s, u, PASSWORD)
            self.assertEqual(p.returncode, 0, p.stderr)
        return s

    def token(self, s, email=OWNER):
        r = login(s, email, PASSWORD)
        self.assertEqual(r.status, 200, r)
        return r.json["access_token"]

    # --- login ---

    def test_login_ok_and_token_works(self):
        s = self.start()
        r = login(s, OWNER, PASSWORD)
        self.assertEqual(r.status, 200, r)
        body = r.json
        self.assertEqual(set(body), {"access_token", "token_type", "expires_in", "email"})
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], 43200)
        self.assertEqual(body["email"], OWNER)
        self.assertEqual(r.header("cache-control"), "no-store")
        # the token is a plain HS256 JWT: its claims, checked with the secret independently
        h, p, sig = body["access_token"].split(".")
        pad = lambda x: x + "=" * (-len(x) % 4)  # noqa: E731
        self.assertEqual(json.loads(base64.urlsafe_b64decode(pad(h))), {"alg": "HS256", "typ": "JWT"})
        claims = json.loads(base64.urlsafe_b64decode(pad(p)))
        self.assertEqual(claims["sub"], OWNER)
        self.assertEqual(claims["exp"] - claims["iat"], 43200)
        self.assertLessEqual(abs(claims["iat"] - time.time()), 5)
        self.assertEqual(sig, b64url(hmac.new(SECRET.encode(), ("%s.%s" % (h, p)).encode(), hashlib.sha256).digest()))
        me = s.get("/api/v1/admin/me", headers=bearer(body["access_token"]))
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json, {"email": OWNER})
        # the scheme is case-insensitive (RFC 7235); the email is case-insensitive at login
        self.assertEqual(s.get("/api/v1/admin/me", headers={"Authorization": "bearer " + body["access_token"]}).status,
                         200)
        r = login(s, "Owner@EXAMPLE.com", PASSWORD)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["email"], OWNER)
        # ADMIN_TOKEN_TTL sets expires_in and exp
        s2 = self.start(ADMIN_TOKEN_TTL="120")
        r = login(s2, OWNER, PASSWORD)
        self.assertEqual(r.json["expires_in"], 120)

    def test_bad_credentials_are_indistinguishable(self):
        s = self.start(users=(OWNER, OUTSIDER), LOGIN_MAX_FAILURES="100")
        cases = {
            "wrong password": login(s, OWNER, PASSWORD + "x"),
            "unknown email": login(s, "nobody@example.com", PASSWORD),
            "not allow-listed": login(s, OUTSIDER, PASSWORD),
            "allow-listed, no password set": login(s, HELPER, PASSWORD),
        }
        bodies = {}
        for what, r in cases.items():
            assert_problem(self, r, 401, "invalid_credentials")
            self.assertIsNone(r.header("www-authenticate"), what)
            bodies[what] = r.body
        self.assertEqual(len(set(bodies.values())), 1, bodies)
        ids = {r.header("x-request-id") for r in cases.values()}
        self.assertEqual(len(ids), len(cases), "only the request id differs")
        # the log says which it was; the client never learns
        log = s.log()
        for reason in ("wrong password", "unknown email", "not in ADMIN_ALLOWED_EMAILS"):
            self.assertIn(reason, log)
        self.assertNotIn(PASSWORD, log)

    def test_unknown_email_costs_the_same_time(self):
        s = self.start(LOGIN_MAX_FAILURES="1000")
        known, unknown = [], []
        for i in range(6):
            for email, bucket in ((OWNER, known), ("nobody%d@example.com" % i, unknown)):
                t0 = time.monotonic()
                r = login(s, email, "wrong password %d" % i)
                bucket.append(time.monotonic() - t0)
                self.assertEqual(r.status, 401, r)
        known, unknown = statistics.median(known[1:]), statistics.median(unknown[1:])  # first: warm-up
        ratio = max(known, unknown) / min(known, unknown)
        self.assertLess(ratio, 3.0, "known %.1f ms, unknown %.1f ms" % (known * 1e3, unknown * 1e3))
        self.assertGreater(min(known, unknown), 0.005, "an argon2 verify ran for both (t=2, m=19 MiB)")

    def test_invalid_fields_422(self):
        s = self.start()
        bodies = [
            None,  # no body at all
            {},
            [],
            {"email": OWNER},
            {"password": PASSWORD},
            {"email": 42, "password": PASSWORD},
            {"email": "not-an-email", "password": PASSWORD},
            {"email": "a b@example.com", "password": PASSWORD},
            {"email": "x" * 250 + "@example.com", "password": PASSWORD},
            {"email": OWNER, "password": ""},
            {"email": OWNER, "password": None},
            {"email": OWNER, "password": ["x"]},
            {"email": OWNER, "password": "x" * 257},
        ]
        for b in bodies:
            if b is None:
                r = s.req("POST", "/api/v1/admin/login")
            else:
                r = s.req("POST", "/api/v1/admin/login", body=b)
            assert_problem(self, r, 422, "invalid_field")
        # invalid fields never count as failed attempts (default LOGIN_MAX_FAILURES is 5)
        self.assertEqual(login(s, OWNER, PASSWORD).status, 200)

    def test_concurrent_logins(self):
        # more logins at once than hashing slots (2) and worker threads (4): all wait their turn and succeed
        s = self.start(users=(OWNER, HELPER), LOGIN_MAX_FAILURES="100", HTTP_THREADS="8")
        results = []
        lock = threading.Lock()

        def one(email, password):
            r = login(s, email, password)
            with lock:
                results.append((email, password == PASSWORD, r.status))

        threads = [threading.Thread(target=one, args=(OWNER if i % 2 else HELPER, PASSWORD if i % 3 else "nope-nope"))
                   for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        self.assertEqual(len(results), 12)
        for email, right, status in results:
            self.assertEqual(status, 200 if right else 401, (email, right))

    # --- lockout ---

    def test_lockout_per_email(self):
        s = self.start(users=(OWNER, HELPER), LOGIN_MAX_FAILURES="3", LOGIN_LOCKOUT_SECONDS="60", TRUST_PROXY="true")
        for i in range(3):
            assert_problem(self, login(s, OWNER, "wrong-password", ip="10.0.0.%d" % i), 401, "invalid_credentials")
        # locked: even the right password, from a fresh address
        r = login(s, OWNER, PASSWORD, ip="10.0.0.9")
        assert_problem(self, r, 429, "too_many_attempts")
        retry = int(r.header("retry-after"))
        self.assertTrue(1 <= retry <= 60, retry)
        # case does not dodge the lock
        assert_problem(self, login(s, "OWNER@example.com", PASSWORD, ip="10.0.0.10"), 429, "too_many_attempts")
        # another account is not affected
        self.assertEqual(login(s, HELPER, PASSWORD, ip="10.0.0.11").status, 200)

    def test_lockout_per_ip(self):
        s = self.start(LOGIN_MAX_FAILURES="3", LOGIN_LOCKOUT_SECONDS="60", TRUST_PROXY="true")
        for i in range(3):
            r = login(s, "guess%d@example.com" % i, "wrong-password", ip="10.1.1.1")
            assert_problem(self, r, 401, "invalid_credentials")
        r = login(s, OWNER, PASSWORD, ip="10.1.1.1")
        assert_problem(self, r, 429, "too_many_attempts")
        self.assertTrue(1 <= int(r.header("retry-after")) <= 60, r.headers)
        self.assertEqual(login(s, OWNER, PASSWORD, ip="10.1.1.2").status, 200)

    def test_lockout_ends_and_success_clears_the_email_counter(self):
        s = self.start(LOGIN_MAX_FAILURES="3", LOGIN_LOCKOUT_SECONDS="2", TRUST_PROXY="true")
        ips = iter("10.2.0.%d" % i for i in range(100))
        for _ in range(2):
            self.assertEqual(login(s, OWNER, "wrong-password", ip=next(ips)).status, 401)
        self.assertEqual(login(s, OWNER, PASSWORD, ip=next(ips)).status, 200)
        for _ in range(2):  # without the reset this would be failures 3 and 4
            self.assertEqual(login(s, OWNER, "wrong-password", ip=next(ips)).status, 401)
        self.assertEqual(login(s, OWNER, PASSWORD, ip=next(ips)).status, 200)
        # now lock it, and wait the lockout out
        for _ in range(3):
            self.assertEqual(login(s, OWNER, "wrong-password", ip=next(ips)).status, 401)
        r = login(s, OWNER, PASSWORD, ip=next(ips))
        self.assertEqual(r.status, 429, r)
        time.sleep(int(r.header("retry-after")) + 0.5)
        self.assertEqual(login(s, OWNER, PASSWORD, ip=next(ips)).status, 200)

    # --- tokens ---

    def test_missing_or_malformed_authorization_401(self):
        s = self.start()
        r = s.get("/api/v1/admin/me")
        assert_problem(self, r, 401, "unauthorized")
        self.assertEqual(r.header("www-authenticate"), "Bearer")
        for value in ("Basic b3duZXI6cHc=", "Bearer", "Bearer ", "Token abc", "abc"):
            r = s.get("/api/v1/admin/me", headers={"Authorization": value})
            assert_problem(self, r, 401, "unauthorized")
            self.assertTrue(r.header("www-authenticate").startswith("Bearer"), (value, r.headers))

    def test_bad_tokens_401(self):
        s = self.start()
        good = self.token(s)
        h, p, sig = good.split(".")
        # sanity: a token made here with the same secret is accepted, so the refusals below are meaningful
        self.assertEqual(s.get("/api/v1/admin/me", headers=bearer(make_jwt(claims_for(OWNER)))).status, 200)
        now = int(time.time())
        other_payload = b64url(json.dumps(claims_for(HELPER), separators=(",", ":")).encode())
        flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
        bad = {
            "tampered payload": "%s.%s.%s" % (h, other_payload, sig),
            "tampered signature": "%s.%s.%s" % (h, p, flipped),
            "expired": make_jwt({"sub": OWNER, "iat": now - 7200, "exp": now - 3600}),
            "expires now": make_jwt({"sub": OWNER, "iat": now - 60, "exp": now}),
            "no exp": make_jwt({"sub": OWNER, "iat": now}),
            "alg none": make_jwt(claims_for(OWNER), header={"alg": "none", "typ": "JWT"}, signed=False),
            "alg none, signed": make_jwt(claims_for(OWNER), header={"alg": "none"}),
            "HS512": make_jwt(claims_for(OWNER), header={"alg": "HS512", "typ": "JWT"}, digest=hashlib.sha512),
            "RS256 header": make_jwt(claims_for(OWNER), header={"alg": "RS256", "typ": "JWT"}),
            "no alg": make_jwt(claims_for(OWNER), header={"typ": "JWT"}),
            "wrong secret": make_jwt(claims_for(OWNER), secret="another-secret-of-forty-bytes-0123456789"),
            "garbage": "not.a.token",
            "no dots": "abcdef",
            "too long": "a" * 5000,
            "unsigned": "%s.%s." % (h, p),
        }
        for what, tok in bad.items():
            r = s.get("/api/v1/admin/me", headers=bearer(tok))
            assert_problem(self, r, 401, "unauthorized")
            self.assertEqual(r.header("www-authenticate"), 'Bearer error="invalid_token"', what)
        self.assertIn("expired", s.get("/api/v1/admin/me", headers=bearer(bad["expired"])).json["detail"])
        # the good token still works after all that
        self.assertEqual(s.get("/api/v1/admin/me", headers=bearer(good)).status, 200)

    def test_removed_from_allow_list_is_403_at_once(self):
        s = self.start(users=(OWNER, HELPER))
        helper_token, owner_token = self.token(s, HELPER), self.token(s, OWNER)
        self.assertEqual(s.get("/api/v1/admin/me", headers=bearer(helper_token)).json, {"email": HELPER})
        self.assertEqual(s.stop(), 0)
        s2 = self.server(args=("serve",), database_url=s.database_url,
                         env={"ADMIN_ALLOWED_EMAILS": OWNER, "JWT_SECRET": SECRET})
        r = s2.get("/api/v1/admin/me", headers=bearer(helper_token))
        assert_problem(self, r, 403, "forbidden")
        # the owner's token survives the restart: same JWT_SECRET
        self.assertEqual(s2.get("/api/v1/admin/me", headers=bearer(owner_token)).json, {"email": OWNER})
        # and the removed email can no longer log in either
        assert_problem(self, login(s2, HELPER, PASSWORD), 401, "invalid_credentials")

    def test_token_of_another_secret_after_rotation(self):
        s = self.start()
        tok = self.token(s)
        self.assertEqual(s.stop(), 0)
        s2 = self.server(args=("serve",), database_url=s.database_url,
                         env=base_env(JWT_SECRET="rotated-secret-0123456789-0123456789-xyz"))
        assert_problem(self, s2.get("/api/v1/admin/me", headers=bearer(tok)), 401, "unauthorized")
        self.assertEqual(login(s2, OWNER, PASSWORD).status, 200)

    # --- CLI ---

    def test_cli_set_password(self):
        s = self.start(users=())
        p = set_password(s, "Owner@Example.COM", PASSWORD)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(OWNER.encode(), p.stdout)
        self.assertEqual(p.stderr, b"", "allow-listed: no warning")
        self.assertEqual(login(s, OWNER, PASSWORD).status, 200)
        # replacing the password: the old one stops working
        self.assertEqual(set_password(s, OWNER, "a brand new password").returncode, 0)
        self.assertEqual(login(s, OWNER, PASSWORD).status, 401)
        self.assertEqual(login(s, OWNER, "a brand new password").status, 200)
        # only the first line counts; CRLF is stripped; 8 and 256 bytes are the limits
        self.assertEqual(set_password(s, HELPER, b"12345678\r\nsecond line\n").returncode, 0)
        self.assertEqual(login(s, HELPER, "12345678").status, 200)
        self.assertEqual(set_password(s, HELPER, b"p" * 256).returncode, 0)  # no newline at EOF
        self.assertEqual(login(s, HELPER, "p" * 256).status, 200)
        for bad in (b"", b"\n", b"1234567\n", b"p" * 257 + b"\n", b"with\x00nul\n"):
            p = set_password(s, HELPER, bad)
            self.assertEqual(p.returncode, 2, (bad, p.stderr))
            self.assertIn(b"8 to 256", p.stderr)
        self.assertEqual(login(s, HELPER, "p" * 256).status, 200, "refusals changed nothing")
        # not allow-listed: stored, with a warning
        p = set_password(s, OUTSIDER, PASSWORD)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"not in ADMIN_ALLOWED_EMAILS", p.stderr)
        # usage errors
        for args in (("admin",), ("admin", "frobnicate"), ("admin", "set-password"), ("admin", "token"),
                     ("admin", "set-password", "not-an-email"), ("admin", "set-password", OWNER, "extra"),
                     ("admin", "token", OWNER, "--bogus")):
            p = s.run(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertTrue(p.stderr, args)
        self.assertIn(b"usage: cabanas admin", s.run("admin", "frobnicate").stderr)

    def test_cli_set_password_refuses_an_unmigrated_database(self):
        s = self.start(users=())
        tmp = harness.Tmp()
        p = set_password(s, OWNER, PASSWORD, env={"DATABASE_URL": "sqlite://" + tmp.file("empty.db")})
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(b"cabanas migrate", p.stderr)

    def test_cli_token(self):
        s = self.start(users=())  # no password needed: the operator holds the secret
        p = s.run("admin", "token", OWNER)
        self.assertEqual(p.returncode, 0, p.stderr)
        tok = p.stdout.decode().strip()
        self.assertEqual(s.get("/api/v1/admin/me", headers=bearer(tok)).json, {"email": OWNER})
        p = s.run("admin", "token", OUTSIDER)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"ADMIN_ALLOWED_EMAILS", p.stderr)
        # --env-file works after the positional, and ADMIN_TOKEN_TTL sets exp
        envf = s.tmp.file("admin.env")
        with open(envf, "w") as f:
            f.write("ADMIN_TOKEN_TTL=90\n")
        p = s.run("admin", "token", OWNER, "--env-file", envf)
        self.assertEqual(p.returncode, 0, p.stderr)
        payload = p.stdout.decode().strip().split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        self.assertEqual(claims["exp"] - claims["iat"], 90)

    def test_cli_token_with_a_generated_secret_warns(self):
        s = self.start(users=())
        env = dict(s.env)
        del env["JWT_SECRET"]
        p = subprocess.run([BIN, "admin", "token", OWNER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"JWT_SECRET is not set", p.stderr)
        r = s.get("/api/v1/admin/me", headers=bearer(p.stdout.decode().strip()))
        assert_problem(self, r, 401, "unauthorized")

    # --- JWT_SECRET rules ---

    def test_production_requires_jwt_secret(self):
        s = self.server(args=("serve", "--migrate"), wait_ready=False,
                        env={"ENVIRONMENT": "production", "ADMIN_ALLOWED_EMAILS": OWNER})
        self.assertEqual(s.wait(timeout=30), 2)
        self.assertIn("JWT_SECRET", s.log())

    def test_short_jwt_secret_is_refused(self):
        s = self.server(args=("serve", "--migrate"), wait_ready=False, env=base_env(JWT_SECRET="x" * 31))
        self.assertEqual(s.wait(timeout=30), 2)
        self.assertIn("JWT_SECRET", s.log())
        self.assertNotIn("x" * 31, s.log(), "the secret is never echoed")

    def test_development_without_secret_warns_and_works(self):
        s = self.server(args=("serve", "--migrate"), env={"ADMIN_ALLOWED_EMAILS": OWNER})
        self.assertIn("JWT_SECRET not set: using a random per-process secret", s.log())
        self.assertEqual(set_password(s, OWNER, PASSWORD).returncode, 0)
        tok = self.token(s)
        self.assertEqual(s.get("/api/v1/admin/me", headers=bearer(tok)).status, 200)


class PostgresAdminAuthTest(harness.PostgresRedisTestCase):

    def start(self, database_url=None, **env):
        if database_url is None:
            PostgresAdminAuthTest.counter += 1
            database_url = self.pg.create_database("auth%d_%d" % (os.getpid(), PostgresAdminAuthTest.counter))
        return self.server(args=("serve", "--migrate"), database_url=database_url,
                           env=base_env(REDIS_URL=self.redis.url, **env))

    def redis_cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.redis.port)] + list(args), stdout=subprocess.PIPE,
                             timeout=10, check=True)
        return out.stdout.decode().strip()

    def test_login_ok_postgres(self):
        s = self.start()
        p = set_password(s, "Owner@Example.com", PASSWORD)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(set_password(s, OWNER, PASSWORD).returncode, 0, "the upsert also works on PostgreSQL")
        self.assertEqual(self.pg.psql("SELECT email FROM admin_users", db=s.database_url.rsplit("/", 1)[1]), OWNER)
        r = login(s, OWNER, PASSWORD)
        self.assertEqual(r.status, 200, r)
        me = s.get("/api/v1/admin/me", headers=bearer(r.json["access_token"]))
        self.assertEqual(me.json, {"email": OWNER})
        assert_problem(self, login(s, OWNER, "wrong-password"), 401, "invalid_credentials")

    def test_lockout_counts_in_redis(self):
        email = "helper@example.com"
        s = self.start(LOGIN_MAX_FAILURES="3", LOGIN_LOCKOUT_SECONDS="120", TRUST_PROXY="true")
        self.assertEqual(set_password(s, email, PASSWORD).returncode, 0)
        for i in range(3):
            assert_problem(self, login(s, email, "wrong-password", ip="10.9.0.%d" % i), 401, "invalid_credentials")
        self.assertEqual(self.redis_cli("GET", "login:fail:email:" + email), "3")
        self.assertTrue(0 < int(self.redis_cli("TTL", "login:fail:email:" + email)) <= 120)
        self.assertEqual(self.redis_cli("GET", "login:fail:ip:10.9.0.0"), "1")
        r = login(s, email, PASSWORD, ip="10.9.0.50")
        assert_problem(self, r, 429, "too_many_attempts")
        self.assertTrue(1 <= int(r.header("retry-after")) <= 120)
        # the counter lives outside the process: a restarted (or second) instance sees the lock
        self.assertEqual(s.stop(), 0)
        s2 = self.start(database_url=s.database_url, LOGIN_MAX_FAILURES="3", LOGIN_LOCKOUT_SECONDS="120",
                        TRUST_PROXY="true")
        assert_problem(self, login(s2, email, PASSWORD, ip="10.9.0.51"), 429, "too_many_attempts")
        # an operator can lift it
        self.redis_cli("DEL", "login:fail:email:" + email)
        r = login(s2, email, PASSWORD, ip="10.9.0.52")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.redis_cli("EXISTS", "login:fail:email:" + email), "0")


if __name__ == "__main__":
    harness.main()
