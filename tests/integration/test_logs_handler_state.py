# SPDX-License-Identifier: Apache-2.0
"""The logs-handler's open incidents in a state store (LOGS_STATE_STORE),
under the Dapr emulator, which keeps running (and keeps its store) while
the function is stopped and started again: an incident still firing is not
fired again after SIGTERM or SIGKILL, one that went quiet is resolved after
the restart, a store that cannot be read holds the records back, and a
context without the states entry is refused."""

import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import GrpcHarness, Harness, function_command, http, wait_until  # noqa: E402
import test_logs_handler as lh  # noqa: E402  (its Webhook; a module, so its tests are not run here)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CONTEXT = os.path.join(ROOT, "examples", "logs-handler", "context.json")
STORE = "statestore"
KEY = "incidents-logs-404"


def context_with_store():
    with open(CONTEXT) as f:
        context = json.load(f)
    context["states"] = {"incidents": {"componentName": STORE, "componentType": "state.redis"}}
    return context


def record(path, pod="wordpress-v1-f54f697c5-hdn2z", at=None):
    return json.dumps({"log": '1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] "GET %s HTTP/1.1" 404 9 "-" "c"' % path,
                       "@timestamp": time.time() if at is None else at,
                       "kubernetes": {"pod_name": pod, "namespace_name": "demo-project", "container_name": "c1"}})


