# SPDX-License-Identifier: Apache-2.0
"""The local runtime that every function has: --context FILE, --invoke
FILE|-, --input NAME, --event-lines, --keep-going and --all-outcomes, with
tests/functions/probe.c. Each line is one event; each send is one JSON line
on stdout, and so is the end of each event that did not succeed or set a
reply (of every event with --all-outcomes); a summary goes to stderr."""

import json
import os
import select
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN_DIR, function_command  # noqa: E402
from contexts import PROBE as CONTEXT  # noqa: E402  (the Async runtime's context)


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

    def lines(self, lines, *extra, env=None):
        """(exit status, every stdout line as JSON, stderr)"""
        status, out, err = self.run_probe(lines, ("--context", self.context, "--invoke", "-", *extra), env)
        return status, [json.loads(l) for l in out.splitlines()], err

    def invoke(self, lines, *extra, env=None):
        """(exit status, the sends, stderr)"""
        status, out, err = self.lines(lines, *extra, env=env)
        return status, [l for l in out if "output" in l], err

    def ends(self, lines, *extra, env=None):
        """(exit status, the events' ends, stderr)"""
        status, out, err = self.lines(lines, *extra, env=env)
        return status, [l for l in out if "line" in l], err

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

    def test_state_is_kept_in_memory_for_the_run(self):
        with open(self.context, "w") as f:
            json.dump(dict(CONTEXT, states={"store": {"componentName": "statestore",
                                                      "componentType": "state.redis"}}), f)
        status, out, err = self.lines(
            '{"state_set":["store","k","hello"],"report":"out"}\n'
            '{"state_get":["store","k"],"report":"out"}\n'
            '{"state_set":["store","k","x"],"etag":"9","report":"out"}\n'
            '{"state_delete":["store","k"],"etag":"1","report":"out"}\n'
            '{"state_get":["store","k"],"report":"out"}\n')
        self.assertEqual(status, 0, err)
        states = [l for l in out if "state" in l]
        self.assertEqual(states, [
            {"state": "set", "componentName": "statestore", "key": "k", "value": "hello", "status": 204},
            {"state": "get", "componentName": "statestore", "key": "k", "value": "hello", "etag": "1",
             "status": 200},
            {"state": "set", "componentName": "statestore", "key": "k", "value": "x", "status": 409},
            {"state": "delete", "componentName": "statestore", "key": "k", "status": 204},
            {"state": "get", "componentName": "statestore", "key": "k", "status": 204}])
        reports = [json.loads(l["data"]) if isinstance(l["data"], str) else l["data"]
                   for l in out if l.get("output") == "out"]
        self.assertEqual([(r["code"], r.get("value")) for r in reports],
                         [("OK", ""), ("OK", "hello"), ("ECONFLICT", None), ("OK", ""), ("OK", "")])

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

    def test_a_send_of_json_with_line_breaks_stays_one_line(self):
        # CR and LF between the tokens become spaces; in a string they are escapes and stay
        data = '{\r\n  "a": [1,\n 2],\n  "b": "x\\ny"\r\n}\n'
        status, out, err = self.lines(json.dumps({"send_opts": {"output": "out", "data": data,
                                                                "type": "application/json"}}) + "\n")
        self.assertEqual(status, 0, err)
        self.assertEqual([l["data"] for l in out], [{"a": [1, 2], "b": "x\ny"}])

    def test_an_event_that_did_not_succeed_or_replied_ends_in_one_line(self):
        # a success without a reply prints only its sends: the main job's stream stays its alerts
        status, out, err = self.lines('{"send":["out"],"id":"a"}\n\n{"return":400}\n{"reply":"metadata"}\n'
                                      '{"return":200}\n{"return":500}\n')
        self.assertEqual(status, 1, err)
        self.assertEqual([(l.get("output") or l.get("outcome"), l.get("line")) for l in out],
                         [("out", None), ("DROP", 3), ("SUCCESS", 4), ("RETRY", 6)])
        self.assertIn("5 events: 3 handled, 1 dropped, 1 failed; 1 sends", err)

    def test_all_outcomes_ends_each_event_in_one_line(self):
        status, out, err = self.lines('{"send":["out"],"id":"a"}\n\n{"return":400}\n{"reply":"metadata"}\n'
                                      '{"return":500}\n', "--all-outcomes")
        self.assertEqual(status, 1, err)
        self.assertEqual([l.get("output") or l.get("outcome") for l in out],
                         ["out", "SUCCESS", "DROP", "SUCCESS", "RETRY"])
        # the line numbers count the empty line too; the status is what the function returned
        ends = [l for l in out if "line" in l]
        self.assertEqual([(e["line"], e["status"]) for e in ends], [(1, 200), (3, 400), (4, 200), (5, 500)])
        reply = ends[2]["reply"]
        self.assertEqual(reply["data"]["kind"], "binding")
        self.assertEqual(reply["bytes"], len(json.dumps(reply["data"], separators=(",", ":"))))
        self.assertNotIn("attributes", reply)  # no CloudEvent reply
        self.assertNotIn("reply", ends[0])

    def test_the_hooks_the_context_names_run_around_the_function(self):
        for key in ("prePlugins", "preHooks"):  # v1beta1's name, and v1beta2's
            with self.subTest(key=key):
                with open(self.context, "w") as f:
                    json.dump(dict(CONTEXT, **{key: ["probe-gate"], key.replace("pre", "post"): ["probe-gate"]}), f)
                status, out, err = self.lines('{"gate":"drop","send":["out"],"id":"a"}\n'
                                              '{"gate":"forgive","return":500}\n{"send":["out"],"id":"c"}\n',
                                              "--all-outcomes")
                self.assertEqual(status, 0, err)
                # the dropped event's function did not run: no send of it
                self.assertEqual([l.get("output") or l.get("outcome") for l in out],
                                 ["DROP", "SUCCESS", "out", "SUCCESS"])
                self.assertIn("3 events: 2 handled, 1 dropped, 0 failed; 1 sends", err)
                # the hook's drop is its design: logged at debug, not as a warning
                self.assertNotIn("event dropped", err)
                _, _, debug = self.lines('{"gate":"drop"}\n', env={"OFCTX_LOG_LEVEL": "debug"})
                self.assertIn('event dropped input=kafka outcome=drop reason="a pre hook declared the event '
                              'poison" hook=probe-gate', debug)

    def test_a_hook_the_context_names_and_no_one_registered_stops_the_start(self):
        with open(self.context, "w") as f:
            json.dump(dict(CONTEXT, postPlugins=["probe-gate", "audit"]), f)
        status, out, err = self.lines('{"return":200}\n')
        self.assertEqual((status, out), (2, []))
        self.assertIn('the function context\'s postHooks (or postPlugins) name "audit": no such hook', err)

    def test_the_first_failed_event_stops_the_run(self):
        status, ends, err = self.ends('{"return":200}\n{"return":500}\n{"return":200}\n')
        self.assertEqual(status, 1, err)
        self.assertEqual([(e["line"], e["outcome"]) for e in ends], [(2, "RETRY")])
        self.assertIn("stopped: the event of line 2 failed (--keep-going goes on)", err)

    def test_keep_going_handles_every_line_and_exits_0(self):
        status, ends, err = self.ends('{"return":200}\n{"return":400}\n{"return":500}\n{"return":7}\nnot json\n',
                                      "--keep-going", "--all-outcomes")
        self.assertEqual(status, 0, err)
        self.assertEqual([e["outcome"] for e in ends], ["SUCCESS", "DROP", "RETRY", "RETRY", "SUCCESS"])
        self.assertIn("5 events: 2 handled, 1 dropped, 2 failed; 0 sends", err)

    def test_event_lines_carry_metadata_and_attributes(self):
        lines = [{"data": {"reply": "metadata"}, "metadata": {"traceparent": "00-ab", "n": 5},
                  "attributes": {"id": "e1", "source": "s", "type": "t", "datacontenttype": "application/json"}},
                 {"data_base64": "eyJyZXBseSI6Im1ldGFkYXRhIn0="},  # {"reply":"metadata"}
                 {"data": "{\"reply\":\"metadata\"}"}]  # a string: its characters
        status, ends, err = self.ends("".join(json.dumps(l) + "\n" for l in lines), "--event-lines",
                                      "--input", "orders")
        self.assertEqual(status, 0, err)
        seen = [e["reply"]["data"] for e in ends]
        self.assertEqual((seen[0]["kind"], json.loads(seen[0]["data"])), ("pubsub", {"reply": "metadata"}))
        self.assertEqual(seen[0]["metadata"], {"traceparent": "00-ab", "n": "5"})
        self.assertEqual(seen[0]["attributes"]["id"], "e1")
        self.assertEqual(seen[0]["contentType"], "application/json")
        self.assertEqual([json.loads(s["data"]) for s in seen[1:]], [{"reply": "metadata"}] * 2)

    def test_lines_that_are_not_events_are_named(self):
        for line, why in (('[1]', "not a JSON object"), ('{"dat":1}', "none of data, data_base64"),
                          ('{"data":1,"data_base64":"AA=="}', "both data and data_base64"),
                          ('{"data_base64":"@@"}', "not base64"), ('{"metadata":[]}', "metadata is not an object"),
                          ('{"data":1,"attributes":{"id":"1"}}', "for pub/sub inputs")):
            with self.subTest(line=line):
                status, ends, err = self.ends(line + "\n", "--event-lines")
                self.assertEqual(status, 1, err)
                self.assertEqual(ends[0]["line"], 1)
                self.assertIn(why, ends[0]["error"])

    def test_a_knative_reply_shows_its_cloudevent_attributes(self):
        knative = os.path.join(self.tmp.name, "knative.json")
        with open(knative, "w") as f:
            json.dump({"name": "k", "runtime": "Knative"}, f)
        status, out, err = self.run_probe('{"hi":1}\n', ("--context", knative, "--invoke", "-"),
                                          {"PROBE_REPLY_CE": "1"}, binary="knative_probe")
        self.assertEqual(status, 0, err)
        [end] = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(end["reply"], {"bytes": 8, "data": {"hi": 1},
                                        "attributes": {"type": "probe.reply", "source": "/probe"}})

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
        self.assertEqual((status, json.loads(out.splitlines()[0])["data"]), (0, {"id": "b"}), err)

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
        self.assertEqual((status, json.loads(out.splitlines()[0])["data"]), (0, {"id": "f"}), err)

    def test_usage_errors_exit_2(self):
        for args, text in ((("--invoke", "/nonexistent/events"), "cannot open the events file"),
                           (("--context", "/nonexistent/ctx.json", "--invoke", "-"), "--context /nonexistent/ctx.json"),
                           (("--context", self.context, "--invoke", "-", "--input", "nope"), "no input of that name"),
                           (("--input", "kafka"), "--input goes with --invoke"),
                           (("--keep-going",), "--keep-going goes with --invoke"),
                           (("--event-lines",), "--event-lines goes with --invoke"),
                           (("--all-outcomes",), "--all-outcomes goes with --invoke"),
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
