"""Monitoring: the Prometheus alert rules, their unit tests, the example scrape config and the Grafana dashboard.

promtool checks the files and runs monitoring/prometheus/alerts_test.yml. Then a real server (SQLite) gets a few
requests and a booking flow, its /metrics is scraped, and every metric name, selector label and route used by
an alert or a dashboard panel must be one that server exports (`up` is Prometheus's own and allowed). Last, when
the prometheus server binary is installed, a real Prometheus scrapes a real server (PostgreSQL + Redis), loads
alerts.yml, evaluates every rule without error and fires nothing, and answers every dashboard query.
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import ROOT, Postgres, Redis, ServerTestCase, request, wait_for  # noqa: E402

MON = os.path.join(ROOT, "monitoring")
ALERTS = os.path.join(MON, "prometheus", "alerts.yml")
ALERTS_TEST = os.path.join(MON, "prometheus", "alerts_test.yml")
PROM_CONFIG = os.path.join(MON, "prometheus", "prometheus.yml")
DASHBOARD = os.path.join(MON, "grafana", "cabanas.json")
OPERATIONS = os.path.join(ROOT, "docs", "operations.md")

SECRET = "monitoring-tests-jwt-secret-0123456789ab"  # 40 bytes
OWNER = "owner@example.com"
PROMETHEUS_OWN = {"up"}  # series Prometheus adds per target
TARGET_LABELS = {"job", "instance"}  # labels Prometheus adds to every scraped series

REQUIRED_ALERTS = {
    "CabanasInstanceDown", "CabanasNotReady", "CabanasHighErrorRate", "CabanasHighLatency",
    "CabanasBookingConflictsSpike", "CabanasHoldsNotExpiring", "CabanasDatabasePoolExhausted",
    "CabanasRedisDown", "CabanasRateLimitingSpike", "CabanasOutboxDead",
}
REQUIRED_PANELS = (  # title fragments (lower case) the dashboard must have
    "request rate by route", "5xx", "p50 / p95", "holds created / confirmed / cancelled / expired", "conflicts",
    "active holds", "db pool", "redis connected", "resident memory", "build",
)
# Grafana variables, replaced as "All" would replace them
GRAFANA_VARS = (("$__rate_interval", "10s"), ("$__interval", "10s"), ("$job", ".*"), ("$instance", ".*"))

PROMQL_WORDS = {"and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left", "group_right",
                "offset", "inf", "nan", "atan2"}
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
SELECTOR = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}')
MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def run(argv, timeout=60):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


def load_yaml_rules():
    """The alert rules as [{alert, expr, for, labels, annotations}], read without a YAML module (the harness
    is standard library only) as the subset of YAML the file uses. promtool validates the file itself; the
    tests below check that this reading agrees with promtool's rule count and with what a real Prometheus
    loaded."""
    # A tiny reader for the rule file's shape: list items under `rules:`, keys `alert`, `expr` (plain or
    # block scalar `|`), `for`, `labels:` and `annotations:` maps (values plain, quoted or folded `>-`).
    rules, cur, section, block_key, block_lines, block_indent, block_fold = [], None, None, None, [], None, False
    lines = open(ALERTS, encoding="utf-8").read().split("\n")

    def flush_block():
        nonlocal block_key, block_lines
        if block_key is None:
            return
        text = (" " if block_fold else "\n").join(l.strip() if block_fold else l for l in block_lines).strip()
        target = cur if section is None else cur[section]
        target[block_key] = text
        block_key, block_lines = None, []

    def scalar(v):
        v = v.strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            return json.loads(v) if v[0] == '"' else v[1:-1]
        return v

    for raw in lines:
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip(" "))
        if block_key is not None:
            if stripped == "" or indent > block_indent:
                block_lines.append(raw[block_indent + 2:] if not block_fold else raw)
                continue
            flush_block()
        if not stripped or stripped.startswith("#"):
            continue
        m = re.match(r"^-\s+alert:\s*(.+)$", stripped)
        if m:
            cur = {"alert": scalar(m.group(1)), "labels": {}, "annotations": {}}
            rules.append(cur)
            section, rule_indent = None, indent
            continue
        if cur is None:
            continue
        m = re.match(r"^([a-z_]+):\s*(.*)$", stripped)
        if not m:
            continue
        key, val = m.group(1), m.group(2)
        if indent == rule_indent + 2:
            section = key if key in ("labels", "annotations") and val == "" else None
            if section:
                continue
            target = cur
        else:
            target = cur[section] if section else cur
        if val in ("|", "|-", ">", ">-"):
            block_key, block_lines, block_indent, block_fold = key, [], indent, val.startswith(">")
            continue
        target[key] = scalar(val)
    flush_block()
    return rules


def dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def all_panels(d):
    for p in d["panels"]:
        yield p
        for sub in p.get("panels", []):
            yield sub


def dashboard_exprs(d):
    """(where, PromQL) of every panel target and of every template variable query."""
    out = []
    for p in all_panels(d):
        for t in p.get("targets", []):
            out.append(("panel %r" % p["title"], t["expr"]))
    for v in d.get("templating", {}).get("list", []):
        q = v.get("definition") or v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        m = re.match(r"^\s*label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$", q or "")
        if m:
            out.append(("variable %r" % v["name"], m.group(1)))
        elif q:
            out.append(("variable %r" % v["name"], q))
    return out


def substitute(expr):
    for var, val in GRAFANA_VARS:
        expr = expr.replace(var, val)
    return expr


def metric_names(expr):
    """Metric names referenced by a PromQL expression (function and aggregation names, keywords, label
    names in grouping clauses, strings and durations left out)."""
    e = STRING.sub('""', expr)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = GROUPING.sub(" ", e)
    e = re.sub(r"\boffset\s+-?[0-9a-z]+", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)", e):
        word = m.group(1)
        if word.lower() in PROMQL_WORDS:
            continue
        if re.match(r"\s*\(", e[m.end():]):
            continue  # a function or an aggregation
        names.add(word)
    return names


def selectors(expr):
    """[(metric, [(label, op, value)])] of the selectors with matchers."""
    out = []
    for m in SELECTOR.finditer(expr):
        out.append((m.group(1), [(l, op, json.loads('"%s"' % v)) for l, op, v in MATCHER.findall(m.group(2))]))
    return out


def grouping_labels(expr):
    e = STRING.sub('""', expr)
    out = set()
    for m in GROUPING.finditer(e):
        out.update(x.strip() for x in m.group(2).split(",") if x.strip())
    return out


def parse_exposition(text):
    """{metric name: set of label names} for every sample line, plus every family named by # TYPE (a
    histogram counts as name_bucket, name_sum and name_count), and {label: set of values}."""
    names, values = {}, {}
    for line in text.splitlines():
        m = re.match(r"^# TYPE (\S+) (\S+)$", line)
        if m:
            base, kind = m.groups()
            for n in ([base + s for s in ("_bucket", "_sum", "_count")] if kind == "histogram" else [base]):
                names.setdefault(n, set())
            continue
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$', line)
        assert m, "unparsable exposition line %r" % line
        labels = names.setdefault(m.group(1), set())
        for l, v in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""):
            labels.add(l)
            values.setdefault(l, set()).add(v)
    return names, values


def promql_check(tc, exprs):
    """Every expression parses: promtool check rules on them as recording rules."""
    tmp = harness.Tmp("cabanas-mon-")
    path = tmp.file("exprs.yml")
    with open(path, "w") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, (_, e) in enumerate(exprs):
            f.write("      - record: dashboard:expr_%d\n        expr: %s\n" % (i, json.dumps(substitute(e))))
    p = run(["promtool", "check", "rules", path])
    tc.assertEqual(p.returncode, 0, "dashboard queries do not parse:\n" + p.stdout.decode())


def seconds(duration):
    """A Prometheus duration such as 5m or 1h30m, in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    parts = re.findall(r"(\d+)(ms|s|m|h|d|w)", duration)
    assert parts and "".join(a + b for a, b in parts) == duration, duration
    return sum(int(a) * units[b] for a, b in parts)