class IncidentsAcrossRestarts(unittest.TestCase):
    def setUp(self):
        self.hook = lh.Webhook()
        self.addCleanup(self.hook.close)
        self.context = context_with_store()
        self.input = self.context["inputs"]["kafka-receiver"]["componentName"]
        self.nm = self.context["outputs"]["notification-manager"]["componentName"]
        components = {"bindings": [{"name": self.input, "type": "bindings.kafka"},
                                   {"name": self.nm, "type": "bindings.http",
                                    "metadata": {"url": self.hook.url}}],
                      "states": [{"name": STORE, "type": "state.redis"}]}
        self.env = {"LOGS_STATE_STORE": "incidents", "LOGS_QUIET_PERIOD": "10m"}
        self.h = Harness(self.context, components, binary="logs-handler", env=self.env)
        self.addCleanup(self.h.close)
        self.wait_loaded()

    def wait_loaded(self):
        wait_until(lambda: "open incidents restored" in self.h.log(), "the open incidents loaded")

    def restart(self, sig, env=None):
        status = self.h.stop(sig)
        self.assertEqual(status, 0 if sig == signal.SIGTERM else -signal.SIGKILL)
        self.h.fn_log.close()
        self.h.start_function("logs-handler", self.context, dict(self.env, **(env or {}),
                                                                 DAPR_HTTP_PORT=str(self.h.dapr_port)))
        self.wait_loaded()

    def alerts(self):
        """The alerts the receiver got, in order."""
        return self.hook.alerts()

    def stored(self):
        items = self.h.control("GET", "/emulator/states/" + STORE)
        return {k.split("||")[-1]: json.loads(v["value"]) for k, v in items.items()}

    def logged(self, text):
        """Waits for `text` in the function's log: its lines are written by a
        thread of their own, so one may come just after the answer it is about."""
        wait_until(lambda: text in self.h.log(), text)

    def test_a_firing_incident_is_not_fired_again_after_a_restart(self):
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 200)
        (alert,) = self.alerts()
        self.assertEqual(alert["status"], "firing")
        # acknowledged once the notification and the write had settled: it is there
        doc = self.stored()[KEY]
        self.assertEqual((doc["rule"], doc["condition"], doc["group_by"]),
                         ("logs-404", "any", ["namespace", "pod", "container", "status"]))
        (incident,) = doc["incidents"].values()
        self.assertEqual(incident["key"], ["demo-project", "wordpress-v1-f54f697c5-hdn2z", "c1", "404"])
        self.assertEqual((incident["count"], incident["samples"]), (1, ["/a"]))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            self.restart(sig)
            # a stop resolves nothing: the incident stays open in the store
            self.assertEqual([a["status"] for a in self.alerts()], ["firing"])
            self.logged("1 open incidents restored")
            self.assertEqual(self.h.deliver_binding(self.input, record("/b"))["status"], 200)
            self.assertEqual([a["status"] for a in self.alerts()], ["firing"])
            metrics = lh.scrape(self, self.h)
            self.assertEqual(metrics['logs_handler_incidents_restored_total{result="restored"}'], 1)
            self.assertEqual(metrics['logs_handler_notifications_total{rule="logs-404",status="firing"}'], 0)
        # a new key still fires
        self.assertEqual(self.h.deliver_binding(self.input, record("/c", pod="wordpress-v1-f54f697c5-xxxxx"))["status"], 200)
        self.assertEqual([a["status"] for a in self.alerts()], ["firing", "firing"])
        self.assertEqual(len(self.stored()[KEY]["incidents"]), 2)

    def test_a_firing_on_its_way_at_sigterm_is_kept_before_the_function_exits(self):
        self.h.faults([{"path": "/v1.0/bindings/" + self.nm, "action": "delay", "ms": 1000}])
        answer = {}
        t = threading.Thread(target=lambda: answer.update(r=self.h.deliver_binding(self.input, record("/a"))))
        t.start()
        wait_until(lambda: self.h.received("/v1.0/bindings/" + self.nm), "the firing at the sidecar")
        self.assertEqual(self.h.stop(signal.SIGTERM), 0)
        t.join(30)
        self.assertEqual(answer["r"]["status"], 200)
        self.assertEqual([a["status"] for a in self.alerts()], ["firing"])
        self.assertIn(KEY, self.stored())

    def test_changes_that_come_while_a_write_is_on_its_way_go_in_the_next(self):
        # the first write waits long enough at the sidecar for the two others to come
        self.h.faults([{"path": "/v1.0/state/" + STORE, "method": "POST", "action": "delay", "ms": 5000}])
        answers = {}
        pods = ["wordpress-v1-f54f697c5-aaaaa", "wordpress-v1-f54f697c5-bbbbb", "wordpress-v1-f54f697c5-ccccc"]
        first = threading.Thread(target=lambda: answers.update(a=self.h.deliver_binding(self.input, record("/a", pod=pods[0]))))
        first.start()
        wait_until(lambda: [c for c in self.h.received("/v1.0/state/" + STORE) if c["method"] == "POST"],
                   "the first write at the sidecar")
        others = [threading.Thread(target=lambda p=p: answers.update({p: self.h.deliver_binding(self.input, record("/b", pod=p))}))
                  for p in pods[1:]]
        for t in others:
            t.start()
        for t in [first] + others:
            t.join(30)
        self.assertEqual(sorted(a["status"] for a in answers.values()), [200, 200, 200])
        self.assertEqual(len(self.stored()[KEY]["incidents"]), 3)  # each answered once its write had finished
        writes = [c for c in self.h.received("/v1.0/state/" + STORE) if c["method"] == "POST"]
        self.assertEqual(len(writes), 2)  # the two that came meanwhile went together
        self.assertEqual(lh.scrape(self, self.h)['logs_handler_incidents_writes_total{result="ok"}'], 2)

    def test_a_firing_whose_write_fails_is_not_acknowledged_and_the_write_is_tried_again(self):
        self.h.faults([{"path": "/v1.0/state/" + STORE, "method": "POST", "action": "status", "status": 500,
                        "count": -1}])
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 500)
        self.assertEqual([a["status"] for a in self.alerts()], ["firing"])  # the notification went
        self.logged("the open incidents of rule logs-404 were not kept")
        self.assertNotIn(KEY, self.stored())
        self.assertEqual(lh.scrape(self, self.h)['logs_handler_incidents_writes_total{result="failed"}'], 1)
        self.h.control("DELETE", "/emulator/faults")
        # delivered again: its key fires already, so it is taken at once; the write goes later
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 200)
        wait_until(lambda: KEY in self.stored(), "the write tried again", seconds=30)
        self.assertEqual([a["status"] for a in self.alerts()], ["firing"])

    def test_a_record_that_comes_before_the_incidents_are_loaded_waits_for_them(self):
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 200)
        self.h.stop(signal.SIGKILL)
        self.h.fn_log.close()
        # the read of the incidents takes 3 s at the sidecar
        self.h.faults([{"path": "/v1.0/state/" + STORE + "/*", "method": "GET", "action": "delay", "ms": 3000}])
        self.h.start_function("logs-handler", self.context, dict(self.env, DAPR_HTTP_PORT=str(self.h.dapr_port)))
        self.assertEqual(self.h.deliver_binding(self.input, record("/b"))["status"], 200)
        self.logged("records wait for the open incidents from the state store incidents")
        self.logged("1 open incidents restored")
        self.assertEqual([a["status"] for a in self.alerts()], ["firing"])

    def test_a_record_whose_wait_times_out_is_let_go(self):
        self.h.stop(signal.SIGKILL)
        self.h.fn_log.close()
        # the invocation's limit long enough for the second record's notification and write
        # under valgrind, the load's delay well beyond it
        self.h.faults([{"path": "/v1.0/state/" + STORE + "/*", "method": "GET", "action": "delay", "ms": 8000}])
        self.h.start_function("logs-handler", self.context,
                              dict(self.env, DAPR_HTTP_PORT=str(self.h.dapr_port), OFCTX_INVOCATION_TIMEOUT_MS="3000"))
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 500)
        self.wait_loaded()  # the record it held had settled: only let go
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 200)
        self.assertEqual([a["status"] for a in self.alerts()], ["firing"])

    def test_an_incident_that_went_quiet_meanwhile_is_resolved_after_the_restart(self):
        long_ago = time.time() - 120
        self.assertEqual(self.h.deliver_binding(self.input, record("/a", at=long_ago))["status"], 200)
        self.assertEqual([a["status"] for a in self.alerts()], ["firing"])
        # down for longer than the quiet period: a newer record (of no rule) shows it
        self.restart(signal.SIGKILL, {"LOGS_QUIET_PERIOD": "1m"})
        other = json.dumps({"log": "hello", "@timestamp": time.time(),
                            "kubernetes": {"pod_name": "x", "namespace_name": "elsewhere", "container_name": "c"}})
        self.assertEqual(self.h.deliver_binding(self.input, other)["status"], 200)
        wait_until(lambda: len(self.alerts()) == 2, "the resolved notification")
        resolved = self.alerts()[1]
        self.assertEqual((resolved["status"], resolved["labels"]["pod"]), ("resolved", "wordpress-v1-f54f697c5-hdn2z"))
        wait_until(lambda: KEY not in self.stored(), "the incident deleted from the store")

    def test_with_no_record_it_resolves_by_the_wall_clock_after_the_restart(self):
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 200)
        self.restart(signal.SIGTERM, {"LOGS_QUIET_PERIOD": "1s"})
        wait_until(lambda: len(self.alerts()) == 2, "the resolved notification")
        self.assertEqual(self.alerts()[1]["status"], "resolved")
        wait_until(lambda: KEY not in self.stored(), "the incident deleted from the store")

    def test_a_store_that_cannot_be_read_holds_the_records_back(self):
        self.h.stop(signal.SIGKILL)
        self.h.fn_log.close()
        self.h.faults([{"path": "/v1.0/state/" + STORE + "/*", "action": "status", "status": 500, "count": -1}])
        self.h.start_function("logs-handler", self.context, dict(self.env, DAPR_HTTP_PORT=str(self.h.dapr_port)))
        wait_until(lambda: "the open incidents could not be read" in self.h.log(), "the failed load")
        # the record waits for the next read, which fails too: not taken
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 500)
        # the log is written by its own thread: the second line may come just after the answer
        wait_until(lambda: self.h.log().count("the open incidents could not be read") >= 2, "the second failed load")
        self.assertEqual(self.alerts(), [])
        self.h.control("DELETE", "/emulator/faults")
        wait_until(lambda: "open incidents restored" in self.h.log(), "the load once the store answers", seconds=30)
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 200)
        self.assertEqual([a["status"] for a in self.alerts()], ["firing"])

    def test_a_write_of_another_replica_in_between_is_a_conflict_and_both_are_kept(self):
        self.assertEqual(self.h.deliver_binding(self.input, record("/a"))["status"], 200)
        theirs = dict(next(iter(self.stored()[KEY]["incidents"].values())), key=["demo-project", "p2", "c1", "404"])
        # the next write waits at the sidecar; meanwhile another replica writes the key
        self.h.faults([{"path": "/v1.0/state/" + STORE, "method": "POST", "action": "delay", "ms": 1000}])
        answer = {}
        pod = "wordpress-v1-f54f697c5-yyyyy"
        t = threading.Thread(target=lambda: answer.update(r=self.h.deliver_binding(self.input, record("/z", pod=pod))))
        t.start()
        wait_until(lambda: len([c for c in self.h.received("/v1.0/state/" + STORE) if c["method"] == "POST"]) == 2,
                   "the function's write at the sidecar")
        doc = self.stored()[KEY]
        doc["incidents"][json.dumps(theirs["key"], separators=(",", ":"))] = theirs
        r = self.h.control("POST", "/v1.0/state/" + STORE, [{"key": KEY, "value": doc}])
        self.assertEqual(r, {"status_code": 204})
        t.join(30)
        self.assertEqual(answer["r"]["status"], 200)
        self.logged("state ETag conflict")
        metrics = lh.scrape(self, self.h)
        self.assertEqual(metrics['logs_handler_incidents_writes_total{result="conflict"}'], 1)
        self.assertEqual(metrics['logs_handler_incidents_writes_total{result="ok"}'], 2)
        keys = sorted(i["key"][1] for i in self.stored()[KEY]["incidents"].values())
        self.assertEqual(keys, ["p2", "wordpress-v1-f54f697c5-hdn2z", pod])


