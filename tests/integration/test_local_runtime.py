# SPDX-License-Identifier: Apache-2.0
"""The local runtime that every function has: --context FILE, --invoke
FILE|- and --input NAME, with tests/functions/probe.c. Each line is one
event; each send is one JSON line on stdout; a summary goes to stderr."""

import json
import os
import select
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN_DIR, function_command  # noqa: E402
from test_async_runtime import CONTEXT  # noqa: E402  (the same function context)


class LocalRuntime(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="ofctx-local-")
        self.addCleanup(self.tmp.cleanup)
        self.context = os.path.join(self.tmp.name, "context.json")
        with open(self.context, "w") as f:
            json.dump(CONTEXT, f)

    def env(self, extra=None):
        env = {k: v for k, v in os.environ.items()
               if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH", "LD_"))}
        env.update(extra or {})
        return env

    def run_probe(self, stdin="", args=(), env=None, binary="probe"):
        p = subprocess.run(function_command(binary, *args), input=stdin.encode(),
                           env=self.env(env), capture_output=True, timeout=60)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def invoke(self, lines, *extra, env=None):
        status, out, err = self.run_probe(lines, ("--context", self.context, "--invoke", "-", *extra), env)
        return status, [json.loads(l) for l in out.splitlines()], err

    def test_sends_become_json_lines(self):
        status, sends, err = self.invoke('{"send":["out","pub"],"id":"a"}\n{"send_text":"out"}\n'
                                         '{"publish_bytes":["pubsub","raw"]}\n{"invoke":["comp","op"]}\n')
        self.assertEqual(status, 0, err)
        self.assertEqual(sends, [
            {"output": "out", "componentName": "kafka-out", "componentType": "bindings.kafka",
             "data": {"id": "a"}, "operation": "create", "metadata": {"partitionKey": "p1"}},
            {"output": "pub", "componentName": "pubsub", "componentType": "pubsub.kafka", "operation": "publish",
             "topic": "alerts", "contentType": "application/json", "data": {"id": "a"}},
            {"output": "out", "componentName": "kafka-out", "componentType": "bindings.kafka",
             "data": "plain text", "operation": "create", "metadata": {"partitionKey": "p1"}},
            {"output": None, "componentName": "pubsub", "componentType": None, "operation": "publish",
             "topic": "raw", "contentType": "application/octet-stream", "data_base64": "AP/+gA=="},
            {"output": None, "componentName": "comp", "componentType": None, "data": {"direct": True},
             "operation": "op", "metadata": {}},
        ])
        # the send callbacks ran, after the function returned
        self.assertEqual(err.count("finished: success (200)"), 2)
        self.assertIn("probe: 4 events: 4 handled, 0 dropped, 0 failed; 5 sends; 0 lines skipped", err)

    def test_send_options(self):
        # a JSON type embeds the data as JSON, unchecked; another type as a string; per-call
        # operation and metadata apply to that send only, not to the output's later sends
        lines = [{"send_opts": {"output": "out", "data": "[1,2]", "type": "application/json"}},
                 {"send_opts": {"output": "out", "data": "[1,2]", "type": "application/cloudevents+json; x=y"}},
                 {"send_opts": {"output": "out", "data": "[1,2]", "type": "text/plain"}},
                 {"send_opts": {"output": "out", "data": "[1,2]", "operation": "delete",
                                "metadata": ["partitionKey", "p2"]}},
                 {"send_opts": {"output": "out", "data": "[1,2]", "metadata": ["key", "k"]}},
                 {"send_opts": {"output": "out", "data": "[1,2]"}}]
        status, sends, err = self.invoke("".join(json.dumps(l) + "\n" for l in lines))
        self.assertEqual(status, 0, err)
        self.assertEqual([(s["data"], s["operation"], s["metadata"]) for s in sends], [
            ([1, 2], "create", {"partitionKey": "p1"}),
            ([1, 2], "create", {"partitionKey": "p1"}),
            ("[1,2]", "create", {"partitionKey": "p1"}),
            ([1, 2], "delete", {"partitionKey": "p2"}),
            ([1, 2], "create", {"partitionKey": "p1", "key": "k"}),
            ([1, 2], "create", {"partitionKey": "p1"}),
        ])

    def test_outcomes_are_counted_and_never_change_the_exit_status(self):
        status, sends, err = self.invoke('{"return":200}\n{"return":400}\n{"return":500}\n{"return":7}\nnot json\n')
        self.assertEqual((status, sends), (0, []), err)
        self.assertIn("5 events: 2 handled, 1 dropped, 2 failed; 0 sends", err)

    def test_lines(self):
        # empty lines are no events, CRLF ends a line, the last line needs no newline
        status, _, err = self.invoke('\n{"return":200}\r\n\n\n{"return":400}')
        self.assertEqual(status, 0, err)
        self.assertIn("2 events: 1 handled, 1 dropped", err)

    def test_a_line_over_the_body_limit_is_skipped(self):
        status, _, err = self.invoke('{"return":200}\n' + "x" * 5000 + '\n{"return":200}\n',
                                     env={"OFCTX_MAX_BODY_SIZE": "4Ki"})
        self.assertEqual(status, 1, err)
        self.assertIn("2 events: 2 handled, 0 dropped, 0 failed; 0 sends; 1 lines skipped", err)

    def test_input_chooses_the_kind(self):
        status, out, err = self.run_probe('{"reply":"metadata"}\n', ("--context", self.context, "--invoke", "-",
                                                                   "--input", "orders"))
        self.assertEqual(status, 0, err)
        status, out, err = self.run_probe('{"send":["out"],"id":"b"}\n',
                                          ("--context", self.context, "--invoke", "-", "--input=orders"))
        self.assertEqual((status, json.loads(out)["data"]), (0, {"id": "b"}), err)

    def test_events_are_handled_as_they_arrive(self):
        # a pipe that stays open: the first send comes out before stdin ends
        p = subprocess.Popen(function_command("probe", "--context", self.context, "--invoke", "-"),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=self.env())
        try:
            p.stdin.write(b'{"send":["out"],"id":"live"}\n')
            p.stdin.flush()
            ready, _, _ = select.select([p.stdout], [], [], 10)
            self.assertTrue(ready, "no send before the end of the input")
            self.assertEqual(json.loads(p.stdout.readline())["data"], {"id": "live"})
        finally:
            p.stdin.close()
            p.wait(10)
            p.stdout.close()
            p.stderr.close()
        self.assertEqual(p.returncode, 0)

    def test_context_from_the_environment_and_file_argument(self):
        events = os.path.join(self.tmp.name, "events.jsonl")
        with open(events, "w") as f:
            f.write('{"send":["out"],"id":"f"}\n')
        status, out, err = self.run_probe("", ("--invoke", events), {"FUNC_CONTEXT": json.dumps(CONTEXT)})
        self.assertEqual((status, json.loads(out)["data"]), (0, {"id": "f"}), err)

    def test_usage_errors_exit_2(self):
        for args, text in ((("--invoke", "/nonexistent/events"), "cannot open the events file"),
                           (("--context", "/nonexistent/ctx.json", "--invoke", "-"), "--context /nonexistent/ctx.json"),
                           (("--context", self.context, "--invoke", "-", "--input", "nope"), "no input of that name"),
                           (("--input", "kafka"), "--input goes with --invoke"),
                           (("--invoke",), "--invoke needs a value"),
                           (("--bogus",), "unknown argument --bogus")):
            with self.subTest(args=args):
                status, out, err = self.run_probe("", args, {"FUNC_CONTEXT": json.dumps(CONTEXT)})
                self.assertEqual((status, out), (2, ""), err)
                self.assertIn(text, err)

    def test_a_bad_context_file_exits_2_with_its_name(self):
        bad = os.path.join(self.tmp.name, "bad.json")
        with open(bad, "w") as f:
            f.write('{"name":"x","runtime":"wrong"}')
        status, _, err = self.run_probe("", ("--context", bad, "--invoke", "-"))
        self.assertEqual(status, 2)
        self.assertIn(bad + ": $.runtime: invalid runtime", err)

    def test_plain_http_functions_are_not_for_invoke(self):
        knative = os.path.join(self.tmp.name, "knative.json")
        with open(knative, "w") as f:
            json.dump({"name": "k", "runtime": "Knative"}, f)
        status, _, err = self.run_probe("", ("--context", knative, "--invoke", "-"), {"PROBE_KIND": "http"},
                                        binary="knative_probe")
        self.assertEqual(status, 2)
        self.assertIn("OpenFunction signature", err)
        # an OpenFunction-signature Knative function takes lines as HTTP events
        status, out, err = self.run_probe("x\n", ("--context", knative, "--invoke", "-"), binary="knative_probe")
        self.assertEqual(status, 0, err)
        self.assertIn("1 events: 1 handled", err)


if __name__ == "__main__":
    unittest.main()