def day(n):
    return (datetime.date.today() + datetime.timedelta(days=n)).isoformat()


def booking_flow(tc, s):
    """Traffic that gives every family samples: probes, a miss, holds (one conflicting), a confirm, a cancel."""
    for path in ("/api/v1/healthz", "/api/v1/readyz", "/api/v1/version", "/api/v1/nope", "/metrics"):
        s.get(path)
    p = s.run("seed")
    tc.assertEqual(p.returncode, 0, p.stderr)
    acc = json.loads(p.stdout.decode())["accommodations"][0]["id"]
    token = s.run("admin", "token", OWNER)
    tc.assertEqual(token.returncode, 0, token.stderr)
    admin = {"Authorization": "Bearer " + token.stdout.decode().strip()}

    def hold(check_in, check_out):
        return s.req("POST", "/api/v1/reservations",
                     body={"accommodation_id": acc, "check_in": check_in, "check_out": check_out, "guests": 2,
                           "guest_name": "Ana Gómez", "guest_phone": "+54 9 11 5555-0000"})

    first = hold(day(10), day(13))
    tc.assertEqual(first.status, 201, first)
    tc.assertEqual(hold(day(11), day(14)).status, 409, "overlapping hold refused")
    second = hold(day(20), day(23))
    tc.assertEqual(second.status, 201, second)
    r = s.req("POST", "/api/v1/admin/reservations/%s/confirm" % second.json["code"], body={}, headers=admin)
    tc.assertEqual(r.status, 200, r)
    r = s.req("POST", "/api/v1/reservations/%s/cancel" % first.json["code"], body={"reason": "monitoring test"})
    tc.assertEqual(r.status, 200, r)
    s.get("/metrics")  # so the scrape route itself has a sample


