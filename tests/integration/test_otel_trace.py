"""Tracing against real OpenTelemetry code: the probe function under the
Dapr emulator (an Async pub/sub delivery), and knative_probe called
directly, each with the provider opentelemetry and its OTLP exporter
pointed at tests/otel/peer.js, which starts the trace with OpenTelemetry JS,
receives the export, decodes it with the code generated from the official
protos and checks the spans' parentage end to end (see peer.js)."""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contexts import PROBE  # noqa: E402
from harness import Harness, free_port, http  # noqa: E402

PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "otel", "peer.js")
SECRET = "s3cr3t-peer-token"

def tracing(otlp_port):
    return {"enabled": True,
            "provider": {"name": "opentelemetry", "exporter": {
                "name": "otlp", "endpoint": "http://127.0.0.1:%d" % otlp_port, "compression": "gzip",
                "headers": "x-peer-token=%s" % SECRET, "timeout": "5s"}},
            "tags": {"team": "otel"}}


COMPONENTS = {
    "bindings": [
        {"name": "kafka-in", "type": "bindings.kafka"},
        {"name": "kafka-out", "type": "bindings.kafka", "direction": "output"},
    ],
    "pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}],
}


class OpenTelemetryPeer(unittest.TestCase):
    def peer(self, mode, h, otlp_port, spans):
        out = subprocess.run(["node", PEER, mode, str(otlp_port), h.dapr, h.app, SECRET],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        _, _, page = http("GET", "http://127.0.0.1:%d/metrics" % h.app_port)
        self.assertIn(b"ofctx_spans_exported_total %d\n" % spans, page)
        self.assertIn(b'ofctx_spans_dropped_total{reason="queue_full"} 0\n', page)
        self.assertEqual(h.stop(), 0)
        self.assertNotIn(SECRET, h.log())

    def test_async_pubsub_sends_and_hooks(self):
        otlp_port = free_port()
        context = dict(PROBE, prePlugins=["probe-gate"], postPlugins=["probe-gate"],
                       pluginsTracing=tracing(otlp_port))
        h = Harness(context, COMPONENTS)
        try:
            self.peer("async", h, otlp_port, 5)
        finally:
            h.close()

    def test_knative_request(self):
        otlp_port = free_port()
        context = {"name": "knative-probe", "version": "v1", "runtime": "Knative", "httpPattern": "/",
                   "outputs": {"out": PROBE["outputs"]["out"]}, "pluginsTracing": tracing(otlp_port)}
        h = Harness(context, COMPONENTS, env={"PROBE_KIND": "ofn"}, binary="knative_probe", startup=False)
        try:
            self.peer("knative", h, otlp_port, 2)
        finally:
            h.close()


if __name__ == "__main__":
    unittest.main()
