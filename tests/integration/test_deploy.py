"""Deploy: the Fly.io files (env template, fly.toml, Dockerfile), ops/set_fly_secrets.sh against a fake
flyctl, deploy/start.sh, ops/smoke_and_benchmark.sh, and backups end to end on both engines
(`cabanas backup` for SQLite, ops/backup/*.sh with pg_dump/pg_restore for PostgreSQL).

No Docker engine runs here, so the Dockerfile is checked by reading it: every shared library that
`ldd build/cabanas` resolves must come from a package its runtime stage installs (or from the base
image, or as a dependency of those), and the check itself is shown to fail with a package removed.
Every subprocess runs under a timeout; every server started is stopped by the harness.
"""

import glob
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, ROOT, Postgres, ServerTestCase, Tmp, free_port, request, wait_for  # noqa: E402

TEMPLATE = os.path.join(ROOT, "env", ".env.fly.staging.template")
CONFIG_C = os.path.join(ROOT, "src", "core", "config.c")
SET_SECRETS = os.path.join(ROOT, "ops", "set_fly_secrets.sh")
SMOKE = os.path.join(ROOT, "ops", "smoke_and_benchmark.sh")
BACKUP_SH = os.path.join(ROOT, "ops", "backup", "backup_database.sh")
RESTORE_SH = os.path.join(ROOT, "ops", "backup", "restore_database.sh")
START_SH = os.path.join(ROOT, "deploy", "start.sh")
FLY_TOML = os.path.join(ROOT, "fly.toml")
DOCKERFILE = os.path.join(ROOT, "Dockerfile")
DOCKERIGNORE = os.path.join(ROOT, ".dockerignore")
INSTALL_DEPS = os.path.join(ROOT, "scripts", "install-deps.sh")
FAKE_FLYCTL_DIR = os.path.join(ROOT, "tests", "fixtures", "fake_flyctl")
RELEASE_BIN = os.path.join(ROOT, "build", "cabanas")

SECRET = "deploy-tests-jwt-secret-0123456789abcdef"  # 40 characters
OWNER = "owner@example.com"
REQUIRED = ("DATABASE_URL", "JWT_SECRET", "ADMIN_ALLOWED_EMAILS", "ENVIRONMENT")
COMING = ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_APP_SECRET",
          "ICS_SALT")
assert len(SECRET) == 40


def run(argv, env=None, timeout=60, input=None, cwd=None):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    e.update(env or {})
    return subprocess.run(argv, env=e, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, cwd=cwd, stdin=None if input is not None else subprocess.DEVNULL)


def out_of(p):
    return p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


def config_settings():
    """{NAME: (kind, default)} of every row of settings[] in src/core/config.c."""
    text = open(CONFIG_C).read()
    rows = re.findall(r'^\s*\{"([A-Z][A-Z0-9_]*)",\s*(K_[A-Z_]+),\s*"([^"]*)"', text, re.M)
    assert len(rows) > 20, "settings[] not found in config.c"
    return {name: (kind, default) for name, kind, default in rows}


def parse_env_lines(text):
    """The rules of `cabanas --env-file` (src/core/config.c): {KEY: VALUE}, later lines win."""
    out = {}
    for raw in text.splitlines():
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if s.startswith("export "):
            s = s[7:].strip()
        k, _, v = s.partition("=")
        k, v = k.strip(), v.strip()
        if len(v) >= 2 and v[0] in "\"'" and v[-1] == v[0]:
            v = v[1:-1]
        out[k] = v
    return out


def parse_flyctl_import(text):
    """flyctl's `secrets import` parser (internal/command/secrets/parser.go), to read what the fake got."""
    secrets, key, buf, multi = {}, None, [], False
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if multi:
            if line.endswith('"""'):
                buf.append(line[:-3])
                secrets[key] = "\n".join(buf)
                multi = False
            else:
                buf.append(line)
            continue
        if line.startswith("#") or not line.strip():
            continue
        assert "=" in line, line
        k, _, v = line.partition("=")
        k, v = k.strip(), v.lstrip(" ")
        if v.startswith('"""'):
            key, buf, multi = k, [v[3:]], True
        else:
            if v.startswith('"') and v.endswith('"'):
                v = v[1:-1]
            secrets[k] = v
    assert not multi, "unterminated multi-line value"
    return secrets


def norm_bool(v):
    return {"1": "true", "true": "true", "yes": "true", "on": "true", "0": "false", "false": "false", "no": "false",
            "off": "false", "": "false"}.get(v.lower(), v)


# --- env template ---------------------------------------------------------------------------------------

class EnvTemplateTest(ServerTestCase):
    def template_lines(self):
        """[(key, value, active)] of the template's KEY=VALUE lines, commented (`# KEY=...`) or not."""
        out = []
        for line in open(TEMPLATE).read().splitlines():
            m = re.match(r"^(#\s*)?(?:export\s+)?([A-Z][A-Z0-9_]*)=(.*)$", line)
            if m:
                out.append((m.group(2), m.group(3).strip(), m.group(1) is None))
        return out

    def test_every_setting_and_placeholder_is_listed(self):
        keys = {k for k, _, _ in self.template_lines()}
        missing = set(config_settings()) - keys
        self.assertEqual(missing, set(), "settings[] rows missing from the template")
        self.assertEqual(set(COMING) - keys, set(), "integration placeholders missing")
        text = open(TEMPLATE).read()
        self.assertIn("(coming with the iCal feature; not read yet)", text)
        self.assertGreaterEqual(text.count("openssl rand -hex 32"), 2, "how to make JWT_SECRET and ICS_SALT")
        for key in REQUIRED:
            self.assertIn(key, [k for k, _, active in self.template_lines() if active], key)

    def test_commented_defaults_are_the_built_in_ones(self):
        settings = config_settings()
        for key, value, active in self.template_lines():
            if active or key not in settings:
                continue
            kind, default = settings[key]
            if "CHANGE_ME" in value or key in ("PUBLIC_BASE_URL",):
                continue  # examples, not defaults
            if kind == "K_BOOL":
                self.assertEqual(norm_bool(value), norm_bool(default), key)
            else:
                self.assertEqual(value, default, key)

    def test_filled_in_template_passes_config_check(self):
        """Uncomment every setting, fill the placeholders: the server accepts each value as written."""
        tmp = Tmp()
        settings = config_settings()
        lines = []
        for line in open(TEMPLATE).read().splitlines():
            m = re.match(r"^#\s*([A-Z][A-Z0-9_]*)=(.*)$", line)
            if m and m.group(1) in settings:
                line = "%s=%s" % (m.group(1), m.group(2))
            if line.startswith("JWT_SECRET="):
                line = "JWT_SECRET=" + SECRET
            lines.append(line.replace("CHANGE_ME", "filled"))
        path = tmp.file("staging.env")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = run([BIN, "config-check", "--env-file", path])
        self.assertEqual(p.returncode, 0, out_of(p))
        shown = dict(l.split("=", 1) for l in p.stdout.decode().splitlines() if "=" in l and not l.startswith("#"))
        self.assertEqual(shown["ENVIRONMENT"], "staging")
        self.assertEqual(shown["JWT_SECRET"], "***")
        self.assertNotIn(SECRET, p.stdout.decode(), "secrets stay redacted")
        self.assertIn("postgresql://cabanas:***@filled.flycast", shown["DATABASE_URL"])

    def test_real_env_files_are_ignored_by_git_and_the_template_is_not(self):
        if not os.path.isdir(os.path.join(ROOT, ".git")):
            self.skipTest("not a git checkout")

        def ignored(path):
            return run(["git", "-C", ROOT, "check-ignore", "-q", path]).returncode == 0

        for path in ("env/.env.fly.staging", "env/.env.fly.production", ".env", "env/.env", "backups/x.dump",
                     "cabanas-20250101T000000Z.dump"):
            self.assertTrue(ignored(path), path)
        self.assertFalse(ignored("env/.env.fly.staging.template"))