SERVER_ENV = {"JWT_SECRET": SECRET, "ADMIN_ALLOWED_EMAILS": OWNER}


class MonitoringFilesTest(unittest.TestCase):
    """The files alone: promtool, the shape of the rules and of the dashboard, the runbook anchors."""

    def test_promtool_check_rules(self):
        p = run(["promtool", "check", "rules", ALERTS])
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        self.assertIn("SUCCESS: %d rules found" % len(load_yaml_rules()), p.stdout.decode())

    def test_promtool_test_rules(self):
        p = run(["promtool", "test", "rules", ALERTS_TEST], timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        text = open(ALERTS_TEST, encoding="utf-8").read()
        # fires and stays quiet: every required alert appears both with expected alerts and with none
        for name in ("CabanasInstanceDown", "CabanasHighErrorRate", "CabanasHighLatency",
                     "CabanasDatabasePoolExhausted", "CabanasRedisDown"):
            blocks = re.findall(r"alertname: %s\n\s+exp_alerts:(.*?)(?=\n\s+- eval_time:|\n\s+- interval:|\Z)"
                                % name, text, re.S)
            self.assertTrue(any(b.strip() == "[]" for b in blocks), "%s: no case where it stays quiet" % name)
            self.assertTrue(any("exp_labels" in b for b in blocks), "%s: no case where it fires" % name)

    def test_promtool_check_config(self):
        p = run(["promtool", "check", "config", PROM_CONFIG])
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        self.assertIn("alerts.yml", p.stdout.decode(), "the example config loads the alert rules")
        # the commented alternative (lines starting `#|`) is valid too once uncommented
        text = open(PROM_CONFIG, encoding="utf-8").read()
        self.assertIn("\n#|", text)
        tmp = harness.Tmp("cabanas-mon-")
        with open(tmp.file("prometheus.yml"), "w") as f:
            f.write(re.sub(r"(?m)^#\|", "", text))
        shutil.copy(ALERTS, tmp.file("alerts.yml"))
        p = run(["promtool", "check", "config", tmp.file("prometheus.yml")])
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        self.assertIn("SUCCESS", p.stdout.decode())

    def test_alert_rules_shape_and_runbook_anchors(self):
        text = open(ALERTS, encoding="utf-8").read()
        self.assertRegex(text, r"(?m)^  - name: cabanas$")
        rules = load_yaml_rules()
        names = [r["alert"] for r in rules]
        self.assertEqual(len(names), len(set(names)), names)
        self.assertLessEqual(REQUIRED_ALERTS, set(names))
        self.assertEqual(len(rules), len(re.findall(r"(?m)^\s+- alert:", text)))
        headings = set()
        for line in open(OPERATIONS, encoding="utf-8"):
            m = re.match(r"^#+\s+(.*?)\s*$", line)
            if m:  # GitHub's anchor: lower case, punctuation dropped, spaces to hyphens
                headings.add(re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-"))
        for r in rules:
            self.assertIn(r["labels"].get("severity"), ("critical", "warning"), r["alert"])
            self.assertTrue(r["annotations"].get("summary"), r["alert"])
            self.assertTrue(r["annotations"].get("description"), r["alert"])
            anchor = r["alert"].lower()
            self.assertEqual(r["annotations"].get("runbook_url"), "docs/operations.md#" + anchor)
            self.assertIn(anchor, headings, "docs/operations.md has no section for %s" % r["alert"])
            self.assertTrue(r.get("expr"), r["alert"])
        self.assertEqual(next(r for r in rules if r["alert"] == "CabanasInstanceDown").get("for"), "2m")
        self.assertEqual(next(r for r in rules if r["alert"] == "CabanasDatabasePoolExhausted").get("for"), "5m")
        self.assertEqual(next(r for r in rules if r["alert"] == "CabanasRedisDown").get("for"), "5m")

    def test_dashboard_shape(self):
        d = dashboard()
        self.assertGreaterEqual(d["schemaVersion"], 36)
        self.assertLessEqual(d["schemaVersion"], 41)
        self.assertIn("DS_PROMETHEUS", [i["name"] for i in d["__inputs"]])
        self.assertEqual(d["__inputs"][0]["pluginId"], "prometheus")
        ids = [p["id"] for p in all_panels(d)]
        self.assertEqual(len(ids), len(set(ids)), "panel ids are unique")
        titles = " | ".join(p["title"].lower() for p in all_panels(d))
        for want in REQUIRED_PANELS:
            self.assertIn(want, titles)
        for p in all_panels(d):
            self.assertEqual(set(p["gridPos"]), {"h", "w", "x", "y"}, p["title"])
            self.assertLessEqual(p["gridPos"]["x"] + p["gridPos"]["w"], 24, p["title"])
            if p["type"] == "row":
                continue
            self.assertEqual(p["datasource"], {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, p["title"])
            self.assertTrue(p["targets"], p["title"])
            for t in p["targets"]:
                self.assertEqual(t["datasource"]["uid"], "${DS_PROMETHEUS}", p["title"])
        promql_check(self, dashboard_exprs(d))


class MonitoringMetricsTest(ServerTestCase):
    """Every metric, selector label and route the rules and the dashboard use exists on a real server."""

    def test_every_metric_used_is_exported(self):
        s = self.server(args=("serve", "--migrate"), env=SERVER_ENV)
        booking_flow(self, s)
        r = s.get("/metrics")
        self.assertEqual(r.status, 200)
        exported, values = parse_exposition(r.body.decode())
        # the booking flow gave the booking families samples, with their labels
        for name, label in (("reservations_created_total", "channel"), ("reservations_conflicts_total", "reason"),
                            ("reservations_confirmed_total", "source"), ("http_requests_total", "route")):
            self.assertIn(label, exported.get(name, set()), name)
        self.assertIn("reservations_cancelled_total", exported)

        used = [("alerts.yml %s" % rule["alert"], rule["expr"]) for rule in load_yaml_rules()]
        used += [("cabanas.json %s" % where, e) for where, e in dashboard_exprs(dashboard())]
        self.assertGreater(len(used), 20)
        problems = []
        for where, expr in used:
            names = metric_names(expr)
            if not names:
                problems.append("%s: no metric found in %r" % (where, expr))
            for n in names - PROMETHEUS_OWN:
                if n not in exported:
                    problems.append("%s: %s is not exported" % (where, n))
            known = set(TARGET_LABELS) | {"le"}
            for n in names:
                known |= exported.get(n, set())
            for metric, matchers in selectors(expr):
                have = TARGET_LABELS | (exported.get(metric, set()) if metric not in PROMETHEUS_OWN else set())
                for label, op, value in matchers:
                    if label not in have:
                        problems.append("%s: %s has no label %s" % (where, metric, label))
                    if label == "route":  # a route matcher must match a route the server really reports
                        routes = values.get("route", set())
                        if op == "=" and value not in routes:
                            problems.append("%s: no route %r (have %s)" % (where, value, sorted(routes)))
                        if op in ("=~", "!~") and not any(re.fullmatch(value, x) for x in routes):
                            problems.append("%s: route regex %r matches no route" % (where, value))
            for label in grouping_labels(expr) - known:
                problems.append("%s: grouping label %s is on none of %s" % (where, label, sorted(names)))
        self.assertEqual(problems, [], "\n".join(problems))
        # and the reverse, as a guard against a silently renamed family: the core ones are used
        names_used = set().union(*(metric_names(e) for _, e in used))
        for n in ("http_requests_total", "http_request_duration_seconds_bucket", "reservations_conflicts_total",
                  "holds_active", "holds_expired_total", "db_pool_connections_in_use", "db_pool_connections_max",
                  "redis_enabled", "redis_connected", "rate_limited_total", "cabanas_draining",
                  "process_resident_memory_bytes", "cabanas_build_info"):
            self.assertIn(n, names_used)


PROMETHEUS = shutil.which("prometheus")


@unittest.skipUnless(PROMETHEUS, "the prometheus server binary is not installed")
class RealPrometheusTest(ServerTestCase):
    """A real Prometheus scrapes a real server on PostgreSQL + Redis, with alerts.yml loaded."""

    pg = None
    redis = None

    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres()
        cls.redis = Redis()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        cls.pg.stop()

    def start_prometheus(self, target_port):
        tmp = harness.Tmp("cabanas-prom-")
        port = harness.free_port()
        config = tmp.file("prometheus.yml")
        with open(config, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "rule_files:\n  - %s\n"
                    "scrape_configs:\n  - job_name: cabanas-test\n    static_configs:\n"
                    "      - targets: ['127.0.0.1:%d']\n" % (json.dumps(ALERTS), target_port))
        log = open(tmp.file("prometheus.log"), "ab")
        proc = subprocess.Popen([PROMETHEUS, "--config.file=" + config, "--storage.tsdb.path=" + tmp.file("data"),
                                 "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                                stdout=log, stderr=log, cwd=tmp.path)
        harness._started.append(proc)
        harness._record_pid(proc.pid)

        def stop():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()

        self.addCleanup(stop)

        def ready():
            if proc.poll() is not None:
                raise AssertionError("prometheus exited %s:\n%s" % (
                    proc.returncode, open(tmp.file("prometheus.log"), "rb").read().decode()[-3000:]))
            return request(port, "GET", "/-/ready", timeout=2).status == 200
        wait_for(ready, 30, what="prometheus to be ready")
        return port

    def api(self, port, path, **params):
        r = request(port, "GET", "/api/v1/" + path + ("?" + urllib.parse.urlencode(params) if params else ""))
        self.assertEqual(r.status, 200, r)
        body = r.json
        self.assertEqual(body["status"], "success", body)
        return body["data"]

    def query(self, port, expr):
        return self.api(port, "query", query=expr)["result"]

    def test_rules_evaluate_quietly_and_dashboard_queries_answer(self):
        url = self.pg.create_database("mon_%d" % os.getpid())
        s = self.server(args=("serve", "--migrate"), database_url=url,
                        env=dict(SERVER_ENV, REDIS_URL=self.redis.url))
        prom = self.start_prometheus(s.port)
        wait_for(lambda: self.query(prom, 'up{job="cabanas-test"} == 1'), 30, what="the first scrape")
        booking_flow(self, s)
        time.sleep(3)  # a few scrapes after the traffic
        wait_for(lambda: self.query(prom, "reservations_confirmed_total"), 20, what="booking series scraped")
        self.assertEqual(self.query(prom, "redis_connected")[0]["value"][1], "1")

        # every rule loaded, evaluated at least once, without error; a healthy server fires nothing
        def evaluated():
            groups = self.api(prom, "rules")["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return rules if rules and all(r.get("health") != "unknown" for r in rules) else None
        rules = wait_for(evaluated, 20, what="every rule evaluated")
        self.assertLessEqual(REQUIRED_ALERTS, {r["name"] for r in rules})
        for r in rules:
            self.assertEqual(r["health"], "ok", "%s: %s" % (r["name"], r.get("lastError")))
        # what Prometheus loaded is what the other tests read from the file
        ours = {r["alert"]: r for r in load_yaml_rules()}
        self.assertEqual(set(ours), {r["name"] for r in rules})
        for r in rules:
            self.assertEqual(r["labels"], ours[r["name"]]["labels"], r["name"])
            self.assertEqual(r["annotations"], ours[r["name"]]["annotations"], r["name"])
            self.assertEqual(r["duration"], seconds(ours[r["name"]].get("for", "0s")), r["name"])
        self.assertEqual(self.api(prom, "alerts")["alerts"], [])

        # every dashboard query answers; only the ones about 5xx responses may be empty here
        empty = []
        for where, expr in dashboard_exprs(dashboard()):
            if not self.query(prom, substitute(expr)):
                empty.append((where, expr))
        self.assertEqual([w for w, e in empty if '"5.."' not in e], [], empty)
        jobs = self.api(prom, "label/job/values", **{"match[]": "cabanas_build_info"})
        self.assertEqual(jobs, ["cabanas-test"])


if __name__ == "__main__":
    harness.main()