class OverGrpc(unittest.TestCase):
    """The same over the sidecar's gRPC API (APP_PROTOCOL=grpc, Dapr/GetState,
    SaveState, DeleteState) under the fake daprd, whose store outlives the
    function: a restart fires nothing again, and the resolve deletes it."""

    def setUp(self):
        self.h = GrpcHarness(context_with_store(), binary="logs-handler",
                             env={"LOGS_STATE_STORE": "incidents", "LOGS_QUIET_PERIOD": "10m"})
        self.addCleanup(self.h.close)
        self.input = self.h.context["inputs"]["kafka-receiver"]["componentName"]

    def deliver(self, data):
        r = self.h.call("OnBindingEvent", {"name": self.input, "data": base64.b64encode(data.encode()).decode(),
                                           "metadata": {}})
        return r["code"]

    def firings(self):
        sent = [json.loads(base64.b64decode(c["request"]["data"])) for c in self.h.received()
                if c["method"] == "InvokeBinding"]
        return [a["status"] for body in sent for a in body["alerts"]]

    def stored(self):
        items = json.loads(http("GET", self.h.control_url + "/states")[2])
        return {k.split("/", 1)[1].split("||")[-1]: v for k, v in items.items()}

    def test_a_restart_fires_nothing_again_and_the_resolve_deletes_it(self):
        wait_until(lambda: "open incidents restored" in self.h.log(), "the open incidents loaded")
        self.assertEqual(self.deliver(record("/a")), 0)
        self.assertEqual(self.firings(), ["firing"])
        self.assertIn(KEY, self.stored())
        self.h.stop(signal.SIGKILL)
        self.h.fn_log.close()
        self.h.start({"LOGS_QUIET_PERIOD": "1s"})
        wait_until(lambda: "1 open incidents restored" in self.h.log(), "the incident restored")
        wait_until(lambda: self.firings() == ["firing", "resolved"], "the resolve")
        wait_until(lambda: KEY not in self.stored(), "the incident deleted from the store")


