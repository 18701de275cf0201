# SPDX-License-Identifier: Apache-2.0
"""The Async runtime end to end: the probe function (tests/functions/probe.c)
under the Dapr sidecar emulator, which delivers bindings and pub/sub
messages to it and takes its sends the way daprd does."""

import base64
import concurrent.futures
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contexts import PROBE  # noqa: E402
from harness import BEYOND_JANSSON, BIN_DIR, VALGRIND, free_port, function_command, Harness, http, promtool_check, rss_kib, raw_exchange, wait_until  # noqa: E402

CONTEXT = PROBE

COMPONENTS = {
    "bindings": [
        {"name": "kafka-in", "type": "bindings.kafka"},
        {"name": "kafka-out", "type": "bindings.kafka", "direction": "output"},
        {"name": "nm", "type": "bindings.http", "direction": "output"},
    ],
    "pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}],
}


class AsyncRuntime(unittest.TestCase):
    """One function and emulator for the tests that leave them as they were."""

    @classmethod
    def setUpClass(cls):
        cls.h = Harness(CONTEXT, COMPONENTS)

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.control("DELETE", "/emulator/faults")
        self.h.clear_received()

    def test_startup_probe_and_subscriptions(self):
        r = self.h.startup_result
        self.assertEqual(r["bindings"]["kafka-in"]["probe"], 200)
        self.assertTrue(r["bindings"]["kafka-in"]["subscribed"])
        subs = r["subscriptions"]
        self.assertEqual(len(subs), 1)
        self.assertEqual(subs[0]["pubsubname"], "pubsub")
        self.assertEqual(subs[0]["topic"], "orders")
        self.assertEqual(r["config"]["status"], 200)

    def test_binding_event_with_metadata(self):
        r = self.h.deliver_binding("kafka-in", {"reply": "metadata"},
                                   {"__offset": "42", "__key": "order-1", "MyHeader": "v"})
        self.assertEqual(r["status"], 200)
        self.assertTrue(r["acked"])
        got = json.loads(r["body"])
        self.assertEqual(got["input"], "kafka")
        self.assertEqual(got["kind"], "binding")
        self.assertEqual(json.loads(got["data"]), {"reply": "metadata"})
        md = {k.lower(): v for k, v in got["metadata"].items()}
        self.assertEqual(md["__offset"], "42")
        self.assertEqual(md["__key"], "order-1")
        self.assertEqual(md["myheader"], "v")
        self.assertNotIn("content-type", md)

    def test_binding_event_chunked(self):
        r = self.h.deliver_binding("kafka-in", "plain bytes, chunked", chunked=True)
        self.assertEqual(r["status"], 200)
        self.assertEqual(r["body"], "plain bytes, chunked")

    def test_binding_outcomes(self):
        r = self.h.deliver_binding("kafka-in", {"return": 500})
        self.assertEqual(r["status"], 500)
        self.assertFalse(r["acked"])
        self.assertNotIn("probe", r["body"])  # no internals in a failed answer
        r = self.h.deliver_binding("kafka-in", {"return": 400})
        self.assertEqual(r["status"], 200)  # poison: acknowledged
        self.assertTrue(r["acked"])
        r = self.h.deliver_binding("kafka-in", {"return": 7})
        self.assertEqual(r["status"], 500)  # unknown codes are errors
        # 0 (OFCTX_OK, an ofctx_err_t) is no result: an error, with a hint
        r = self.h.deliver_binding("kafka-in", {"return": 0})
        self.assertEqual((r["status"], r["acked"]), (500, False))
        self.assertEqual(self.h.deliver_pubsub("pubsub", "orders", {"return": 0})["verdict"], "RETRY")
        wait_until(lambda: "a function returns OFCTX_SUCCESS" in self.h.log(), "the hint for 0")
        wait_until(lambda: "event dropped" in self.h.log(), "the drop log line")

    def test_pubsub_outcomes(self):
        self.assertEqual(self.h.deliver_pubsub("pubsub", "orders", {"return": 200})["verdict"], "SUCCESS")
        self.assertEqual(self.h.deliver_pubsub("pubsub", "orders", {"return": 500})["verdict"], "RETRY")
        self.assertEqual(self.h.deliver_pubsub("pubsub", "orders", {"return": 400})["verdict"], "DROP")

    def test_pubsub_cloudevent(self):
        r = self.h.deliver_pubsub("pubsub", "orders", {"reply": "metadata"})
        self.assertEqual(r["verdict"], "SUCCESS")
        # pub/sub answers are statuses: the function's reply is not sent back,
        # so check what it saw through a send instead
        r = self.h.deliver_pubsub("pubsub", "orders", {"send": ["out"], "id": "ce-1"})
        self.assertEqual(r["verdict"], "SUCCESS")
        calls = self.h.received("/v1.0/bindings/")
        self.assertEqual(json.loads(calls[-1]["body"])["data"], {"id": "ce-1"})

    def test_send_to_binding(self):
        r = self.h.deliver_binding("kafka-in", {"send": ["out"], "id": "a1"})
        self.assertEqual(r["status"], 200)
        calls = self.h.received()
        self.assertEqual(len(calls), 1)
        call = calls[0]
        self.assertEqual(call["method"], "POST")
        self.assertEqual(call["path"], "/v1.0/bindings/kafka-out")
        self.assertEqual(call["status"], 204)
        body = json.loads(call["body"])
        self.assertEqual(body, {"data": {"id": "a1"}, "operation": "create",
                                "metadata": {"partitionKey": "p1"}})
        self.assertEqual(call["payload"], '{"id":"a1"}')

    def test_go_skywalking_envelope_is_unwrapped(self):
        # what the Go framework sends with SkyWalking on: its inner CloudEvent
        # around the user's data (base64), to a queue binding or a pub/sub
        def envelope(user):  # as Go writes it: compact, in its key order
            return json.dumps({"specversion": "1.0", "id": "1", "source": "default/sender",
                    "type": "io.openfunction.function.default.sender", "datacontenttype": "application/json",
                    "data": {"metadata": {"sw8": "1-YQ==-Yg==-1-c2Vydg==-aW5zdA==-L2E=-aG9zdDo4MA=="},
                             "userData": base64.b64encode(json.dumps(user).encode()).decode()}},
                              separators=(",", ":"))
        r = self.h.deliver_binding("kafka-in", envelope({"reply": "metadata"}))
        self.assertEqual(r["status"], 200)
        got = json.loads(r["body"])
        self.assertEqual(json.loads(got["data"]), {"reply": "metadata"})
        self.assertEqual(got["contentType"], "application/json")
        r = self.h.deliver_pubsub("pubsub", "orders", envelope({"describe_to": "out"}))
        self.assertEqual(r["verdict"], "SUCCESS")
        got = json.loads(self.h.received("/v1.0/bindings/")[-1]["payload"])
        self.assertEqual(json.loads(got["data"]), {"describe_to": "out"})

    def test_no_trace_context_when_tracing_is_off(self):
        r = self.h.deliver_binding("kafka-in", {"send": ["out"], "id": "a2"},
                                   {"traceparent": "00-%s-%s-01" % (TRACE, PARENT)})
        self.assertEqual(r["status"], 200)
        headers = {k.lower() for k in self.h.received()[0]["headers"]}
        self.assertFalse(headers & {"traceparent", "tracestate", "baggage"}, headers)

    def test_send_text_is_quoted_by_dapr(self):
        r = self.h.deliver_binding("kafka-in", {"send_text": "out"})
        self.assertEqual(r["status"], 200)
        self.assertEqual(self.h.received()[0]["payload"], '"plain text"')

    def test_send_to_http_binding_and_pubsub(self):
        r = self.h.deliver_binding("kafka-in", {"send": ["nm", "pub"], "id": "b2"})
        self.assertEqual(r["status"], 200)
        calls = {c["path"]: c for c in self.h.received()}
        self.assertEqual(json.loads(calls["/v1.0/bindings/nm"]["body"])["operation"], "post")
        pub = calls["/v1.0/publish/pubsub/alerts"]
        self.assertEqual(pub["status"], 204)
        self.assertEqual(json.loads(pub["body"]), {"id": "b2"})
        self.assertEqual(pub["cloudevent"]["datacontenttype"], "application/json")

    def test_binary_publish_keeps_its_bytes(self):
        r = self.h.deliver_pubsub("pubsub", "orders", {"publish": ["pubsub", "bin"], "id": "\u00e9"})
        self.assertEqual(r["verdict"], "SUCCESS")
        # probe publishes JSON; binary data goes through ofctx_publish with no type:
        r = self.h.deliver_binding("kafka-in", {"publish_bytes": ["pubsub", "bin"]})
        self.assertEqual(r["status"], 200)
        pub = [c for c in self.h.received() if c["path"] == "/v1.0/publish/pubsub/bin"][-1]
        self.assertEqual(pub["headers"]["Content-Type"], "application/octet-stream")
        self.assertEqual(pub["cloudevent"]["data_base64"], "AP/+gA==")

    def test_direct_publish_and_invoke(self):
        r = self.h.deliver_binding("kafka-in", {"publish": ["pubsub", "a/b c"], "id": "d1"})
        self.assertEqual(r["status"], 200)
        r = self.h.deliver_binding("kafka-in", {"invoke": ["kafka-out", "create"]})
        self.assertEqual(r["status"], 200)
        paths = [c["path"] for c in self.h.received()]
        self.assertIn("/v1.0/publish/pubsub/a/b%20c", paths)
        self.assertIn("/v1.0/bindings/kafka-out", paths)

    def test_topic_cannot_leave_the_publish_api(self):
        # Dot segments or empty parts would be folded away by a path
        # normalizer (libcurl's among them), addressing /v1.0/state/... or
        # another topic: refused with OFCTX_EINVAL, nothing reaches the sidecar.
        for topic in ["../../state/x", "a/./../b", "..", ".", "/x", "x/", "a//b", "a/.."]:
            r = self.h.deliver_binding("kafka-in", {"publish": ["pubsub", topic], "id": "t"})
            self.assertEqual(r["status"], 500, topic)
            self.assertEqual(self.h.received(), [], topic)
        r = self.h.deliver_binding("kafka-in", {"publish": ["pubsub", "a/..b/.c"], "id": "t"})
        self.assertEqual(r["status"], 200)
        self.assertEqual([c["path"] for c in self.h.received()], ["/v1.0/publish/pubsub/a/..b/.c"])

    def test_long_publish_content_type_is_sent_whole(self):
        ctype = "application/vnd." + "x" * 600 + "+json"
        r = self.h.deliver_binding("kafka-in", {"send_opts": {"output": "pub", "data": '{"a":1}', "type": ctype}})
        self.assertEqual(r["status"], 200)
        pub = [c for c in self.h.received() if c["path"] == "/v1.0/publish/pubsub/alerts"][-1]
        self.assertEqual(pub["headers"]["Content-Type"], ctype)
        self.assertEqual(pub["cloudevent"]["datacontenttype"], ctype)
        self.assertEqual(pub["body"], '{"a":1}')

    def test_json_beyond_jansson_is_json(self):
        # a binding send embeds such data as JSON, exactly as it is (1e999 left
        # out: daprd's Go decoder refuses a number past a float64)
        for doc in [d for d in BEYOND_JANSSON if "e999" not in d]:
            self.h.clear_received()
            r = self.h.deliver_binding("kafka-in", {"send_opts": {"output": "nm", "data": doc}})
            self.assertEqual(r["status"], 200, doc)
            body = self.h.received()[-1]["body"]
            self.assertTrue(body.startswith('{"data":' + doc + ',"operation":"post"'), body)
        # a pub/sub message carrying it is handled, not dropped as "not JSON"
        for doc in BEYOND_JANSSON:
            envelope = ('{"specversion":"1.0","id":"1","source":"s","type":"t","topic":"orders",'
                        '"pubsubname":"pubsub","datacontenttype":"application/json","data":' + doc + '}')
            status, _, answer = http("POST", self.h.app + "/dapr/pubsub/orders", envelope,
                                     {"Content-Type": "application/cloudevents+json"})
            self.assertEqual((status, json.loads(answer)), (200, {"status": "SUCCESS"}), doc[:40])
        for body, why in [("[1,2]", "JSON but not an object"), ('{"a":', "not JSON")]:
            status, _, answer = http("POST", self.h.app + "/dapr/pubsub/orders", body,
                                     {"Content-Type": "application/cloudevents+json"})
            self.assertEqual(json.loads(answer), {"status": "DROP"})
            wait_until(lambda: why in self.h.log(), "the reason in the log")

    def test_send_options_without_their_size_are_refused(self):
        r = self.h.deliver_binding("kafka-in", {"send_unsized": "out"})
        self.assertEqual(r["status"], 200)
        self.assertEqual(self.h.received(), [])

    def test_unknown_output_fails_at_once(self):
        r = self.h.deliver_binding("kafka-in", {"send": ["nope"], "id": "x"})
        self.assertEqual(r["status"], 500)
        self.assertEqual(self.h.received(), [])

    def test_failed_send_nacks_after_bounded_retries(self):
        self.h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 500, "count": 100}])
        r = self.h.deliver_binding("kafka-in", {"send": ["out"], "id": "f1"})
        self.assertEqual(r["status"], 500)
        self.assertEqual(len(self.h.received()), 4)  # OFCTX_SEND_ATTEMPTS
        self.assertEqual(self.h.deliver_pubsub("pubsub", "orders", {"send": ["out"], "id": "f2"})["verdict"],
                         "RETRY")

    def test_4xx_is_not_retried(self):
        self.h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 403, "count": 1}])
        r = self.h.deliver_binding("kafka-in", {"send": ["out"], "id": "f3"})
        self.assertEqual(r["status"], 500)
        self.assertEqual(len(self.h.received()), 1)

    def test_transient_failures_are_retried(self):
        self.h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 503, "count": 1},
                       {"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 429, "count": 1},
                       {"path": "/v1.0/publish/pubsub/alerts", "action": "reset", "count": 1}])
        r = self.h.deliver_binding("kafka-in", {"send": ["out", "pub"], "id": "t1"})
        self.assertEqual(r["status"], 200)
        calls = self.h.received()
        self.assertEqual([c["status"] for c in calls if c["path"].startswith("/v1.0/bindings/")],
                         [503, 429, 204])
        self.assertTrue(any(c["path"] == "/v1.0/publish/pubsub/alerts" and c["status"] == 204 for c in calls))

    def test_retry_after_is_waited_out(self):
        # the harness's back-off is 5-20 ms: the second attempt waits for Retry-After instead
        self.h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 429,
                        "retryAfter": 1, "count": 1}])
        r = self.h.deliver_binding("kafka-in", {"send": ["out"], "id": "ra"})
        self.assertEqual(r["status"], 200)
        calls = [c for c in self.h.received() if c["path"] == "/v1.0/bindings/kafka-out"]
        self.assertEqual([c["status"] for c in calls], [429, 204])
        self.assertGreaterEqual(calls[1]["time"] - calls[0]["time"], 0.9)

    def test_other_routes(self):
        self.assertEqual(http("GET", self.h.app + "/readyz")[0], 200)
        status, headers, body = http("GET", self.h.app + "/metrics")
        self.assertEqual(status, 200)
        self.assertIn(b'ofctx_events_total{input="kafka",outcome="success"}', body)
        self.assertIn(b'# TYPE ofctx_invocation_duration_seconds histogram', body)
        self.assertRegex(body, rb'ofctx_invocation_duration_seconds_count\{input="kafka"\} [1-9]')
        self.assertRegex(body, rb'ofctx_send_duration_seconds_count\{output="out"\} [0-9]')
        self.assertRegex(body, rb'ofctx_build_info\{version="[0-9]+\.[0-9]+\.[0-9]+"\} 1\n')
        self.assertEqual(http("GET", self.h.app + "/nope")[0], 404)
        self.assertEqual(http("GET", self.h.app + "/kafka-in")[0], 405)
        status, _, body = http("GET", self.h.app + "/dapr/config")
        self.assertEqual((status, body), (200, b"{}"))


TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-01$")


def header(call, name):
    """A header of a call the emulator received, whatever its case; None when absent."""
    return {k.lower(): v for k, v in call["headers"].items()}.get(name)


class Tracing(unittest.TestCase):
    """W3C Trace Context with the provider opentelemetry: the binding event's
    traceparent continues in every send the function makes, with a span id
    of each send's own, the tracestate received and the context's baggage."""

    @classmethod
    def setUpClass(cls):
        context = dict(CONTEXT, pluginsTracing={
            "enabled": True, "provider": {"name": "opentelemetry"},
            "baggage": {"team": "pay ments", "bad key": "x"}},
            states={"store": {"componentName": "statestore", "componentType": "state.redis"}})
        cls.h = Harness(context, dict(COMPONENTS, states=[{"name": "statestore"}]))

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.clear_received()

    def test_sends_continue_the_trace(self):
        r = self.h.deliver_binding("kafka-in", {"send": ["out", "pub"], "id": "t1"},
                                   {"traceparent": "00-%s-%s-01" % (TRACE, PARENT), "tracestate": "rojo=1"})
        self.assertEqual(r["status"], 200)
        calls = self.h.received()
        self.assertEqual(sorted(c["path"] for c in calls),
                         ["/v1.0/bindings/kafka-out", "/v1.0/publish/pubsub/alerts"])
        spans = set()
        for call in calls:
            m = TRACEPARENT.match(header(call, "traceparent") or "")
            self.assertIsNotNone(m, call["headers"])
            self.assertEqual(m.group(1), TRACE)  # the same trace
            self.assertNotEqual(m.group(2), PARENT)  # a span of the send's own
            spans.add(m.group(2))
            self.assertEqual(header(call, "tracestate"), "rojo=1")
            self.assertEqual(header(call, "baggage"), "team=pay%20ments")  # the bad key left out
        self.assertEqual(len(spans), 2)
        # the sidecar's CloudEvent carries the publish's trace on (contract §3.2)
        pub = [c for c in calls if c["path"].startswith("/v1.0/publish/")][0]
        self.assertEqual(pub["cloudevent"]["traceparent"], header(pub, "traceparent"))
        wait_until(lambda: re.search(r"send to out finished.*trace_id=" + TRACE, self.h.log()),
                   "the function's log line with the trace id")
        self.assertIn("W3C baggage and are left out", self.h.log())

    def test_state_requests_continue_the_trace(self):
        r = self.h.deliver_binding("kafka-in", {"state_set": ["store", "k", "v"]},
                                   {"traceparent": "00-%s-%s-01" % (TRACE, PARENT)})
        self.assertEqual(r["status"], 200)
        call = [c for c in self.h.received() if c["path"] == "/v1.0/state/statestore"][0]
        m = TRACEPARENT.match(header(call, "traceparent") or "")
        self.assertIsNotNone(m, call["headers"])
        self.assertEqual(m.group(1), TRACE)
        self.assertNotEqual(m.group(2), PARENT)
        self.assertEqual(header(call, "baggage"), "team=pay%20ments")

    def test_pubsub_event_continues_its_trace(self):
        # the emulator puts the publisher's traceparent in the CloudEvent and
        # on the delivery, as daprd does
        tp = "00-%s-%s-01" % (TRACE, PARENT)
        r = self.h.control("POST", "/emulator/deliver/pubsub/pubsub/orders", json.dumps({"send": ["out"], "id": "p1"}),
                           {"Content-Type": "application/json", "traceparent": tp})
        self.assertEqual(r["verdict"], "SUCCESS")
        m = TRACEPARENT.match(header(self.h.received()[0], "traceparent") or "")
        self.assertEqual(m.group(1), TRACE)
        self.assertNotEqual(m.group(2), PARENT)

    def test_function_reads_its_trace(self):
        r = self.h.deliver_binding("kafka-in", {"describe_to": "out"},
                                   {"traceparent": "00-%s-%s-00" % (TRACE, PARENT)})
        self.assertEqual(r["status"], 200)
        call = self.h.received()[0]
        trace = json.loads(json.loads(call["payload"]) if call["payload"].startswith('"')
                           else call["payload"])["trace"]
        self.assertEqual(trace["trace_id"], TRACE)
        self.assertRegex(trace["span_id"], "^[0-9a-f]{16}$")
        self.assertEqual(trace["traceparent"], "00-%s-%s-00" % (TRACE, trace["span_id"]))
        sent = header(call, "traceparent")
        self.assertEqual(sent[:36], "00-%s-" % TRACE)
        self.assertEqual(sent[52:], "-00")  # not sampled stays so
        self.assertNotIn(sent[36:52], (PARENT, trace["span_id"]))  # the send is a span of its own

    def test_an_invalid_traceparent_starts_a_new_trace(self):
        for bad in ["00-%s-%s-01" % (TRACE.upper(), PARENT), "00-%s-0000000000000000-01" % TRACE, "garbage"]:
            self.h.clear_received()
            r = self.h.deliver_binding("kafka-in", {"send": ["out"], "id": "t2"},
                                       {"traceparent": bad, "tracestate": "rojo=1"})
            self.assertEqual(r["status"], 200)
            call = self.h.received()[0]
            m = TRACEPARENT.match(header(call, "traceparent") or "")
            self.assertIsNotNone(m, bad)
            self.assertNotIn(m.group(1), (TRACE, "0" * 32))
            self.assertIsNone(header(call, "tracestate"))  # it went with the refused trace


