# SPDX-License-Identifier: Apache-2.0
"""examples/logs-handler through the local runtime (--invoke): the record
corpus of tests/data/logs (each record with the alert it must or must not
produce), the two alert formats, start-up errors, and the bundled sample."""

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import datetime
import http.client as http_client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN_DIR, function_command, Harness, free_port, http, promtool_check, wait_until  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONTEXT = os.path.join(ROOT, "examples", "logs-handler", "context.json")
KNATIVE_CONTEXT = os.path.join(ROOT, "examples", "logs-handler", "context-knative.json")
CASES = os.path.join(ROOT, "tests", "data", "logs", "cases.jsonl")


def run(stdin, env=None, args=()):
    """logs-handler --invoke - on `stdin`: (exit status, sent payloads, stderr); the lines
    that end each event (which have "line", not "output") are left out."""
    fenv = {k: v for k, v in os.environ.items()
            if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH", "LD_"))}
    fenv.update(env or {})
    p = subprocess.run(function_command("logs-handler", "--context", CONTEXT, "--invoke", "-",
                        *args), input=stdin.encode(), env=fenv, capture_output=True, timeout=60)
    lines = [json.loads(l) for l in p.stdout.decode().splitlines()]
    return p.returncode, [l for l in lines if "output" in l], p.stderr.decode()


def scrape(test, h):
    """GET /metrics of the function under `h`, checked by promtool: {series: value} of the
    function's own."""
    status, _, text = http("GET", h.app + "/metrics")
    test.assertEqual(status, 200)
    promtool_check(test, text)
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.decode().splitlines() if line.startswith("logs_handler_")}


def alerts_of(send):
    """The alerts in one send, whatever the format."""
    data = send["data"]
    return data["alerts"] if isinstance(data, dict) else data


class Corpus(unittest.TestCase):
    def test_every_record(self):
        with open(CASES, encoding="utf-8") as f:
            cases = [json.loads(l) for l in f if l.strip()]
        self.assertGreater(len(cases), 50)
        for case in cases:
            with self.subTest(case["name"]):
                record = case["record"] if isinstance(case["record"], str) else json.dumps(case["record"])
                status, sends, err = run(record + "\n", case.get("env"))
                self.assertEqual(status, 0, err)
                if case["alert"] is None:
                    self.assertEqual(sends, [], err)
                else:
                    # it fires, and resolves when the function stops
                    self.assertEqual(len(sends), 2, err)
                    for send in sends:
                        self.assertEqual(send["output"], "notification-manager")
                        self.assertEqual(send["componentType"], "bindings.http")
                        self.assertEqual(send["operation"], "post")
                    (alert,) = alerts_of(sends[0])
                    (resolved,) = alerts_of(sends[1])
                    # the identity is the bounded labels; the request is in the annotations
                    want = {k: v for k, v in case["alert"].items() if k not in ("method", "path")}
                    self.assertEqual({k: v for k, v in alert["labels"].items() if k != "status"}, want)
                    self.assertRegex(alert["labels"]["status"], "^[1-5][0-9][0-9]$")
                    self.assertEqual(resolved["labels"], alert["labels"])
                    notes = alert["annotations"]
                    self.assertEqual((notes.get("method"), notes.get("first_path")),
                                     (case["alert"].get("method"), case["alert"].get("path")))
                    self.assertEqual(resolved["annotations"]["count"], "1")
                    if "startsAt" in case:
                        self.assertEqual(alert["startsAt"], case["startsAt"])
                self.assertIn("1 dropped" if case.get("drop") else "0 dropped", err)


class Formats(unittest.TestCase):
    RECORD = ('{"log":"1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] \\"GET /notfound HTTP/1.1\\" 404 9 \\"-\\" '
              '\\"curl/7.58.0\\"\\n","time":"2021-08-25T01:54:37.226757612Z","kubernetes":{"pod_name":'
              '"wordpress-v1-f54f697c5-hdn2z","namespace_name":"demo-project","container_name":"c1"}}\n')

    def test_notification_manager_webhook_object(self):
        _, (send, resolved), _ = run(self.RECORD)
        self.assertEqual(resolved["data"]["status"], "resolved")
        self.assertEqual(resolved["data"]["alerts"][0]["status"], "resolved")
        body = send["data"]
        self.assertEqual((body["status"], body["receiver"], body["version"]), ("firing", "logs-handler", "4"))
        self.assertEqual(body["groupLabels"], {"alertname": "404 Request", "namespace": "demo-project"})
        (alert,) = body["alerts"]
        self.assertEqual(alert["status"], "firing")
        self.assertEqual(body["commonLabels"], alert["labels"])
        self.assertEqual(alert["annotations"]["message"],
                         "404 Request: GET /notfound answered 404 by pod "
                         "demo-project/wordpress-v1-f54f697c5-hdn2z (container c1) for client 1.2.3.4")
        self.assertEqual(alert["startsAt"], "2021-08-25T01:54:37.226758Z")
        # an old record's lease runs from when it is handled, not from 2021;
        # by default it lasts the repeat interval and the quiet period
        self.assert_lease(alert["endsAt"], time.time() + 3600 + 300)
        self.assertRegex(alert["fingerprint"], "^[0-9a-f]{16}$")

    def assert_lease(self, ends_at, expected):
        ends = datetime.datetime.strptime(ends_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        self.assertLess(abs(ends - expected), 30, ends_at)

    def test_alertmanager_array_with_a_lease(self):
        env = {"LOGS_ALERT_FORMAT": "alertmanager", "LOGS_ALERT_LEASE_SECONDS": "60",
               "LOGS_REPEAT_INTERVAL": "30s"}
        _, (send, resolved), _ = run(self.RECORD, env)
        self.assertIsInstance(send["data"], list)
        (alert,) = send["data"]
        self.assertEqual(set(alert), {"labels", "annotations", "startsAt", "endsAt"})
        self.assert_lease(alert["endsAt"], time.time() + 60)
        # resolved: Alertmanager takes an alert whose endsAt has passed as resolved
        self.assertLessEqual(resolved["data"][0]["endsAt"], alert["endsAt"])
        # a record from the future (a clock ahead) is taken as now: it must not
        # carry the flood's clock (and every other key's quiet period) with it
        future = time.time() + 3600
        record = json.loads(self.RECORD)
        record["time"] = datetime.datetime.fromtimestamp(future, datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ")
        _, (send, _), _ = run(json.dumps(record) + "\n", env)
        self.assert_lease(send["data"][0]["endsAt"], time.time() + 60)


class StartUp(unittest.TestCase):
    def test_bad_configuration_names_the_variable(self):
        for env, text in (
                ({"LOGS_POD_REGEX": "wordpress-(["}, "LOGS_POD_REGEX: \"wordpress-([\" does not compile"),
                ({"LOGS_STATUSES": "404,abc"}, "LOGS_STATUSES"),
                ({"LOGS_STATUSES": "604"}, "LOGS_STATUSES"),
                ({"LOGS_NAMESPACES": "Demo_Project"}, "LOGS_NAMESPACES"),
                ({"LOGS_ALERT_FORMAT": "slack"}, "LOGS_ALERT_FORMAT"),
                ({"LOGS_ALERT_LEASE_SECONDS": "0"}, "LOGS_ALERT_LEASE_SECONDS"),
                ({"LOGS_ALERT_LEASE_SECONDS": "600"}, "must be longer than LOGS_REPEAT_INTERVAL"),
                ({"LOGS_REPEAT_INTERVAL": "1x"}, "LOGS_REPEAT_INTERVAL: \"1x\" is not a duration"),
                ({"LOGS_QUIET_PERIOD": "0s"}, "LOGS_QUIET_PERIOD"),
                ({"LOGS_MAX_KEYS": "0"}, "LOGS_MAX_KEYS"),
                ({"LOGS_NOTIFY_RATE": "fast"}, "LOGS_NOTIFY_RATE"),
                ({"LOGS_NOTIFY_BURST": "0"}, "LOGS_NOTIFY_BURST"),
                ({"LOGS_ALERT_NAME": "a\x01b"}, "LOGS_ALERT_NAME"),
                ({"LOGS_OUTPUT": "slack"}, "no output \"slack\" (LOGS_OUTPUT)")):
            with self.subTest(env=env):
                status, sends, err = run("", env)
                self.assertEqual(status, 2, err)
                self.assertIn(text, err)
                self.assertEqual(sends, [])

    def test_bad_rules_file_names_the_file_and_the_path(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "rules.yaml")
            for text, want in (
                    ("rules:\n  - name: a\n    output: slack\n",
                     path + ": rules[0].output: the function context has no output \"slack\""),
                    ("rules:\n  - name: a\n    annotations: {summary: \"{{cont}}\"}\n",
                     "rules[0].annotations.summary: unknown name \"cont\" at offset 0"),
                    ("rules:\n  - name: a\n    match: {regex: \"(\"}\n", "rules[0].match.regex: "),
                    ("rules: [\n", path + ":2:1: ")):
                with self.subTest(text=text):
                    with open(path, "w") as f:
                        f.write(text)
                    status, sends, err = run("", {"LOGS_RULES_FILE": path})
                    self.assertEqual(status, 2, err)
                    self.assertIn("logs-handler: ", err)
                    self.assertIn(want, err)
            status, sends, err = run("", {"LOGS_RULES_FILE": path + ".missing"})
            self.assertEqual(status, 2, err)
            self.assertIn(path + ".missing: cannot be read: No such file or directory", err)

    def test_own_pod_is_not_watched(self):
        # an alerter that reads the stream it writes to must not loop
        own = {"POD_NAMESPACE": "demo-project", "POD_NAME": "wordpress-v1-f54f697c5-hdn2z"}
        status, sends, err = run(Formats.RECORD, own)
        self.assertEqual((status, sends), (0, []), err)
        own["POD_NAME"] = "logs-handler-0"
        status, sends, err = run(Formats.RECORD, own)
        self.assertEqual((status, len(sends)), (0, 2), err)

    def test_check_rules(self):
        # --check-rules FILE: the rules normalized with their defaults, exit 0; a fault
        # named with its path, exit 2; nothing served either way
        env = {"CONTEXT_MODE": "self-host", "PATH": os.environ.get("PATH", "")}
        env.update({k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_"))})
        good = os.path.join(ROOT, "examples", "logs-handler", "rules", "404-burst.yaml")
        p = subprocess.run(function_command("logs-handler", "--check-rules", good, "--context", CONTEXT),
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["rules"][0]["name"], "http-404-burst")
        self.assertEqual(doc["rules"][0]["condition"]["kind"], "count")
        self.assertEqual(doc["settings"]["max_keys"], 10000)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as bad:
            bad.write("rules:\n  - name: a\n    condition: {count: 5, window: 5 minutes}\n")
            bad.flush()
            p = subprocess.run(function_command("logs-handler", "--check-rules", bad.name, "--context",
                                                CONTEXT), capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stdout, "")
        self.assertIn('rules[0].condition.window: "5 minutes" is not a duration (90, 30s, 5m, 1h, 1d)',
                      p.stderr)
        p = subprocess.run(function_command("logs-handler", "--help"), capture_output=True, text=True,
                           env=env, timeout=60)
        self.assertIn("--check-rules FILE", p.stdout)

    def test_help_needs_no_configuration(self):
        p = subprocess.run(function_command("logs-handler", "--help"), capture_output=True, text=True,
                           env={"LOGS_POD_REGEX": "(", "PATH": os.environ.get("PATH", "")})
        self.assertEqual(p.returncode, 0)
        self.assertIn("--invoke", p.stdout)


def recent_sample():
    """The bundled sample's records as JSON texts, made recent (it is from
    2021, and an old record's lease is long over), and its expected alerts."""
    now = time.time()
    with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "records.jsonl")) as f:
        records = [json.loads(l) for l in f]
    with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "expected-alerts.jsonl")) as f:
        expected = [json.loads(l) for l in f]
    for i, record in enumerate(records):
        record["@timestamp"] = now + i / 1000
        record.pop("time", None)
    return [json.dumps(r) for r in records], expected


