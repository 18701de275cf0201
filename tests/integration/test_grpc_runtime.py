# SPDX-License-Identifier: Apache-2.0
"""The Async runtime over gRPC (APP_PROTOCOL=grpc), end to end: probe under
a fake daprd built on gRPC's Node.js implementation with Dapr's published
.proto files (tests/grpc/fake_daprd.js). The fake calls the function's
AppCallback as daprd does and serves the Dapr API the function sends to."""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from contexts import PROBE_GRPC  # noqa: E402
from harness import GRPC_DIR, NODE, GrpcHarness, h2_raw, http, rss_kib, raw_exchange, wait_until  # noqa: E402

CONTEXT = PROBE_GRPC

OK, DEADLINE_EXCEEDED, NOT_FOUND, RESOURCE_EXHAUSTED = 0, 4, 5, 8
INVALID_ARGUMENT, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, UNAUTHENTICATED = 3, 12, 13, 14, 16


def b64(value):
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.b64encode(raw).decode()


def unb64(text):
    return base64.b64decode(text or "")


def binding(data, metadata=None, name="kafka-in"):
    return {"name": name, "data": b64(data), "metadata": metadata or {}}


def topic_event(data, **fields):
    event = {"id": "e-1", "source": "orders-svc", "type": "com.example.order", "specVersion": "1.0",
             "dataContentType": "application/json", "topic": "orders", "pubsubName": "pubsub",
             "path": "/dapr/pubsub/orders", "data": b64(data)}
    event.update(fields)
    return event


def metric(h, line_start):
    _, _, text = http("GET", h.app + "/metrics")
    for line in text.decode().splitlines():
        if line.startswith(line_start):
            return float(line.split()[-1])
    return None


def field(tag, body):
    """A length-delimited protobuf field: its tag byte, length, bytes."""
    n, length = len(body), b""
    while True:
        length += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return bytes([tag]) + length + body


def grpc_frame(message=b"", flag=0):
    return bytes([flag]) + len(message).to_bytes(4, "big") + message