class SkyWalking(unittest.TestCase):
    def test_warned_and_nothing_propagated(self):
        context = dict(CONTEXT, pluginsTracing={"enabled": True, "provider": {"name": "skywalking"}})
        h = Harness(context, COMPONENTS)
        try:
            self.assertIn("tracing.provider.name is not supported", h.log())
            r = h.deliver_binding("kafka-in", {"send": ["out"], "id": "s1"},
                                  {"traceparent": "00-%s-%s-01" % (TRACE, PARENT)})
            self.assertEqual(r["status"], 200)
            call = h.received()[0]
            self.assertIsNone(header(call, "traceparent"))
            self.assertIsNone(header(call, "baggage"))
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()


class Volume(unittest.TestCase):
    def test_thousand_events_nothing_lost_or_duplicated(self):
        h = Harness(CONTEXT, COMPONENTS)
        try:
            # eight deliveries at a time, so that invocations overlap
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                results = list(pool.map(
                    lambda i: h.deliver_binding("kafka-in", {"send": ["out"], "id": "e%d" % i}),
                    range(1000)))
            self.assertEqual(sum(r["acked"] for r in results), 1000)
            ids = [json.loads(c["payload"])["id"] for c in h.received("/v1.0/bindings/")]
            self.assertEqual(len(ids), 1000)
            self.assertEqual(set(ids), {"e%d" % i for i in range(1000)})
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()


class Tokens(unittest.TestCase):
    def test_both_tokens(self):
        h = Harness(CONTEXT, COMPONENTS,
                    env={"APP_API_TOKEN": "app-secret", "DAPR_API_TOKEN": "dapr-secret"},
                    emulator_env={"APP_API_TOKEN": "app-secret", "DAPR_API_TOKEN": "dapr-secret"})
        try:
            r = h.deliver_binding("kafka-in", {"send": ["out"], "id": "tok"})
            self.assertEqual(r["status"], 200)
            self.assertEqual(h.received()[0]["token"], "dapr-secret")
            # without the token the function is not run
            status, _, _ = http("POST", h.app + "/kafka-in", '{"send":["out"],"id":"no"}')
            self.assertEqual(status, 401)
            status, _, _ = http("POST", h.app + "/kafka-in", "{}", {"dapr-api-token": "app-secre"})
            self.assertEqual(status, 401)
            self.assertEqual(len(h.received()), 1)
            # refused on its head: the body it announces is never waited for
            answer = raw_exchange(h.app_port, b"POST /kafka-in HTTP/1.1\r\nHost: t\r\nContent-Length: 4000000\r\n\r\n", 5)
            self.assertTrue(answer.startswith(b"HTTP/1.1 401 "), answer)
            self.assertIn(b"Connection: close", answer)
            self.assertIn(b"missing or wrong dapr-api-token", answer)
            self.assertIn(b"ofctx_unauthorized_total 3\n", http("GET", h.app + "/metrics")[2])
            # probes and scrapes need none
            self.assertEqual(http("GET", h.app + "/healthz")[0], 200)
            self.assertEqual(http("GET", h.app + "/metrics")[0], 200)
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()

    def test_wrong_app_token_means_not_subscribed(self):
        h = Harness(CONTEXT, COMPONENTS, env={"APP_API_TOKEN": "right"},
                    emulator_env={"APP_API_TOKEN": "wrong"})
        try:
            self.assertFalse(h.startup_result["bindings"]["kafka-in"]["subscribed"])
            self.assertEqual(h.startup_result["bindings"]["kafka-in"]["probe"], 401)
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()

    def test_sidecar_token_missing_is_a_failed_send(self):
        h = Harness(CONTEXT, COMPONENTS, emulator_env={"DAPR_API_TOKEN": "needed"})
        try:
            r = h.deliver_binding("kafka-in", {"send": ["out"], "id": "x"})
            self.assertEqual(r["status"], 500)
            self.assertEqual([c["status"] for c in h.received()], [401])  # a 4xx: no retry
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()


