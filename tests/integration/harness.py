"""Integration-test harness: the real `cabanas` binary, a throwaway PostgreSQL cluster and Redis server.

Everything listens on 127.0.0.1 on free ports and lives in a temporary directory. Every process the harness
starts is recorded in $CABANAS_TEST_PIDFILE (tests/run.sh kills leftovers by pid) and stopped by the
harness itself, pass or fail. Python standard library only.
"""

import atexit
import glob
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("CABANAS_BIN", os.path.join(ROOT, "build", "cabanas"))
ARTIFACTS = os.path.join(ROOT, "tests", "artifacts")

_started = []  # live processes (Popen) to stop at exit


def _record_pid(pid):
    path = os.environ.get("CABANAS_TEST_PIDFILE")
    if path:
        with open(path, "a") as f:
            f.write("%d\n" % pid)


def _cleanup_all():
    for p in list(_started):
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=5)
            except Exception:
                pass


atexit.register(_cleanup_all)
# A timeout (SIGTERM from tests/run.sh) must still run the cleanup above.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = e
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-cased names
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


def request(port, method, path, body=None, headers=None, timeout=10.0, host="127.0.0.1"):
    """One HTTP/1.1 request on a new connection. `body` may be bytes, str or a JSON-able object."""
    hdrs = dict(headers or {})
    if body is not None and not isinstance(body, (bytes, str)):
        body = json.dumps(body)
        hdrs.setdefault("Content-Type", "application/json")
    if isinstance(body, str):
        body = body.encode("utf-8")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


class Tmp:
    """A temporary directory removed at exit."""

    def __init__(self, prefix="cabanas-test-"):
        self.path = tempfile.mkdtemp(prefix=prefix)
        atexit.register(shutil.rmtree, self.path, True)

    def file(self, name):
        return os.path.join(self.path, name)


def _as_postgres_user():
    """initdb refuses to run as root: run PostgreSQL as the `postgres` system user when we are root."""
    return os.geteuid() == 0


def _pg_bindir():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    return os.path.dirname(found[-1])


class Postgres:
    """A PostgreSQL cluster in a temporary directory, trust auth, on 127.0.0.1:<free port>."""

    def __init__(self):
        self.bindir = _pg_bindir()
        self.tmp = Tmp("cabanas-pg-")
        self.datadir = self.tmp.file("data")
        self.sockdir = self.tmp.file("sock")
        self.logfile = self.tmp.file("postgres.log")
        self.port = free_port()
        os.makedirs(self.sockdir)
        if _as_postgres_user():
            shutil.chown(self.tmp.path, "postgres", "postgres")
            shutil.chown(self.sockdir, "postgres", "postgres")
        self._run(["initdb", "-D", self.datadir, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"],
                  timeout=120)
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write("\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\n"
                    "fsync = off\nmax_connections = 200\n"
                    % (self.port, self.sockdir))
        self.start()
        atexit.register(self.stop)

    def _run(self, argv, timeout=60, check=True):
        argv = [os.path.join(self.bindir, argv[0])] + argv[1:]
        if _as_postgres_user():
            argv = ["runuser", "-u", "postgres", "--"] + argv
        return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout, check=check)

    def start(self):
        self._run(["pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-t", "60", "start"], timeout=90)
        _record_pid(self.pid())

    def pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return int(f.readline().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.pid()
        if pid is None:
            return
        try:
            self._run(["pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "-t", "30", "stop"], timeout=60,
                      check=False)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def psql(self, sql, db="postgres"):
        out = self._run(["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", db, "-v",
                         "ON_ERROR_STOP=1", "-tAc", sql], timeout=60)
        return out.stdout.decode().strip()

    def create_database(self, name):
        self.psql("CREATE DATABASE %s" % name)
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port, name)


class Redis:
    """redis-server on 127.0.0.1:<port>, no persistence. Can be stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.proc = None
        self.start()
        atexit.register(self.stop)

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _started.append(self.proc)
        _record_pid(self.proc.pid)
        wait_for(lambda: _can_connect(self.port), 10, what="redis to listen")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def cli(self, *args):
        """One redis-cli command against this server; its output, stripped."""
        out = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10, check=True)
        return out.stdout.decode().strip()


def _can_connect(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "SUMMARY: UndefinedBehavior")


class Cabanas:
    """The real binary on a free loopback port. `env` overrides the defaults below."""

    def __init__(self, env=None, args=("serve",), database_url=None, wait_ready=True, name="cabanas"):
        self.tmp = Tmp("cabanas-srv-")
        self.port = free_port()
        self.log_path = self.tmp.file("%s.log" % name)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "DATABASE_URL": database_url or "sqlite://%s" % self.tmp.file("cabanas.db"),
            "CABANAS_TEST_ENDPOINTS": "1",
            "LOG_LEVEL": "info",
            "HTTP_THREADS": "4",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=23",
            "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        }
        self.env.update(env or {})
        self.args = list(args)
        self.proc = None
        self.start(wait_ready)

    @property
    def database_url(self):
        return self.env["DATABASE_URL"]

    def run(self, *args, timeout=60, env=None):
        """Runs another subcommand of the binary with this server's environment."""
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run([BIN] + list(args), env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)

    def start(self, wait_ready=True):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN] + self.args, env=self.env, stdout=self.logf, stderr=self.logf)
        _started.append(self.proc)
        _record_pid(self.proc.pid)
        if wait_ready:
            def up():
                if self.proc.poll() is not None:
                    raise AssertionError("cabanas exited with %s:\n%s" % (self.proc.returncode, self.log()[-3000:]))
                return _can_connect(self.port) and request(self.port, "GET", "/api/v1/healthz", timeout=2).status
            wait_for(up, 30, what="cabanas to answer")

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_lines_json(self):
        out = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def req(self, method, path, body=None, headers=None, timeout=10.0):
        return request(self.port, method, path, body=body, headers=headers, timeout=timeout)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code. Kills after `timeout`."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def sanitizer_reports(self):
        text = self.log()
        return [m for m in SANITIZER_MARKERS if m in text]