# --- ops/set_fly_secrets.sh -----------------------------------------------------------------------------

GOOD_ENV = """# staging secrets
export DATABASE_URL="postgresql://app:pa#ss w0rd@db.flycast:5432/cabanas?sslmode=disable"
JWT_SECRET='%s'
ADMIN_ALLOWED_EMAILS = owner@example.com, ana@example.com
ENVIRONMENT=staging
HOST=$(touch %%(marker)s)
ALLOWED_ORIGINS="https://a.example,https://b.example"
QUOTE_INSIDE=say "hi"
STARTS_WITH_QUOTE='"x'
LATER=first
LATER=second
REDIS_URL=
""" % SECRET


class SetFlySecretsTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.tmp = Tmp()
        self.record = self.tmp.file("flyctl")
        os.makedirs(self.record)
        self.marker = self.tmp.file("executed")

    def write(self, text, name="staging.env"):
        path = self.tmp.file(name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def secrets(self, *args, env=None, path_prefix=FAKE_FLYCTL_DIR):
        e = {"PATH": path_prefix + ":" + os.environ["PATH"] if path_prefix else "/usr/bin:/bin",
             "FAKE_FLYCTL_DIR": self.record}
        e.update(env or {})
        return run(["bash", SET_SECRETS] + list(args), env=e, timeout=30)

    def flyctl_called(self):
        return os.path.exists(os.path.join(self.record, "argv"))

    def test_sends_every_pair_on_stdin_to_flyctl_secrets_import(self):
        path = self.write(GOOD_ENV % {"marker": self.marker})
        p = self.secrets("sist-cabanas-mvp", path)
        self.assertEqual(p.returncode, 0, out_of(p))
        with open(os.path.join(self.record, "argv")) as f:
            self.assertEqual(f.read().split("\n")[:-1], ["secrets", "import", "-a", "sist-cabanas-mvp"])
        with open(os.path.join(self.record, "stdin")) as f:
            got = parse_flyctl_import(f.read())
        expected = parse_env_lines(open(path).read())
        del expected["REDIS_URL"]  # empty values are skipped
        self.assertEqual(got, expected)
        self.assertEqual(got["DATABASE_URL"], "postgresql://app:pa#ss w0rd@db.flycast:5432/cabanas?sslmode=disable")
        self.assertEqual(got["HOST"], "$(touch %s)" % self.marker)
        self.assertEqual(got["LATER"], "second")
        self.assertEqual(got["QUOTE_INSIDE"], 'say "hi"')
        self.assertEqual(got["STARTS_WITH_QUOTE"], '"x')
        self.assertFalse(os.path.exists(self.marker), "the file is parsed, never executed")
        text = out_of(p)
        for secret in (SECRET, "pa#ss", "w0rd"):
            self.assertNotIn(secret, text, "no value is ever printed")
        self.assertIn("REDIS_URL", text)  # named as skipped

    def test_stage_is_passed_through(self):
        path = self.write(GOOD_ENV % {"marker": self.marker})
        p = self.secrets("sist-cabanas-mvp", path, "--stage")
        self.assertEqual(p.returncode, 0, out_of(p))
        with open(os.path.join(self.record, "argv")) as f:
            self.assertEqual(f.read().split("\n")[:-1], ["secrets", "import", "-a", "sist-cabanas-mvp", "--stage"])

    def test_dry_run_lists_names_only_and_never_calls_flyctl(self):
        path = self.write(GOOD_ENV % {"marker": self.marker})
        p = self.secrets("sist-cabanas-mvp", path, "--dry-run")
        self.assertEqual(p.returncode, 0, out_of(p))
        self.assertFalse(self.flyctl_called())
        listed = [l.strip() for l in p.stdout.decode().splitlines() if l.startswith("  ")]
        self.assertEqual(listed, ["DATABASE_URL", "JWT_SECRET", "ADMIN_ALLOWED_EMAILS", "ENVIRONMENT", "HOST",
                                  "ALLOWED_ORIGINS", "QUOTE_INSIDE", "STARTS_WITH_QUOTE", "LATER"])
        for value in (SECRET, "pa#ss", "owner@example.com", "staging\n", "second"):
            self.assertNotIn(value, out_of(p))

    def test_the_template_itself_is_refused(self):
        p = self.secrets("sist-cabanas-mvp", TEMPLATE)
        self.assertEqual(p.returncode, 1, out_of(p))
        self.assertFalse(self.flyctl_called())
        self.assertIn("CHANGE_ME", p.stderr.decode())
        for key in ("DATABASE_URL", "JWT_SECRET", "ADMIN_ALLOWED_EMAILS"):
            self.assertIn(key, p.stderr.decode())
        self.assertIn("nothing was sent", p.stderr.decode())

    def test_invalid_files_are_refused_naming_the_problem(self):
        base = parse_env_lines(GOOD_ENV % {"marker": self.marker})

        def env_text(**changes):
            d = dict(base)
            for k, v in changes.items():
                if v is None:
                    d.pop(k, None)
                else:
                    d[k] = v
            return "".join("%s='%s'\n" % kv for kv in d.items())

        cases = [
            (env_text(DATABASE_URL=None, ADMIN_ALLOWED_EMAILS=None), "missing required: DATABASE_URL ADMIN_ALLOWED_EMAILS"),
            (env_text(ENVIRONMENT=""), "missing required: ENVIRONMENT"),
            (env_text(JWT_SECRET="x" * 31), "JWT_SECRET: must be at least 32"),
            (env_text(ENVIRONMENT="development"), "ENVIRONMENT: development is not for Fly"),
            (env_text(ENVIRONMENT="prod"), "ENVIRONMENT: expected staging or production"),
            (env_text(DATABASE_URL="sqlite:///data/cabanas.db"), "DATABASE_URL: SQLite on Fly"),
            (env_text(SMTP_PASSWORD="CHANGE_ME"), "CHANGE_ME placeholder: SMTP_PASSWORD"),
            (env_text(ODD='""quoted'), "ODD: a value starting with"),
            (env_text() + "NOT A PAIR\n", "staging.env:%d: expected KEY=VALUE" % (len(base) + 1)),
            (env_text() + "1BAD=x\n", "invalid key"),
        ]
        for text, message in cases:
            path = self.write(text)
            p = self.secrets("sist-cabanas-mvp", path)
            self.assertEqual(p.returncode, 1, (message, out_of(p)))
            self.assertIn(message, p.stderr.decode(), message)
            self.assertFalse(self.flyctl_called(), message)
            self.assertNotIn(SECRET, out_of(p))

    def test_usage_and_environment_errors(self):
        path = self.write(GOOD_ENV % {"marker": self.marker})
        for args in ((), ("sist-cabanas-mvp",), ("sist-cabanas-mvp", path, "--bogus"), ("a", path, "extra")):
            p = self.secrets(*args)
            self.assertEqual(p.returncode, 2, (args, out_of(p)))
            self.assertIn("usage", p.stderr.decode())
        p = self.secrets("sist-cabanas-mvp", self.tmp.file("missing.env"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such file", p.stderr.decode())
        # flyctl fails: non-zero, said so
        p = self.secrets("sist-cabanas-mvp", path, env={"FAKE_FLYCTL_EXIT": "3"})
        self.assertEqual(p.returncode, 1, out_of(p))
        self.assertIn("flyctl secrets import failed (exit 3)", p.stderr.decode())
        # no flyctl at all
        if not (shutil.which("flyctl", path="/usr/bin:/bin") or shutil.which("fly", path="/usr/bin:/bin")):
            p = self.secrets("sist-cabanas-mvp", path, path_prefix=None)
            self.assertEqual(p.returncode, 1, out_of(p))
            self.assertIn("flyctl not found", p.stderr.decode())
        # a file others can read is a warning only
        os.chmod(path, 0o644)
        p = self.secrets("sist-cabanas-mvp", path, "--dry-run")
        self.assertEqual(p.returncode, 0)
        self.assertIn("chmod 600", p.stderr.decode())


# --- fly.toml -------------------------------------------------------------------------------------------

class FlyTomlTest(ServerTestCase):
    def test_fly_toml(self):
        with open(FLY_TOML, "rb") as f:
            cfg = tomllib.load(f)
        self.assertEqual(cfg["app"], "sist-cabanas-mvp")
        self.assertEqual(cfg["primary_region"], "eze")
        self.assertEqual(cfg["build"]["dockerfile"], "Dockerfile")
        self.assertTrue(os.path.exists(os.path.join(ROOT, cfg["build"]["dockerfile"])))
        self.assertEqual(cfg["deploy"]["strategy"], "rolling")
        env = cfg["env"]
        self.assertEqual(env, {"PORT": "8080", "HOST": "::", "ENVIRONMENT": "staging", "TRUST_PROXY": "true", "RATE_LIMIT_REQUESTS": "1200",
                               "LOG_LEVEL": "info", "SHUTDOWN_DRAIN_SECONDS": "10"})
        for key in env:
            self.assertIn(key, config_settings(), "fly.toml [env] sets only variables the server reads")
        for secret in ("DATABASE_URL", "JWT_SECRET", "REDIS_URL", "ADMIN_ALLOWED_EMAILS"):
            self.assertNotIn(secret, env, "secrets are never in fly.toml")
        self.assertEqual(cfg["kill_signal"], "SIGTERM")
        kill = cfg["kill_timeout"]
        kill_s = kill if isinstance(kill, int) else int(re.fullmatch(r"(\d+)s", kill).group(1))
        self.assertGreater(kill_s, int(env["SHUTDOWN_DRAIN_SECONDS"]), "Fly must wait for the drain")
        hs = cfg["http_service"]
        self.assertEqual(hs["internal_port"], int(env["PORT"]))
        self.assertIs(hs["force_https"], True)
        self.assertIn(hs["auto_stop_machines"], ("off", False))
        self.assertGreaterEqual(hs["min_machines_running"], 1)
        conc = hs["concurrency"]
        self.assertEqual(conc["type"], "requests")
        self.assertLess(conc["soft_limit"], conc["hard_limit"])
        self.assertLess(conc["hard_limit"], int(config_settings()["HTTP_MAX_CONNECTIONS"][1]))
        paths = {c["path"]: c for c in hs["checks"]}
        self.assertEqual(set(paths), {"/api/v1/healthz", "/api/v1/readyz"})
        for c in paths.values():
            for key in ("grace_period", "interval", "timeout"):
                self.assertRegex(c[key], r"^\d+s$", key)
            self.assertEqual(c.get("method", "GET").upper(), "GET")
        self.assertEqual(cfg["metrics"], {"port": 8080, "path": "/metrics"})
        vm = cfg["vm"][0]
        self.assertEqual((vm["size"], vm["memory"]), ("shared-cpu-1x", "256mb"))


# --- Dockerfile -----------------------------------------------------------------------------------------

def dockerfile_stages(text):
    """[{"base", "name", "instructions": [(INSTR, rest)]}] with continuation lines joined, comments dropped."""
    logical, cur = [], ""
    for raw in text.splitlines():
        s = raw.strip()
        if s.startswith("#") or (not s and not cur):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        logical.append(cur + s)
        cur = ""
    stages = []
    for line in logical:
        instr, _, rest = line.partition(" ")
        if instr.upper() == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"base": parts[0], "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((instr.upper(), rest.strip()))
    return stages


def apt_installs(stage):
    """Package names of every `apt-get install` in the stage's RUN instructions."""
    pkgs = []
    for instr, rest in stage["instructions"]:
        if instr != "RUN":
            continue
        for cmd in re.split(r"&&|\|\||;", rest):
            words = cmd.split()
            if "apt-get" in words and "install" in words:
                pkgs += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return pkgs


def installed_packages():
    """{package: {"priority", "essential", "depends": set of names}} from the local dpkg database (the same
    Debian 12 archive as the image). Depends and Pre-Depends, every alternative, versions dropped;
    virtual names map to their providers."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${Priority}\t${Essential}\t${Depends}\t"
                          "${Pre-Depends}\t${Provides}\t${db:Status-Abbrev}\n"],
                         stdout=subprocess.PIPE, timeout=60, check=True).stdout.decode()
    db, provides = {}, {}

    def names(field):
        return {re.sub(r"[\s(:].*$", "", alt.strip()) for dep in field.split(",") for alt in dep.split("|")
                if alt.strip()}

    for line in out.splitlines():
        pkg, prio, ess, dep, predep, prov, status = (line.split("\t") + [""] * 7)[:7]
        if not status.startswith("ii"):
            continue
        db[pkg] = {"priority": prio, "essential": ess == "yes", "depends": names(dep) | names(predep)}
        for v in names(prov):
            provides.setdefault(v, set()).add(pkg)
    for info in db.values():
        info["depends"] = {p for d in info["depends"] for p in ({d} if d in db else provides.get(d, set()))}
    return db


def dep_closure(db, roots):
    seen, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(db.get(p, {}).get("depends", ()))
    return seen


def base_image_packages(db):
    """What debian:12-slim has for sure: the Essential and Priority: required packages and their deps."""
    return dep_closure(db, [p for p, i in db.items() if i["essential"] or i["priority"] == "required"])


def ldd_libraries(binary):
    """({soname: path} of everything ldd resolves, [sonames the binary itself NEEDs])."""
    out = subprocess.run(["ldd", binary], stdout=subprocess.PIPE, timeout=30, check=True).stdout.decode()
    libs = {}
    for line in out.splitlines():
        line = line.strip()
        if "not found" in line:
            raise AssertionError("ldd: " + line)
        m = re.match(r"^(\S+) => (/\S+)", line) or re.match(r"^((/\S+))\s+\(0x", line)
        if m:
            libs[os.path.basename(m.group(1))] = m.group(2)
    dyn = subprocess.run(["readelf", "-d", binary], stdout=subprocess.PIPE, timeout=30, check=True).stdout.decode()
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
    return libs, needed


def package_of(path):
    """The Debian package shipping a library path (dpkg -S), trying the /usr-merged spellings too."""
    cands = []
    for p in (path, os.path.realpath(path)):
        cands += [p, "/usr" + p if not p.startswith("/usr/") else p[4:]]
    for c in dict.fromkeys(cands):
        r = subprocess.run(["dpkg", "-S", c], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
        for line in r.stdout.decode().splitlines():
            if line.startswith("diversion "):
                continue
            pkgs, _, _ = line.partition(": ")
            return sorted(p.strip().split(":")[0] for p in pkgs.split(","))[0]
    raise AssertionError("dpkg -S finds no package for " + path)


def runtime_coverage_problems(listed, libs, needed, lib_pkg, db, base):
    """Libraries the runtime stage would lack. Direct NEEDED libraries must come from an explicitly
    listed package or the base image; the indirect ones may also come in as dependencies of those."""
    problems = []
    covered = dep_closure(db, listed) | base
    for soname, path in sorted(libs.items()):
        pkg = lib_pkg[soname]
        if soname in needed and pkg not in listed and pkg not in base:
            problems.append("%s (NEEDED by cabanas) comes from %s, not in the runtime apt-get install list"
                            % (soname, pkg))
        elif pkg not in covered:
            problems.append("%s comes from %s, which nothing in the runtime stage installs" % (soname, pkg))
    return problems


class DockerfileTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        with open(DOCKERFILE) as f:
            cls.stages = dockerfile_stages(f.read())

    def test_build_stage_uses_the_install_deps_build_packages(self):
        self.assertEqual(len(self.stages), 2)
        build = self.stages[0]
        self.assertEqual(build["base"], "debian:12")
        text = open(INSTALL_DEPS).read()
        build_pkgs = re.search(r"build_pkgs=\(([^)]*)\)", text).group(1).split()
        self.assertEqual(sorted(apt_installs(build)), sorted(build_pkgs))
        runs = " ".join(rest for instr, rest in build["instructions"] if instr == "RUN")
        self.assertIn("make", runs)
        self.assertIn("build/cabanas", runs)

    def test_runtime_stage(self):
        rt = self.stages[-1]
        self.assertEqual(rt["base"], "debian:12-slim")
        pkgs = apt_installs(rt)
        self.assertFalse([p for p in pkgs if p.endswith("-dev") or p in ("build-essential", "gcc", "make")],
                         "no build tools at runtime")
        for p in ("ca-certificates", "tzdata", "curl"):
            self.assertIn(p, pkgs)
        instr = {}
        for i, rest in rt["instructions"]:
            instr.setdefault(i, []).append(rest)
        user = instr["USER"][-1].split(":")[0]
        self.assertNotIn(user, ("root", "0"), "runs as a non-root user")
        self.assertIn("/api/v1/healthz", instr["HEALTHCHECK"][-1])
        self.assertEqual(json.loads(instr["ENTRYPOINT"][-1]), ["/app/deploy/start.sh"])
        self.assertTrue(any("deploy/start.sh" in c and "/app/deploy/start.sh" in c for c in instr["COPY"]))
        self.assertTrue(any("--from=build" in c and "cabanas" in c for c in instr["COPY"]))
        self.assertTrue(os.access(START_SH, os.X_OK), "COPY keeps the mode: start.sh must be executable")
        ignore = open(DOCKERIGNORE).read().split()
        for p in (".git", "env", ".env", ".env.*", "build", "**/*.db", "**/*.dump", "backups"):
            self.assertIn(p, ignore, "kept out of the build context")
        for needed in ("Makefile", "VERSION", "src", "tools", "migrations"):
            self.assertNotIn(needed, ignore)

    def test_runtime_packages_cover_every_library_of_the_binary(self):
        if not os.path.exists(RELEASE_BIN):
            self.fail("build/cabanas missing: run make build/cabanas")
        listed = set(apt_installs(self.stages[-1]))
        libs, needed = ldd_libraries(RELEASE_BIN)
        self.assertIn("libc.so.6", needed)
        self.assertGreaterEqual(len(needed), 6, needed)
        lib_pkg = {soname: package_of(path) for soname, path in libs.items()}
        db = installed_packages()
        base = base_image_packages(db)
        self.assertIn("libc6", base)
        for p in listed:
            known = p in db or subprocess.run(["apt-cache", "show", p], stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL, timeout=30).returncode == 0
            self.assertTrue(known, "%s is not a Debian 12 package" % p)
        self.assertEqual(runtime_coverage_problems(listed, libs, needed, lib_pkg, db, base), [])
        # The check has teeth: without any one of the packages providing a NEEDED library, it fails and
        # names that library.
        direct = {lib_pkg[s] for s in needed if s in lib_pkg} & listed
        self.assertGreaterEqual(len(direct), 6, direct)
        for pkg in sorted(direct):
            problems = runtime_coverage_problems(listed - {pkg}, libs, needed, lib_pkg, db, base)
            self.assertTrue(problems, "removing %s went unnoticed" % pkg)
            self.assertTrue(any(pkg in p for p in problems), problems)


# --- deploy/start.sh ------------------------------------------------------------------------------------

class StartScript(harness.Cabanas):
    """deploy/start.sh instead of the bare binary; it must exec `cabanas serve`, so the pid is the server's."""

    def start(self, wait_ready=True):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["bash", START_SH] + self.args, env=self.env, stdout=self.logf,
                                     stderr=self.logf)
        harness._started.append(self.proc)
        harness._record_pid(self.proc.pid)
        if wait_ready:
            def up():  # an exit ends the wait at once (wait_for keeps polling through exceptions)
                return self.proc.poll() is not None or (
                    harness._can_connect(self.port) and request(self.port, "GET", "/api/v1/healthz", timeout=2).status)
            wait_for(up, 60, what="start.sh to serve")
            if self.proc.poll() is not None:
                raise AssertionError("start.sh exited %s:\n%s" % (self.proc.returncode, self.log()[-3000:]))


STAGING_ENV = {"ENVIRONMENT": "staging", "JWT_SECRET": SECRET, "ADMIN_ALLOWED_EMAILS": OWNER,
               "CABANAS_BIN": BIN, "CABANAS_TEST_ENDPOINTS": "0"}


class StartScriptTest(ServerTestCase):
    pg = None

    @classmethod
    def tearDownClass(cls):
        if cls.pg:
            cls.pg.stop()

    def start_script(self, **kw):
        kw.setdefault("args", ())
        s = StartScript(**kw)
        self._servers.append(s)
        return s

    def script(self, env, timeout=60):
        e = {"CABANAS_BIN": BIN, "HOST": "127.0.0.1", "PORT": str(free_port())}
        e.update(env)
        return run(["bash", START_SH], env=e, timeout=timeout)

    def test_missing_required_environment_is_named(self):
        p = self.script({"ENVIRONMENT": "staging"})
        self.assertEqual(p.returncode, 1, out_of(p))
        err = p.stderr.decode()
        self.assertIn("missing required environment for ENVIRONMENT=staging: DATABASE_URL JWT_SECRET "
                      "ADMIN_ALLOWED_EMAILS", err)
        p = self.script({"ENVIRONMENT": "production", "DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
                         "ADMIN_ALLOWED_EMAILS": OWNER, "JWT_SECRET": ""})
        self.assertEqual(p.returncode, 1, out_of(p))
        self.assertIn("ENVIRONMENT=production: JWT_SECRET\n", p.stderr.decode())
        # invalid values are the server's to judge: config-check, exit 2, nothing started
        tmp = Tmp()
        p = self.script(dict(STAGING_ENV, DATABASE_URL="sqlite://" + tmp.file("x.db"), PORT="http"))
        self.assertEqual(p.returncode, 2, out_of(p))
        self.assertIn("PORT", p.stderr.decode())
        self.assertFalse(os.path.exists(tmp.file("x.db")), "nothing migrated on a bad configuration")

    def test_unreachable_database_fails_after_the_retries(self):
        port = free_port()
        t0 = time.monotonic()
        p = self.script(dict(STAGING_ENV, DATABASE_URL="postgresql://postgres@127.0.0.1:%d/x" % port,
                             START_MIGRATE_ATTEMPTS="2", DB_CONNECT_TIMEOUT_SECONDS="1"), timeout=60)
        self.assertEqual(p.returncode, 1, out_of(p))
        err = p.stderr.decode()
        self.assertIn("cabanas migrate failed (attempt 1 of 2); retrying", err)
        self.assertIn("cabanas migrate failed 2 time(s); not starting", err)
        self.assertGreaterEqual(time.monotonic() - t0, 3)

    def test_sqlite_migrates_and_serves(self):
        tmp = Tmp()
        s = self.start_script(database_url="sqlite://" + tmp.file("staging.db"), env=STAGING_ENV)
        self.assertEqual(s.get("/api/v1/healthz").status, 200)
        r = s.get("/api/v1/readyz")
        self.assertEqual((r.status, r.json["status"]), (200, "ready"))
        log = s.log()
        self.assertIn("cabanas migrate: applied", log)
        self.assertIn("start: Redis: disabled (REDIS_URL not set", log)
        self.assertIn("start: MercadoPago: disabled (MERCADOPAGO_ACCESS_TOKEN not set)", log)
        self.assertIn("start: WhatsApp: disabled (WHATSAPP_ACCESS_TOKEN not set)", log)
        self.assertIn("start: Email: disabled (SMTP_URL not set)", log)
        self.assertIn("start: iCal: disabled (ICS_SALT not set)", log)
        self.assertNotIn(SECRET, log)
        # exec: the process start.sh became is the server itself, so SIGTERM reaches it (tearDown: exit 0)
        self.assertEqual(os.path.realpath("/proc/%d/exe" % s.proc.pid), os.path.realpath(BIN))

    def test_integration_credentials_are_reported_and_never_fatal(self):
        tmp = Tmp()
        s = self.start_script(database_url="sqlite://" + tmp.file("staging.db"),
                              env=dict(STAGING_ENV, MERCADOPAGO_ACCESS_TOKEN="TEST-123", WHATSAPP_ACCESS_TOKEN="x"))
        self.assertEqual(s.get("/api/v1/healthz").status, 200)
        log = s.log()
        self.assertIn("start: MercadoPago: credentials set", log)
        self.assertIn("start: WhatsApp: disabled (WHATSAPP_PHONE_NUMBER_ID not set)", log)
        self.assertNotIn("TEST-123", log)

    def test_two_machines_start_together_on_one_postgres_database(self):
        if StartScriptTest.pg is None:
            StartScriptTest.pg = Postgres()
        url = self.pg.create_database("deploy_start_%d" % os.getpid())
        env = dict(STAGING_ENV)
        a = self.start_script(database_url=url, env=env, wait_ready=False, name="machine-a")
        b = self.start_script(database_url=url, env=env, wait_ready=False, name="machine-b")
        self.assertNotEqual(a.port, b.port)
        for s in (a, b):
            wait_for(lambda: s.proc.poll() is None and harness._can_connect(s.port)
                     and s.get("/api/v1/readyz", timeout=2).status == 200, 60,
                     what="both machines ready (%s)" % s.log()[-2000:])
        applied = [int(m) for s in (a, b) for m in re.findall(r"cabanas migrate: applied (\d+)", s.log())]
        self.assertEqual(len(applied), 2, "each machine ran migrate once")
        status = run([BIN, "migrate", "--status"], env={"DATABASE_URL": url})
        # versions may have gaps between feature branches: count the migration files
        files = len(glob.glob(os.path.join(ROOT, "migrations", "postgres", "*.sql")))
        self.assertEqual(sum(applied), files, "every migration applied exactly once across both machines")
        self.assertIn(b"up to date", status.stdout)


# --- ops/smoke_and_benchmark.sh -------------------------------------------------------------------------

class FakeServer:
    """A tiny HTTP server answering {path: (status, body)}, in a thread."""

    def __init__(self, routes):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                status, body = routes.get(self.path.split("?")[0], (404, "{}"))
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


GOOD_ROUTES = {"/api/v1/healthz": (200, '{"status":"healthy"}'), "/api/v1/readyz": (200, '{"status":"ready"}'),
               "/metrics": (200, "# HELP up x\n# TYPE up gauge\nup 1\n")}


class SmokeTest(ServerTestCase):
    def smoke(self, base, env=None, timeout=240):
        e = {"CABANAS_BIN": BIN, "SMOKE_TIMEOUT": "10"}
        e.update(env or {})
        return run(["bash", SMOKE, base], env=e, timeout=timeout)

    def fake_bench(self, tmp, code):
        path = tmp.file("fake-cabanas")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nprintf '%%s\\n' \"$@\" > %s.argv\nexit %d\n" % (path, code))
        os.chmod(path, 0o755)
        return path

    def test_passes_against_a_real_server_and_writes_the_report(self):
        s = self.server(args=("serve", "--migrate"), env={"RATE_LIMIT_ENABLED": "0"})
        self.assertEqual(s.run("seed").returncode, 0)
        tmp = Tmp()
        report = tmp.file("runtime-report.md")
        p = self.smoke("http://127.0.0.1:%d" % s.port, env={"RUNTIME_REPORT": report})
        text = out_of(p)
        self.assertEqual(p.returncode, 0, text)
        for name in ("healthz", "readyz", "metrics", "bench"):
            self.assertRegex(text, r"(?m)^ok +%s:" % name)
        self.assertTrue(os.path.getsize(report) > 0, "the bench report is written")

    def test_each_failed_check_is_named_and_the_bench_skipped(self):
        tmp = Tmp()
        fake = FakeServer({"/api/v1/healthz": (200, '{"status":"degraded"}'),
                           "/api/v1/readyz": (503, '{"status":"not_ready","reason":"draining"}'),
                           "/metrics": (200, "up 1\n")})
        try:
            bench = self.fake_bench(tmp, 0)
            p = self.smoke("http://127.0.0.1:%d/" % fake.port, env={"CABANAS_BIN": bench})
        finally:
            fake.close()
        text = out_of(p)
        self.assertEqual(p.returncode, 1, text)
        self.assertIn("FAIL healthz: GET /api/v1/healthz answered 200 but not \"status\":\"healthy\"", text)
        self.assertIn("FAIL readyz: GET /api/v1/readyz answered 503", text)
        self.assertIn("FAIL metrics:", text)
        self.assertIn("FAILED: healthz readyz metrics (benchmark not run)", text)
        self.assertFalse(os.path.exists(bench + ".argv"), "no benchmark against a failing server")
        # nothing listening at all
        p = self.smoke("http://127.0.0.1:%d" % free_port(), env={"CABANAS_BIN": bench})
        self.assertEqual(p.returncode, 1)
        self.assertIn("FAIL healthz: GET /api/v1/healthz:", out_of(p))

    def test_bench_arguments_and_slo_failure(self):
        tmp = Tmp()
        fake = FakeServer(GOOD_ROUTES)
        try:
            base = "http://127.0.0.1:%d" % fake.port
            bench = self.fake_bench(tmp, 1)
            p = self.smoke(base, env={"CABANAS_BIN": bench, "RUNTIME_REPORT": tmp.file("r.md")})
            self.assertEqual(p.returncode, 1, out_of(p))
            self.assertIn("FAIL bench: an SLO was not met", out_of(p))
            with open(bench + ".argv") as f:
                self.assertEqual(f.read().split("\n")[:-1], ["bench", "--base-url", base, "--concurrency", "10",
                                                             "--requests", "100", "--report", tmp.file("r.md")])
            ok = self.fake_bench(tmp, 0)
            p = self.smoke(base, env={"CABANAS_BIN": ok})
            self.assertEqual(p.returncode, 0, out_of(p))
            with open(ok + ".argv") as f:
                self.assertIn("./runtime-report.md", f.read(), "the default report path")
        finally:
            fake.close()
        for args in ((), ("ftp://x",), ("a", "b")):
            p = run(["bash", SMOKE] + list(args), timeout=30)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn("usage", p.stderr.decode())
        p = run(["bash", SMOKE, "http://127.0.0.1:1"], env={"CABANAS_BIN": tmp.file("nope")}, timeout=30)
        self.assertEqual(p.returncode, 2)
        self.assertIn("cabanas binary not found", p.stderr.decode())


# --- backups ---------------------------------------------------------------------------------------------

BOOK_ENV = {"RATE_LIMIT_ENABLED": "0", "JWT_SECRET": SECRET, "ADMIN_ALLOWED_EMAILS": OWNER}


def day(n):
    import datetime
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()


class BackupChecks:
    """Shared by both engines: a server with seeded accommodations, holds, a confirmed and a cancelled
    booking; everything read back through the admin API."""

    def admin_headers(self, s):
        p = s.run("admin", "token", OWNER)
        self.assertEqual(p.returncode, 0, p.stderr)
        return {"Authorization": "Bearer " + p.stdout.decode().strip()}

    def populate(self, s):
        p = s.run("seed")
        self.assertEqual(p.returncode, 0, p.stderr)
        accs = json.loads(p.stdout.decode())["accommodations"]
        admin = self.admin_headers(s)
        codes = []
        for i, acc in enumerate(accs):
            for j in range(3):
                body = {"accommodation_id": acc["id"], "check_in": day(10 + 7 * j + i), "check_out": day(13 + 7 * j + i),
                        "guests": 1, "guest_name": "Huésped %d-%d" % (i, j), "guest_phone": "+54 9 11 5555-%04d" % (10 * i + j),
                        "guest_email": "g%d%d@example.com" % (i, j)}
                r = s.req("POST", "/api/v1/reservations", body=body)
                self.assertEqual(r.status, 201, r)
                codes.append(r.json["code"])
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % codes[0], body={"note": "transfer 42"},
                  headers=admin)
        self.assertEqual((r.status, r.json["status"]), (200, "confirmed"), r)
        r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % codes[4], body={"amount": "1234.56"},
                  headers=admin)
        self.assertEqual(r.status, 200, r)
        r = s.req("POST", "/api/v1/reservations/%s/cancel" % codes[1], body={"reason": "cambio de planes"})
        self.assertEqual((r.status, r.json["status"]), (200, "cancelled"), r)
        state = self.snapshot(s)
        statuses = sorted(i["status"] for i in state["reservations"])
        self.assertEqual(statuses.count("confirmed"), 2)
        self.assertEqual(statuses.count("cancelled"), 1)
        self.assertEqual(statuses.count("pre_reserved"), 6)
        return state, accs

    def snapshot(self, s):
        admin = self.admin_headers(s)
        r = s.get("/api/v1/admin/reservations?limit=200", headers=admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["total"], len(r.json["items"]))
        res = sorted(r.json["items"], key=lambda i: i["code"])
        r = s.get("/api/v1/admin/accommodations", headers=admin)
        self.assertEqual(r.status, 200, r)
        return {"reservations": res, "accommodations": sorted(r.json["items"], key=lambda a: a["id"])}

    def assert_restored(self, s, before):
        after = self.snapshot(s)
        self.assertEqual(len(after["reservations"]), len(before["reservations"]))
        for b, a in zip(before["reservations"], after["reservations"]):
            self.assertEqual(a, b, "reservation %s differs after the restore" % b["code"])
        self.assertEqual(after["accommodations"], before["accommodations"])
        # the nights of a confirmed booking are still taken: the no-overlap data came back too
        conf = [i for i in before["reservations"] if i["status"] == "confirmed"][0]
        r = s.req("POST", "/api/v1/reservations", body={
            "accommodation_id": conf["accommodation_id"], "check_in": conf["check_in"],
            "check_out": conf["check_out"], "guests": 1, "guest_name": "Otro", "guest_phone": "+54 9 11 4444-0000"})
        self.assertEqual((r.status, r.json["error"]), (409, "date_overlap"), r)