class Limits(unittest.TestCase):
    def test_hostile_requests(self):
        h = Harness(CONTEXT, COMPONENTS, startup=False,
                    env={"OFCTX_MAX_BODY_SIZE": "1Ki", "OFCTX_MAX_HEADER_SIZE": "1Ki",
                         "OFCTX_MAX_URL_SIZE": "256", "OFCTX_HEADER_TIMEOUT_MS": "300"})
        try:
            port = h.app_port
            cases = [
                (b"POST /kafka-in HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n", b"HTTP/1.1 413 "),
                (b"POST /kafka-in HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n" + b"x" * 2048,
                 b"HTTP/1.1 413 "),
                (b"GET /" + b"a" * 300 + b" HTTP/1.1\r\nHost: t\r\n\r\n", b"HTTP/1.1 414 "),
                (b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 2000 + b"\r\n\r\n", b"HTTP/1.1 431 "),
                (b"POST /kafka-in HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
                 b"HTTP/1.1 400 "),
                (b"BREW /kafka-in HTTP/1.1\r\nHost: t\r\n\r\n", b"HTTP/1.1 400 "),
                (b"GET /healthz HTTP/3.0\r\n\r\n", b"HTTP/1.1 505 "),
                (b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ", b"HTTP/1.1 408 "),
            ]
            for request, expected in cases:
                answer = raw_exchange(port, request)
                self.assertTrue(answer.startswith(expected), (request[:60], answer[:80]))
            # pipelined requests on one connection are answered in order
            answer = raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n"
                                        b"GET /readyz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            self.assertEqual(re.findall(rb"HTTP/1\.1 (\d{3}) ", answer), [b"200", b"404", b"200"])
            # a pipelined flood: 5000 requests written at once, all answered in order
            flood = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n" * 4999 + b"GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", raw_exchange(port, flood, read_timeout=60))
            self.assertEqual(statuses, [b"200"] * 4999 + [b"404"])
            # and the function still serves
            self.assertEqual(http("GET", h.app + "/healthz")[0], 200)
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()


def usage(pid):
    """(RSS in KB, open descriptors) of a process."""
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return rss, len(os.listdir("/proc/%d/fd" % pid))


class ManyConnections(unittest.TestCase):
    def test_thousands_of_idle_connections(self):
        """2000 idle connections (a slowloris without a byte sent): others are
        still served, memory and descriptors stay bounded, and everything is
        given back once they go."""
        h = Harness(CONTEXT, COMPONENTS, env={"OFCTX_HEADER_TIMEOUT_MS": "60000"})
        socks = []
        try:
            self.assertEqual(http("GET", h.app + "/healthz")[0], 200)
            rss0, fds0 = usage(h.fn.pid)
            for _ in range(2000):
                socks.append(socket.create_connection(("127.0.0.1", h.app_port)))
            wait_until(lambda: b"ofctx_connections 2001" in http("GET", h.app + "/metrics")[2],
                       "2000 connections to be accepted")
            self.assertEqual(h.deliver_binding("kafka-in", {"return": 200})["status"], 200)
            rss1, fds1 = usage(h.fn.pid)
            self.assertLessEqual(fds1 - fds0, 2001)
            # a connection costs its state and a small read buffer, no more
            self.assertLess(rss1 - rss0, 2000 * 16, (rss0, rss1))
            for s in socks:
                s.close()
            socks = []
            wait_until(lambda: b"ofctx_connections 1\n" in http("GET", h.app + "/metrics")[2],
                       "the connections to go")
            self.assertLessEqual(usage(h.fn.pid)[1], fds0 + 1)
            self.assertEqual(h.stop(), 0)
        finally:
            for s in socks:
                s.close()
            h.close()

    def test_connection_cap(self):
        h = Harness(CONTEXT, COMPONENTS, startup=False, env={"OFCTX_MAX_CONNECTIONS": "50"})
        socks = []
        try:
            for _ in range(80):
                socks.append(socket.create_connection(("127.0.0.1", h.app_port)))
            # the 30 over the cap are closed at once; the cap frees as idle ones go
            closed = 0
            for s in socks:
                s.settimeout(5)
                try:
                    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    closed += s.recv(100) == b""
                except OSError:
                    closed += 1
            self.assertEqual(closed, 30)
            for s in socks:
                s.close()
            socks = []
            wait_until(lambda: http("GET", h.app + "/healthz")[0] == 200, "the function to serve again")
            self.assertEqual(h.stop(), 0)
        finally:
            for s in socks:
                s.close()
            h.close()


class State(unittest.TestCase):
    """ofctx_state_* through the emulator's state API (contract §3.3): the
    probe's state commands report each result to the output "out"."""

    @classmethod
    def setUpClass(cls):
        context = dict(CONTEXT, states={"store": {"componentName": "statestore",
                                                  "componentType": "state.redis"}})
        components = dict(COMPONENTS, states=[{"name": "statestore", "type": "state.redis"}])
        cls.h = Harness(context, components)

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.control("DELETE", "/emulator/faults")
        self.h.clear_received()

    def command(self, cmd, status=200):
        """Delivers `cmd` with a report; its answer must be `status`; the
        reports sent, and the state calls made."""
        self.h.clear_received()
        r = self.h.deliver_binding("kafka-in", dict(cmd, report="out"))
        self.assertEqual(r["status"], status, r)
        calls = self.h.received()
        reports = [json.loads(c["payload"]) for c in calls
                   if c["path"] == "/v1.0/bindings/kafka-out" and c["status"] == 204]
        return reports, [c for c in calls if c["path"].startswith("/v1.0/state/")]

    def stored(self):
        return self.h.control("GET", "/emulator/states/statestore")

    def test_set_then_get_round_trip(self):
        for value in ('plain "text" \\ é', '"a JSON string"', '{"b":[1,2],"a":"x"}', "", "42"):
            reports, calls = self.command({"state_set": ["store", "k/1", value]})
            self.assertEqual(reports[0]["code"], "OK")
            self.assertEqual((calls[0]["method"], calls[0]["path"]), ("POST", "/v1.0/state/statestore"))
            reports, calls = self.command({"state_get": ["store", "k/1"]})
            self.assertEqual(calls[0]["path"], "/v1.0/state/statestore/k%2F1")
            got = reports[0]
            self.assertEqual((got["code"], got["found"]), ("OK", True))
            # JSON as daprd re-encodes it (compact, keys sorted); everything else byte for byte
            self.assertEqual(got["value"], '{"a":"x","b":[1,2]}' if value.startswith("{") else value)
            self.assertEqual(got["etag"], self.stored()["k/1"]["etag"])
        self.assertEqual(self.stored()["k/1"]["value"], "42")  # JSON stays JSON for other readers

    def test_etag_concurrency(self):
        self.command({"state_set": ["store", "c", "one"]})
        etag = self.command({"state_get": ["store", "c"]})[0][0]["etag"]
        self.command({"state_set": ["store", "c", "two"]})  # someone else wrote
        reports, calls = self.command({"state_set": ["store", "c", "three"], "etag": etag, "first_write": True})
        self.assertEqual((reports[0]["code"], reports[0]["status"]), ("ECONFLICT", 409))
        self.assertEqual(len(calls), 1)  # not retried, and the input is acknowledged
        self.assertEqual(self.stored()["c"]["value"], '"two"')
        reports, _ = self.command({"state_set": ["store", "c", "four"], "first_write": True})
        self.assertEqual(reports[0]["code"], "ECONFLICT")  # first-write: a key that exists needs its ETag
        fresh = self.command({"state_get": ["store", "c"]})[0][0]["etag"]
        reports, _ = self.command({"state_set": ["store", "c", "four"], "etag": fresh, "first_write": True})
        self.assertEqual(reports[0]["code"], "OK")

    def test_delete(self):
        self.command({"state_set": ["store", "d", "x"]})
        etag = self.stored()["d"]["etag"]
        reports, calls = self.command({"state_delete": ["store", "d"], "etag": etag + "0"})
        self.assertEqual(reports[0]["code"], "ECONFLICT")
        self.assertEqual(calls[0]["headers"].get("If-Match"), etag + "0")
        reports, calls = self.command({"state_delete": ["store", "d"], "etag": etag})
        self.assertEqual((reports[0]["code"], calls[0]["method"]), ("OK", "DELETE"))
        self.assertNotIn("d", self.stored())
        reports, _ = self.command({"state_get": ["store", "d"]})
        self.assertEqual((reports[0]["code"], reports[0]["found"], reports[0]["value"]), ("OK", False, ""))

    def test_a_store_the_context_lacks_is_refused(self):
        r = self.h.deliver_binding("kafka-in", {"state_get": ["statestore", "k"]})  # the Dapr name, not the entry's
        self.assertEqual((r["status"], r["body"]), (200, "EINVAL"))  # a DROP: acknowledged
        self.assertEqual(self.h.received(), [])

    def test_not_acknowledged_before_the_write_settled(self):
        self.h.faults([{"path": "/v1.0/state/statestore", "action": "delay", "ms": 500, "count": 1}])
        reports, _ = self.command({"state_set": ["store", "slow", "v"]})
        # answered: so the write had been taken when the answer came
        self.assertIn("slow", self.stored())
        self.assertEqual(reports[0]["code"], "OK")

    def test_a_failing_write_is_retried_then_fails_the_input(self):
        self.h.faults([{"path": "/v1.0/state/statestore", "action": "status", "status": 500, "count": 100}])
        reports, calls = self.command({"state_set": ["store", "f", "v"]}, status=500)
        self.assertEqual(len(calls), 4)  # OFCTX_SEND_ATTEMPTS
        self.assertEqual((reports[0]["code"], reports[0]["status"]), ("ESTATE", 500))
        self.assertNotIn("f", self.stored())

    def test_a_refused_write_is_not_retried(self):
        self.h.faults([{"path": "/v1.0/state/statestore", "action": "status", "status": 400, "count": 1}])
        reports, calls = self.command({"state_set": ["store", "r", "v"]}, status=500)
        self.assertEqual(len(calls), 1)
        self.assertEqual((reports[0]["code"], reports[0]["status"]), ("ESTATE", 400))

    def test_ttl_reaches_the_sidecar(self):
        # ofctx_state_opts_t.metadata {"ttlInSeconds", "60"}: the item's metadata in the save
        reports, calls = self.command({"state_set": ["store", "ttl", "v"], "metadata": ["ttlInSeconds", "60"]})
        self.assertEqual(reports[0]["code"], "OK")
        self.assertEqual(json.loads(calls[0]["body"])[0]["metadata"], {"ttlInSeconds": "60"})
        self.assertEqual(self.command({"state_get": ["store", "ttl"]})[0][0]["found"], True)
        self.h.control("POST", "/emulator/states/clock", {"advance": 61})
        reports, _ = self.command({"state_get": ["store", "ttl"]})
        self.assertEqual((reports[0]["code"], reports[0]["found"]), ("OK", False))  # expired: 204
        # a TTL the sidecar refuses (its 500, retried as any) fails the write and the input
        reports, calls = self.command({"state_set": ["store", "ttl", "v"], "metadata": ["ttlInSeconds", "soon"]},
                                      status=500)
        self.assertEqual((reports[0]["code"], reports[0]["status"], len(calls)), ("ESTATE", 500, 4))
        self.assertNotIn("ttl", self.stored())  # expired, and not saved again

    def state_metrics(self):
        """{(operation, result): count} of the store "store", and the page passes promtool."""
        status, _, text = http("GET", self.h.app + "/metrics")
        self.assertEqual(status, 200)
        promtool_check(self, text)
        self.assertIn(b"# TYPE ofctx_state_duration_seconds histogram\n", text)
        return {m[0].decode() + "/" + m[1].decode(): int(m[2]) for m in re.findall(
            rb'ofctx_state_requests_total\{store="store",operation="(\w+)",result="(\w+)"\} (\d+)', text)}

    def test_metrics_by_operation_and_result(self):
        before = self.state_metrics()
        self.assertEqual(sorted(before), ["delete/conflict", "delete/error", "delete/ok", "get/error",
                                          "get/not_found", "get/ok", "set/conflict", "set/error", "set/ok"])
        self.command({"state_set": ["store", "m", "v"]})
        self.command({"state_get": ["store", "m"]})
        self.command({"state_get": ["store", "m-none"]})
        self.command({"state_delete": ["store", "m"], "etag": "no-such-etag"})
        self.h.faults([{"path": "/v1.0/state/statestore", "action": "status", "status": 400, "count": 1}])
        self.command({"state_set": ["store", "m", "v"]}, status=500)
        after = self.state_metrics()
        self.assertEqual({k: after[k] - before[k] for k in after if after[k] != before[k]},
                         {"set/ok": 1, "get/ok": 1, "get/not_found": 1, "delete/conflict": 1, "set/error": 1})
        _, _, text = http("GET", self.h.app + "/metrics")
        count = re.search(rb'ofctx_state_duration_seconds_count\{store="store",operation="get"\} (\d+)', text)
        self.assertGreaterEqual(int(count.group(1)), 2)

    def test_a_failed_read_is_the_functions_to_judge(self):
        self.h.faults([{"path": "/v1.0/state/statestore/g", "action": "status", "status": 503, "count": 100}])
        reports, calls = self.command({"state_get": ["store", "g"]})  # acknowledged: 200
        self.assertEqual(len(calls), 4)  # retried as a send is
        self.assertEqual((reports[0]["code"], reports[0]["status"]), ("ESTATE", 503))


def slow_send_in_flight(h, ident, delay_ms):
    """Delivers, in a thread, an event whose send the sidecar holds for
    `delay_ms`, and returns (thread, result dict) once it is in flight."""
    h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "delay", "ms": delay_ms, "count": 1}])
    result = {}
    t = threading.Thread(target=lambda: result.update(
        h.deliver_binding("kafka-in", {"send": ["out"], "id": ident})))
    t.start()
    wait_until(lambda: b"ofctx_inflight 1\n" in http("GET", h.app + "/metrics")[2],
               "the invocation to be in flight")
    return t, result