class StartUp(unittest.TestCase):
    def run_fn(self, context, args=(), env=None):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(context, f)
        self.addCleanup(os.unlink, f.name)
        fenv = {k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH", "LD_"))}
        fenv.update(env or {})
        return subprocess.run(function_command("logs-handler", "--context", f.name, *args),
                              env=fenv, capture_output=True, timeout=60, input=b"")

    def test_a_context_without_the_states_entry_is_refused(self):
        with open(CONTEXT) as f:
            context = json.load(f)
        p = self.run_fn(context, ["--invoke", "-"], {"LOGS_STATE_STORE": "incidents"})
        self.assertEqual(p.returncode, 2)
        self.assertIn('no states entry "incidents" to keep the open incidents in (states: none)', p.stderr.decode())

    def test_check_rules_knows_the_setting(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write("settings: {state_store: kept}\nrules: [{name: a}]\n")
        self.addCleanup(os.unlink, f.name)
        p = self.run_fn(context_with_store(), ["--check-rules", f.name])
        self.assertEqual(p.returncode, 2)
        self.assertIn('settings.state_store (LOGS_STATE_STORE): the function context has no states entry "kept"'
                      ' to keep the open incidents in (states: incidents)', p.stderr.decode())
        with open(f.name, "w") as g:
            g.write("settings: {state_store: incidents}\nrules: [{name: a}]\n")
        p = self.run_fn(context_with_store(), ["--check-rules", f.name])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["settings"]["state_store"], "incidents")


if __name__ == "__main__":
    unittest.main()
