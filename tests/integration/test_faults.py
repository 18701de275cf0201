# SPDX-License-Identifier: Apache-2.0
"""Faults between the function and its sidecar, counted end to end: the
sidecar absent at start and then appearing, and the sidecar restarting in
the middle of a run (its connections reset). The test plays both Dapr
sides itself: it delivers events straight to the function and runs a
sidecar it can stop and start on the same port. The guarantee checked: an
event answered 200 had its output accepted; any other answer is a nack,
which Dapr would deliver again."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import free_port, function_command, http, wait_until  # noqa: E402


class Sidecar:
    """Dapr's output-binding API, enough of it: 204 for a binding call,
    204 for the outbound health check. stop() closes the listener and resets
    every open connection, as a crashed sidecar would."""

    def __init__(self, port):
        self.port = port
        self.received = {}
        self.server = None
        self.lock = threading.Lock()
        self.conns = set()

    def start(self):
        sidecar = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                with sidecar.lock:
                    sidecar.conns.add(self.connection)

            def finish(self):
                with sidecar.lock:
                    sidecar.conns.discard(self.connection)
                super().finish()

            def do_GET(self):
                self.send_response(204)
                self.end_headers()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                ident = json.loads(body)["data"]["id"]
                with sidecar.lock:
                    sidecar.received[ident] = sidecar.received.get(ident, 0) + 1
                self.send_response(204)
                self.end_headers()

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for c in list(self.conns):
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns.clear()


CONTEXT = {"name": "faults", "runtime": "Async",
           "inputs": {"kafka": {"componentName": "kafka-in", "componentType": "bindings.kafka"}},
           "outputs": {"out": {"componentName": "kafka-out", "componentType": "bindings.kafka",
                               "operation": "create"}}}


class SidecarFaults(unittest.TestCase):
    def setUp(self):
        self.dapr_port, self.app_port = free_port(), free_port()
        self.sidecar = Sidecar(self.dapr_port)
        env = {k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH", "LD_"))}
        env.update({"FUNC_CONTEXT": json.dumps(dict(CONTEXT, port=str(self.app_port))),
                    "CONTEXT_MODE": "self-host", "DAPR_HTTP_PORT": str(self.dapr_port),
                    "OFCTX_LISTEN_HOST": "127.0.0.1", "OFCTX_SEND_ATTEMPTS": "4",
                    "OFCTX_SEND_BACKOFF_MS": "20", "OFCTX_SEND_BACKOFF_MAX_MS": "100",
                    "OFCTX_DAPR_WAIT_MS": "60000", "OFCTX_LOG_LEVEL": "warn"})
        self.fn = subprocess.Popen(function_command("probe"), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE)
        self.app = "http://127.0.0.1:%d" % self.app_port

        def up():
            try:
                return http("GET", self.app + "/healthz", timeout=2)[0] == 200
            except OSError:
                return False
        wait_until(up, "the function")

    def tearDown(self):
        if self.fn.poll() is None:
            self.fn.terminate()
            self.fn.wait(30)
        self.fn.stderr.close()
        if self.sidecar.server:
            self.sidecar.stop()

    def deliver(self, ident):
        body = json.dumps({"send": ["out"], "id": ident})
        return http("POST", self.app + "/kafka-in", body, {"Content-Type": "application/json"})[0]

    def run_events(self, idents, threads=4):
        answers = {}

        def worker(part):
            for i in part:
                answers[i] = self.deliver(i)
        parts = [idents[t::threads] for t in range(threads)]
        workers = [threading.Thread(target=worker, args=(p,)) for p in parts]
        for w in workers:
            w.start()
        return workers, answers

    def test_absent_at_start_then_restarting_mid_run(self):
        # absent: not ready, and every event is a nack (never acknowledged and lost)
        self.assertEqual(http("GET", self.app + "/readyz")[0], 503)
        answers = {i: self.deliver(i) for i in ("absent-%d" % n for n in range(10))}
        self.assertEqual(set(answers.values()), {500})
        # it appears: ready, and events go through
        self.sidecar.start()
        wait_until(lambda: http("GET", self.app + "/readyz")[0] == 200, "readiness")
        # it restarts in the middle of 400 events
        idents = ["run-%d" % n for n in range(400)]
        workers, answers = self.run_events(idents)
        wait_until(lambda: len(answers) >= 100, "a quarter of the events")
        self.sidecar.stop()
        time.sleep(0.6)  # longer than a send's retries: some events are nacked
        self.sidecar.start()
        for w in workers:
            w.join(120)
        self.assertEqual(len(answers), len(idents))
        acked = [i for i, status in answers.items() if status == 200]
        nacked = [i for i, status in answers.items() if status != 200]
        self.assertEqual({s for s in answers.values() if s != 200} - {500}, set())
        # the guarantee: nothing acknowledged without its output accepted
        lost = [i for i in acked if i not in self.sidecar.received]
        self.assertEqual(lost, [])
        self.assertGreater(len(acked), 300)
        # and after the restart everything goes through again
        after = {i: self.deliver(i) for i in ("after-%d" % n for n in range(20))}
        self.assertEqual(set(after.values()), {200})
        self.fn.terminate()
        self.assertEqual(self.fn.wait(30), 0)
        print("\nsidecar restart: %d events, %d acknowledged, %d not (to be delivered again), "
              "%d sends received twice" % (len(idents), len(acked), len(nacked),
                                           sum(1 for v in self.sidecar.received.values() if v > 1)),
              file=sys.stderr)


if __name__ == "__main__":
    unittest.main()