class Lifecycle(unittest.TestCase):
    def test_stderr_nobody_reads_never_stalls(self):
        # A pipe that is never read fills after 64 KiB; the function must go on
        # answering, events and health alike, dropping lines and counting them.
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH"))}
        env.update(CONTEXT_MODE="self-host", PORT=str(port), OFCTX_LOG_LEVEL="debug",
                   FUNC_CONTEXT=json.dumps({"name": "chatty", "runtime": "Async", "inputs": {
                       "kafka": {"componentName": "kafka-in", "componentType": "bindings.kafka"}}}))
        fn = subprocess.Popen(function_command("probe"), env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        try:
            app = "http://127.0.0.1:%d" % port
            wait_until(lambda: self._up(app), "the function to listen")
            body = json.dumps({"return": 200, "pad": "x" * 300})
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda _: http("POST", app + "/kafka-in", body, timeout=10)[0],
                                         range(8000)))
            self.assertEqual(statuses, [200] * 8000)
            self.assertEqual(http("GET", app + "/healthz", timeout=5)[0], 200)
            metrics = http("GET", app + "/metrics", timeout=5)[2].decode()
            dropped = int(re.search(r"^ofctx_log_lines_dropped_total (\d+)$", metrics, re.M).group(1))
            self.assertGreater(dropped, 0)
            fn.send_signal(signal.SIGTERM)
            self.assertEqual(fn.wait(30), 0)  # a stuck stderr does not hold the exit either
        finally:
            if fn.poll() is None:
                fn.kill()
                fn.wait()
            fn.stderr.close()

    @staticmethod
    def _up(app):
        try:
            return http("GET", app + "/healthz", timeout=1)[0] == 200
        except OSError:
            return False

    def test_shutdown_lets_inflight_invocations_settle(self):
        h = Harness(CONTEXT, COMPONENTS)
        try:
            t, result = slow_send_in_flight(h, "last", 1500)
            h.fn.send_signal(signal.SIGTERM)
            t.join(30)
            self.assertEqual(result["status"], 200)  # answered after its send, acked
            self.assertEqual(h.fn.wait(30), 0)
            log = h.log()
            self.assertIn("stopping", log)
            self.assertIn("stopped", log)
        finally:
            h.close()

    def test_invocation_timeout_nacks(self):
        h = Harness(CONTEXT, COMPONENTS, env={"OFCTX_INVOCATION_TIMEOUT_MS": "200"})
        try:
            h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "delay", "ms": 800, "count": 1}])
            r = h.deliver_binding("kafka-in", {"send": ["out"], "id": "slow"})
            self.assertEqual(r["status"], 500)  # never acked before its send settled
            # the late send still finishes (and its callback runs) after the answer
            wait_until(lambda: "send to out finished: success" in h.log(), "the late send")
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()

    def test_grace_period_over_nacks_and_exits_0(self):
        h = Harness(CONTEXT, COMPONENTS, env={"OFCTX_GRACE_PERIOD_MS": "200"})
        try:
            t, result = slow_send_in_flight(h, "cut", 3000)
            h.fn.send_signal(signal.SIGTERM)
            self.assertEqual(h.fn.wait(30), 0)
            t.join(30)
            self.assertFalse(result.get("acked"))  # not acknowledged: Dapr redelivers
            self.assertIn("grace period over", h.log())
        finally:
            h.close()

    def test_client_gone_while_its_event_is_handled(self):
        # Expect: 100-continue, then the client vanishes (RST) while the
        # event's send is slow: the function must not touch the connection
        h = Harness(CONTEXT, COMPONENTS, startup=False)
        try:
            h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "delay", "ms": 500, "count": 1}])
            body = b'{"send":["out"],"id":"gone"}'
            with socket.create_connection(("127.0.0.1", h.app_port)) as s:
                s.sendall(b"POST /kafka-in HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
                          % len(body) + body)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            wait_until(lambda: "event handled" in h.log(), "the event to settle")
            self.assertEqual(http("GET", h.app + "/healthz")[0], 200)
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()

    def test_client_that_does_not_read_is_cut_off(self):
        h = Harness(CONTEXT, COMPONENTS, startup=False,
                    env={"OFCTX_WRITE_TIMEOUT_MS": "300", "OFCTX_MAX_BODY_SIZE": "16Mi"})
        try:
            big = b"x" * (8 << 20)  # echoed back: far more than the socket buffers hold
            with socket.create_connection(("127.0.0.1", h.app_port)) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(b"POST /kafka-in HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
                wait_until(lambda: b"ofctx_connections 1\n" in http("GET", h.app + "/metrics")[2],
                           "the reader that never reads to be cut off")
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()

    def test_bad_context_and_options_exit_2(self):
        probe = os.path.join(BIN_DIR, "probe")
        base = {k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH"))}
        cases = [
            ({"FUNC_CONTEXT": '{"name":"f","runtime":"Async","inputs":{"k":{"componentName":"a/b",'
                              '"componentType":"bindings.kafka"}}}', "CONTEXT_MODE": "self-host"},
             'FUNC_CONTEXT: $.inputs.k.componentName: "a/b" is not a Dapr component name'),
            ({}, "env FUNC_CONTEXT not found"),
            ({"FUNC_CONTEXT": '{"name":"f","runtime":"Async"}', "CONTEXT_MODE": "self-host",
              "OFCTX_MAX_BODY_SIZE": "lots"}, "OFCTX_MAX_BODY_SIZE:"),
            ({"FUNC_CONTEXT": '{"name":"f","runtime":"Async"}', "CONTEXT_MODE": "self-host",
              "OFCTX_LOG_FORMAT": "xml"}, "OFCTX_LOG_FORMAT:"),
            ({"FUNC_CONTEXT": '{"name":"f","runtime":"Async"}', "CONTEXT_MODE": "self-host",
              "OFCTX_LISTEN_HOST": "localhost:80"},
             'OFCTX_LISTEN_HOST: "localhost:80" is not an IPv4 or IPv6 address'),
            ({"FUNC_CONTEXT": '{"name":"f","runtime":"Async"}', "CONTEXT_MODE": "self-host",
              "OFCTX_LISTEN_HOST": "nowhere"}, 'OFCTX_LISTEN_HOST: "nowhere"'),
            ({"FUNC_CONTEXT": '{"name":"f","runtime":"Async"}', "CONTEXT_MODE": "self-host",
              "DAPR_HOST": "sidecar:3500"}, 'DAPR_HOST: "sidecar:3500" is not a host name'),
            ({"FUNC_CONTEXT": '{"name":"f","runtime":"Async","outputs":{"p":{"componentName":"ps",'
                              '"componentType":"pubsub.kafka","uri":"../state/x"}}}',
              "CONTEXT_MODE": "self-host"}, 'FUNC_CONTEXT: $.outputs.p.uri: "../state/x" is not an output topic'),
        ]
        for env, message in cases:
            p = subprocess.run([probe], env=dict(base, **env), capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(message, p.stderr)
        p = subprocess.run([probe, "--bogus"], env=base, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run([probe, "--version"], env=base, capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0)
        self.assertIn("libofctx", p.stdout)

    def test_port_in_use_exits_1(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            env = {k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH"))}
            env.update({"FUNC_CONTEXT": json.dumps(dict(CONTEXT, port=str(port))),
                        "CONTEXT_MODE": "self-host", "OFCTX_LISTEN_HOST": "127.0.0.1"})
            p = subprocess.run(function_command("probe"), env=env, capture_output=True, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("cannot start", p.stderr)
            self.assertIn("choose another with PORT", p.stderr)

    def test_an_unknown_output_is_named_with_those_there_are(self):
        h = Harness(CONTEXT, COMPONENTS)
        try:
            r = h.deliver_binding("kafka-in", {"send": ["outt"], "id": "typo"})
            self.assertEqual(r["status"], 500)
            wait_until(lambda: "no output of that name" in h.log(), "the typo's log line")
            self.assertIn('output=outt outputs="out, nm, pub"', h.log())
        finally:
            h.finish()

    def test_an_unreachable_sidecar_is_named(self):
        h = Harness(CONTEXT, COMPONENTS, env={"DAPR_HTTP_PORT": str(free_port()), "OFCTX_DAPR_WAIT_MS": "0",
                                              "OFCTX_SEND_ATTEMPTS": "1"})
        try:
            r = h.deliver_binding("kafka-in", {"send": ["out"], "id": "gone"})
            self.assertEqual(r["status"], 500)
            wait_until(lambda: "from DAPR_HOST and DAPR_HTTP_PORT" in h.log(), "the send's error")
        finally:
            h.finish()

    def test_readyz_waits_for_the_sidecar(self):
        # long enough for the function to start first, also under valgrind
        ready_after = "5000" if VALGRIND else "800"
        h = Harness(CONTEXT, COMPONENTS, emulator_args=("--outbound-ready-after-ms", ready_after),
                    startup=False)
        try:
            first = http("GET", h.app + "/readyz")[0]
            wait_until(lambda: http("GET", h.app + "/readyz")[0] == 200, "readiness")
            self.assertEqual(first, 503)
            # log lines go out through a writer thread: wait for the line
            wait_until(lambda: "Dapr sidecar ready" in h.log(), "the ready line")
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()


def maps_libcurl(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libcurl" in f.read()


class LazyLibcurl(unittest.TestCase):
    """libcurl is opened at the first call to the sidecar, not at exec."""

    def test_loaded_at_the_first_send(self):
        h = Harness(CONTEXT, COMPONENTS, env={"OFCTX_DAPR_WAIT_MS": "0"})
        try:
            self.assertFalse(maps_libcurl(h.fn.pid))
            self.assertEqual(h.deliver_binding("kafka-in", {"return": 200})["status"], 200)
            self.assertFalse(maps_libcurl(h.fn.pid))
            self.assertEqual(h.deliver_binding("kafka-in", {"send": ["out"], "id": "a"})["status"], 200)
            self.assertTrue(maps_libcurl(h.fn.pid))
            self.assertEqual(len(h.received()), 1)
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()

    def test_missing_libcurl_fails_sends_only(self):
        h = Harness(CONTEXT, COMPONENTS, env={"OFCTX_LIBCURL": "/nonexistent/libcurl.so.4"})
        try:
            # the start-up wait cannot ask the sidecar: not ready, for good
            self.assertEqual(http("GET", h.app + "/readyz")[0], 503)
            for ident in ("a", "b"):  # not acknowledged, and said once in the log
                r = h.deliver_binding("kafka-in", {"send": ["out"], "id": ident})
                self.assertEqual(r["status"], 500)
            self.assertEqual(h.deliver_binding("kafka-in", {"return": 200})["status"], 200)
            self.assertEqual(http("GET", h.app + "/healthz")[0], 200)
            wait_until(lambda: "cannot load libcurl (OFCTX_LIBCURL" in h.log(), "the libcurl line")
            self.assertEqual(h.log().count("cannot load libcurl (OFCTX_LIBCURL"), 1, h.log())
            self.assertIn("/nonexistent/libcurl.so.4", h.log())
            self.assertEqual(h.received(), [])
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()


class Echo(unittest.TestCase):
    """examples/echo: answers with its input and sends it to every output."""

    def test_echo(self):
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "echo", "context.json")) as f:
            context = json.load(f)
        components = {"bindings": [{"name": "echo-requests", "type": "bindings.kafka"},
                                   {"name": "echo-copies", "type": "bindings.kafka", "direction": "output"}],
                      "pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}]}
        h = Harness(context, components, binary="echo")
        try:
            r = h.deliver_binding("echo-requests", '{"hello":"world"}')
            self.assertEqual((r["status"], r["body"]), (200, '{"hello":"world"}'))
            self.assertEqual(h.deliver_pubsub("pubsub", "orders", {"n": 1})["verdict"], "SUCCESS")
            payloads = [c["payload"] for c in h.received("/v1.0/bindings/echo-copies")]
            self.assertEqual(payloads, ['{"hello":"world"}', '{"n":1}'])
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()



BULK_CONTEXT = {
    "name": "probe", "runtime": "Async",
    "inputs": {"orders": {"uri": "orders", "componentName": "pubsub", "componentType": "pubsub.kafka",
                          "metadata": {"bulkSubscribe": "true", "bulkSubscribeMaxMessagesCount": "50",
                                       "bulkSubscribeMaxAwaitDurationMs": "40", "consumerID": "c1"}}},
    "outputs": CONTEXT["outputs"],
}


class BulkPublish(unittest.TestCase):
    """ofctx_publish_bulk: one request for many messages, failed entries
    reported, a 500 never retried, the alpha path before Dapr 1.17."""

    @classmethod
    def setUpClass(cls):
        cls.h = Harness(CONTEXT, COMPONENTS)

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.clear_received()
        self.h.faults([])

    ENTRIES = [{"id": "a", "data": "{\"n\":1}"}, {"id": "b", "data": "hello"}]

    def bulk(self, h, entries=None):
        return h.deliver_binding("kafka-in", {"publish_bulk": ["pubsub", "alerts"],
                                              "entries": entries or self.ENTRIES})["status"]

    def test_one_request_many_messages(self):
        self.assertEqual(self.bulk(self.h), 200)
        [call] = self.h.received()
        self.assertEqual(call["path"], "/v1.0/publish/bulk/pubsub/alerts")
        a, b = call["bulk"]
        self.assertEqual((a["entryId"], a["cloudevent"]["data"], a["cloudevent"]["datacontenttype"]),
                         ("a", {"n": 1}, "application/json"))
        self.assertEqual((b["entryId"], b["cloudevent"]["data"]), ("b", "hello"))
        self.assertTrue(b["cloudevent"]["datacontenttype"].startswith("text/plain"))

    def test_ids_default_to_the_index(self):
        self.assertEqual(self.bulk(self.h, [{"data": "x"}, {"data": "y", "type": "text/csv"}]), 200)
        [call] = self.h.received()
        self.assertEqual([(e["entryId"], e["cloudevent"]["datacontenttype"]) for e in call["bulk"]],
                         [("0", "text/plain; charset=utf-8"), ("1", "text/csv")])

    def test_failed_entries_nack_and_are_named(self):
        self.h.faults([{"path": "/v1.0/publish/bulk/pubsub/alerts", "action": "status", "status": 500,
                        "failEntries": ["b"]}])
        self.assertEqual(self.bulk(self.h), 500)
        self.assertEqual(len(self.h.received()), 1)  # a 500 is not retried: "a" was published
        wait_until(lambda: "failed=[b]" in self.h.log(), "the failed entry in the send's callback")

    def test_no_answer_is_retried(self):
        self.h.faults([{"path": "/v1.0/publish/bulk/pubsub/alerts", "action": "status", "status": 503}])
        self.assertEqual(self.bulk(self.h), 200)
        self.assertEqual([c["status"] for c in self.h.received()], [503, 204])

    def test_what_cannot_be_carried_is_refused_at_once(self):
        self.assertEqual(self.bulk(self.h, [{"data": "{nope", "type": "application/json"}]), 200)  # DROP
        self.assertEqual(self.h.deliver_binding("kafka-in", {"publish_bulk": ["pubsub", "alerts"],
                                                             "entries": []})["status"], 200)
        self.assertEqual(self.h.received(), [])

    def test_before_dapr_1_17_the_alpha_path(self):
        h = Harness(CONTEXT, COMPONENTS, emulator_args=["--no-bulk-publish-v1"])
        try:
            self.assertEqual(self.bulk(h), 200)
            self.assertEqual([(c["path"], c["status"]) for c in h.received("/v1.0")],
                             [("/v1.0/publish/bulk/pubsub/alerts", 404),
                              ("/v1.0-alpha1/publish/bulk/pubsub/alerts", 204)])
        finally:
            h.finish()


class BatchFunction(unittest.TestCase):
    """A batch function (ofctx_main_opts_t.batch): a bulk delivery is one
    call with every entry, each entry gets the status the function set (or
    RETRY), and a single message is a batch of one."""

    @classmethod
    def setUpClass(cls):
        cls.h = Harness(BULK_CONTEXT, COMPONENTS, env={"OFCTX_PROBE_BATCH": "1"})

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.clear_received()
        self.h.faults([])

    def counts(self):
        _, _, text = http("GET", self.h.app + "/metrics")
        return {o: int(re.search(rb'ofctx_events_total\{input="orders",outcome="%s"\} (\d+)' % o.encode(),
                                 text).group(1)) for o in ("success", "drop", "retry")}

    def test_one_call_and_a_status_per_entry(self):
        before = self.counts()
        r = self.h.deliver_bulk("pubsub", "orders", [
            {"entryId": "ok", "data": {"return": 200, "batch_report": "out"}},
            {"entryId": "retry", "data": {"return": 500}},
            {"entryId": "drop", "data": {"return": 400}},
            {"entryId": "unanswered", "data": {"return": 7}},
            {"entryId": "sent", "data": {"send": ["out"], "id": "b1"}},
        ])
        self.assertEqual(r["status"], 200, r)
        self.assertEqual(r["verdicts"], {"ok": "SUCCESS", "retry": "RETRY", "drop": "DROP",
                                         "unanswered": "RETRY", "sent": "SUCCESS"})
        bodies = [json.loads(s["body"])["data"] for s in self.h.received("/v1.0/bindings/")]
        # one call saw all five (the two sends run at once: any order)
        self.assertCountEqual(bodies, [{"entries": 5}, {"id": "b1"}])
        after = self.counts()  # each entry counted once, as its own outcome
        self.assertEqual({o: after[o] - before[o] for o in after}, {"success": 2, "drop": 1, "retry": 2})

    def test_a_failed_send_retries_every_entry_but_the_dropped(self):
        self.h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 400, "count": 1}])
        r = self.h.deliver_bulk("pubsub", "orders", [
            {"entryId": "a", "data": {"send": ["out"], "id": "x"}},
            {"entryId": "b", "data": {"return": 200}},
            {"entryId": "c", "data": {"return": 400}},
        ])
        self.assertEqual(r["verdicts"], {"a": "RETRY", "b": "RETRY", "c": "DROP"})

    def test_what_the_batch_function_returns(self):
        r = self.h.deliver_bulk("pubsub", "orders", [
            {"entryId": "set", "data": {"return": 200, "batch_return": 400}},
            {"entryId": "left", "data": {"return": 7}},
        ])
        self.assertEqual(r["verdicts"], {"set": "SUCCESS", "left": "DROP"})
        r = self.h.deliver_bulk("pubsub", "orders", [
            {"entryId": "set", "data": {"return": 200, "batch_return": 500}},
            {"entryId": "dropped", "data": {"return": 400}},
        ])
        self.assertEqual(r["verdicts"], {"set": "RETRY", "dropped": "DROP"})

    def test_typos_in_the_context_are_warned_about_at_start(self):
        context = dict(BULK_CONTEXT, inputs={"orders": dict(BULK_CONTEXT["inputs"]["orders"], metdata={})})
        h = Harness(context, COMPONENTS)
        try:
            self.assertIn('warn $.inputs.orders: unknown key "metdata", ignored; did you mean "metadata"?',
                          h.log())
        finally:
            h.finish()

    def test_a_batch_function_under_knative_takes_batches_of_one(self):
        # each request is a batch of one, and the entry's status is the answer
        h = Harness({"name": "b", "runtime": "Knative"}, COMPONENTS, env={"OFCTX_PROBE_BATCH": "1"},
                    startup=False)
        try:
            for data, status in (({"return": 200}, 200), ({"return": 400}, 400), ({"return": 500}, 500),
                                 ({"return": 7}, 500)):
                with self.subTest(data=data):
                    self.assertEqual(http("POST", h.app + "/", json.dumps(data),
                                          {"Content-Type": "application/json"})[0], status)
        finally:
            h.finish()

    def test_a_single_message_is_a_batch_of_one(self):
        for data, verdict in (({"return": 200, "batch_report": "out"}, "SUCCESS"),
                              ({"return": 400}, "DROP"), ({"return": 7}, "RETRY")):
            with self.subTest(data=data):
                self.assertEqual(self.h.deliver_pubsub("pubsub", "orders", data)["verdict"], verdict)
        [report] = self.h.received("/v1.0/bindings/")
        self.assertEqual(json.loads(report["body"])["data"], {"entries": 1})


class BulkDelivery(unittest.TestCase):
    """Dapr's bulk pub/sub: a plain function is run once per entry, and the
    batch is answered with a status per entry once every entry has settled."""

    @classmethod
    def setUpClass(cls):
        cls.h = Harness(BULK_CONTEXT, COMPONENTS)

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.clear_received()
        self.h.faults([])

    def test_subscription_advertises_bulk(self):
        [sub] = self.h.startup_result["subscriptions"]
        self.assertEqual(sub["bulkSubscribe"], {"enabled": True, "maxMessagesCount": 50, "maxAwaitDurationMs": 40})
        # the bulk settings are the subscription's, not metadata for the component
        self.assertEqual(sub["metadata"], {"consumerID": "c1"})

    def test_each_entry_gets_its_own_status(self):
        r = self.h.deliver_bulk("pubsub", "orders", [
            {"entryId": "ok", "data": {"return": 200}},
            {"entryId": "retry", "data": {"return": 500}},
            {"entryId": "drop", "data": {"return": 400}},
            {"entryId": "sent", "data": {"send": ["out"], "id": "b1"}},
        ])
        self.assertEqual(r["status"], 200, r)
        self.assertEqual(r["verdicts"], {"ok": "SUCCESS", "retry": "RETRY", "drop": "DROP", "sent": "SUCCESS"})
        [send] = self.h.received("/v1.0/bindings/")
        self.assertEqual(json.loads(send["body"])["data"], {"id": "b1"})

    def test_a_failed_send_retries_its_entry_only(self):
        self.h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 400, "count": 1}])
        r = self.h.deliver_bulk("pubsub", "orders", [
            {"entryId": "a", "data": {"send": ["out"], "id": "x"}},
            {"entryId": "b", "data": {"return": 200}},
        ])
        self.assertEqual(r["verdicts"], {"a": "RETRY", "b": "SUCCESS"})

    def test_the_answer_waits_for_every_send(self):
        self.h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 503, "count": 2}])
        r = self.h.deliver_bulk("pubsub", "orders", [{"entryId": "slow", "data": {"send": ["out"], "id": "s"}}])
        self.assertEqual(r["verdicts"], {"slow": "SUCCESS"})
        self.assertEqual(len(self.h.received("/v1.0/bindings/")), 3)  # two retries, then accepted

    def test_entry_metadata_and_attributes_reach_the_function(self):
        r = self.h.deliver_bulk("pubsub", "orders", [
            {"entryId": "m", "data": {"describe_to": "out"}, "metadata": {"k": "v"}},
        ])
        self.assertEqual(r["verdicts"], {"m": "SUCCESS"})
        [send] = self.h.received("/v1.0/bindings/")
        seen = json.loads(send["body"])["data"]
        self.assertEqual((seen["kind"], seen["input"]), ("pubsub", "orders"))
        self.assertEqual(json.loads(seen["data"]), {"describe_to": "out"})
        self.assertEqual(seen["metadata"]["k"], "v")
        self.assertEqual((seen["attributes"]["topic"], seen["attributes"]["pubsubname"]), ("orders", "pubsub"))
        self.assertEqual(seen["attributes"]["specversion"], "1.0")

    def test_entries_that_cannot_be_events_are_dropped(self):
        status, _, body = http("POST", self.h.app + "/dapr/pubsub/orders", json.dumps({
            "id": "1", "type": "com.dapr.event.sent.bulk", "topic": "orders", "pubsubname": "pubsub",
            "entries": [{"entryId": "bad", "event": "not base64 !", "contentType": "application/octet-stream"},
                        {"entryId": "num", "event": 5},
                        {"entryId": "good", "event": {"id": "1", "source": "s", "type": "t",
                                                      "specversion": "1.0", "data": {"return": 200}}},
                        {"entryId": "raw", "event": "eyJyZXR1cm4iOjQwMH0=",  # {"return":400}
                         "contentType": "application/octet-stream"},
                        # base64 with a JSON escape in it ("\u003d" for "="): {"return":200}
                        {"entryId": "escaped", "event": "ESCAPED", "contentType": "application/json"},
                        7]}).replace('"ESCAPED"', '"eyJyZXR1cm4iOjIwMH0\\u003d"'),
                              {"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        statuses = json.loads(body)["statuses"]
        self.assertEqual([(s["entryId"], s["status"]) for s in statuses],
                         [("bad", "DROP"), ("num", "DROP"), ("good", "SUCCESS"), ("raw", "DROP"),
                          ("escaped", "SUCCESS"), ("", "DROP")])
        wait_until(lambda: "bulk entry dropped" in self.h.log(), "the drop's log line")

    def test_a_single_message_still_works(self):
        r = self.h.deliver_pubsub("pubsub", "orders", {"return": 200})
        self.assertEqual(r["verdict"], "SUCCESS")

    def post_envelope(self, envelope):
        status, _, body = http("POST", self.h.app + "/dapr/pubsub/orders", json.dumps(envelope),
                               {"Content-Type": "application/cloudevents+json"})
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_a_single_message_with_an_entries_member_is_not_a_bulk(self):
        # a CloudEvent (it has a specversion) whose extensions say "entries"
        # and even Dapr's bulk type runs the function once, as one message
        for extra in ({"entries": []}, {"entries": [], "type": "com.dapr.event.sent.bulk"},
                      {"entries": [{"entryId": "x", "event": {}}]}):
            self.h.clear_received()
            event = dict({"specversion": "1.0", "id": "one", "source": "s", "type": "t",
                          "datacontenttype": "application/json", "data": {"send": ["out"], "id": "single"}},
                         **extra)
            self.assertEqual(self.post_envelope(event), {"status": "SUCCESS"}, extra)
            [send] = self.h.received("/v1.0/bindings/")
            self.assertEqual(json.loads(send["body"])["data"], {"id": "single"})

    def test_an_envelope_without_dapr_s_bulk_type_is_not_a_bulk(self):
        # no specversion and not Dapr's bulk type: one message (not a
        # CloudEvent, so all of it is the data), never answered {"statuses": []}
        self.assertEqual(self.post_envelope({"id": "1", "topic": "orders", "entries": [],
                                             "data": {"send": ["out"], "id": "ran"}}), {"status": "SUCCESS"})
        [send] = self.h.received("/v1.0/bindings/")
        self.assertEqual(json.loads(send["body"])["data"], {"id": "ran"})

    def test_more_entries_than_max_messages_are_refused(self):
        def envelope(n):
            return {"id": "1", "type": "com.dapr.event.sent.bulk", "topic": "orders", "pubsubname": "pubsub",
                    "entries": [{"entryId": str(k), "event": {"id": str(k), "source": "s", "type": "t",
                                                             "specversion": "1.0",
                                                             "data": {"send": ["out"], "id": k}}}
                                for k in range(n)]}
        status, _, body = http("POST", self.h.app + "/dapr/pubsub/orders", json.dumps(envelope(51)),
                               {"Content-Type": "application/json"})
        self.assertEqual(status, 413)
        self.assertIn("more than 50 entries", json.loads(body)["error"])
        self.assertEqual(self.h.received("/v1.0/bindings/"), [])  # nothing of it ran
        statuses = self.post_envelope(envelope(50))["statuses"]
        self.assertEqual([s["status"] for s in statuses], ["SUCCESS"] * 50)

    def test_every_entry_sees_the_request_metadata(self):
        # the request's headers are shared by the entries, not copied into each
        status, _, body = http("POST", self.h.app + "/dapr/pubsub/orders", json.dumps({
            "id": "1", "type": "com.dapr.event.sent.bulk", "topic": "orders", "pubsubname": "pubsub",
            "entries": [{"entryId": str(k), "metadata": {"own": str(k)},
                         "event": {"id": str(k), "source": "s", "type": "t", "specversion": "1.0",
                                   "data": {"describe_to": "out"}}} for k in range(3)]}),
            {"Content-Type": "application/json", "X-Request": "r"})
        self.assertEqual(status, 200, body)
        seen = [{k.lower(): v for k, v in json.loads(c["body"])["data"]["metadata"].items()}
                for c in self.h.received("/v1.0/bindings/")]
        self.assertEqual(sorted((m["own"], m["x-request"]) for m in seen), [("0", "r"), ("1", "r"), ("2", "r")])
        self.assertNotIn("content-type", seen[0])  # the transport's own headers left out

    def test_bad_bulk_settings_stop_the_start(self):
        bad = json.loads(json.dumps(BULK_CONTEXT))
        bad["inputs"]["orders"]["metadata"]["bulkSubscribeMaxMessagesCount"] = "lots"
        fenv = dict(os.environ, FUNC_CONTEXT=json.dumps(dict(bad, port=str(free_port()))), CONTEXT_MODE="self-host",
                    OFCTX_LISTEN_HOST="127.0.0.1")
        out = subprocess.run(function_command("probe"), env=fenv, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("bulkSubscribeMaxMessagesCount", out.stderr)

class BulkBounds(unittest.TestCase):
    """What a bulk delivery can make the function hold: bounded by entries
    (the subscription's maxMessagesCount), metadata entries per event
    (OFCTX_MAX_METADATA) and the bodies' budget (OFCTX_MAX_BODIES_SIZE),
    however the subscription is set."""

    BUDGET_MIB = 16

    @classmethod
    def setUpClass(cls):
        context = json.loads(json.dumps(BULK_CONTEXT))
        context["inputs"]["orders"]["metadata"]["bulkSubscribeMaxMessagesCount"] = "100000"
        cls.h = Harness(context, COMPONENTS, env={"OFCTX_MAX_METADATA": "3",
                                                  "OFCTX_MAX_BODIES_SIZE": "%dMi" % cls.BUDGET_MIB})

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def post(self, entries, headers=None):
        status, _, body = http("POST", self.h.app + "/dapr/pubsub/orders", json.dumps({
            "id": "1", "type": "com.dapr.event.sent.bulk", "topic": "orders", "pubsubname": "pubsub",
            "entries": entries}, separators=(",", ":")), dict({"Content-Type": "application/json"}, **(headers or {})))
        return status, json.loads(body)

    def test_an_entry_with_too_much_metadata_is_dropped(self):
        event = {"id": "1", "source": "s", "type": "t", "specversion": "1.0", "data": {"return": 200}}
        status, body = self.post([{"entryId": "three", "event": event, "metadata": {"a": "", "b": "", "c": ""}},
                                  {"entryId": "four", "event": event,
                                   "metadata": {"a": "", "b": "", "c": "", "d": ""}}])
        self.assertEqual(status, 200)
        self.assertEqual([(s["entryId"], s["status"]) for s in body["statuses"]],
                         [("three", "SUCCESS"), ("four", "DROP")])
        wait_until(lambda: "more metadata entries than OFCTX_MAX_METADATA" in self.h.log(), "the drop's log line")

    def test_many_empty_entries_hold_no_more_than_the_budget(self):
        before = rss_kib(self.h.fn, "VmHWM")
        if before is None:
            self.skipTest("the resident memory of a function under valgrind or ASan is not its own")
        # 100 000 empty entries (300 KB) and 100 request headers: each entry
        # would cost an invocation and a copy of every header
        headers = {"X-Pad-%d" % k: "v" * 100 for k in range(100)}
        statuses = [self.post([{}] * 100000, headers)[0] for _ in range(3)]
        grown_mib = (rss_kib(self.h.fn, "VmHWM") - before) / 1024
        self.assertLess(grown_mib, 3 * self.BUDGET_MIB)
        self.assertEqual(statuses, [503] * 3)  # more than the budget holds
        # and the function goes on
        status, body = self.post([{"entryId": "a", "event": {"id": "1", "source": "s", "type": "t",
                                                            "specversion": "1.0", "data": {"return": 200}}}])
        self.assertEqual((status, body["statuses"][0]["status"]), (200, "SUCCESS"))


if __name__ == "__main__":
    unittest.main()