class GrpcRuntime(unittest.TestCase):
    """One function and fake daprd, with both tokens, for the tests that
    leave them as they were."""

    @classmethod
    def setUpClass(cls):
        cls.h = GrpcHarness(CONTEXT, app_token="app-secret", api_token="api-secret")

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.clear_received()
        self.h.faults([])

    def test_start_up_lists_bindings_and_subscriptions(self):
        r = self.h.call("ListInputBindings")
        self.assertEqual(r["code"], OK)
        self.assertEqual(r["response"]["bindings"], ["kafka-in"])
        r = self.h.call("ListTopicSubscriptions")
        self.assertEqual(r["code"], OK)
        [sub] = r["response"]["subscriptions"]
        self.assertEqual((sub["pubsubName"], sub["topic"]), ("pubsub", "orders"))
        self.assertEqual(sub["routes"]["default"], "/dapr/pubsub/orders")
        self.assertEqual(sub["metadata"], {"rawPayload": "false"})

    def test_health_over_grpc_and_http_on_one_port(self):
        self.assertEqual(self.h.call("HealthCheck")["code"], OK)
        self.assertEqual(http("GET", self.h.app + "/healthz")[0], 200)
        self.assertEqual(http("GET", self.h.app + "/readyz")[0], 200)
        self.assertIsNotNone(metric(self.h, "ofctx_connections"))

    def test_binding_event_reaches_the_function_with_its_metadata(self):
        r = self.h.call("OnBindingEvent", binding({"reply": "metadata"}, {"__key": "k1", "__offset": "7"}),
                        metadata={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
        self.assertEqual(r["code"], OK, r)
        seen = json.loads(unb64(r["response"]["data"]))
        self.assertEqual(seen["input"], "kafka")
        self.assertEqual(seen["kind"], "binding")
        self.assertEqual(json.loads(seen["data"]), {"reply": "metadata"})
        self.assertEqual(seen["metadata"]["__key"], "k1")
        self.assertEqual(seen["metadata"]["__offset"], "7")
        self.assertTrue(seen["metadata"]["traceparent"].startswith("00-0af7"))
        # gRPC's own headers and the token are not the event's metadata
        self.assertNotIn("dapr-api-token", seen["metadata"])
        self.assertFalse([k for k in seen["metadata"] if k.startswith("grpc-")])
        # Dapr acts on `to` and states over gRPC: never set unless asked
        self.assertEqual(r["response"]["to"], [])
        self.assertEqual(r["response"]["states"], [])
        self.assertEqual(r["response"]["storeName"], "")

    def test_binding_outcomes(self):
        self.assertEqual(self.h.call("OnBindingEvent", binding({"return": 200}))["code"], OK)
        failed = self.h.call("OnBindingEvent", binding({"return": 500}))
        self.assertEqual(failed["code"], INTERNAL)
        self.assertEqual(failed["details"], "the event was not processed")
        unknown = self.h.call("OnBindingEvent", binding({"return": 200}, name="nope"))
        self.assertEqual(unknown["code"], NOT_FOUND)

    def test_topic_event_outcomes(self):
        for ret, status in ((200, "SUCCESS"), (500, "RETRY"), (400, "DROP")):
            r = self.h.call("OnTopicEvent", topic_event({"return": ret}))
            self.assertEqual((r["code"], r["response"]["status"]), (OK, status), ret)
        r = self.h.call("OnTopicEvent", topic_event({"return": 200}, topic="other", path=""))
        self.assertEqual(r["code"], NOT_FOUND)

    def test_topic_event_attributes_and_extensions(self):
        ext = {"fields": {"traceparent": {"stringValue": "00-abc-def-01"}, "traceid": {"numberValue": 42},
                          "id": {"stringValue": "not-over-the-field"}}}
        r = self.h.call("OnTopicEvent", topic_event({"describe_to": "out"}, extensions=ext),
                        metadata={"x-extra": "yes"})
        self.assertEqual(r["response"]["status"], "SUCCESS")
        [inv] = self.h.received()
        seen = json.loads(unb64(inv["request"]["data"]))
        self.assertEqual(seen["kind"], "pubsub")
        self.assertEqual(seen["input"], "orders")
        self.assertEqual(json.loads(seen["data"]), {"describe_to": "out"})
        self.assertEqual(seen["contentType"], "application/json")
        self.assertEqual(seen["attributes"], {
            "id": "e-1", "source": "orders-svc", "type": "com.example.order", "specversion": "1.0",
            "datacontenttype": "application/json", "topic": "orders", "pubsubname": "pubsub",
            "traceparent": "00-abc-def-01", "traceid": "42"})
        self.assertEqual(seen["metadata"].get("x-extra"), "yes")

    def raw_topic_event(self, message):
        """The status byte string of a TopicEventResponse to a hand-made request."""
        [res] = h2_raw(self.h.app_port, {"requests": [{
            "headers": {":path": "/dapr.proto.runtime.v1.AppCallback/OnTopicEvent",
                        "dapr-api-token": "app-secret"},
            "body": base64.b64encode(grpc_frame(message)).decode()}]})["results"]
        self.assertEqual(Protocol.status_of(res), OK)
        return unb64(res["body"])[5:]

    def test_attributes_that_are_not_utf8_are_dropped(self):
        # gRPC's JavaScript serializer would not send them: built by hand
        good = (field(0x0A, b"e-1") + field(0x12, b"s") + field(0x1A, b"t") + field(0x22, b"1.0")
                + field(0x32, b"orders") + field(0x3A, b'{"return":200}') + field(0x42, b"pubsub"))
        self.assertEqual(self.raw_topic_event(good), b"")  # SUCCESS
        self.assertEqual(self.raw_topic_event(good + field(0x12, b"\xff\xfe")), b"\x08\x02")  # DROP
        wait_until(lambda: "a CloudEvent attribute is not UTF-8" in self.h.log(), "the drop's log line")

    def test_text_that_is_not_utf8_deep_in_extensions_is_dropped_too(self):
        # nested in a struct or a list, or as a nested key: as poison as at
        # the top (DROP), not "out of memory" (RETRY, redelivered for ever)
        good = (field(0x0A, b"e-1") + field(0x12, b"s") + field(0x1A, b"t") + field(0x22, b"1.0")
                + field(0x32, b"orders") + field(0x3A, b'{"return":200}') + field(0x42, b"pubsub"))

        def extension(value):  # extensions (10) = Struct{fields{"x": value}}
            return field(0x52, field(0x0A, field(0x0A, b"x") + field(0x12, value)))

        def in_struct(key, value):  # Value{struct_value{fields{key: value}}}
            return field(0x2A, field(0x0A, field(0x0A, key) + field(0x12, value)))

        text = field(0x1A, b"ok")  # Value{string_value}
        bad = field(0x1A, b"\xff\xfe")
        self.assertEqual(self.raw_topic_event(good + extension(in_struct(b"k", text))), b"")  # SUCCESS
        for value in (in_struct(b"k", bad), in_struct(b"\xff", text),
                      field(0x32, field(0x0A, bad)),  # Value{list_value{values[bad]}}
                      in_struct(b"k", in_struct(b"j", bad))):
            self.assertEqual(self.raw_topic_event(good + extension(value)), b"\x08\x02")  # DROP

    def test_deeply_nested_extensions_are_dropped(self):
        # built by hand: gRPC's JavaScript serializer refuses such depths itself
        def request(depth):
            value = field(0x1A, b"x")  # Value.string_value
            for _ in range(depth - 1):
                entry = field(0x0A, b"k") + field(0x12, value)
                value = field(0x2A, field(0x0A, entry))  # struct_value{fields{entry}}
            extensions = field(0x0A, field(0x0A, b"deep") + field(0x12, value))
            return (field(0x0A, b"e-1") + field(0x12, b"s") + field(0x1A, b"t") + field(0x22, b"1.0")
                    + field(0x32, b"orders") + field(0x3A, b'{"return":200}') + field(0x42, b"pubsub")
                    + field(0x52, extensions))

        def status(depth):
            return self.raw_topic_event(request(depth))

        self.assertEqual(status(64), b"")  # SUCCESS, the default, is no bytes at all
        self.assertEqual(status(65), b"\x08\x02")  # DROP
        self.assertEqual(status(20000), b"\x08\x02")
        wait_until(lambda: "nest deeper than 64 levels" in self.h.log(), "the drop's log line")

    def test_app_token_is_required(self):
        before = metric(self.h, 'ofctx_events_total{input="kafka",outcome="success"}')
        for md in ({"dapr-api-token": "wrong"}, {"dapr-api-token": ""}):
            r = self.h.control("POST", "/call", {"method": "OnBindingEvent", "request": binding({"return": 200}),
                                                 "metadata": md, "noToken": True})
            self.assertEqual(r["code"], UNAUTHENTICATED, r)
        r = self.h.control("POST", "/call", {"method": "HealthCheck", "noToken": True})
        self.assertEqual(r["code"], UNAUTHENTICATED)
        self.assertEqual(metric(self.h, 'ofctx_events_total{input="kafka",outcome="success"}'), before)
        self.assertGreaterEqual(metric(self.h, "ofctx_unauthorized_total"), 3)

    def test_sends_go_to_the_grpc_api_with_the_token(self):
        r = self.h.call("OnBindingEvent", binding({"send": ["out", "pub"], "id": "s1"}))
        self.assertEqual(r["code"], OK)
        calls = self.h.received()
        self.assertEqual([c["method"] for c in calls], ["InvokeBinding", "PublishEvent"])
        inv, pub = calls
        self.assertEqual(inv["request"]["name"], "kafka-out")
        self.assertEqual(inv["request"]["operation"], "create")
        self.assertEqual(inv["request"]["metadata"], {"partitionKey": "p1"})
        self.assertEqual(json.loads(unb64(inv["request"]["data"])), {"id": "s1"})
        self.assertEqual((pub["request"]["pubsubName"], pub["request"]["topic"]), ("pubsub", "alerts"))
        self.assertEqual(pub["request"]["dataContentType"], "application/json")
        self.assertEqual(json.loads(unb64(pub["request"]["data"])), {"id": "s1"})
        for c in calls:
            self.assertEqual(c["token"], "api-secret")
            self.assertNotIn("refused", c)

    def test_raw_bytes_are_sent_as_they_are(self):
        r = self.h.call("OnBindingEvent", binding({"send_text": "out"}))
        self.assertEqual(r["code"], OK)
        [inv] = self.h.received()
        self.assertEqual(unb64(inv["request"]["data"]), b"plain text")

    def test_retryable_statuses_are_retried(self):
        for code in (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED):
            self.h.clear_received()
            self.h.faults([{"method": "PublishEvent", "code": code, "times": 2}])
            r = self.h.call("OnBindingEvent", binding({"send": ["pub"], "id": "r%d" % code}))
            self.assertEqual(r["code"], OK, code)
            self.assertEqual([c.get("refused") for c in self.h.received()], [code, code, None])

    def test_retries_are_bounded(self):
        self.h.faults([{"method": "PublishEvent", "code": UNAVAILABLE, "times": 100}])
        r = self.h.call("OnBindingEvent", binding({"send": ["pub"], "id": "bound"}))
        self.assertEqual(r["code"], INTERNAL)  # a send failed: not acknowledged
        self.assertEqual(len(self.h.received()), 4)  # OFCTX_SEND_ATTEMPTS' default

    def test_other_statuses_are_not_retried(self):
        for code in (INVALID_ARGUMENT, NOT_FOUND):
            self.h.clear_received()
            self.h.faults([{"method": "InvokeBinding", "code": code, "times": 5}])
            r = self.h.call("OnBindingEvent", binding({"send": ["out"], "id": "n%d" % code}))
            self.assertEqual(r["code"], INTERNAL)
            self.assertEqual(len(self.h.received()), 1, code)
        wait_until(lambda: "grpc_status=5" in self.h.log(), "the failed send's log line")

    def test_answer_waits_for_every_send(self):
        self.h.faults([{"method": "PublishEvent", "code": UNAVAILABLE, "times": 1, "delayMs": 300}])
        r = self.h.call("OnTopicEvent", topic_event({"send": ["out", "pub"], "id": "late"}))
        self.assertEqual(r["response"]["status"], "SUCCESS")
        last = max(c["at"] for c in self.h.received())
        self.assertGreaterEqual(r["at"], last)

    def test_a_thousand_events_sixteen_at_a_time(self):
        requests = [{"request": binding({"send": ["pub"], "id": "n%04d" % i})} for i in range(1000)]
        results = self.h.load("OnBindingEvent", requests, 16)
        self.assertEqual([r["code"] for r in results], [OK] * 1000)
        calls = self.h.received()
        ids = sorted(json.loads(unb64(c["request"]["data"]))["id"] for c in calls)
        self.assertEqual(ids, ["n%04d" % i for i in range(1000)])
        # all multiplexed on one HTTP/2 connection
        self.assertEqual(len({c["peer"] for c in calls}), 1)

    def test_big_messages_both_ways(self):
        # 3 MiB in, about 4 MiB out: HTTP/2 flow control in both directions
        data = {"reply": "metadata", "pad": "x" * (3 << 20)}
        r = self.h.call("OnBindingEvent", binding(data))
        self.assertEqual(r["code"], OK)
        seen = json.loads(unb64(r["response"]["data"]))
        self.assertEqual(len(json.loads(seen["data"])["pad"]), 3 << 20)
        too_big = self.h.call("OnBindingEvent", binding({"pad": "x" * (4 << 20)}))
        self.assertEqual(too_big["code"], RESOURCE_EXHAUSTED)

    def test_the_sidecars_grpc_message_is_decoded(self):
        self.h.faults([{"method": "PublishEvent", "code": INVALID_ARGUMENT, "details": "caf\u00e9 100% \"bad\""}])
        r = self.h.call("OnBindingEvent", binding({"send": ["pub"], "id": "msg"}))
        self.assertEqual(r["code"], INTERNAL)
        wait_until(lambda: 'INVALID_ARGUMENT: caf\u00e9 100% \\"bad\\"' in self.h.log(), "the decoded message")

    def test_unknown_method(self):
        r = h2_raw(self.h.app_port, {"requests": [{"headers": {
            ":path": "/dapr.proto.runtime.v1.AppCallback/OnInvoke", "dapr-api-token": "app-secret"}}]})
        [res] = r["results"]
        self.assertEqual(Protocol.status_of(res), UNIMPLEMENTED)


ABORTED = 10


class State(unittest.TestCase):
    """ofctx_state_* over the sidecar's gRPC API (Dapr/GetState, SaveState,
    DeleteState) against the fake daprd's in-memory store; the probe
    reports each result to the output "out" (an InvokeBinding)."""

    @classmethod
    def setUpClass(cls):
        cls.h = GrpcHarness(dict(CONTEXT, states={"store": {"componentName": "statestore",
                                                            "componentType": "state.redis"}}))

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.clear_received()
        self.h.faults([])

    def command(self, cmd, code=OK):
        self.h.clear_received()
        r = self.h.call("OnBindingEvent", binding(dict(cmd, report="out")))
        self.assertEqual(r["code"], code, r)
        calls = self.h.received()
        reports = [json.loads(unb64(c["request"]["data"])) for c in calls if c["method"] == "InvokeBinding"]
        return reports, [c for c in calls if c["method"] != "InvokeBinding"]

    def stored(self):
        return json.loads(http("GET", self.h.control_url + "/states")[2])

    def test_set_then_get_round_trip(self):
        for value in ('plain "text"', '{"a":"x","b":[1,2]}', ""):
            reports, calls = self.command({"state_set": ["store", "k", value]})
            self.assertEqual(reports[0]["code"], "OK")
            req = calls[0]["request"]
            self.assertEqual((calls[0]["method"], req["storeName"], req["states"][0]["key"]),
                             ("SaveState", "statestore", "k"))
            reports, calls = self.command({"state_get": ["store", "k"]})
            self.assertEqual(calls[0]["method"], "GetState")
            self.assertEqual((reports[0]["code"], reports[0]["found"], reports[0]["value"]), ("OK", True, value))
            self.assertEqual(reports[0]["etag"], self.stored()["statestore/k"]["etag"])
        reports, _ = self.command({"state_get": ["store", "none"]})
        self.assertEqual((reports[0]["found"], reports[0]["value"]), (False, ""))

    def test_etag_conflict_and_delete(self):
        self.command({"state_set": ["store", "c", "one"]})
        etag = self.stored()["statestore/c"]["etag"]
        reports, calls = self.command({"state_set": ["store", "c", "two"], "etag": etag + "0", "first_write": True})
        self.assertEqual((reports[0]["code"], len(calls)), ("ECONFLICT", 1))  # not retried, acknowledged
        opts = calls[0]["request"]["states"][0]
        self.assertEqual((opts["etag"]["value"], opts["options"]["concurrency"]),
                         (etag + "0", "CONCURRENCY_FIRST_WRITE"))
        reports, calls = self.command({"state_delete": ["store", "c"], "etag": etag})
        self.assertEqual((reports[0]["code"], calls[0]["method"]), ("OK", "DeleteState"))
        self.assertNotIn("statestore/c", self.stored())

    def test_ttl_reaches_the_sidecar(self):
        reports, calls = self.command({"state_set": ["store", "ttl", "v"], "metadata": ["ttlInSeconds", "60"]})
        self.assertEqual(reports[0]["code"], "OK")
        self.assertEqual(calls[0]["request"]["states"][0]["metadata"], {"ttlInSeconds": "60"})
        self.assertEqual(self.command({"state_get": ["store", "ttl"]})[0][0]["found"], True)
        self.h.control("POST", "/states/clock", {"advance": 61})
        reports, _ = self.command({"state_get": ["store", "ttl"]})
        self.assertEqual((reports[0]["code"], reports[0]["found"]), ("OK", False))
        self.assertNotIn("statestore/ttl", self.stored())

    def test_a_failing_write_fails_the_input(self):
        self.h.faults([{"method": "SaveState", "code": UNAVAILABLE, "times": 100}])
        reports, calls = self.command({"state_set": ["store", "f", "v"]}, code=INTERNAL)
        self.assertEqual(len(calls), 4)  # retried as a send is, then not acknowledged
        self.assertEqual(reports[0]["code"], "ESTATE")


class Protocol(unittest.TestCase):
    """HTTP/2 as a hostile or careless client speaks it (raw, no gRPC library)."""

    @classmethod
    def setUpClass(cls):
        cls.h = GrpcHarness(CONTEXT, env={"OFCTX_GRPC_MAX_MESSAGE_SIZE": "1Ki",
                                          "OFCTX_HEADER_TIMEOUT_MS": "500",
                                          "OFCTX_IDLE_TIMEOUT_MS": "700"})

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def raw(self, *requests, **spec):
        return h2_raw(self.h.app_port, dict(spec, requests=list(requests)))["results"]

    @staticmethod
    def status_of(res):
        return int((res["trailers"] or {}).get("grpc-status", (res["headers"] or {}).get("grpc-status", -1)))

    def test_settings_advertise_streams(self):
        r = h2_raw(self.h.app_port, {"requests": [{}]})
        self.assertEqual(r["remoteSettings"]["maxConcurrentStreams"], 100)
        self.assertEqual(self.status_of(r["results"][0]), OK)

    def test_content_type_must_be_grpc(self):
        [res] = self.raw({"headers": {"content-type": "application/json"}})
        self.assertEqual(res["status"], 415)
        [res] = self.raw({"headers": {"content-type": "application/grpc+proto"}})
        self.assertEqual((res["status"], self.status_of(res)), (200, OK))

    def test_method_must_be_post(self):
        [res] = self.raw({"headers": {":method": "PUT"}})
        self.assertEqual(res["status"], 405)

    def test_message_framing(self):
        [res] = self.raw({"body": base64.b64encode(grpc_frame(b"", flag=1)).decode()})
        self.assertEqual(self.status_of(res), UNIMPLEMENTED)
        [res] = self.raw({"body": base64.b64encode(grpc_frame(b"abc")[:-1]).decode()})
        self.assertEqual(self.status_of(res), INTERNAL)
        [res] = self.raw({"body": base64.b64encode(b"\x00\x00").decode()})
        self.assertEqual(self.status_of(res), INTERNAL)

    def test_message_size_limit(self):
        ok = grpc_frame(b"\x0a\x01x" + b"\x12" + bytes([100]) + b"y" * 100)
        [res] = self.raw({"headers": {":path": "/dapr.proto.runtime.v1.AppCallback/OnBindingEvent"},
                          "body": base64.b64encode(ok).decode()})
        self.assertEqual(self.status_of(res), NOT_FOUND)  # parsed: binding "x" does not exist
        big = grpc_frame(b"\x00" * 1025)
        [res] = self.raw({"body": base64.b64encode(big).decode()})
        self.assertEqual(self.status_of(res), RESOURCE_EXHAUSTED)
        self.assertIn("larger than the limit", res["headers"].get("grpc-message", ""))

    def test_not_a_protobuf_message(self):
        [res] = self.raw({"headers": {":path": "/dapr.proto.runtime.v1.AppCallback/OnTopicEvent"},
                          "body": base64.b64encode(grpc_frame(b"\xff\xff\xff")).decode()})
        self.assertEqual(self.status_of(res), INVALID_ARGUMENT)
        self.assertEqual(res["headers"]["grpc-message"],
                         "the request is not a valid protobuf message of its type")

    def test_huge_headers_are_refused(self):
        [res] = self.raw({"headers": {"x-big": "a" * 20000}})
        self.assertIsNotNone(res["rstCode"] or res["error"])
        self.assertNotEqual(self.status_of(res), OK)
        self.assertEqual(self.status_of(self.raw({})[0]), OK)  # the server is fine

    def test_a_request_that_never_ends_is_reset(self):
        [res] = self.raw({"end": False, "waitMs": 5000})
        # reset by the server (CANCEL) after OFCTX_HEADER_TIMEOUT_MS, well
        # before the client's own 5 s
        self.assertEqual((res["rstCode"], res["error"]), (8, None))

    def test_more_streams_than_allowed(self):
        # 150 at once on one connection: the server allows 100 at a time,
        # and every call gets an answer (the client queues the others)
        results = self.raw(*[{} for _ in range(150)])
        self.assertEqual([self.status_of(r) for r in results], [OK] * 150)

    def test_idle_connection_gets_goaway(self):
        r = h2_raw(self.h.app_port, {"requests": [{}], "holdMs": 100})
        self.assertIsNone(r["goaway"])
        r = h2_raw(self.h.app_port, {"requests": [{}], "holdMs": 2000})
        self.assertEqual(r["goaway"], 0)  # NO_ERROR, after OFCTX_IDLE_TIMEOUT_MS

    def test_rapid_reset_flood_ends_the_connection(self):
        # a few resets are normal; thousands at once end the connection
        # (nghttp2's stream reset rate limit: GOAWAY with INTERNAL_ERROR)
        r = h2_raw(self.h.app_port, {"resetFlood": 50, "requests": [{}]})
        self.assertIsNone(r["goaway"])
        self.assertEqual(self.status_of(r["results"][0]), OK)
        r = h2_raw(self.h.app_port, {"resetFlood": 5000})
        self.assertEqual(r["goaway"], 2)
        # other connections are served as before
        self.assertEqual(self.status_of(self.raw({})[0]), OK)

    def test_load_from_h2load(self):
        # nghttp2's own load generator: 8 connections, 32 calls at once on
        # each; every call reaches the function once (its counter), none fails
        if not shutil.which("h2load"):
            self.fail("h2load is missing: scripts/test.sh installs nghttp2-client")
        before = metric(self.h, 'ofctx_events_total{input="kafka",outcome="success"}')
        msg = b"\x0a\x08kafka-in\x12\x0e" + b'{"return":200}'
        with tempfile.NamedTemporaryFile(suffix=".bin") as body:
            body.write(grpc_frame(msg))
            body.flush()
            out = subprocess.run(["h2load", "-n", "20000", "-c", "8", "-m", "32", "-d", body.name,
                                  "-H", "content-type: application/grpc", "-H", "te: trailers",
                                  "http://127.0.0.1:%d/dapr.proto.runtime.v1.AppCallback/OnBindingEvent"
                                  % self.h.app_port], capture_output=True, text=True, timeout=300)
        self.assertIn("20000 succeeded, 0 failed, 0 errored", out.stdout, out.stdout + out.stderr)
        after = metric(self.h, 'ofctx_events_total{input="kafka",outcome="success"}')
        self.assertEqual(after - before, 20000)

    def test_grpc_timeout_is_honoured(self):
        # a send the fake holds back past the call's grpc-timeout
        self.h.faults([{"method": "PublishEvent", "code": UNAVAILABLE, "times": 1, "delayMs": 1500}])
        body = grpc_frame(b"\x0a\x08kafka-in\x12" + bytes([len(b'{"send":["pub"],"id":"t"}')])
                          + b'{"send":["pub"],"id":"t"}')
        [res] = self.raw({"headers": {":path": "/dapr.proto.runtime.v1.AppCallback/OnBindingEvent",
                                      "grpc-timeout": "300m"}, "body": base64.b64encode(body).decode()})
        self.assertEqual(self.status_of(res), DEADLINE_EXCEEDED)


TOKEN = {"dapr-api-token": "app-secret"}
# 12 KB of header list (three 4000-byte values under one name) that HPACK
# sends once per connection and then as three one-byte references
BIG_HEAD = {"x-big": ["a" * 4000] * 3}


def h2_raw_start(port, spec):
    """tests/grpc/h2_raw.js started, not waited for: (process, its output
    file); json.load the file once the process has ended."""
    out = tempfile.TemporaryFile("w+")
    proc = subprocess.Popen([NODE, os.path.join(GRPC_DIR, "h2_raw.js"), str(port)], stdin=subprocess.PIPE,
                            stdout=out, stderr=subprocess.DEVNULL, text=True)
    proc.stdin.write(json.dumps(spec))
    proc.stdin.close()
    return proc, out


def h2_raw_result(started):
    proc, out = started
    with out:
        proc.wait(120)
        out.seek(0)
        return json.load(out)


class ResetWhileHeld(unittest.TestCase):
    """A call whose client resets it while the function still works on it
    stays charged to OFCTX_MAX_BODIES_SIZE until the function settles:
    else a client could send, reset, and send again, and have the function
    hold every message for free."""

    def test_a_reset_call_stays_charged_until_its_function_settles(self):
        h = GrpcHarness(CONTEXT, fake_args=["--api-delay-ms", "2500"],
                        env={"OFCTX_MAX_BODY_SIZE": "1Mi", "OFCTX_MAX_BODIES_SIZE": "1Mi"})
        try:
            data = json.dumps({"send": ["out"], "id": 1, "pad": "x" * 300000}).encode()
            body = base64.b64encode(grpc_frame(field(0x0A, b"kafka-in") + field(0x12, data))).decode()
            call = {"headers": {":path": "/dapr.proto.runtime.v1.AppCallback/OnBindingEvent"}, "body": body}
            # the first is reset by its client at 400 ms, while its send
            # waits 2.5 s; the second comes at 800 ms
            first, second = h2_raw(h.app_port, {"requests": [dict(call, waitMs=400),
                                                             dict(call, delayMs=800)]})["results"]
            self.assertEqual(first["error"], "still open")  # the client reset it
            self.assertEqual(Protocol.status_of(second), RESOURCE_EXHAUSTED, second)
            # once the first has settled, its charge is gone
            wait_until(lambda: len(h.received()) == 1, "the first call's send", seconds=10)
            wait_until(lambda: Protocol.status_of(h2_raw(h.app_port, {"requests": [call]})["results"][0]) == OK,
                       "the budget back", seconds=20)
        finally:
            h.finish()


class SharedBudget(unittest.TestCase):
    """OFCTX_MAX_BODIES_SIZE bounds the HTTP/1.1 and the gRPC server
    together: what gRPC calls hold leaves that much less for HTTP bodies."""

    def test_a_held_call_leaves_less_for_http_bodies(self):
        h = GrpcHarness(CONTEXT, fake_args=["--api-delay-ms", "2500"],
                        env={"OFCTX_MAX_BODY_SIZE": "1Mi", "OFCTX_MAX_BODIES_SIZE": "1Mi"})
        try:
            data = json.dumps({"send": ["out"], "id": 1, "pad": "x" * 300000}).encode()
            body = base64.b64encode(grpc_frame(field(0x0A, b"kafka-in") + field(0x12, data))).decode()
            done = threading.Event()
            threading.Thread(target=lambda: (h2_raw(h.app_port, {"requests": [{
                "headers": {":path": "/dapr.proto.runtime.v1.AppCallback/OnBindingEvent"}, "body": body}]}),
                done.set())).start()
            wait_until(lambda: metric(h, "ofctx_inflight") == 1, "the call in the function's hands", seconds=10)
            # the call holds its message and its decoded copy: 600 KB of 1 MiB;
            # a body of 600 KB is refused by its Content-Length, at its head
            head = b"POST /x HTTP/1.1\r\nHost: f\r\nContent-Length: 600000\r\n\r\n"
            self.assertTrue(raw_exchange(h.app_port, head).startswith(b"HTTP/1.1 503 "))
            self.assertTrue(done.wait(20))
            status, _, _ = http("POST", h.app + "/x", b"y" * 600000)
            self.assertEqual(status, 404)  # read whole, then no route: the budget is back
        finally:
            h.finish()


class RefusedCalls(unittest.TestCase):
    """Calls the server refuses before their requests are whole (no token)
    end at once: the answer, then RST_STREAM NO_ERROR. They neither fill the
    budget until the client gives up nor keep a connection from going idle."""

    @classmethod
    def setUpClass(cls):
        cls.h = GrpcHarness(CONTEXT, app_token="app-secret", env={
            "OFCTX_MAX_BODY_SIZE": "64Ki", "OFCTX_MAX_BODIES_SIZE": "256Ki", "OFCTX_IDLE_TIMEOUT_MS": "1500"})

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def test_tokenless_calls_do_not_keep_dapr_out(self):
        # 400 tokenless calls whose requests never end, held open by their
        # client: each is refused at its head and ended, so Dapr's call
        # made while they are held is served
        flood = {}
        t = threading.Thread(target=lambda: flood.update(h2_raw(self.h.app_port, {
            "flood": [{"connections": 4, "streams": 100, "end": False}], "holdMs": 4000})))
        t.start()
        try:
            wait_until(lambda: metric(self.h, "ofctx_unauthorized_total") >= 400, "the refusals", seconds=20)
            [res] = h2_raw(self.h.app_port, {"requests": [{"headers": TOKEN}]})["results"]
            self.assertEqual(Protocol.status_of(res), OK, res)
        finally:
            t.join()
        self.assertEqual(flood["flood"]["statuses"], {str(UNAUTHENTICATED): 400}, flood)

    def test_refused_calls_do_not_keep_a_connection(self):
        # a tokenless call every 500 ms for 6 s: the connection still goes
        # idle_timeout (1.5 s) after it came, refused calls or not (they
        # would have kept it to 7 s, past the 6 s watched)
        r = h2_raw(self.h.app_port, {"requests": [{"startMs": 500 * k} for k in range(12)], "holdMs": 500})
        self.assertEqual((r["goaway"], r.get("closed")), (0, True), r)


class Http2Bounds(unittest.TestCase):
    """What an HTTP/2 client can make the function hold, in memory and in
    time (DESIGN rule 8; docs/reliability.md, "HTTP/2"): every call counts in
    OFCTX_MAX_BODIES_SIZE (its head, its message, its unsent answer), the app
    token is checked when the head ends, every call and connection has a
    clock, and only calls keep a connection from being idle."""

    BUDGET = 2 * 1024 * 1024

    @classmethod
    def setUpClass(cls):
        cls.h = GrpcHarness(CONTEXT, app_token="app-secret", env={
            "OFCTX_MAX_BODY_SIZE": "256Ki", "OFCTX_MAX_BODIES_SIZE": str(cls.BUDGET),
            "OFCTX_HEADER_TIMEOUT_MS": "20000", "OFCTX_WRITE_TIMEOUT_MS": "300",
            "OFCTX_IDLE_TIMEOUT_MS": "500"})

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def raw(self, *requests, **spec):
        return h2_raw(self.h.app_port, dict(spec, requests=list(requests)))["results"]

    def serves(self):
        [res] = self.raw({"headers": TOKEN})
        self.assertEqual(Protocol.status_of(res), OK)

    def test_answers_taken_a_byte_at_a_time_are_reset(self):
        # a client that opens its window one byte every 100 ms makes
        # progress, but not a frame's worth (16 KiB) in a write timeout
        # (300 ms): its 40 KB answer is reset, not held for over an hour
        def frame(kind, flags, stream, payload):
            return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload

        def literal(name, value):  # HPACK: a literal field, never indexed, short strings
            return b"\x10" + bytes([len(name)]) + name + bytes([len(value)]) + value

        data = json.dumps({"reply": "x" * 40000}).encode()
        message = grpc_frame(field(0x0A, b"kafka-in") + field(0x12, data))
        head = (b"\x83\x86" + literal(b":path", b"/dapr.proto.runtime.v1.AppCallback/OnBindingEvent")
                + literal(b":authority", b"f") + literal(b"content-type", b"application/grpc")
                + literal(b"dapr-api-token", b"app-secret"))
        with socket.create_connection(("127.0.0.1", self.h.app_port)) as sock:
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                         + frame(4, 0, 0, (4).to_bytes(2, "big") + (1).to_bytes(4, "big"))  # window 1
                         + frame(1, 4, 1, head)
                         + b"".join(frame(0, 1 if k + 16384 >= len(message) else 0, 1, message[k:k + 16384])
                                    for k in range(0, len(message), 16384)))
            sock.settimeout(0.1)
            received, reset = b"", None
            deadline = time.monotonic() + 20
            while reset is None and time.monotonic() < deadline:
                try:
                    sock.sendall(frame(8, 0, 1, (1).to_bytes(4, "big")))  # one more byte
                    chunk = sock.recv(65536)
                except socket.timeout:
                    chunk = b""
                except OSError:
                    break
                received += chunk
                while len(received) >= 9 and len(received) >= 9 + int.from_bytes(received[:3], "big"):
                    n, kind, stream = int.from_bytes(received[:3], "big"), received[3], received[5:9]
                    if kind == 3 and int.from_bytes(stream, "big") == 1:
                        reset = int.from_bytes(received[9:13], "big")
                    received = received[9 + n:]
        self.assertEqual(reset, 8)  # CANCEL
        self.serves()

    def test_answers_never_read_are_reset(self):
        # window 0: the answer's HEADERS go, its DATA never can; the stream
        # is reset (CANCEL) once it has made no progress for
        # OFCTX_WRITE_TIMEOUT_MS, long before the client's own 10 s
        results = self.raw(*[{"headers": TOKEN, "waitMs": 10000}] * 3, settings={"initialWindowSize": 0})
        self.assertEqual([(r["status"], r["rstCode"], r["error"]) for r in results], [(200, 8, None)] * 3)
        self.serves()

    def test_a_connection_that_only_pings_goes_idle(self):
        # a call, then nothing but PINGs: the idle clock counts from the call
        r = h2_raw(self.h.app_port, {"requests": [{"headers": TOKEN}], "pingMs": 50, "holdMs": 8000})
        self.assertEqual(Protocol.status_of(r["results"][0]), OK)
        self.assertGreater(r["pings"], 0)  # answered while it lasted
        self.assertEqual((r["goaway"], r.get("closed")), (0, True))
        # and one that never made a call
        r = h2_raw(self.h.app_port, {"pingMs": 50, "holdMs": 8000, "settings": {"initialWindowSize": 1000}})
        self.assertEqual((r["goaway"], r.get("closed")), (0, True))

    def test_a_tokenless_call_holds_no_message(self):
        # 24 calls without the token, 100 KB of message each (2.4 MB: more
        # than the 2 MiB budget), never ended; then Dapr's call with the
        # token. Each tokenless call is refused when its head ends, before
        # its message is taken, so Dapr's call finds the budget whole.
        body = base64.b64encode(grpc_frame(b"x" * 100000)).decode()
        tokenless = {"headers": {":path": "/dapr.proto.runtime.v1.AppCallback/OnBindingEvent"},
                     "body": body, "end": False, "waitMs": 8000}
        results = self.raw(*[tokenless] * 24, {"headers": TOKEN, "delayMs": 1500})
        self.assertEqual([Protocol.status_of(r) for r in results[:-1]], [UNAUTHENTICATED] * 24)
        self.assertEqual(Protocol.status_of(results[-1]), OK)

    def test_header_lists_count_in_the_budget(self):
        # 400 calls with the token whose 12 KB heads end but whose messages
        # never come: held, they would need about 6.5 MB; the 2 MiB budget
        # refuses the calls past it (REFUSED_STREAM before the head,
        # RESOURCE_EXHAUSTED after), and serves again once they go
        r = h2_raw(self.h.app_port, {"flood": [{"connections": 4, "streams": 100, "end": False,
                                                "headers": dict(TOKEN, **BIG_HEAD)}], "holdMs": 3000})
        f = r["flood"]
        self.assertEqual(f["streams"], 400)
        refused = f["resets"].get("7", 0) + f["statuses"].get(str(RESOURCE_EXHAUSTED), 0)
        self.assertGreater(refused, 200, f)
        self.serves()

    def test_a_hostile_client_holds_memory_within_the_budget(self):
        # 80 connections × 100 calls at once: 12 KB heads whose messages
        # never come (with and without the token), and answers never read
        # (window 0). Held without bound that is about 100 MB of heads; the
        # function's peak RSS (VmHWM) stays under the budget + 64 MB.
        if rss_kib(self.h.fn) is None:
            self.skipTest("RSS says nothing under AddressSanitizer or valgrind")
        r = h2_raw(self.h.app_port, {"holdMs": 4000, "flood": [
            {"connections": 48, "streams": 100, "end": False, "headers": dict(TOKEN, **BIG_HEAD)},
            {"connections": 16, "streams": 100, "end": False, "headers": BIG_HEAD},
            {"connections": 16, "streams": 100, "headers": TOKEN, "settings": {"initialWindowSize": 0}}]})
        peak = rss_kib(self.h.fn, "VmHWM")
        self.assertEqual(r["flood"]["streams"], 8000)
        self.assertLess(peak * 1024, self.BUDGET + 64 * 1024 * 1024, "peak RSS %.1f MB" % (peak / 1024))
        print("\n  peak RSS under the HTTP/2 flood: %.1f MB" % (peak / 1024), file=sys.stderr)
        self.serves()

    def test_pinging_connections_do_not_use_up_the_connections(self):
        # OFCTX_MAX_CONNECTIONS=3 taken by three connections that ping
        # forever: each goes after the idle timeout, and a fourth
        # connection's health check is served
        h = GrpcHarness(CONTEXT, env={"OFCTX_MAX_CONNECTIONS": "3", "OFCTX_IDLE_TIMEOUT_MS": "1000"})
        pingers = []
        try:
            wait_until(lambda: metric(h, "ofctx_connections ") == 1, "the fake daprd's connection to go")
            ready = [os.path.join(h.tmp.name, "pinger%d" % i) for i in range(3)]
            pingers = [h2_raw_start(h.app_port, {"requests": [{}], "readyFile": f, "pingMs": 50,
                                                 "holdMs": 30000, "timeoutMs": 40000}) for f in ready]
            wait_until(lambda: all(os.path.exists(f) for f in ready), "the three connections' first calls")

            def health():
                [res] = h2_raw(h.app_port, {"requests": [{}]})["results"]
                return Protocol.status_of(res) == OK

            wait_until(health, "a fourth connection's health check")
            for p in pingers:
                r = h2_raw_result(p)
                self.assertEqual(Protocol.status_of(r["results"][0]), OK)
                self.assertEqual((r["goaway"], r.get("closed")), (0, True))
        finally:
            for proc, out in pingers:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                out.close()
            h.finish()


class LogsHandler(unittest.TestCase):
    """examples/logs-handler as OpenFunction runs it by default: records
    come as gRPC OnBindingEvent, alerts go out as gRPC InvokeBinding."""

    def test_a_404_record_becomes_one_alert_over_grpc(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        with open(os.path.join(root, "examples", "logs-handler", "context.json")) as f:
            context = json.load(f)
        record = {"log": '1.2.3.4 - - [25/Aug/2021:01:54:36 +0000] "GET /notfound HTTP/1.1" 404 9 "-" "curl"\n',
                  "time": "2021-08-25T01:54:37.226757612Z",
                  "kubernetes": {"pod_name": "wordpress-v1-f54f697c5-hdn2z", "namespace_name": "demo-project",
                                 "container_name": "c1"}}
        h = GrpcHarness(context, binary="logs-handler")
        try:
            name = context["inputs"]["kafka-receiver"]["componentName"]
            self.assertEqual(h.call("ListInputBindings")["response"]["bindings"], [name])
            ok = dict(record, log=record["log"].replace(" 404 ", " 200 "))
            self.assertEqual(h.call("OnBindingEvent", binding(ok, name=name))["code"], OK)
            self.assertEqual(h.received(), [])
            self.assertEqual(h.call("OnBindingEvent", binding(record, name=name))["code"], OK)
            [inv] = h.received()
            self.assertEqual(inv["method"], "InvokeBinding")
            self.assertEqual(inv["request"]["name"], context["outputs"]["notification-manager"]["componentName"])
            self.assertEqual(inv["request"]["operation"], "post")
            alert = json.loads(unb64(inv["request"]["data"]))
            self.assertEqual(alert["status"], "firing")
            self.assertEqual(alert["alerts"][0]["annotations"]["first_path"], "/notfound")
            # the same key again is folded into that alert: acknowledged, nothing sent
            self.assertEqual(h.call("OnBindingEvent", binding(record, name=name))["code"], OK)
            self.assertEqual(len(h.received()), 1)
            # another pod's alert could not be sent: its record is not acknowledged
            other = dict(record, kubernetes=dict(record["kubernetes"], pod_name="wordpress-v1-aaaaaaaaa-bbbbb"))
            h.faults([{"method": "InvokeBinding", "code": INVALID_ARGUMENT}])
            self.assertEqual(h.call("OnBindingEvent", binding(other, name=name))["code"], INTERNAL)
        finally:
            h.finish()


BULK_CONTEXT = dict(CONTEXT, inputs={
    "orders": {"uri": "orders", "componentName": "pubsub", "componentType": "pubsub.kafka",
               "metadata": {"bulkSubscribe": "true", "bulkSubscribeMaxMessagesCount": "20", "rawPayload": "false"}}})


def bulk_entry(entry_id, data, **ce):
    event = {"id": entry_id, "source": "s", "type": "t", "specVersion": "1.0",
             "dataContentType": "application/json", "data": b64(data)}
    event.update(ce)
    return {"entryId": entry_id, "cloudEvent": event, "contentType": "application/cloudevents+json",
            "metadata": {"m": entry_id}}


def bulk_call(h, entries):
    return bulk_call_md(h, entries, None)


def bulk_call_md(h, entries, metadata):
    return h.call("OnBulkTopicEvent", {"id": "b", "entries": entries, "topic": "orders",
                                       "pubsubName": "pubsub", "path": "/dapr/pubsub/orders",
                                       "type": "com.dapr.event.sent.bulk"}, metadata=metadata)


class Bulk(unittest.TestCase):
    """OnBulkTopicEvent: a plain function run once per entry, one status per entry."""

    @classmethod
    def setUpClass(cls):
        cls.h = GrpcHarness(BULK_CONTEXT)

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.clear_received()
        self.h.faults([])

    def bulk(self, entries):
        return bulk_call(self.h, entries)

    def statuses(self, r):
        self.assertEqual(r["code"], OK, r)
        return {s["entryId"]: s["status"] for s in r["response"]["statuses"]}

    def test_subscription_advertises_bulk(self):
        [sub] = self.h.call("ListTopicSubscriptions")["response"]["subscriptions"]
        self.assertEqual(sub["bulkSubscribe"], {"enabled": True, "maxMessagesCount": 20, "maxAwaitDurationMs": 0})
        self.assertEqual(sub["metadata"], {"rawPayload": "false"})

    def test_each_entry_gets_its_own_status(self):
        r = self.bulk([bulk_entry("ok", {"return": 200}), bulk_entry("retry", {"return": 500}),
                       bulk_entry("drop", {"return": 400}), bulk_entry("sent", {"send": ["pub"], "id": "g1"}),
                       {"entryId": "raw", "bytes": b64({"return": 400}), "contentType": "application/json"},
                       {"entryId": "empty"}])
        self.assertEqual(self.statuses(r), {"ok": "SUCCESS", "retry": "RETRY", "drop": "DROP", "sent": "SUCCESS",
                                            "raw": "DROP", "empty": "DROP"})
        [pub] = self.h.received()
        self.assertEqual(json.loads(unb64(pub["request"]["data"])), {"id": "g1"})

    def test_a_failed_send_retries_its_entry_only(self):
        self.h.faults([{"method": "PublishEvent", "code": INVALID_ARGUMENT}])
        r = self.bulk([bulk_entry("a", {"send": ["pub"], "id": "x"}), bulk_entry("b", {"return": 200})])
        self.assertEqual(self.statuses(r), {"a": "RETRY", "b": "SUCCESS"})

    def test_the_function_sees_each_entry(self):
        r = self.bulk([bulk_entry("seen", {"describe_to": "out"}, extensions={"fields": {"traceid": {"stringValue": "t1"}}})])
        self.assertEqual(self.statuses(r), {"seen": "SUCCESS"})
        [inv] = self.h.received()
        seen = json.loads(unb64(inv["request"]["data"]))
        self.assertEqual((seen["kind"], seen["input"]), ("pubsub", "orders"))
        self.assertEqual(seen["metadata"]["m"], "seen")
        self.assertEqual(seen["attributes"]["topic"], "orders")
        self.assertEqual(seen["attributes"]["traceid"], "t1")

    def test_more_entries_than_max_messages_are_refused(self):
        r = self.bulk([bulk_entry(str(k), {"send": ["pub"], "id": k}) for k in range(21)])
        self.assertEqual(r["code"], RESOURCE_EXHAUSTED, r)
        self.assertIn("more than 20 entries", r["details"])
        self.assertEqual(self.h.received(), [])  # nothing of it ran
        self.assertEqual(set(self.statuses(self.bulk([bulk_entry(str(k), {"return": 200})
                                                       for k in range(20)])).values()), {"SUCCESS"})

    def test_every_entry_sees_the_call_metadata(self):
        r = bulk_call_md(self.h, [bulk_entry("a", {"describe_to": "out"}), bulk_entry("b", {"describe_to": "out"})],
                         {"x-call": "c"})
        self.assertEqual(self.statuses(r), {"a": "SUCCESS", "b": "SUCCESS"})
        seen = [json.loads(unb64(inv["request"]["data"]))["metadata"] for inv in self.h.received()]
        self.assertEqual(sorted((m["m"], m["x-call"]) for m in seen), [("a", "c"), ("b", "c")])

    def test_deep_extensions_drop_every_entry(self):
        value = field(0x1A, b"x")
        for _ in range(100):
            value = field(0x2A, field(0x0A, field(0x0A, b"k") + field(0x12, value)))
        extensions = field(0x0A, field(0x0A, b"deep") + field(0x12, value))
        ce = field(0x0A, b"1") + field(0x3A, extensions)  # TopicEventCERequest{id, extensions (7)}
        request = (field(0x12, field(0x0A, b"e1") + field(0x1A, ce))  # entries: {entry_id, cloud_event}
                   + field(0x12, field(0x0A, b"e2") + field(0x1A, field(0x0A, b"2")))
                   + field(0x22, b"orders") + field(0x2A, b"pubsub"))
        [res] = h2_raw(self.h.app_port, {"requests": [{
            "headers": {":path": "/dapr.proto.runtime.v1.AppCallback/OnBulkTopicEvent"},
            "body": base64.b64encode(grpc_frame(request)).decode()}]})["results"]
        self.assertEqual(Protocol.status_of(res), OK)
        # TopicEventBulkResponse: statuses (1) = {entry_id (1), status (2) DROP}
        body = unb64(res["body"])[5:]
        self.assertEqual(body, field(0x0A, field(0x0A, b"e1") + b"\x10\x02")
                         + field(0x0A, field(0x0A, b"e2") + b"\x10\x02"))


class Bounds(unittest.TestCase):
    """What a gRPC delivery can make the function hold: entries up to the
    subscription's maxMessagesCount, metadata entries and extensions up to
    OFCTX_MAX_METADATA, and what unpacking takes within a multiple of the
    message and within the bodies' budget (OFCTX_MAX_BODIES_SIZE)."""

    BUDGET_MIB = 16

    @classmethod
    def setUpClass(cls):
        context = json.loads(json.dumps(BULK_CONTEXT))
        context["inputs"]["orders"]["metadata"]["bulkSubscribeMaxMessagesCount"] = "100000"
        context["inputs"]["kafka"] = CONTEXT["inputs"]["kafka"]
        cls.h = GrpcHarness(context, env={"OFCTX_MAX_METADATA": "3",
                                          "OFCTX_MAX_BODIES_SIZE": "%dMi" % cls.BUDGET_MIB})

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def raw(self, method, message):
        [res] = h2_raw(self.h.app_port, {"requests": [{
            "headers": {":path": "/dapr.proto.runtime.v1.AppCallback/" + method},
            "body": base64.b64encode(grpc_frame(message)).decode()}]})["results"]
        return Protocol.status_of(res), unb64(res["body"])[5:]

    def test_binding_metadata_beyond_the_limit_is_refused(self):
        md = {"a": "1", "b": "2", "c": "3"}
        self.assertEqual(self.h.call("OnBindingEvent", binding({"return": 200}, md))["code"], OK)
        r = self.h.call("OnBindingEvent", binding({"return": 200}, dict(md, d="4")))
        self.assertEqual(r["code"], RESOURCE_EXHAUSTED, r)
        self.assertIn("OFCTX_MAX_METADATA", r["details"])

    def test_entries_and_extensions_beyond_the_limit_are_dropped(self):
        four = {k: {"stringValue": k} for k in "abcd"}
        r = bulk_call(self.h, [bulk_entry("ok", {"return": 200}),
                               dict(bulk_entry("md", {"return": 200}), metadata={k: k for k in "abcd"}),
                               bulk_entry("ext", {"return": 200}, extensions={"fields": four})])
        self.assertEqual({s["entryId"]: s["status"] for s in r["response"]["statuses"]},
                         {"ok": "SUCCESS", "md": "DROP", "ext": "DROP"})
        r = self.h.call("OnTopicEvent", topic_event({"return": 200}, extensions={"fields": four}))
        self.assertEqual(r["response"]["status"], "DROP")

    def test_hostile_messages_hold_no_more_than_the_budget(self):
        before = rss_kib(self.h.fn, "VmHWM")
        if before is None:
            self.skipTest("the resident memory of a function under valgrind or ASan is not its own")
        topic = field(0x22, b"orders") + field(0x2A, b"pubsub")
        # 100 000 empty entries in 200 KB: as many as the subscription lets
        # Dapr send, each an allocation of protobuf-c's and an invocation
        empty_bulk = field(0x12, b"") * 100000 + topic
        # 200 001 such entries: more than the subscription's
        too_many = field(0x12, b"") * 100001 + topic
        # 2 000 000 empty metadata entries in 4 MB
        metadata_flood = field(0x0A, b"kafka-in") + field(0x1A, b"") * 2000000
        codes = []
        for _ in range(2):
            codes.append(self.raw("OnBulkTopicEvent", empty_bulk)[0])
            codes.append(self.raw("OnBulkTopicEvent", too_many)[0])
            codes.append(self.raw("OnBindingEvent", metadata_flood)[0])
        grown_mib = (rss_kib(self.h.fn, "VmHWM") - before) / 1024
        self.assertLess(grown_mib, 3 * self.BUDGET_MIB)
        self.assertEqual(codes, [RESOURCE_EXHAUSTED] * 6)
        # and Dapr's own calls still pass
        self.assertEqual(self.h.call("OnBindingEvent", binding({"return": 200}))["code"], OK)


TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


class TracingOverGrpc(unittest.TestCase):
    """W3C Trace Context over gRPC: from the AppCallback call's metadata or
    the topic event's extensions, to the metadata of each Dapr API call."""

    @classmethod
    def setUpClass(cls):
        context = dict(CONTEXT, pluginsTracing={"enabled": True, "provider": {"name": "opentelemetry"},
                                                "baggage": {"team": "a"}})
        cls.h = GrpcHarness(context)

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def setUp(self):
        self.h.clear_received()

    def assert_continued(self, call, trace):
        md = call["metadata"]
        parts = md.get("traceparent", "").split("-")
        self.assertEqual(len(parts), 4, md)
        self.assertEqual((parts[0], parts[1], parts[3]), ("00", trace, "01"))
        self.assertRegex(parts[2], "^[0-9a-f]{16}$")
        self.assertNotEqual(parts[2], PARENT)
        self.assertEqual(md.get("baggage"), "team=a")
        return parts[2]

    def test_call_metadata_continues_in_every_send(self):
        cmd = {"send": ["out", "pub"], "id": "g1"}
        r = self.h.call("OnBindingEvent", binding(cmd),
                        metadata={"traceparent": "00-%s-%s-01" % (TRACE, PARENT), "tracestate": "rojo=1"})
        self.assertEqual(r["code"], OK)
        calls = self.h.received()
        self.assertEqual([c["method"] for c in calls], ["InvokeBinding", "PublishEvent"])
        spans = {self.assert_continued(c, TRACE) for c in calls}
        self.assertEqual(len(spans), 2)
        self.assertEqual([c["metadata"].get("tracestate") for c in calls], ["rojo=1", "rojo=1"])
        self.h.clear_received()
        r = self.h.call("OnBindingEvent", binding({"publish_bulk": ["pubsub", "alerts"], "entries": [{"data": "x"}]}),
                        metadata={"traceparent": "00-%s-%s-01" % (TRACE, PARENT)})
        self.assertEqual(r["code"], OK)
        [bulk] = self.h.received()
        self.assertEqual(bulk["method"], "BulkPublishEvent")
        self.assert_continued(bulk, TRACE)
        self.assertNotIn("tracestate", bulk["metadata"])

    def test_topic_event_extensions_continue(self):
        other = "0af7651916cd43dd8448eb211c80319c"
        ext = {"fields": {"traceparent": {"stringValue": "00-%s-b7ad6b7169203331-01" % other},
                          "tracestate": {"stringValue": "congo=t61"}}}
        r = self.h.call("OnTopicEvent", topic_event({"send": ["out"], "id": "g2"}, extensions=ext))
        self.assertEqual(r["response"]["status"], "SUCCESS")
        [inv] = self.h.received()
        self.assert_continued(inv, other)
        self.assertEqual(inv["metadata"].get("tracestate"), "congo=t61")


class BulkPublishOverGrpc(unittest.TestCase):
    """ofctx_publish_bulk as Dapr/BulkPublishEvent: bytes as they are,
    failedEntries named, BulkPublishEventAlpha1 before Dapr 1.17."""

    CMD = {"publish_bulk": ["pubsub", "alerts"],
           "entries": [{"id": "a", "data": "{\"n\":1}"}, {"id": "b", "data": "hi", "type": "text/csv"}]}

    def test_entries_and_failures(self):
        h = GrpcHarness(CONTEXT)
        try:
            self.assertEqual(h.call("OnBindingEvent", binding(self.CMD))["code"], OK)
            [call] = h.received()
            self.assertEqual((call["method"], call["request"]["pubsubName"], call["request"]["topic"]),
                             ("BulkPublishEvent", "pubsub", "alerts"))
            self.assertEqual([(e["entryId"], unb64(e["event"]), e["contentType"]) for e in call["request"]["entries"]],
                             [("a", b'{"n":1}', "application/json"), ("b", b"hi", "text/csv")])
            h.clear_received()
            h.faults([{"method": "BulkPublishEvent", "failEntries": ["b"], "times": 1}])
            self.assertEqual(h.call("OnBindingEvent", binding(self.CMD))["code"], INTERNAL)
            self.assertEqual(len(h.received()), 1)
            wait_until(lambda: "failed=[b]" in h.log(), "the failed entry in the send's callback")
        finally:
            h.finish()

    def test_before_dapr_1_17_the_alpha1_method(self):
        h = GrpcHarness(CONTEXT, fake_args=["--no-bulk-v1", "1"])
        try:
            self.assertEqual(h.call("OnBindingEvent", binding(self.CMD))["code"], OK)
            self.assertEqual([c["method"] for c in h.received()], ["BulkPublishEventAlpha1"])
        finally:
            h.finish()


class MetadataOverGrpc(unittest.TestCase):
    """Each request's metadata map: the output's entries, then the call's
    (which win), past the eight the sink keeps on its stack."""

    def test_more_entries_than_the_stack_holds(self):
        context = json.loads(json.dumps(CONTEXT))
        md = {"m%d" % i: "v%d" % i for i in range(9)}
        context["outputs"]["out"]["metadata"] = md
        context["outputs"]["pub"]["metadata"] = md
        h = GrpcHarness(context)
        try:
            cmd = {"send_opts": {"output": "out", "data": "x", "metadata": ["m0", "call"]}}
            self.assertEqual(h.call("OnBindingEvent", binding(cmd))["code"], OK)
            self.assertEqual(h.call("OnBindingEvent", binding({"send": ["pub"], "id": "p"}))["code"], OK)
            inv, pub = h.received()
            self.assertEqual((inv["method"], pub["method"]), ("InvokeBinding", "PublishEvent"))
            self.assertEqual(inv["request"]["metadata"], dict(md, m0="call"))
            self.assertEqual(pub["request"]["metadata"], md)
        finally:
            h.finish()


class BatchOverGrpc(unittest.TestCase):
    def test_a_batch_function_takes_the_bulk_call_at_once(self):
        h = GrpcHarness(BULK_CONTEXT, env={"OFCTX_PROBE_BATCH": "1"})
        try:
            r = bulk_call(h, [bulk_entry("ok", {"return": 200, "batch_report": "pub"}),
                              bulk_entry("drop", {"return": 400}), bulk_entry("left", {"return": 7}),
                              {"entryId": "raw", "bytes": b64({"return": 200}), "contentType": "application/json"}])
            self.assertEqual(r["code"], OK, r)
            self.assertEqual({s["entryId"]: s["status"] for s in r["response"]["statuses"]},
                             {"ok": "SUCCESS", "drop": "DROP", "left": "RETRY", "raw": "SUCCESS"})
            [pub] = h.received()
            self.assertEqual(json.loads(unb64(pub["request"]["data"])), {"entries": 4})
        finally:
            h.finish()


class Knative(unittest.TestCase):
    def test_a_knative_function_serves_http_and_sends_over_grpc(self):
        # APP_PROTOCOL=grpc tells how Dapr would call the app; a Knative
        # function is called by its users over HTTP, and sends over gRPC
        context = {"name": "probe", "runtime": "Knative", "outputs": CONTEXT["outputs"]}
        h = GrpcHarness(context, binary="knative_probe")
        try:
            status, _, _ = http("POST", h.app + "/?send=pub", '{"k":1}', {"Content-Type": "application/json"})
            self.assertEqual(status, 200)
            [pub] = h.received()
            self.assertEqual((pub["method"], pub["request"]["topic"]), ("PublishEvent", "alerts"))
            self.assertEqual(json.loads(unb64(pub["request"]["data"])), {"k": 1})
            self.assertIn("protocol=http sends=grpc", h.log())
        finally:
            h.finish()


class Drain(unittest.TestCase):
    def test_sigterm_settles_calls_in_flight_then_exits_0(self):
        h = GrpcHarness(CONTEXT, fake_args=["--api-delay-ms", "700"])
        try:
            results = {}

            def run():
                results["r"] = h.load("OnBindingEvent",
                                      [{"request": binding({"send": ["pub"], "id": "d%d" % i})} for i in range(8)], 8)
            t = threading.Thread(target=run)
            t.start()
            wait_until(lambda: len(h.received()) == 8, "the sends in flight")
            h.fn.send_signal(signal.SIGTERM)
            t.join(30)
            self.assertEqual([r["code"] for r in results["r"]], [OK] * 8)
            self.assertEqual(h.fn.wait(30), 0, h.log())
            self.assertIn("stopped", h.log())
        finally:
            h.close()


class Peers(unittest.TestCase):
    def test_no_app_token_set_takes_calls_without_one(self):
        h = GrpcHarness(CONTEXT)
        try:
            self.assertEqual(h.call("OnBindingEvent", binding({"return": 200}))["code"], OK)
        finally:
            h.finish()

    def test_wrong_api_token_fails_the_send_once(self):
        h = GrpcHarness(CONTEXT, api_token="api-secret", env={"DAPR_API_TOKEN": "wrong"})
        try:
            r = h.call("OnBindingEvent", binding({"send": ["pub"], "id": "tok"}))
            self.assertEqual(r["code"], INTERNAL)
            self.assertEqual([c["refused"] for c in h.received()], ["UNAUTHENTICATED"])
        finally:
            h.finish()

    def test_an_http_app_sends_over_grpc_when_the_sidecar_has_a_grpc_port(self):
        # DAPR_GRPC_PORT set (as Dapr sets it in every app) and no
        # OFCTX_DAPR_PROTOCOL: sends go over gRPC, whatever the app's protocol
        h = GrpcHarness(CONTEXT, env={"APP_PROTOCOL": "http"})
        try:
            status, _, _ = http("POST", h.app + "/kafka-in", '{"send":["pub"],"id":"x"}')
            self.assertEqual(status, 200)
            [pub] = h.received()
            self.assertEqual(json.loads(unb64(pub["request"]["data"])), {"id": "x"})
            self.assertIn("protocol=http sends=grpc", h.log())
        finally:
            h.finish()

    def test_without_a_grpc_port_sends_go_over_http(self):
        h = GrpcHarness(CONTEXT, env={"DAPR_GRPC_PORT": ""})
        try:
            r = h.call("OnBindingEvent", binding({"send": ["pub"], "id": "h"}))
            self.assertEqual(r["code"], INTERNAL)  # the fake serves no HTTP Dapr API
            self.assertEqual(h.received(), [])
            self.assertIn("protocol=grpc sends=http", h.log())
        finally:
            h.finish()

    def test_sends_over_http_when_asked(self):
        h = GrpcHarness(CONTEXT, env={"OFCTX_DAPR_PROTOCOL": "http"})
        try:
            # the fake serves no HTTP Dapr API: the send fails over HTTP, and
            # nothing reaches its gRPC API
            r = h.call("OnBindingEvent", binding({"send": ["pub"], "id": "h"}))
            self.assertEqual(r["code"], INTERNAL)
            self.assertEqual(h.received(), [])
            self.assertIn("sends=http", h.log())
        finally:
            h.finish()

    def test_a_silent_sidecar_is_left_for_a_new_connection(self):
        # a peer that takes the connection and never sends a byte (a sidecar
        # gone without a reset): each attempt times out, and each retry
        # opens a new connection rather than waiting on the dead one
        hole = socket.socket()
        hole.bind(("127.0.0.1", 0))
        hole.listen(16)
        accepted = []

        def accept():
            while True:
                try:
                    conn, _ = hole.accept()
                except OSError:
                    return
                accepted.append(conn)
        threading.Thread(target=accept, daemon=True).start()
        h = GrpcHarness(CONTEXT, start=False)
        try:
            h.grpc_port = hole.getsockname()[1]
            h.start({"OFCTX_DAPR_WAIT_MS": "0", "OFCTX_SEND_TIMEOUT_MS": "300", "OFCTX_SEND_ATTEMPTS": "3"})
            r = h.call("OnBindingEvent", binding({"send": ["pub"], "id": "silent"}))
            self.assertEqual(r["code"], INTERNAL)
            # the accepting thread may append the last connection just after the answer
            wait_until(lambda: len(accepted) >= 3, "three connections")
            self.assertEqual(len(accepted), 3)
            wait_until(lambda: "the sidecar did not answer in time" in h.log(), "the send's error")
        finally:
            h.finish()
            hole.close()
            for conn in accepted:
                conn.close()

    def test_only_a_trailer_ends_a_call(self):
        # a grpc-status in headers that do not end the stream is no answer:
        # reset after it, or ended without a trailer, the send failed and
        # the event is not acknowledged; a trailers-only answer still is one
        h = GrpcHarness(CONTEXT)
        try:
            cases = [  # fault, the event's answer, the attempts' faults
                ({"h2": "statusThenReset"}, INTERNAL, ["statusThenReset"]),
                ({"h2": "statusThenEnd"}, INTERNAL, ["statusThenEnd"]),
                # ENHANCE_YOUR_CALM is RESOURCE_EXHAUSTED, tried again
                ({"h2": "statusThenReset", "resetCode": 11}, OK, ["statusThenReset", None]),
                ({"h2": "trailersOnly"}, OK, ["trailersOnly"]),
            ]
            for fault, code, attempts in cases:
                with self.subTest(**fault):
                    h.clear_received()
                    h.faults([dict(fault, method="PublishEvent")])
                    r = h.call("OnBindingEvent", binding({"send": ["pub"], "id": "t"}))
                    self.assertEqual(r["code"], code)
                    self.assertEqual([c.get("refused") for c in h.received()], attempts)
            wait_until(lambda: "the sidecar reset the call (HTTP/2 INTERNAL_ERROR) before its status"
                       in h.log(), "the reset send's error")
            self.assertIn("the sidecar ended the call without a status", h.log())
        finally:
            h.finish()

    def test_a_grpc_status_past_the_codes_is_unknown(self):
        # atoi read "4294967296" as 0 (OK), and "4294967310" as 14, retried
        h = GrpcHarness(CONTEXT)
        try:
            for status in ("4294967296", "4294967310", "-0", "0x0"):
                with self.subTest(status=status):
                    h.clear_received()
                    h.faults([{"method": "PublishEvent", "h2": "trailersOnly", "grpcStatus": status, "times": 2}])
                    r = h.call("OnBindingEvent", binding({"send": ["pub"], "id": "s"}))
                    self.assertEqual(r["code"], INTERNAL)
                    self.assertEqual(len(h.received()), 1)  # UNKNOWN: not tried again
            wait_until(lambda: "grpc_status=2" in h.log(), "the send's status")
        finally:
            h.finish()

    def test_sidecar_gone_fails_sends_after_the_retries(self):
        h = GrpcHarness(CONTEXT, start=False)
        try:
            h.grpc_port = 1  # nothing listens there
            h.start({"OFCTX_DAPR_WAIT_MS": "0"})
            r = h.call("OnBindingEvent", binding({"send": ["pub"], "id": "gone"}))
            self.assertEqual(r["code"], INTERNAL)
            wait_until(lambda: "cannot connect to the sidecar's gRPC port" in h.log(), "the send's error")
            self.assertIn("attempts=4", h.log())
        finally:
            h.finish()


if __name__ == "__main__":
    unittest.main()
