"""Tracing against real OpenTelemetry code: the probe function under the
Dapr emulator, with the provider opentelemetry and its OTLP exporter
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

COMPONENTS = {
    "bindings": [
        {"name": "kafka-in", "type": "bindings.kafka"},
        {"name": "kafka-out", "type": "bindings.kafka", "direction": "output"},
    ],
    "pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}],
}


class OpenTelemetryPeer(unittest.TestCase):
    def test_parentage_end_to_end(self):
        otlp_port = free_port()
        context = dict(PROBE, prePlugins=["probe-gate"], postPlugins=["probe-gate"], pluginsTracing={
            "enabled": True,
            "provider": {"name": "opentelemetry", "exporter": {
                "name": "otlp", "endpoint": "http://127.0.0.1:%d" % otlp_port, "compression": "gzip",
                "headers": "x-peer-token=%s" % SECRET, "timeout": "5s"}},
            "tags": {"team": "otel"}})
        h = Harness(context, COMPONENTS)
        try:
            peer = subprocess.run(["node", PEER, str(otlp_port), h.dapr, SECRET],
                                  capture_output=True, text=True, timeout=120)
            self.assertEqual(peer.returncode, 0, peer.stdout + peer.stderr)
            _, _, page = http("GET", "http://127.0.0.1:%d/metrics" % h.app_port)
            self.assertIn(b"ofctx_spans_exported_total 5\n", page)
            self.assertIn(b'ofctx_spans_dropped_total{reason="queue_full"} 0\n', page)
            self.assertEqual(h.stop(), 0)
            self.assertNotIn(SECRET, h.log())
        finally:
            h.close()


if __name__ == "__main__":
    unittest.main()