class Webhook:
    """An Alertmanager webhook receiver on loopback: keeps every body."""

    def __init__(self):
        self.bodies = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                hook.bodies.append(json.loads(self.rfile.read(n)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]

    def alerts(self):
        return [a for b in list(self.bodies) for a in b["alerts"]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class AlertmanagerRun:
    """A real Alertmanager on loopback, whose receivers post to a webhook
    here, and the logs-handler under the Dapr emulator, whose
    notification-manager binding (bindings.http) posts to that
    Alertmanager. Subclasses give the Alertmanager configuration (its
    receivers' url: the hook's) and the function's environment."""

    def config(self, hook_url):
        raise NotImplementedError

    def env(self):
        raise NotImplementedError

    def setUp(self):
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        if not binary:
            self.fail("prometheus-alertmanager is not installed; scripts/test.sh installs Debian's")
        self.tmp = tempfile.TemporaryDirectory(prefix="ofctx-am-")
        self.addCleanup(self.tmp.cleanup)
        self.hook = Webhook()
        self.addCleanup(self.hook.close)
        config = os.path.join(self.tmp.name, "alertmanager.yml")
        with open(config, "w") as f:
            f.write(self.config(self.hook.url))
        self.am_port = free_port()
        self.am_log = open(os.path.join(self.tmp.name, "alertmanager.log"), "w+")
        self.addCleanup(self.am_log.close)
        self.am = subprocess.Popen([binary, "--config.file=" + config,
                                    "--storage.path=" + os.path.join(self.tmp.name, "data"),
                                    "--web.listen-address=127.0.0.1:%d" % self.am_port,
                                    "--cluster.listen-address="],
                                   stdout=self.am_log, stderr=subprocess.STDOUT)
        self.addCleanup(self.stop_alertmanager)
        am = "http://127.0.0.1:%d" % self.am_port

        def ready():
            if self.am.poll() is not None:
                self.am_log.seek(0)
                raise AssertionError("alertmanager exited: " + self.am_log.read())
            try:
                return http("GET", am + "/-/ready", timeout=2)[0] == 200
            except OSError:
                return False
        wait_until(ready, "alertmanager", seconds=30)
        with open(CONTEXT) as f:
            context = json.load(f)
        components = {"bindings": [
            {"name": context["inputs"]["kafka-receiver"]["componentName"], "type": "bindings.kafka"},
            {"name": context["outputs"]["notification-manager"]["componentName"], "type": "bindings.http",
             "metadata": {"url": am + "/api/v2/alerts"}}]}
        self.h = Harness(context, components, binary="logs-handler", env=self.env())
        self.addCleanup(self.h.close)
        self.input = context["inputs"]["kafka-receiver"]["componentName"]

    def stop_alertmanager(self):
        if self.am.poll() is None:
            self.am.terminate()
            self.am.wait(10)

    def deliver_sample(self):
        """The bundled sample, made recent; the firing alerts it must give (labels as JSON)."""
        records, expected = recent_sample()
        for record in records:
            r = self.h.deliver_binding(self.input, record)
            self.assertEqual(r["status"], 200, r)
        return [{k: v for k, v in e["labels"].items() if k != "rule_level"}
                for e in expected if e["status"] == "firing"]

    def received(self):
        return sorted({json.dumps(a["labels"], sort_keys=True) for a in self.hook.alerts()})


class AlertmanagerEndToEnd(AlertmanagerRun, unittest.TestCase):
    """The LOGS_* rule in Alertmanager's format, through a real Alertmanager
    that routes everything to the webhook."""

    def config(self, hook_url):
        return ("route:\n  receiver: hook\n  group_by: [alertname, namespace]\n"
                "  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n"
                "receivers:\n  - name: hook\n    webhook_configs:\n"
                "      - url: %s\n        send_resolved: false\n" % hook_url)

    def env(self):
        return {"LOGS_ALERT_FORMAT": "alertmanager"}

    def test_alerts_reach_the_receiver_with_their_labels(self):
        want = sorted(json.dumps(labels, sort_keys=True) for labels in self.deliver_sample())
        wait_until(lambda: self.received() == want, "the alerts at the webhook receiver", seconds=30)
        for alert in self.hook.alerts():
            self.assertEqual(alert["status"], "firing")
            self.assertTrue(alert["annotations"]["message"].startswith("404 Request: "))
        self.assertEqual({b["groupLabels"]["namespace"] for b in self.hook.bodies}, {"demo-project"})
        # one notification per key, each accepted by Alertmanager at once: nothing retried
        self.assertEqual(len(self.h.received("/v1.0/bindings/")), len(want))


def helm_values(name):
    import yaml
    with open(os.path.join(ROOT, "examples", "logs-handler", "helm", name)) as f:
        return yaml.safe_load(f)


def configmap_rules(name, tmp):
    """The rules.yaml of the ConfigMap in deploy/NAME, written into the directory `tmp`: its path."""
    import yaml
    with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", name)) as f:
        cm = yaml.safe_load(f)
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(cm["data"]["rules.yaml"])
    return path


class KubePrometheusStack(AlertmanagerRun, unittest.TestCase):
    """The deploy path without KubeSphere (docs/deploy.md): the rules of
    deploy/rules-configmap-alertmanager.yaml, through a real Alertmanager
    configured as helm/kube-prometheus-stack.yaml configures it, whose
    Slack receiver is replaced by the webhook: the alerts take the route to
    it, not the default "null" receiver."""

    def config(self, hook_url):
        import yaml
        config = helm_values("kube-prometheus-stack.yaml")["alertmanager"]["config"]
        (slack,) = [r for r in config["receivers"] if r["name"] == "slack"]
        del slack["slack_configs"]
        slack["webhook_configs"] = [{"url": hook_url, "send_resolved": False}]
        for route in config["route"]["routes"]:
            route["group_wait"] = "1s"
        config["route"]["group_interval"] = "1s"
        return yaml.safe_dump(config)

    def env(self):
        return {"LOGS_RULES_FILE": configmap_rules("rules-configmap-alertmanager.yaml", self.tmp.name)}

    def test_the_alerts_take_the_route_to_slack(self):
        want = sorted(json.dumps(dict(labels, alerts_from="logs-handler"), sort_keys=True)
                      for labels in self.deliver_sample())
        wait_until(lambda: self.received() == want, "the alerts at the Slack route's receiver", seconds=30)

    def test_amtool_takes_the_configuration(self):
        import yaml
        values = helm_values("kube-prometheus-stack.yaml")
        path = os.path.join(self.tmp.name, "kps.yml")
        with open(path, "w") as f:
            yaml.safe_dump(values["alertmanager"]["config"], f)
        check = subprocess.run(["amtool", "check-config", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        # the Slack URL comes from the Secret the operator mounts
        (slack,) = [r for r in values["alertmanager"]["config"]["receivers"] if r["name"] == "slack"]
        (secret,) = values["alertmanager"]["alertmanagerSpec"]["secrets"]
        self.assertTrue(slack["slack_configs"][0]["api_url_file"].startswith("/etc/alertmanager/secrets/%s/" % secret))

    def test_its_rule_is_the_article_s_in_alertmanager_s_format(self):
        def normalized(path):
            p = subprocess.run(function_command("logs-handler", "--check-rules", path, "--context", CONTEXT),
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            return json.loads(p.stdout)
        kube = normalized(configmap_rules("rules-configmap-alertmanager.yaml", self.tmp.name))
        article = normalized(configmap_rules("rules-configmap.yaml", self.tmp.name))
        (rule,), (theirs,) = kube["rules"], article["rules"]
        self.assertEqual((rule.pop("format"), theirs.pop("format")), ("alertmanager", "notification-manager"))
        self.assertEqual(rule["labels"].pop("alerts_from"), "logs-handler")
        self.assertEqual(rule, theirs)


class FluentBit(unittest.TestCase):
    """helm/fluent-bit.yaml writes what the function reads: to the Kafka
    service and topic the Function consumes, with the record's time as
    @timestamp, keyed by pod."""

    def test_its_kafka_output_is_the_function_s_input(self):
        import yaml
        values = helm_values("fluent-bit.yaml")
        output = dict(re.findall(r"^\s+(\w+)\s+(\S+)\s*$", values["config"]["outputs"], re.M))
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "function.yaml")) as f:
            binding = yaml.safe_load(f)["spec"]["serving"]["bindings"]["kafka-receiver"]
        metadata = {m["name"]: m["value"] for m in binding["metadata"]}
        self.assertEqual(output["Name"], "kafka")
        self.assertEqual((output["Brokers"], output["Topics"]), (metadata["brokers"], metadata["topics"]))
        self.assertEqual((output["Format"], output["Timestamp_Key"], output["Timestamp_Format"]),
                         ("json", "@timestamp", "double"))
        # the key is set by the Lua filter, whose script the chart mounts
        script = re.search(r"script\s+/fluent-bit/scripts/(\S+)", values["config"]["filters"]).group(1)
        lua = values["luaScripts"][script]
        self.assertIn('record["%s"] =' % output["Message_Key_Field"], lua)
        self.assertIn('record["kafka_key"] = (k["namespace_name"] or "") .. "/" .. k["pod_name"]', lua)
        # a record as it writes it is one the function takes
        record = {"@timestamp": time.time(), "kafka_key": "demo-project/wordpress-v1-f54f697c5-hdn2z",
                  "log": '1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] "GET /x HTTP/1.1" 404 9\n', "stream": "stdout",
                  "kubernetes": {"pod_name": "wordpress-v1-f54f697c5-hdn2z", "namespace_name": "demo-project",
                                 "container_name": "wordpress", "labels": {"app": "wordpress"}}}
        status, sends, err = run(json.dumps(record) + "\n")
        self.assertEqual((status, len(sends)), (0, 2), err)  # firing, then resolved at the end
        self.assertEqual(sends[0]["data"]["status"], "firing")


class AbsentClock(unittest.TestCase):
    """The clock of `absent` is the newest record time of the whole input,
    also of the records that no rule selects (which are never parsed)."""

    def test_records_no_rule_selects_move_the_clock(self):
        hook = Webhook()
        self.addCleanup(hook.close)
        tmp = tempfile.TemporaryDirectory(prefix="ofctx-absent-")
        self.addCleanup(tmp.cleanup)
        rules = os.path.join(tmp.name, "rules.yaml")
        with open(rules, "w") as f:
            f.write("rules:\n  - name: a-stopped\n    select: {namespace: demo-project, pod: a}\n"
                    "    group_by: [namespace, pod]\n    condition: {absent: 10m}\n")
        with open(CONTEXT) as f:
            context = json.load(f)
        name = context["inputs"]["kafka-receiver"]["componentName"]
        nm = context["outputs"]["notification-manager"]["componentName"]
        components = {"bindings": [{"name": name, "type": "bindings.kafka"},
                                   {"name": nm, "type": "bindings.http", "metadata": {"url": hook.url}}]}
        h = Harness(context, components, binary="logs-handler",
                    env={"LOGS_ALERT_FORMAT": "alertmanager", "LOGS_RULES_FILE": rules})
        self.addCleanup(h.close)
        now = time.time()
        for ns, pod, t in (("demo-project", "a", now - 1200), ("kube-system", "b", now)):
            record = {"log": "x", "@timestamp": t,
                      "kubernetes": {"pod_name": pod, "namespace_name": ns, "container_name": "c"}}
            self.assertEqual(h.deliver_binding(name, json.dumps(record))["status"], 200)
        # pod a's last record is 20 minutes older than the input's newest: it fires
        wait_until(lambda: hook.alerts(), "the firing of pod a's absent key", seconds=30)
        (alert,) = hook.alerts()
        self.assertEqual((alert["status"], alert["labels"]["alertname"], alert["labels"]["pod"]),
                         ("firing", "a-stopped", "a"))


class AckHolding(unittest.TestCase):
    """At-least-once through flood control, under the Dapr emulator: a
    record is acknowledged only once the notification that carries it was
    accepted, also when it only folds into a firing still on its way."""

    def setUp(self):
        self.hook = Webhook()
        self.addCleanup(self.hook.close)
        with open(CONTEXT) as f:
            context = json.load(f)
        self.input = context["inputs"]["kafka-receiver"]["componentName"]
        self.nm = context["outputs"]["notification-manager"]["componentName"]
        components = {"bindings": [
            {"name": self.input, "type": "bindings.kafka"},
            {"name": self.nm, "type": "bindings.http", "metadata": {"url": self.hook.url}}]}
        self.h = Harness(context, components, binary="logs-handler",
                         env={"LOGS_ALERT_FORMAT": "alertmanager"})
        self.addCleanup(self.h.close)

    def record(self, path):
        return json.dumps({"log": '1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] "GET %s HTTP/1.1" 404 9 "-" "c"' % path,
                           "@timestamp": time.time(),
                           "kubernetes": {"pod_name": "wordpress-v1-f54f697c5-hdn2z",
                                          "namespace_name": "demo-project", "container_name": "c1"}})

    def sends(self):
        return [c for c in self.h.received("/v1.0/bindings/") if c["path"].endswith(self.nm)]

    def pair(self):
        """Two records of one key: the second comes while the first one's
        firing notification is at the sidecar. Their answers."""
        answers = {}
        first = threading.Thread(target=lambda: answers.update(a=self.h.deliver_binding(self.input, self.record("/a"))))
        first.start()
        wait_until(lambda: len(self.sends()) > self.before, "the firing notification")
        answers["b"] = self.h.deliver_binding(self.input, self.record("/b"))
        first.join(30)
        return answers["a"]["status"], answers["b"]["status"]

    def test_no_record_is_acknowledged_before_its_notification(self):
        # the firing fails, slowly and for good (400 is not retried): both nacked
        self.before = 0
        self.h.faults([{"path": "/v1.0/bindings/" + self.nm, "action": "status", "status": 400, "ms": 1000}])
        self.assertEqual(self.pair(), (500, 500))
        self.assertEqual(self.hook.bodies, [])
        failed = 'logs_handler_notifications_failed_total{rule="logs-404",status="firing"}'
        self.assertEqual(scrape(self, self.h)[failed], 1)
        # Dapr delivers them again: the key fires again, and both wait for it
        self.before = len(self.sends())
        self.h.faults([{"path": "/v1.0/bindings/" + self.nm, "action": "delay", "ms": 1000}])
        self.assertEqual(self.pair(), (200, 200))
        self.assertEqual(len(self.hook.bodies), 1)
        metrics = scrape(self, self.h)
        self.assertEqual(metrics[failed], 1)
        self.assertEqual(metrics['logs_handler_notifications_total{rule="logs-404",status="firing"}'], 1)
        self.assertEqual(metrics['logs_handler_records_matched_total{rule="logs-404"}'], 4)
        # once it was accepted, a record of its key is acknowledged at once, with no notification
        self.assertEqual(self.h.deliver_binding(self.input, self.record("/c"))["status"], 200)
        self.assertEqual(len(self.sends()), 2)
        # on SIGTERM the group is resolved, carrying all three, and the function exits 0
        self.h.finish()
        wait_until(lambda: len(self.hook.bodies) == 2, "the resolved notification")
        (resolved,) = self.hook.bodies[1]
        self.assertEqual(resolved["annotations"]["count"], "3")
        self.assertEqual(resolved["annotations"]["sample_paths"], "/a /b /c")


class DeployComponents(unittest.TestCase):
    """deploy/dapr-components.yaml as `dapr run --resources-path` loads it,
    with the shipped context: the components are the ones the context
    names, and a 404 delivered to its Kafka binding becomes an alert posted
    by its HTTP binding (whose cluster-internal URL points here)."""

    def test_a_record_of_the_kafka_binding_alerts_through_the_http_binding(self):
        import yaml
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "dapr-components.yaml")) as f:
            docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(f)}
        with open(CONTEXT) as f:
            context = json.load(f)
        named = {c["componentName"]: c["componentType"]
                 for c in list(context["inputs"].values()) + list(context["outputs"].values())}
        self.assertEqual({name: doc["spec"]["type"] for name, doc in docs.items()}, named)
        hook = Webhook()
        self.addCleanup(hook.close)
        bindings = []
        for name, doc in docs.items():
            metadata = [dict(m, value=hook.url) if m["name"] == "url" else m for m in doc["spec"]["metadata"]]
            bindings.append({"name": name, "type": doc["spec"]["type"], "metadata": metadata})
        h = Harness(context, {"bindings": bindings}, binary="logs-handler")
        self.addCleanup(h.close)
        (source,) = [n for n, t in named.items() if t == "bindings.kafka"]
        record = json.dumps({"log": '1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] "GET /x HTTP/1.1" 404 9',
                             "@timestamp": time.time(),
                             "kubernetes": {"pod_name": "wordpress-v1-f54f697c5-hdn2z",
                                            "namespace_name": "demo-project", "container_name": "c1"}})
        self.assertEqual(h.deliver_binding(source, record)["status"], 200)
        self.assertEqual(len(hook.bodies), 1)  # acknowledged once the alert was accepted
        (alert,) = alerts_of({"data": hook.bodies[0]})
        self.assertEqual((alert["labels"]["alertname"], alert["labels"]["pod"]),
                         ("404 Request", "wordpress-v1-f54f697c5-hdn2z"))