class SqliteBackupTest(BackupChecks, ServerTestCase):
    def test_backup_wipe_restore_read_back(self):
        tmp = Tmp()
        db = tmp.file("cabanas.db")
        s = self.server(args=("serve", "--migrate"), database_url="sqlite://" + db, env=BOOK_ENV)
        before, accs = self.populate(s)
        backup = tmp.file("backups/cabanas-online.db")
        os.makedirs(os.path.dirname(backup))
        # online: the server keeps running and answering during the copy
        p = s.run("backup", "--to", backup)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"wrote " + backup.encode(), p.stdout)
        self.assertEqual(os.stat(backup).st_mode & 0o777, 0o600, "a backup holds guest data")
        self.assertEqual(os.listdir(os.path.dirname(backup)), ["cabanas-online.db"], "no temporary file left")
        # a change after the backup is not in it
        r = s.req("POST", "/api/v1/reservations", body={
            "accommodation_id": accs[2]["id"], "check_in": day(200), "check_out": day(203), "guests": 1,
            "guest_name": "Después", "guest_phone": "+54 9 11 3333-0000"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(s.stop(), 0)
        # wipe
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.unlink(db + suffix)
        # restore = copy the file back while the server is stopped
        shutil.copyfile(backup, db)
        s2 = self.server(args=("serve",), database_url="sqlite://" + db, env=BOOK_ENV)
        self.assertEqual(s2.get("/api/v1/readyz").status, 200)
        self.assert_restored(s2, before)

    def test_backup_refusals(self):
        tmp = Tmp()
        db = tmp.file("c.db")
        env = {"DATABASE_URL": "sqlite://" + db}
        self.assertEqual(run([BIN, "migrate"], env=env).returncode, 0)
        p = run([BIN, "backup"], env=env)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"missing --to FILE", p.stderr)
        p = run([BIN, "backup", "--to", tmp.file("b.db")], env={"DATABASE_URL": "postgresql://u@127.0.0.1:1/x"})
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"use ops/backup/backup_database.sh", p.stderr)
        p = run([BIN, "backup", "--to", tmp.file("b.db")], env={"DATABASE_URL": "sqlite://" + tmp.file("none.db")})
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"no database at", p.stderr)
        self.assertFalse(os.path.exists(tmp.file("none.db")), "a missing database is not created")
        self.assertEqual(run([BIN, "backup", "--to", tmp.file("b.db")], env=env).returncode, 0)
        p = run([BIN, "backup", "--to", tmp.file("b.db")], env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"already exists", p.stderr)
        p = run([BIN, "backup", "--to", tmp.file("no/such/dir/b.db")], env=env)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(sorted(os.listdir(tmp.path)), ["b.db", "c.db"], "nothing partial left behind")
        # the shell scripts send SQLite users to `cabanas backup`
        p = run(["bash", BACKUP_SH, "--dir", tmp.file("d")], env=env)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"cabanas backup --to FILE", p.stderr)


