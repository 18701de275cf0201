# SPDX-License-Identifier: Apache-2.0
"""examples/logs-handler through the local runtime (--invoke): the record
corpus of tests/data/logs (each record with the alert it must or must not
produce), the two alert formats, start-up errors, and the bundled sample."""

import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN_DIR  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONTEXT = os.path.join(ROOT, "examples", "logs-handler", "context.json")
CASES = os.path.join(ROOT, "tests", "data", "logs", "cases.jsonl")


def run(stdin, env=None, args=()):
    """logs-handler --invoke - on `stdin`: (exit status, sent payloads, stderr)."""
    fenv = {k: v for k, v in os.environ.items()
            if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH", "LD_"))}
    fenv.update(env or {})
    p = subprocess.run([os.path.join(BIN_DIR, "logs-handler"), "--context", CONTEXT, "--invoke", "-",
                        *args], input=stdin.encode(), env=fenv, capture_output=True, timeout=60)
    lines = [json.loads(l) for l in p.stdout.decode().splitlines()]
    return p.returncode, lines, p.stderr.decode()


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
                    self.assertEqual(len(sends), 1, err)
                    self.assertEqual(sends[0]["output"], "notification-manager")
                    self.assertEqual(sends[0]["componentType"], "bindings.http")
                    self.assertEqual(sends[0]["operation"], "post")
                    (alert,) = alerts_of(sends[0])
                    self.assertEqual(alert["labels"], case["alert"])
                    if "startsAt" in case:
                        self.assertEqual(alert["startsAt"], case["startsAt"])
                self.assertIn("1 dropped" if case.get("drop") else "0 dropped", err)


class Formats(unittest.TestCase):
    RECORD = ('{"log":"1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] \\"GET /notfound HTTP/1.1\\" 404 9 \\"-\\" '
              '\\"curl/7.58.0\\"\\n","time":"2021-08-25T01:54:37.226757612Z","kubernetes":{"pod_name":'
              '"wordpress-v1-f54f697c5-hdn2z","namespace_name":"demo-project","container_name":"c1"}}\n')

    def test_notification_manager_webhook_object(self):
        _, (send,), _ = run(self.RECORD)
        body = send["data"]
        self.assertEqual((body["status"], body["receiver"], body["version"]), ("firing", "logs-handler", "4"))
        self.assertEqual(body["groupLabels"], {"alertname": "404 Request", "namespace": "demo-project"})
        (alert,) = body["alerts"]
        self.assertEqual(alert["status"], "firing")
        self.assertEqual(body["commonLabels"], alert["labels"])
        self.assertEqual(alert["annotations"]["message"],
                         "404 Request: GET /notfound answered 404 by pod "
                         "demo-project/wordpress-v1-f54f697c5-hdn2z (container c1) for client 1.2.3.4")
        self.assertEqual((alert["startsAt"], alert["endsAt"]),
                         ("2021-08-25T01:54:37.226758Z", "2021-08-25T01:59:37.226758Z"))
        self.assertRegex(alert["fingerprint"], "^[0-9a-f]{16}$")

    def test_alertmanager_array_with_a_lease(self):
        _, (send,), _ = run(self.RECORD, {"LOGS_ALERT_FORMAT": "alertmanager", "LOGS_ALERT_LEASE_SECONDS": "60"})
        self.assertIsInstance(send["data"], list)
        (alert,) = send["data"]
        self.assertEqual(set(alert), {"labels", "annotations", "startsAt", "endsAt"})
        self.assertEqual(alert["endsAt"], "2021-08-25T01:55:37.226758Z")


class StartUp(unittest.TestCase):
    def test_bad_configuration_names_the_variable(self):
        for env, text in (
                ({"LOGS_POD_REGEX": "wordpress-(["}, "LOGS_POD_REGEX: \"wordpress-([\" does not compile"),
                ({"LOGS_STATUSES": "404,abc"}, "LOGS_STATUSES"),
                ({"LOGS_STATUSES": "604"}, "LOGS_STATUSES"),
                ({"LOGS_NAMESPACES": "Demo_Project"}, "LOGS_NAMESPACES"),
                ({"LOGS_ALERT_FORMAT": "slack"}, "LOGS_ALERT_FORMAT"),
                ({"LOGS_ALERT_LEASE_SECONDS": "0"}, "LOGS_ALERT_LEASE_SECONDS"),
                ({"LOGS_ALERT_NAME": "a\x01b"}, "LOGS_ALERT_NAME"),
                ({"LOGS_OUTPUT": "slack"}, "no output \"slack\" (LOGS_OUTPUT)")):
            with self.subTest(env=env):
                status, sends, err = run("", env)
                self.assertEqual(status, 2, err)
                self.assertIn(text, err)
                self.assertEqual(sends, [])

    def test_help_needs_no_configuration(self):
        p = subprocess.run([os.path.join(BIN_DIR, "logs-handler"), "--help"], capture_output=True, text=True,
                           env={"LOGS_POD_REGEX": "(", "PATH": os.environ.get("PATH", "")})
        self.assertEqual(p.returncode, 0)
        self.assertIn("--invoke", p.stdout)


class Sample(unittest.TestCase):
    def test_bundled_sample(self):
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "records.jsonl")) as f:
            text = f.read()
        status, sends, err = run(text)
        self.assertEqual(status, 0, err)
        with open(os.path.join(ROOT, "examples", "logs-handler", "testdata", "expected-alerts.jsonl")) as f:
            expected = [json.loads(l) for l in f]
        self.assertEqual([alerts_of(s)[0]["labels"] for s in sends], expected)
        self.assertIn("%d events" % len(text.splitlines()), err)


if __name__ == "__main__":
    unittest.main()