class Monitoring(unittest.TestCase):
    """deploy/monitoring.yaml (PodMonitor, PrometheusRule) and
    deploy/grafana-dashboard.json name only metrics and labels that a scrape
    of the function shows; promtool takes the rules; the PodMonitor finds
    the Function's pods and port."""

    DEPLOY = os.path.join(ROOT, "examples", "logs-handler", "deploy")
    ADDED = {"job", "namespace", "pod", "instance", "container", "endpoint", "le"}  # by Prometheus, or histograms

    def setUp(self):
        import yaml
        with open(os.path.join(self.DEPLOY, "monitoring.yaml")) as f:
            self.docs = {d["kind"]: d for d in yaml.safe_load_all(f)}
        with open(os.path.join(self.DEPLOY, "grafana-dashboard.json")) as f:
            self.dashboard = json.load(f)

    def exprs(self):
        rules = [r["expr"] for g in self.docs["PrometheusRule"]["spec"]["groups"] for r in g["rules"]]
        panels = [t["expr"] for p in self.dashboard["panels"] for t in p["targets"]]
        self.assertGreater(len(rules), 3)
        self.assertGreater(len(panels), 10)
        return rules + panels

    def scrape(self):
        """{family: set of label names} of a scrape of the function that has handled a 404."""
        hook = Webhook()
        self.addCleanup(hook.close)
        with open(CONTEXT) as f:
            context = json.load(f)
        source, nm = (c["componentName"] for c in (context["inputs"]["kafka-receiver"],
                                                    context["outputs"]["notification-manager"]))
        h = Harness(context, {"bindings": [{"name": source, "type": "bindings.kafka"},
                                           {"name": nm, "type": "bindings.http", "metadata": {"url": hook.url}}]},
                    binary="logs-handler")
        self.addCleanup(h.close)
        record = json.dumps({"log": '1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] "GET /x HTTP/1.1" 404 9',
                             "@timestamp": time.time(),
                             "kubernetes": {"pod_name": "wordpress-v1-f54f697c5-hdn2z",
                                            "namespace_name": "demo-project", "container_name": "c1"}})
        self.assertEqual(h.deliver_binding(source, record)["status"], 200)
        scrape(self, h)  # promtool takes it
        _, _, text = http("GET", h.app + "/metrics")
        families = {}
        for line in text.decode().splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ")
                names = [name] + ([name + s for s in ("_bucket", "_sum", "_count")] if kind == "histogram" else [])
                for n in names:
                    families[n] = set()
            elif line and not line.startswith("#"):
                name = re.match(r"[a-z_:][a-z0-9_:]*", line).group(0)
                families[name] |= set(re.findall(r"([a-z_][a-z0-9_]*)=\"", line))
        families["up"] = set()  # Prometheus's own, for each target
        return families

    def test_every_metric_and_label_is_one_the_function_exposes(self):
        families = self.scrape()
        for expr in self.exprs():
            with self.subTest(expr=expr):
                bare = re.sub(r'"[^"]*"', '""', expr)
                names = set(re.findall(r"\b((?:ofctx|logs_handler)_[a-z0-9_]+|up)\b(?!\s*\()", bare))
                self.assertTrue(names, expr)
                for name in names:
                    self.assertIn(name, families)
                labels = set()
                for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", bare):
                    labels |= {l.strip() for l in group.split(",") if l.strip()}
                labels |= set(re.findall(r"([a-z_][a-z0-9_]*)\s*[=!]~?\s*\"\"", bare))
                known = set().union(*(families[n] for n in names)) | self.ADDED
                self.assertLessEqual(labels, known, expr)

    def test_promtool_takes_the_rules(self):
        import yaml
        promtool = shutil.which("promtool")
        if not promtool:
            self.fail("promtool is not installed; scripts/test.sh installs Debian's prometheus")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            yaml.safe_dump(self.docs["PrometheusRule"]["spec"], f)
            f.flush()
            check = subprocess.run([promtool, "check", "rules", f.name], capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn("SUCCESS: 6 rules found", check.stdout)

    def test_the_pod_monitor_finds_the_function(self):
        import yaml
        monitor = self.docs["PodMonitor"]
        for name in ("function.yaml", "function-build.yaml"):
            with open(os.path.join(self.DEPLOY, name)) as f:
                fn = yaml.safe_load(f)
            serving = fn["spec"]["serving"]
            self.assertEqual(monitor["metadata"]["namespace"], fn["metadata"]["namespace"])
            for key, value in monitor["spec"]["selector"]["matchLabels"].items():
                self.assertEqual(serving["labels"][key], value)
            (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
            (container,) = serving["template"]["containers"]
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            with open(CONTEXT) as f:
                self.assertEqual(ports[endpoint["port"]], int(json.load(f)["port"]))
            self.assertEqual(endpoint["path"], "/metrics")
        # the rules' job is the PodMonitor's (namespace/name)
        job = "%s/%s" % (monitor["metadata"]["namespace"], monitor["metadata"]["name"])
        self.assertIn('job="%s"' % job, self.docs["PrometheusRule"]["spec"]["groups"][0]["rules"][0]["expr"])
def kafka_source_post(port, record, offset, key=None, partition=0):
    """One Kafka record of topic "logs" as KafkaSource delivers it to its sink:
    a binary-mode CloudEvent of type dev.knative.kafka.event whose id and
    subject name the partition and offset, ce-key when the record has a key,
    and no Content-Type (Fluent Bit's records carry no content-type header).
    http_client adds no Content-Type of its own. The answer: (status, body)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    headers = {"ce-specversion": "1.0", "ce-type": "dev.knative.kafka.event",
               "ce-source": "/apis/v1/namespaces/demo-project/kafkasources/logs-handler#logs",
               "ce-subject": "partition:%d#%d" % (partition, offset),
               "ce-id": "partition:%d/offset:%d" % (partition, offset),
               "ce-time": now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)}
    if key is not None:
        headers["ce-key"] = key
    conn = http_client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/", body=record.encode(), headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


class KnativeKafkaSource(unittest.TestCase):
    """The synchronous variant: the logs-handler as a Knative function
    (context-knative.json) that KafkaSource posts each record to, as a
    CloudEvent, under the Dapr emulator, whose notification-manager binding
    (bindings.http) posts to a webhook here. The answer to a record is held
    until the notification that carries it was accepted; a failed one is a
    5xx, which KafkaSource retries; a poison record is a 400, which it does
    not."""

    def setUp(self):
        self.hook = Webhook()
        self.addCleanup(self.hook.close)
        with open(KNATIVE_CONTEXT) as f:
            context = json.load(f)
        self.assertEqual((context["runtime"], context.get("inputs", {})), ("Knative", {}))
        self.nm = context["outputs"]["notification-manager"]["componentName"]
        components = {"bindings": [{"name": self.nm, "type": "bindings.http",
                                    "metadata": {"url": self.hook.url}}]}
        self.h = Harness(context, components, binary="logs-handler", startup=False)
        self.addCleanup(self.h.close)
        self.offset = 0

    def post(self, record, key=None):
        self.offset += 1
        return kafka_source_post(self.h.app_port, record, self.offset, key)[0]

    def sends(self):
        return [c for c in self.h.received("/v1.0/bindings/") if c["path"].endswith(self.nm)]

    def record(self, pod, path="/x"):
        return json.dumps({"log": '1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] "GET %s HTTP/1.1" 404 9 "-" "c"' % path,
                           "@timestamp": time.time(),
                           "kubernetes": {"pod_name": pod, "namespace_name": "demo-project",
                                          "container_name": "c1"}})

    def test_the_sample_as_kafka_source_events(self):
        records, expected = recent_sample()
        for record in records:
            self.assertEqual(self.post(record), 200, self.h.log())
        # every record was answered only once its alert was accepted: all are at the webhook now
        want = sorted(json.dumps(e["labels"], sort_keys=True) for e in expected if e["status"] == "firing")
        self.assertEqual(sorted(json.dumps(a["labels"], sort_keys=True) for a in self.hook.alerts()), want)
        self.assertEqual({b["status"] for b in self.hook.bodies}, {"firing"})
        self.assertIn("input=http", self.h.log())
        # on SIGTERM the groups resolve, through the same output, and it exits 0
        self.h.finish()
        wait_until(lambda: len(self.hook.bodies) == 2 * len(want), "the resolved notifications")

    def test_the_answer_waits_for_the_notification(self):
        # the sidecar holds the firing a while before it posts it to the webhook
        self.h.faults([{"path": "/v1.0/bindings/" + self.nm, "action": "delay", "ms": 1500}])
        answers = []
        post = threading.Thread(target=lambda: answers.append(self.post(self.record("wordpress-v1-f54f697c5-hdn2z"))))
        post.start()
        wait_until(lambda: len(self.sends()) == 1, "the firing notification at the sidecar")
        self.assertEqual((answers, self.hook.bodies), ([], []))
        post.join(60)
        # answered 200 only once the webhook had accepted the alert that carries the record
        self.assertEqual(answers, [200])
        self.assertEqual(len(self.hook.bodies), 1)
        self.assertEqual(self.hook.alerts()[0]["labels"]["pod"], "wordpress-v1-f54f697c5-hdn2z")
        # a record of a key already notified: no notification, answered at once
        self.assertEqual(self.post(self.record("wordpress-v1-f54f697c5-hdn2z", "/y")), 200)
        self.assertEqual(len(self.sends()), 1)

    def test_a_failed_notification_is_a_5xx_and_kafka_source_redelivers(self):
        pods = iter(["wordpress-v1-aaaaaaaaa-bbbbb", "wordpress-v1-ccccccccc-ddddd"])
        for status in (500, 400):
            with self.subTest(status=status):
                pod = next(pods)
                self.h.faults([{"path": "/v1.0/bindings/" + self.nm, "action": "status", "status": status,
                                "count": -1}])
                record = self.record(pod)
                answer = self.post(record, key=pod)
                # a 500, never 404: KafkaSource retries it (and any 5xx)
                self.assertEqual(answer, 500)
                self.assertEqual(self.hook.bodies, [])
                # the notifier is back: the same record, redelivered, fires and is acknowledged
                self.h.control("DELETE", "/emulator/faults")
                self.assertEqual(self.post(record, key=pod), 200)
                self.assertEqual([a["labels"]["pod"] for a in self.hook.alerts()], [pod])
                self.hook.bodies.clear()

    def test_a_plain_post_as_openfunction_s_event_source_sends_it(self):
        # OpenFunction's EventSource (deploy/event-source.yaml) posts the record as it is,
        # through a Dapr HTTP binding: no CloudEvent, the record is the body
        record = self.record("wordpress-v1-f54f697c5-hdn2z")
        status, _, body = http("POST", self.h.app + "/", record, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, body)
        self.assertEqual([a["labels"]["pod"] for a in self.hook.alerts()], ["wordpress-v1-f54f697c5-hdn2z"])
        # a failed notification: a 5xx, which fails the source's send, so its record is consumed again
        self.h.faults([{"path": "/v1.0/bindings/" + self.nm, "action": "status", "status": 500, "count": -1}])
        status, _, _ = http("POST", self.h.app + "/", self.record("wordpress-v1-ccccccccc-ddddd"))
        self.assertEqual(status, 500)

    def test_a_poison_record_is_a_400_that_kafka_source_does_not_retry(self):
        # a record with what the rule looks for in it (namespace, pod, status), but no JSON: dropped
        self.assertEqual(self.post('demo-project wordpress-v1-f54f697c5-hdn2z 1.2.3.4 \\" 404 1 not json'), 400)
        self.assertEqual(self.sends(), [])
        # a record that no rule selects: answered at once
        self.assertEqual(self.post(json.dumps({"log": "hello", "kubernetes": {"namespace_name": "other"}})), 200)
        # not a CloudEvent KafkaSource would send: refused before the function
        status, _, body = http("POST", self.h.app + "/", "x", {"ce-specversion": "1.0", "ce-id": "1"})
        self.assertEqual(status, 400, body)


class Reload(unittest.TestCase):
    """A hot reload under the Dapr emulator: the rules file is mounted as a
    ConfigMap is (rules.yaml -> ..data/rules.yaml, ..data -> a version
    directory, an update swaps ..data); the new rules take over, an
    unchanged rule is kept, and a bad file keeps the old rules running."""

    RULE_5XX = ("  - name: errors-5xx\n    format: alertmanager\n"
                "    select: {namespace: demo-project}\n"
                "    match: {parse: access_log, where: [\"status >= 500\"]}\n"
                "    group_by: [namespace, pod]\n")

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.hook = Webhook()
        self.addCleanup(self.hook.close)
        with open(os.path.join(ROOT, "examples", "logs-handler", "rules.yaml")) as f:
            self.rules_404 = f.read()
        self.version = 0
        self.mount(self.rules_404)
        os.symlink(os.path.join("..data", "rules.yaml"), os.path.join(self.tmp.name, "rules.yaml"))
        with open(CONTEXT) as f:
            context = json.load(f)
        self.input = context["inputs"]["kafka-receiver"]["componentName"]
        nm = context["outputs"]["notification-manager"]["componentName"]
        components = {"bindings": [
            {"name": self.input, "type": "bindings.kafka"},
            {"name": nm, "type": "bindings.http", "metadata": {"url": self.hook.url}}]}
        self.h = Harness(context, components, binary="logs-handler",
                         env={"LOGS_RULES_FILE": os.path.join(self.tmp.name, "rules.yaml")})
        self.addCleanup(self.h.close)

    def mount(self, text):
        """A new version of the ConfigMap: its directory, then ..data swapped to it."""
        self.version += 1
        version = "..v%d" % self.version
        os.mkdir(os.path.join(self.tmp.name, version))
        with open(os.path.join(self.tmp.name, version, "rules.yaml"), "w") as f:
            f.write(text)
        os.symlink(version, os.path.join(self.tmp.name, "..data_tmp"))
        os.replace(os.path.join(self.tmp.name, "..data_tmp"), os.path.join(self.tmp.name, "..data"))

    def deliver(self, status, pod):
        record = json.dumps({"log": '1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] "GET /x HTTP/1.1" %d 9' % status,
                             "@timestamp": time.time(),
                             "kubernetes": {"pod_name": pod, "namespace_name": "demo-project",
                                            "container_name": "c1"}})
        self.assertEqual(self.h.deliver_binding(self.input, record)["status"], 200)

    def alertnames(self):
        return [alerts_of({"data": b})[0]["labels"]["alertname"] for b in self.hook.bodies]

    def test_new_rules_take_over_and_bad_ones_do_not(self):
        self.deliver(500, "wordpress-v1-f54f697c5-hdn2z")
        self.deliver(404, "wordpress-v1-f54f697c5-hdn2z")
        self.assertEqual(self.alertnames(), ["404 Request"])  # the article's rule: 404 only
        self.mount(self.rules_404 + self.RULE_5XX)
        wait_until(lambda: "rules reloaded: 2 rules (1 kept)" in self.h.log(), "the reload")
        self.deliver(500, "wordpress-v1-f54f697c5-hdn2z")
        # the kept rule's group goes on: its firing was sent, no second one
        self.deliver(404, "wordpress-v1-f54f697c5-hdn2z")
        self.assertEqual(self.alertnames(), ["404 Request", "errors-5xx"])
        # a bad file: said, and the rules in use keep running
        self.mount(self.rules_404 + self.RULE_5XX.replace("errors-5xx", "Errors"))
        wait_until(lambda: "rules not reloaded: " in self.h.log(), "the failed reload")
        self.assertIn("rules.yaml: rules[1].name: \"Errors\" is not a rule name", self.h.log())
        self.deliver(503, "api-1")
        self.assertEqual(self.alertnames(), ["404 Request", "errors-5xx", "errors-5xx"])
        # the file gone for a while, then back as it was: every rule kept
        os.remove(os.path.join(self.tmp.name, "..data"))
        wait_until(lambda: "rules.yaml: No such file or directory; the rules in use keep running"
                   in self.h.log(), "the missing file said")
        self.mount(self.rules_404 + self.RULE_5XX)
        wait_until(lambda: "rules reloaded: 2 rules (2 kept)" in self.h.log(), "the second reload")
        # the metrics: per rule (a kept rule keeps its counts), and of the reloads
        metrics = scrape(self, self.h)
        self.assertEqual(metrics["logs_handler_rules"], 2)
        self.assertEqual(metrics['logs_handler_rules_reloads_total{result="ok"}'], 2)
        self.assertEqual(metrics['logs_handler_rules_reloads_total{result="failed"}'], 2)
        self.assertEqual(metrics['logs_handler_records_matched_total{rule="logs-404"}'], 2)
        self.assertEqual(metrics['logs_handler_records_matched_total{rule="errors-5xx"}'], 2)
        self.assertEqual(metrics['logs_handler_notifications_total{rule="logs-404",status="firing"}'], 1)
        self.assertEqual(metrics['logs_handler_notifications_total{rule="errors-5xx",status="firing"}'], 2)
        self.assertEqual(metrics['logs_handler_notifications_total{rule="errors-5xx",status="resolved"}'], 0)
        self.assertEqual(metrics['logs_handler_keys{rule="errors-5xx"}'], 2)
        self.assertEqual(metrics['logs_handler_keys{rule="logs-404"}'], 1)
        self.assertEqual(metrics['logs_handler_notifications_suppressed_total{rule="logs-404"}'], 0)
        self.assertIn("notified: firing   errors-5xx demo-project/api-1: ", self.h.log())
        # on stop, the 404 group resolves with both of its records
        self.h.finish()
        wait_until(lambda: len(self.hook.bodies) == 6, "the resolved notifications")
        counts = {(a["labels"]["alertname"], a["labels"]["pod"]): a["annotations"]["count"]
                  for b in self.hook.bodies[3:] for a in alerts_of({"data": b})}
        self.assertEqual(counts, {("404 Request", "wordpress-v1-f54f697c5-hdn2z"): "2",
                                  ("errors-5xx", "wordpress-v1-f54f697c5-hdn2z"): "1",
                                  ("errors-5xx", "api-1"): "1"})


class BulkInput(unittest.TestCase):
    """The high-volume setup: a pubsub.kafka input with bulkSubscribe and
    rawPayload (Fluent Bit's records are not CloudEvents): 100 records a
    request, a status each, the same notifications."""

    def test_the_sample_in_bulk(self):
        hook = Webhook()
        self.addCleanup(hook.close)
        with open(CONTEXT) as f:
            context = json.load(f)
        # as OpenFunction's controller writes it: no input metadata; the
        # subscription's comes from the Function's params (docs/logs-handler.md)
        context["inputs"] = {"kafka-receiver": {
            "uri": "logs", "componentName": "logs-pubsub", "componentType": "pubsub.kafka"}}
        nm = context["outputs"]["notification-manager"]["componentName"]
        components = {"pubsubs": [{"name": "logs-pubsub", "type": "pubsub.kafka"}],
                      "bindings": [{"name": nm, "type": "bindings.http", "metadata": {"url": hook.url}}]}
        h = Harness(context, components, binary="logs-handler", env={
            "LOGS_ALERT_FORMAT": "alertmanager",
            "OFCTX_SUBSCRIPTION_METADATA": "rawPayload=true,bulkSubscribe=true,bulkSubscribeMaxMessagesCount=100"})
        self.addCleanup(h.close)
        [sub] = h.startup_result["subscriptions"]
        self.assertEqual(sub["metadata"], {"rawPayload": "true"})
        self.assertEqual(sub["bulkSubscribe"]["maxMessagesCount"], 100)
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "records.jsonl")) as f:
            records = [l.strip() for l in f if l.strip()]
        verdicts = {}
        for start in range(0, len(records), 100):
            r = h.deliver_bulk("logs-pubsub", "logs", [{"entryId": "r%d" % i, "data": records[i]}
                                                       for i in range(start, min(start + 100, len(records)))])
            self.assertEqual(r["status"], 200, r)
            verdicts.update(r["verdicts"])
        self.assertEqual(set(verdicts.values()), {"SUCCESS"})
        self.assertEqual(len(verdicts), len(records))
        pods = sorted(b[0]["labels"]["pod"] for b in hook.bodies)
        self.assertEqual(len(pods), 4)  # one firing notification per pod
        self.assertEqual(len(set(pods)), 4)
        h.finish()
        wait_until(lambda: len(hook.bodies) == 8, "the resolved notifications")
        counts = sorted(int(b[0]["annotations"]["count"]) for b in hook.bodies[4:])
        self.assertEqual(counts, [1, 2, 2, 4])


class DeployFiles(unittest.TestCase):
    """deploy/function.yaml agrees with the function: its params start it,
    its trigger and output are the context's, and its scaling is the
    article's (KEDA on Kafka lag 10, 0 to 10 replicas); it keeps
    OpenFunction's protocol (gRPC) and runs Dapr as a sidecar."""

    def test_function_yaml(self):
        import yaml  # python3-yaml, installed by scripts/test.sh
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "function.yaml")) as f:
            fn = yaml.safe_load(f)
        serving = fn["spec"]["serving"]
        with open(CONTEXT) as f:
            context = json.load(f)
        self.assertEqual(fn["apiVersion"], "core.openfunction.io/v1beta2")
        self.assertNotIn("dapr.io/app-protocol", serving["annotations"])
        self.assertNotIn("APP_PROTOCOL", serving["params"])
        self.assertEqual(serving["annotations"]["openfunction.io/dapr-service-mode"], "sidecar")
        self.assertEqual([t["name"] for t in serving["triggers"]["dapr"]], list(context["inputs"]))
        self.assertEqual([o["dapr"]["name"] for o in serving["outputs"]], list(context["outputs"]))
        self.assertEqual(serving["outputs"][0]["dapr"]["operation"], "post")
        self.assertEqual((serving["scaleOptions"]["minReplicas"], serving["scaleOptions"]["maxReplicas"]), (0, 10))
        (trigger,) = serving["scaleOptions"]["keda"]["triggers"]
        self.assertEqual((trigger["type"], trigger["metadata"]["lagThreshold"]), ("kafka", "10"))
        self.assertEqual(serving["bindings"]["notification-manager"]["type"], "bindings.http")
        # Dapr's current Kafka metadata: authType, not the deprecated authRequired
        kafka = {m["name"]: m["value"] for m in serving["bindings"]["kafka-receiver"]["metadata"]}
        self.assertEqual(kafka.get("authType"), "none")
        self.assertNotIn("authRequired", kafka)
        params = {k: str(v) for k, v in serving["params"].items()}
        # the rules file is the ConfigMap's rules.yaml, where the pod mounts it
        with tempfile.TemporaryDirectory() as tmp:
            params["LOGS_RULES_FILE"] = self.rules_file(serving, tmp)
            status, sends, err = run(Formats.RECORD, params)
        self.assertEqual((status, len(sends)), (0, 2), err)

    def rules_file(self, serving, tmp):
        """The file that LOGS_RULES_FILE names in the pod, written into `tmp`
        from deploy/rules-configmap.yaml through the Function's volume."""
        import yaml
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "rules-configmap.yaml")) as f:
            cm = yaml.safe_load(f)
        path = serving["params"]["LOGS_RULES_FILE"]
        (container,) = serving["template"]["containers"]
        (mount,) = container["volumeMounts"]
        (volume,) = serving["template"]["volumes"]
        self.assertEqual((mount["name"], mount.get("subPath")), (volume["name"], None))
        self.assertEqual(volume["configMap"]["name"], cm["metadata"]["name"])
        self.assertEqual(os.path.dirname(path), mount["mountPath"])
        name = os.path.join(tmp, os.path.basename(path))
        with open(name, "w") as f:
            f.write(cm["data"][os.path.basename(path)])
        return name

    def test_rules_configmap_is_rules_yaml(self):
        # deploy/rules-configmap.yaml holds examples/logs-handler/rules.yaml as it is
        import yaml
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "rules-configmap.yaml")) as f:
            cm = yaml.safe_load(f)
        with open(os.path.join(ROOT, "examples", "logs-handler", "rules.yaml")) as f:
            self.assertEqual(cm["data"]["rules.yaml"], f.read())
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "function.yaml")) as f:
            fn = yaml.safe_load(f)
        self.assertEqual(cm["metadata"]["namespace"], fn["metadata"]["namespace"])


    def test_kafka_yaml_is_kraft_with_a_node_pool(self):
        # Strimzi 0.46 and later run no ZooKeeper: KRaft, nodes from a node pool
        import yaml
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "kafka.yaml")) as f:
            docs = {d["kind"]: d for d in yaml.safe_load_all(f)}
        kafka, pool, topic = docs["Kafka"], docs["KafkaNodePool"], docs["KafkaTopic"]
        self.assertNotIn("zookeeper", kafka["spec"])
        self.assertNotIn("replicas", kafka["spec"]["kafka"])  # the pool's
        self.assertEqual(sorted(pool["spec"]["roles"]), ["broker", "controller"])
        name = kafka["metadata"]["name"]
        self.assertEqual(pool["metadata"]["labels"]["strimzi.io/cluster"], name)
        self.assertEqual(topic["metadata"]["labels"]["strimzi.io/cluster"], name)
        self.assertEqual(topic["spec"]["replicas"], pool["spec"]["replicas"])
        # the brokers' service that the function's binding names
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "function.yaml")) as f:
            binding = yaml.safe_load(f)["spec"]["serving"]["bindings"]["kafka-receiver"]
        brokers = {m["name"]: m["value"] for m in binding["metadata"]}["brokers"]
        self.assertEqual(brokers, "%s-kafka-brokers.%s.svc.cluster.local:9092"
                         % (name, kafka["metadata"]["namespace"]))

    def test_function_knative_yaml(self):
        # the synchronous variant: the same image, rules and output, no Dapr input, an HTTP trigger
        import yaml
        deploy = os.path.join(ROOT, "examples", "logs-handler", "deploy")
        with open(os.path.join(deploy, "function.yaml")) as f:
            async_fn = yaml.safe_load(f)
        with open(os.path.join(deploy, "function-knative.yaml")) as f:
            fn = yaml.safe_load(f)
        with open(KNATIVE_CONTEXT) as f:
            context = json.load(f)
        serving, served = fn["spec"]["serving"], async_fn["spec"]["serving"]
        self.assertEqual(fn["apiVersion"], "core.openfunction.io/v1beta2")
        self.assertEqual((fn["spec"]["image"], fn["metadata"]["namespace"]),
                         (async_fn["spec"]["image"], async_fn["metadata"]["namespace"]))
        self.assertEqual(fn["metadata"]["name"], context["name"])
        self.assertNotIn("dapr", serving["triggers"])
        self.assertEqual(str(serving["triggers"]["http"]["port"]), context["port"])
        self.assertEqual(serving["outputs"], served["outputs"])
        self.assertEqual([o["dapr"]["name"] for o in serving["outputs"]], list(context["outputs"]))
        self.assertEqual(serving["bindings"]["notification-manager"], served["bindings"]["notification-manager"])
        self.assertEqual(serving["params"], served["params"])
        self.assertEqual(serving["template"]["volumes"], served["template"]["volumes"])
        (container,) = serving["template"]["containers"]
        self.assertEqual(container["readinessProbe"]["httpGet"]["path"], "/readyz")
        self.assertNotIn("keda", serving["scaleOptions"])
        self.assertEqual(serving["scaleOptions"]["minReplicas"], 0)
        # the function starts on the Function's params and rules, and alerts
        params = {k: str(v) for k, v in serving["params"].items()}
        with tempfile.TemporaryDirectory() as tmp:
            params["LOGS_RULES_FILE"] = self.rules_file(serving, tmp)
            status, sends, err = run(Formats.RECORD, params)
        self.assertEqual((status, len(sends)), (0, 2), err)

    def test_kafka_source_yaml(self):
        # KafkaSource reads kafka.yaml's "logs" topic through its bootstrap service
        # and posts to the Knative function's address, in order, with retries
        import yaml
        deploy = os.path.join(ROOT, "examples", "logs-handler", "deploy")
        with open(os.path.join(deploy, "kafka-source.yaml")) as f:
            source = yaml.safe_load(f)
        with open(os.path.join(deploy, "kafka.yaml")) as f:
            docs = {d["kind"]: d for d in yaml.safe_load_all(f)}
        with open(os.path.join(deploy, "function-knative.yaml")) as f:
            fn = yaml.safe_load(f)
        with open(os.path.join(deploy, "function.yaml")) as f:
            async_fn = yaml.safe_load(f)
        spec, kafka = source["spec"], docs["Kafka"]
        self.assertEqual(source["apiVersion"], "sources.knative.dev/v1")
        self.assertEqual(spec["topics"], [docs["KafkaTopic"]["metadata"]["name"]])
        (plain,) = [l for l in kafka["spec"]["kafka"]["listeners"] if not l["tls"]]
        self.assertEqual(spec["bootstrapServers"], ["%s-kafka-bootstrap.%s.svc:%d" % (
            kafka["metadata"]["name"], kafka["metadata"]["namespace"], plain["port"])])
        self.assertEqual(spec["sink"]["uri"], "http://%s.%s.svc.cluster.local/" % (
            fn["metadata"]["name"], fn["metadata"]["namespace"]))
        keda_group = async_fn["spec"]["serving"]["scaleOptions"]["keda"]["triggers"][0]["metadata"]["consumerGroup"]
        self.assertNotEqual(spec["consumerGroup"], keda_group)
        self.assertEqual(spec["ordering"], "ordered")
        self.assertGreater(spec["delivery"]["retry"], 0)

    def test_function_build_yaml(self):
        # the same function, built by OpenFunction with the libofctx builder
        import yaml
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "function.yaml")) as f:
            served = yaml.safe_load(f)["spec"]["serving"]
        with open(os.path.join(ROOT, "examples", "logs-handler", "deploy", "function-build.yaml")) as f:
            fn = yaml.safe_load(f)
        build, serving = fn["spec"]["build"], fn["spec"]["serving"]
        self.assertEqual(build["env"]["FUNC_NAME"], "LogsHandler")
        self.assertTrue(build["builder"].endswith("/libofctx-builder:v0.1.0"))
        self.assertTrue(os.path.isfile(os.path.join(ROOT, build["srcRepo"]["sourceSubPath"], "CMakeLists.txt")))
        self.assertEqual(serving, served)  # the whole of it: the same function