class ServerTestCase(unittest.TestCase):
    """Asserts that every Cabanas started through self.server() exits 0 with no sanitizer report."""

    def setUp(self):
        self._servers = []

    def server(self, **kw):
        s = Cabanas(**kw)
        self._servers.append(s)
        return s

    def tearDown(self):
        problems = []
        for s in self._servers:
            if s.proc is None:
                continue
            was_running = s.proc.poll() is None
            rc = s.stop()
            if was_running and rc != 0:
                problems.append("cabanas exited %s on SIGTERM; log tail:\n%s" % (rc, s.log()[-4000:]))
            reports = s.sanitizer_reports()
            if reports:
                problems.append("sanitizer report %s in log:\n%s" % (reports, s.log()[-6000:]))
            _keep_log(self.id(), s)
        if problems:
            self.fail("\n".join(problems))


class PostgresRedisTestCase(ServerTestCase):
    """One PostgreSQL cluster and one Redis server for the whole class; fresh_database() per test."""

    pg = None
    redis = None
    counter = 0

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.redis = Redis()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        cls.pg.stop()

    def fresh_database(self, prefix="t"):
        PostgresRedisTestCase.counter += 1
        return self.pg.create_database("%s_%d_%d" % (prefix, os.getpid(), PostgresRedisTestCase.counter))


def _keep_log(test_id, server):
    os.makedirs(ARTIFACTS, exist_ok=True)
    shutil.copy(server.log_path, os.path.join(ARTIFACTS, "%s.%d.log" % (test_id.split(".")[-1], server.port)))


class CountingResult(unittest.TextTestResult):
    pass


def main():
    """Runs the calling module's tests, verbosely, and prints `RESULT passed=N failed=M`."""
    module = sys.modules["__main__"]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    pattern = os.environ.get("CABANAS_TEST_FILTER")
    if pattern:
        def walk(s):
            for t in s:
                if isinstance(t, unittest.TestSuite):
                    yield from walk(t)
                else:
                    yield t
        suite = unittest.TestSuite([t for t in walk(suite) if pattern in t.id()])
    runner = unittest.TextTestRunner(verbosity=2, resultclass=CountingResult, stream=sys.stdout)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print("RESULT passed=%d failed=%d skipped=%d" % (passed, failed, len(result.skipped)))
    sys.stdout.flush()
    _cleanup_all()
    sys.exit(1 if failed else 0)