class PostgresBackupTest(BackupChecks, ServerTestCase):
    pg = None
    counter = 0

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def new_db(self):
        PostgresBackupTest.counter += 1
        name = "bk_%d_%d" % (os.getpid(), PostgresBackupTest.counter)
        return name, self.pg.create_database(name)

    def sh(self, script, *args, env=None, timeout=120):
        return run(["bash", script] + list(args), env=env, timeout=timeout)

    def test_backup_drop_restore_read_back(self):
        name, url = self.new_db()
        s = self.server(args=("serve", "--migrate"), database_url=url, env=BOOK_ENV)
        before, accs = self.populate(s)
        tmp = Tmp()
        bdir = tmp.file("backups")
        p = self.sh(BACKUP_SH, "--dir", bdir, env={"DATABASE_URL": url})  # URL from the environment
        self.assertEqual(p.returncode, 0, out_of(p))
        files = os.listdir(bdir)
        self.assertEqual(len(files), 1, files)
        self.assertRegex(files[0], r"^cabanas-\d{8}T\d{6}Z\.dump$")
        dump = os.path.join(bdir, files[0])
        self.assertEqual(os.stat(dump).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(bdir).st_mode & 0o777, 0o700)
        with open(dump, "rb") as f:
            self.assertEqual(f.read(5), b"PGDMP", "pg_dump custom format")
        self.assertEqual(s.stop(), 0)
        # wipe: drop the database and create it empty
        self.pg.psql("DROP DATABASE %s WITH (FORCE)" % name)
        self.pg.psql("CREATE DATABASE %s" % name)
        p = self.sh(RESTORE_SH, dump, "--database-url", url)  # no terminal: no prompt, no --yes needed
        self.assertEqual(p.returncode, 0, out_of(p))
        s2 = self.server(args=("serve",), database_url=url, env=BOOK_ENV)  # no --migrate: the schema is back
        self.assertEqual(s2.get("/api/v1/readyz").status, 200)
        self.assert_restored(s2, before)
        # a change, then a restore over it: refused without --clean, replaced with it
        r = s2.req("POST", "/api/v1/reservations", body={
            "accommodation_id": accs[2]["id"], "check_in": day(300), "check_out": day(303), "guests": 1,
            "guest_name": "Después", "guest_phone": "+54 9 11 3333-0000"})
        self.assertEqual(r.status, 201, r)
        extra = r.json["code"]
        self.assertEqual(s2.stop(), 0)
        p = self.sh(RESTORE_SH, dump, "--database-url", url)
        self.assertEqual(p.returncode, 1, out_of(p))
        self.assertIn("pass --clean", p.stderr.decode())
        p = self.sh(RESTORE_SH, dump, "--clean", "--yes", "--database-url", url)
        self.assertEqual(p.returncode, 0, out_of(p))
        s3 = self.server(args=("serve",), database_url=url, env=BOOK_ENV)
        self.assert_restored(s3, before)
        self.assertNotIn(extra, [i["code"] for i in self.snapshot(s3)["reservations"]])

    def test_restore_asks_on_a_terminal(self):
        import pty
        name, url = self.new_db()
        self.assertEqual(run([BIN, "migrate"], env={"DATABASE_URL": url}).returncode, 0)
        tmp = Tmp()
        p = self.sh(BACKUP_SH, "--dir", tmp.path, "--database-url", url)
        self.assertEqual(p.returncode, 0, out_of(p))
        dump = glob.glob(tmp.file("cabanas-*.dump"))[0]
        _, url2 = self.new_db()
        master, slave = pty.openpty()
        try:
            proc = subprocess.Popen(["bash", RESTORE_SH, dump, "--database-url", url2], stdin=slave,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env={"PATH": os.environ["PATH"]})
            os.write(master, b"no\n")
            out, err = proc.communicate(timeout=60)
        finally:
            os.close(master)
            os.close(slave)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn(b"Type yes to continue", err)
        self.assertIn(b"not confirmed; nothing was changed", err)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM pg_tables WHERE schemaname='public'",
                                      db=url2.rsplit("/", 1)[1]), "0")

    def test_retention_keeps_the_newest(self):
        _, url = self.new_db()
        self.assertEqual(run([BIN, "migrate"], env={"DATABASE_URL": url}).returncode, 0)
        tmp = Tmp()
        for other in ("notes.txt", "cabanas-manual.dump"):
            with open(tmp.file(other), "w") as f:
                f.write("keep me")
        made = []
        for _ in range(5):
            p = self.sh(BACKUP_SH, "--dir", tmp.path, "--keep", "3", "--database-url", url)
            self.assertEqual(p.returncode, 0, out_of(p))
            made.append(re.search(r"wrote \S+/(cabanas-\S+\.dump)", p.stdout.decode()).group(1))
        self.assertEqual(len(set(made)), 5, "five distinct backups")
        left = sorted(f for f in os.listdir(tmp.path) if re.match(r"^cabanas-\d{8}T\d{6}Z\.dump$", f))
        self.assertEqual(left, sorted(made)[-3:])
        for other in ("notes.txt", "cabanas-manual.dump"):
            self.assertTrue(os.path.exists(tmp.file(other)), "retention touches only its own files")

    def test_failures_leave_nothing_behind(self):
        tmp = Tmp()
        bdir = tmp.file("b")
        p = self.sh(BACKUP_SH, "--dir", bdir, "--database-url",
                    "postgresql://postgres@127.0.0.1:%d/nope" % free_port())
        self.assertEqual(p.returncode, 1, out_of(p))
        self.assertIn("pg_dump failed; no backup written", p.stderr.decode())
        self.assertEqual(os.listdir(bdir), [], "no partial or temporary file")
        p = self.sh(BACKUP_SH, "--dir", bdir, "--database-url",
                    "postgresql://postgres@127.0.0.1:%d/missing_db" % self.pg.port)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(os.listdir(bdir), [])
        for args in (("--keep", "0"), ("--keep", "x"), ("--bogus",), ("--dir",)):
            p = self.sh(BACKUP_SH, *args, env={"DATABASE_URL": "postgresql://x@127.0.0.1/x"})
            self.assertEqual(p.returncode, 2, args)
        p = self.sh(BACKUP_SH, "--dir", bdir, env={"DATABASE_URL": ""})
        self.assertEqual(p.returncode, 2)
        junk = tmp.file("junk.dump")
        with open(junk, "w") as f:
            f.write("not a dump")
        _, url = self.new_db()
        p = self.sh(RESTORE_SH, junk, "--yes", "--database-url", url)
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a pg_dump custom-format archive", p.stderr.decode())
        p = self.sh(RESTORE_SH, tmp.file("missing.dump"), "--database-url", url)
        self.assertEqual(p.returncode, 1)
        p = self.sh(RESTORE_SH, "--yes", "--database-url", url)
        self.assertEqual(p.returncode, 2)

    def test_password_travels_in_the_environment_not_argv(self):
        """Fake pg_dump/pg_restore (PG_BINDIR) record what they get: the URL without its password in argv,
        the percent-decoded password in PGPASSWORD."""
        tmp = Tmp()
        bindir = tmp.file("bin")
        os.makedirs(bindir)
        rec = tmp.file("rec")
        with open(os.path.join(bindir, "pg_dump"), "w") as f:
            f.write('#!/bin/sh\nprintf "%%s\\n" "$@" > %s.argv\nprintf "%%s" "$PGPASSWORD" > %s.pw\n'
                    'for a in "$@"; do case "$a" in --file=*) printf PGDMP-fake > "${a#--file=}";; esac; done\n'
                    % (rec, rec))
        with open(os.path.join(bindir, "pg_restore"), "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        for n in ("pg_dump", "pg_restore"):
            os.chmod(os.path.join(bindir, n), 0o755)
        url = "postgresql://app:p%40ss%3Aw0rd%25@db.internal:5432/cabanas?sslmode=require"
        p = self.sh(BACKUP_SH, "--dir", tmp.file("out"), "--database-url", url, env={"PG_BINDIR": bindir})
        self.assertEqual(p.returncode, 0, out_of(p))
        with open(rec + ".argv") as f:
            argv = f.read()
        self.assertIn("--dbname=postgresql://app@db.internal:5432/cabanas?sslmode=require", argv)
        self.assertNotIn("p%40ss", argv)
        with open(rec + ".pw") as f:
            self.assertEqual(f.read(), "p@ss:w0rd%")
        self.assertNotIn("w0rd", out_of(p))


if __name__ == "__main__":
    harness.main()