class Sample(unittest.TestCase):
    def test_bundled_sample(self):
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "records.jsonl")) as f:
            text = f.read()
        status, sends, err = run(text)
        self.assertEqual(status, 0, err)
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "expected-alerts.jsonl")) as f:
            expected = [json.loads(l) for l in f]
        # one firing notification per pod, then (when it stops) one resolved each, with the count
        self.assertEqual([{"status": s["data"]["status"], "labels": alerts_of(s)[0]["labels"],
                           "count": alerts_of(s)[0]["annotations"]["count"]} for s in sends], expected)
        self.assertIn("%d events" % len(text.splitlines()), err)
        self.assertEqual(err.count("notified: "), len(expected))

    def test_bundled_sample_as_a_rules_file(self):
        # the article's rule as a rules file gives exactly the alerts of the variables
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "records.jsonl")) as f:
            text = f.read()
        rules = os.path.join(ROOT, "examples", "logs-handler", "rules.yaml")
        status, sends, err = run(text, {"LOGS_RULES_FILE": rules})
        self.assertEqual(status, 0, err)
        # the same sends, but for the leases, which run from the wall clock
        def timeless(sends):
            return [json.dumps(s, sort_keys=True) for s in
                    json.loads(re.sub(r'"endsAt": "[^"]*"', '"endsAt": ""', json.dumps(sends)))]
        self.assertEqual(timeless(sends), timeless(run(text)[1]))
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "expected-alerts.jsonl")) as f:
            expected = [json.loads(l) for l in f]
        self.assertEqual([{"status": s["data"]["status"], "labels": alerts_of(s)[0]["labels"],
                           "count": alerts_of(s)[0]["annotations"]["count"]} for s in sends], expected)
        # one line per rule at start: its name, what it selects, its condition, its output
        self.assertIn("rule logs-404: namespace demo-project, pod =~wordpress-v1-", err)
        self.assertIn(", container *; match access_log where status in [404]; condition any; "
                      "output notification-manager (notification-manager format)\n", err)

    def test_keys_past_the_bound_are_dropped_and_said(self):
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "records.jsonl")) as f:
            text = f.read()
        # a burst large enough that no firing waits (a group that waits is never dropped)
        status, sends, err = run(text, {"LOGS_MAX_KEYS": "2", "LOGS_NOTIFY_BURST": "10"})
        self.assertEqual(status, 0, err)
        self.assertIn("LOGS_MAX_KEYS (2) keys kept: dropped the least recently matched one", err)
        # each key still fires; the dropped ones are not resolved
        firing = {alerts_of(s)[0]["labels"]["pod"] for s in sends if s["data"]["status"] == "firing"}
        resolved = [s for s in sends if s["data"]["status"] == "resolved"]
        self.assertEqual(len(firing), 4)
        self.assertEqual(len(resolved), 2)

    def test_the_rate_limit_holds_back_and_says_so(self):
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "records.jsonl")) as f:
            text = f.read()
        # one token and hardly any more: every firing but the first waits; none is dropped
        status, sends, err = run(text, {"LOGS_NOTIFY_BURST": "1", "LOGS_NOTIFY_RATE": "0.001"})
        self.assertEqual(status, 0, err)
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "expected-alerts.jsonl")) as f:
            self.assertEqual(len(sends), len(f.readlines()))
        # the three firings that waited are counted, each once, in the next notifications made
        held = [int(n) for n in re.findall(r"; (\d+) held back by the rate limit before", err)]
        self.assertEqual(sum(held), 3, err)

    def test_a_queued_update_is_superseded_by_the_next(self):
        # one key, a match every 2 s with a repeat interval of 1 s: each match makes an
        # UPDATE; with no token left, the one waiting is replaced by the next, and the
        # RESOLVED at the stop replaces the last: one firing, one resolved with every match
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "records.jsonl")) as f:
            first = json.loads(f.readline())
        records = []
        for i in range(10):
            r = json.loads(json.dumps(first))
            r["@timestamp"] = first["@timestamp"] + 2 * i
            r["time"] = datetime.datetime.fromtimestamp(r["@timestamp"], datetime.timezone.utc) \
                .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            records.append(json.dumps(r))
        status, sends, err = run("\n".join(records) + "\n",
                                 {"LOGS_NOTIFY_BURST": "1", "LOGS_NOTIFY_RATE": "0.001",
                                  "LOGS_REPEAT_INTERVAL": "1s", "LOGS_QUIET_PERIOD": "1h"})
        self.assertEqual(status, 0, err)
        self.assertEqual([s["data"]["status"] for s in sends], ["firing", "resolved"], err)
        annotations = alerts_of(sends[1])[0]["annotations"]
        self.assertEqual(annotations["count"], "10")
        self.assertEqual(annotations["new_count"], "9")  # every match since the firing
        # the superseded ones are counted as held back, at least one each
        self.assertGreaterEqual(int(annotations["suppressed"]), 8, annotations)


if __name__ == "__main__":
    unittest.main()
