# SPDX-License-Identifier: Apache-2.0
"""The Knative runtime end to end: tests/functions/knative_probe.c in both
signatures, driven by curl, raw sockets and the CloudEvents JavaScript SDK
(tests/knative), with the Dapr sidecar emulator behind its outputs.

The first block mirrors the Go framework's own Knative tests (its
framework_test.go and the sync e2e cases): an HTTP function, a CloudEvent
function, the OpenFunction signature over plain HTTP and over CloudEvents,
and path variables."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BEYOND_JANSSON, BIN_DIR, function_command, Harness, free_port, http, raw_exchange, wait_until  # noqa: E402

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "knative")
COMPONENTS = {"bindings": [{"name": "kafka-out", "type": "bindings.kafka", "direction": "output"}]}
OUTPUTS = {"out": {"componentName": "kafka-out", "componentType": "bindings.kafka", "operation": "create"}}

# The binary-mode event of the Go framework's TestCloudEventFunction.
GO_CE_HEADERS = {
    "Ce-Specversion": "1.0",
    "Ce-Type": "cloudevents.openfunction.samples.helloworld",
    "Ce-Source": "cloudevents.openfunction.samples/helloworldsource",
    "Ce-Id": "536808d3-88be-4077-9d7a-a3f162705f79",
    "Content-Type": "application/json",
}


def setUpModule():
    """The CloudEvents SDK, installed by scripts/test.sh (npm ci, locked)
    before any test runs: no test fetches anything."""
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "cloudevents")):
        raise RuntimeError("tests/knative/node_modules is missing: scripts/test.sh installs it "
                           "(npm ci in tests/knative)")


def context(pattern="/", outputs=None):
    return {"name": "probe", "version": "v1", "runtime": "Knative", "httpPattern": pattern,
            "outputs": outputs or {}}


def knative(pattern="/", kind="ofn", methods=None, outputs=None, env=None):
    fenv = {"PROBE_KIND": kind}
    if methods:
        fenv["PROBE_METHODS"] = methods
    fenv.update(env or {})
    return Harness(context(pattern, outputs), COMPONENTS, env=fenv, binary="knative_probe",
                   startup=False)


def curl(url, *args):
    """curl itself: (status, lower-cased headers, body bytes)."""
    with tempfile.NamedTemporaryFile() as head, tempfile.NamedTemporaryFile() as body:
        p = subprocess.run(["curl", "-sS", "-D", head.name, "-o", body.name, "-w", "%{http_code}",
                            *args, url], capture_output=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError("curl failed: " + p.stderr.decode())
        headers = {}
        for line in head.read().decode("latin-1").split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        return int(p.stdout), headers, body.read()


def sdk(url, mode, event):
    """One event sent by the CloudEvents JavaScript SDK's HTTP emitter."""
    p = subprocess.run(["node", os.path.join(NODE_DIR, "ce_client.js"), url, mode, json.dumps(event)],
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("ce_client failed: " + p.stderr.decode())
    return json.loads(p.stdout)


def header_args(headers):
    args = []
    for k, v in headers.items():  # curl sends "Name;" as an empty header
        args += ["-H", "%s: %s" % (k, v) if v else "%s;" % k]
    return args




class GoFrameworkMirror(unittest.TestCase):
    """framework_test.go and the sync e2e cases, one function per process."""

    def test_http_function(self):
        h = knative("/http", kind="http")
        try:
            status, _, body = curl(h.app + "/http")
            self.assertEqual((status, body), (200, b"Hello World!"))
        finally:
            h.close()

    def test_cloudevent_function(self):
        h = knative("/ce")
        try:
            status, headers, body = curl(h.app + "/ce", "-X", "POST", *header_args(GO_CE_HEADERS),
                                         "--data", '{"msg":"Hello World!"}')
            self.assertEqual(status, 200)
            self.assertEqual(headers["x-openfunction-status"], "success")
            self.assertEqual(body, b'{"msg":"Hello World!"}')
        finally:
            h.close()

    def test_multiple_functions(self):
        # http at /http (GET), ofn at /ofn (GET, POST)
        h1 = knative("/http", kind="http", methods="GET")
        h2 = knative("/ofn", methods="GET,POST")
        try:
            self.assertEqual(curl(h1.app + "/http")[2], b"Hello World!")
            status, headers, _ = curl(h1.app + "/http", "-X", "POST", "--data", "x")
            self.assertEqual((status, headers["allow"]), (405, "GET"))
            status, headers, body = curl(h2.app + "/ofn")
            self.assertEqual((status, body), (200, b"hello there"))
            self.assertEqual(headers["x-openfunction-status"], "success")
            status, _, _ = curl(h2.app + "/ofn", "-X", "POST", *header_args(GO_CE_HEADERS),
                                "--data", '{"msg":"Hello World!"}')
            self.assertEqual(status, 200)
            self.assertEqual(curl(h2.app + "/ofn", "-X", "PUT", "--data", "x")[0], 405)
        finally:
            h1.close()
            h2.close()

    def test_path_variables(self):
        """sync-http-variables: every way in says hello to the path variable."""
        ev = {"type": "t", "source": "/s", "data": {"hello": "world"}}
        h1 = knative("/hello/{name}", kind="http")
        h2 = knative("/bar/{name}")
        try:
            self.assertEqual(curl(h1.app + "/hello/openfunction")[2], b"hello: openfunction")
            self.assertEqual(curl(h2.app + "/bar/openfunction")[2], b"hello: openfunction")
            for mode in ("binary", "structured"):
                r = sdk(h2.app + "/bar/openfunction", mode, ev)
                self.assertEqual(r["body"], "hello: openfunction", mode)
                self.assertEqual(r["headers"]["x-openfunction-status"], "success")
            status, _, body = curl(h2.app + "/bar/openfunction", *header_args(GO_CE_HEADERS),
                                   "--data", "{}")
            self.assertEqual((status, body), (200, b"hello: openfunction"))
        finally:
            h1.close()
            h2.close()


class OpenFunctionSignature(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = knative("/fn/{name}", env={"K_SERVICE": "svc", "K_REVISION": "svc-00001",
                                           "K_CONFIGURATION": "svc-cfg"})
        cls.url = cls.h.app + "/fn/x"

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def describe(self, *args, path="/fn/x"):
        status, headers, body = curl(self.h.app + path + "?describe=1", *args)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_plain_request_is_data(self):
        d = self.describe("-X", "POST", "-H", "Content-Type: text/plain", "-H", "X-Trace: 7",
                          "--data-binary", "just text", path="/fn/J%C3%BCrgen")
        self.assertEqual(d["kind"], "http")
        self.assertEqual(d["data"], "just text")
        self.assertEqual(d["contentType"], "text/plain")
        self.assertEqual(d["attributes"], {})
        self.assertEqual(d["name"], "J\u00fcrgen")
        self.assertEqual(d["headers"], {"X-Trace": "7"})
        self.assertEqual(d["input"], "http")

    def test_query_parameters(self):
        status, _, body = curl(self.url + "?describe=1&q=a+b%26c&q=second")
        d = json.loads(body)
        self.assertEqual(d["q"], "a b&c")
        self.assertEqual(d["query"], "describe=1&q=a+b%26c&q=second")

    def test_binary_event_attributes_are_decoded(self):
        d = self.describe("-X", "POST", *header_args(dict(GO_CE_HEADERS, **{
            "ce-comexampleextension1": "caf%C3%A9%20%22q%22", "ce-subject": '"quoted \\" one"',
            "ce-time": "2018-04-05T03:56:24Z"})), "--data", '{"msg":1}')
        self.assertEqual(d["kind"], "cloudevent")
        self.assertEqual(d["data"], '{"msg":1}')
        self.assertEqual(d["contentType"], "application/json")
        self.assertEqual(d["attributes"]["comexampleextension1"], 'caf\u00e9 "q"')
        self.assertEqual(d["attributes"]["subject"], 'quoted " one')
        self.assertEqual(d["attributes"]["id"], GO_CE_HEADERS["Ce-Id"])
        self.assertEqual(d["attributes"]["datacontenttype"], "application/json")

    def test_structured_event(self):
        event = {"specversion": "1.0", "type": "com.example.someevent", "source": "/mycontext",
                 "subject": None, "id": "C234-1234-1234", "time": "2018-04-05T17:31:00Z",
                 "comexampleextension1": "value", "comexampleothervalue": 5,
                 "datacontenttype": "application/json", "data": {"appinfoA": "abc", "appinfoB": 123}}
        d = self.describe("-H", "Content-Type: application/cloudevents+json; charset=UTF-8",
                          "--data", json.dumps(event))
        self.assertEqual(d["kind"], "cloudevent")
        self.assertEqual(json.loads(d["data"]), event["data"])
        self.assertEqual(d["attributes"]["comexampleothervalue"], "5")
        self.assertNotIn("subject", d["attributes"])
        b64 = dict(event, datacontenttype="application/octet-stream", data_base64="AAEC/w==")
        del b64["data"]
        d = self.describe("-H", "Content-Type: application/cloudevents+json", "--data", json.dumps(b64))
        self.assertEqual((d["length"], d["data"]), (4, "(not UTF-8)"))
        text = dict(event, datacontenttype="text/plain", data="plain words")
        d = self.describe("-H", "Content-Type: application/cloudevents+json", "--data", json.dumps(text))
        self.assertEqual(d["data"], "plain words")

    def test_structured_data_beyond_jansson_is_kept_exactly(self):
        # RFC 8259 JSON that jansson cannot hold: the event is taken, and its
        # data reaches the function byte for byte.
        for doc in BEYOND_JANSSON:
            body = ('{"specversion":"1.0","id":"1","source":"/s","type":"t",'
                    '"datacontenttype":"application/json","data":' + doc + '}')
            d = self.describe("-H", "Content-Type: application/cloudevents+json", "--data-binary", body)
            self.assertEqual(d["kind"], "cloudevent")
            self.assertEqual(d["data"], doc)

    def test_invalid_events_get_400_with_a_reason(self):
        base = {"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/s", "ce-type": "t"}
        cases = [
            ({k: v for k, v in base.items() if k != "ce-id"}, "has no id"),
            ({k: v for k, v in base.items() if k != "ce-source"}, "has no source"),
            ({k: v for k, v in base.items() if k != "ce-type"}, "has no type"),
            (dict(base, **{"ce-specversion": "0.3"}), "specversion \\\"0.3\\\" is not supported"),
            ({k: v for k, v in base.items() if k != "ce-specversion"}, "specversion is missing"),
            (dict(base, **{"ce-id": ""}), "id is empty"),
            (dict(base, **{"ce-time": "yesterday"}), "not an RFC 3339 timestamp"),
            (dict(base, **{"ce-datacontenttype": "text/plain"}), "Content-Type header"),
            (dict(base, **{"ce-type": "caf%C0%A0"}), "not UTF-8 text"),
        ]
        for headers, reason in cases:
            status, _, body = curl(self.url, *header_args(headers), "--data", "x")
            self.assertEqual(status, 400, (headers, body))
            self.assertIn(reason, body.decode(), headers)
        structured = [
            ({"specversion": "1.0", "id": "1", "source": "/s"}, "has no type"),
            ({"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "data": 1,
              "data_base64": "AA=="}, "both data and data_base64"),
            ({"specversion": 1.0, "id": "1", "source": "/s", "type": "t"}, "not a string"),
            ({"specversion": "1.0", "id": "1", "source": "/s", "type": "t", "Bad-Name": "x"},
             "lower-case letters and digits"),
            ("[1,2", "is not JSON"),
        ]
        for event, reason in structured:
            status, _, body = curl(self.url, "-H", "Content-Type: application/cloudevents+json",
                                   "--data", event if isinstance(event, str) else json.dumps(event))
            self.assertEqual(status, 400, (event, body))
            self.assertIn(reason, json.loads(body)["error"], event)
        status, _, body = curl(self.url, "-H", "Content-Type: application/cloudevents-batch+json",
                               "--data", "[]")
        self.assertEqual(status, 415, body)
        # a reason that quotes a long non-ASCII media type is still a 415 with a reason
        status, _, body = curl(self.url, "-H", "Content-Type: application/cloudevents+" + "a" * 35 +
                               "\u00e9" * 8, "--data", "{}")
        self.assertEqual(status, 415, body)
        self.assertIn("is not supported", json.loads(body)["error"])

    def test_query_names_that_are_not_text_are_left_out(self):
        status, _, body = curl(self.url + "?describe=1&%FF=1&q=ok")
        self.assertEqual((status, json.loads(body)["q"]), (200, "ok"), body)
        # a NUL byte (%00) in a name or a value leaves that parameter out
        for query in ("q%00=x", "q=a%00b"):
            status, _, body = curl(self.url + "?describe=1&" + query)
            self.assertEqual((status, json.loads(body)["q"]), (200, None), body)

    def test_outcomes_and_status_header(self):
        status, headers, body = curl(self.url + "?return=500&leak=1")
        self.assertEqual((status, headers["x-openfunction-status"], body), (500, "error", b""))
        status, headers, _ = curl(self.url + "?return=400")
        self.assertEqual((status, headers["x-openfunction-status"]), (400, "error"))
        status, headers, _ = curl(self.url + "?return=7")  # unknown codes are errors
        self.assertEqual((status, headers["x-openfunction-status"]), (500, "error"))
        wait_until(lambda: "unknown code" in self.h.log(), "the unknown-code line")
        status, headers, _ = curl(self.url + "?return=0")  # OFCTX_OK is no result
        self.assertEqual((status, headers["x-openfunction-status"]), (500, "error"))
        wait_until(lambda: "a function returns OFCTX_SUCCESS" in self.h.log(), "the hint for 0")

    def test_reply_cloudevent_in_the_mode_of_the_request(self):
        ev = {"type": "com.example.ask", "source": "/client", "data": {"n": 1}}
        binary = sdk(self.url + "?reply_ce=1", "binary", ev)
        self.assertIsNone(binary["replyError"])
        self.assertEqual(binary["headers"]["ce-type"], "probe.reply")
        self.assertEqual(binary["reply"]["inreplyto"], binary["sent"]["id"])
        self.assertEqual(binary["reply"]["data"], "hello: x")
        structured = sdk(self.url + "?reply_ce=1", "structured", ev)
        self.assertTrue(structured["headers"]["content-type"].startswith("application/cloudevents+json"))
        self.assertEqual(structured["reply"]["type"], "probe.reply")
        self.assertEqual(structured["reply"]["source"], "/probe")
        self.assertEqual(structured["reply"]["specversion"], "1.0")
        self.assertEqual(structured["reply"]["inreplyto"], structured["sent"]["id"])

    def test_sdk_attributes_reach_the_function(self):
        # the SDK puts attribute values into headers without percent-encoding
        ev = {"type": "t", "source": "/s", "subject": '50% "off"', "comexampleothervalue": 5,
              "data": {"k": "v\u00e9"}}
        for mode in ("binary", "structured"):
            r = sdk(self.url + "?describe=1", mode, ev)
            d = json.loads(r["body"])
            self.assertEqual(d["kind"], "cloudevent", mode)
            self.assertEqual(json.loads(d["data"]), {"k": "v\u00e9"}, mode)
            self.assertEqual(d["attributes"]["subject"], '50% "off"', mode)
            self.assertEqual(d["attributes"]["comexampleothervalue"], "5", mode)
            self.assertEqual(d["attributes"]["id"], r["sent"]["id"], mode)

    def test_routing_is_exact(self):
        for path in ("/fn", "/fn/", "/fn/x/y", "/", "/other"):
            self.assertEqual(curl(self.h.app + path)[0], 404, path)

    def test_health_and_head(self):
        self.assertEqual(curl(self.h.app + "/healthz")[0], 200)
        self.assertEqual(curl(self.h.app + "/readyz")[0], 200)
        raw = raw_exchange(self.h.app_port, b"HEAD /fn/x HTTP/1.1\r\nHost: x\r\n\r\n"
                                            b"GET /fn/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        # the length of the body HEAD leaves out, then the next answer at once
        self.assertRegex(raw, rb"(?s)^HTTP/1.1 200 OK\r\n.*Content-Length: 8\r\n.*\r\n\r\n"
                              rb"HTTP/1.1 200 OK\r\n.*\r\n\r\nhello: x$")

    def test_knative_names_in_log_lines(self):
        curl(self.url)
        wait_until(lambda: " started " in self.h.log(), "the started line")
        started = [l for l in self.h.log().splitlines() if " started " in l][0]
        for field in ("k_service=svc", "k_revision=svc-00001", "k_configuration=svc-cfg",
                      "runtime=Knative", "path=/fn/{name}"):
            self.assertIn(field, started)


class PlainHTTPSignature(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.h = knative("/h", kind="http")

    @classmethod
    def tearDownClass(cls):
        cls.h.finish()

    def test_status_headers_and_body(self):
        status, headers, body = curl(self.h.app + "/h?status=201&header=X-Made:yes")
        self.assertEqual((status, headers["x-made"], body), (201, "yes", b"Hello World!"))
        self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")
        self.assertNotIn("x-openfunction-status", headers)

    def test_no_cloudevent_decoding(self):
        d = json.loads(curl(self.h.app + "/h?describe=1", *header_args(GO_CE_HEADERS),
                            "--data", "{}")[2])
        self.assertEqual((d["kind"], d["attributes"]), ("http", {}))
        status, _, _ = curl(self.h.app + "/h", "-H", "ce-specversion: 0.3", "--data", "x")
        self.assertEqual(status, 200)  # the function's to judge, not ours

    def test_refused_response_parts(self):
        self.assertEqual(curl(self.h.app + "/h?status=99")[2], b"refused status")
        self.assertEqual(curl(self.h.app + "/h?status=600")[2], b"refused status")
        self.assertEqual(curl(self.h.app + "/h?header=Content-Length:5")[2], b"refused header")
        self.assertEqual(curl(self.h.app + "/h?header=Bad%20Name:x")[2], b"refused header")
        self.assertEqual(curl(self.h.app + "/h?header=X-A:a%0D%0AInjected:1")[2], b"refused header")

    def test_status_lines_name_their_reason(self):
        for code, line in ((410, b"HTTP/1.1 410 Gone\r\n"), (308, b"HTTP/1.1 308 Permanent Redirect\r\n"),
                           (299, b"HTTP/1.1 299 \r\n")):
            raw = raw_exchange(self.h.app_port, b"GET /h?status=%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % code)
            self.assertTrue(raw.startswith(line), raw)

    def test_204_has_no_body(self):
        raw = raw_exchange(self.h.app_port, b"GET /h?status=204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head, _, body = raw.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 204 "), raw)
        self.assertNotIn(b"Content-Length", head)
        self.assertEqual(body, b"")


class Outputs(unittest.TestCase):
    """A Knative function with a Dapr sidecar sends to outputs; the HTTP answer
    waits for the sends and is 500 when one failed."""

    def test_send_then_answer(self):
        for kind in ("ofn", "http"):
            h = knative("/s", kind=kind, outputs=OUTPUTS)
            try:
                status, _, _ = curl(h.app + "/s?send=out", "--data", '{"alert":1}')
                self.assertEqual(status, 200, kind)
                calls = h.received()
                self.assertEqual(len(calls), 1, kind)
                self.assertEqual(json.loads(calls[0]["body"])["data"], {"alert": 1})
                h.clear_received()
                h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 500,
                           "count": 100}])
                status, headers, body = curl(h.app + "/s?send=out", "--data", '{"alert":2}')
                self.assertEqual((status, body), (500, b""), kind)
                self.assertEqual(headers["x-openfunction-status"], "error")
                self.assertEqual(len(h.received()), 4, kind)  # bounded retries
            finally:
                h.close()

    def test_trace_continues_from_a_header_or_a_cloudevent(self):
        trace, other = "4bf92f3577b34da6a3ce929d0e0e4736", "0af7651916cd43dd8448eb211c80319c"
        ctx = dict(context("/s", OUTPUTS), pluginsTracing={"enabled": True,
                                                           "provider": {"name": "opentelemetry"}})
        h = Harness(ctx, COMPONENTS, env={"PROBE_KIND": "ofn"}, binary="knative_probe", startup=False)
        try:
            for args, want in [(["-H", "traceparent: 00-%s-00f067aa0ba902b7-01" % trace], trace),
                               (["-H", "ce-specversion: 1.0", "-H", "ce-id: 1", "-H", "ce-source: s",
                                 "-H", "ce-type: t", "-H", "ce-traceparent: 00-%s-b7ad6b7169203331-01" % other],
                                other)]:
                h.clear_received()
                status, _, _ = curl(h.app + "/s?send=out", "--data", '{"alert":1}', *args)
                self.assertEqual(status, 200)
                [call] = h.received()
                sent = {k.lower(): v for k, v in call["headers"].items()}.get("traceparent", "")
                self.assertEqual(sent.split("-")[1:2], [want], call["headers"])
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()

    def test_sigterm_drains_a_request_in_flight(self):
        h = knative("/s", outputs=OUTPUTS)
        try:
            h.faults([{"path": "/v1.0/bindings/kafka-out", "action": "delay", "ms": 700, "count": 1}])
            result = {}
            t = threading.Thread(target=lambda: result.update(
                zip(("status", "headers", "body"), curl(h.app + "/s?send=out", "--data", "{}"))))
            t.start()
            wait_until(lambda: "ofctx_inflight 1" in http("GET", h.app + "/metrics")[2].decode(),
                       "the request in flight")
            h.fn.send_signal(signal.SIGTERM)
            t.join(30)
            self.assertEqual(result["status"], 200)
            self.assertEqual(h.fn.wait(30), 0)
            self.assertIn("stopping", h.log())
        finally:
            h.close()


class EchoExample(unittest.TestCase):
    """examples/echo with its Knative context: plain HTTP in, plain data out;
    a CloudEvent in either mode in, a CloudEvent in the same mode out."""

    def test_echo(self):
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                               "echo", "context-knative.json")) as f:
            ctx = json.load(f)
        h = Harness(ctx, COMPONENTS, binary="echo", startup=False)
        try:
            url = h.app + ctx["httpPattern"]
            status, headers, body = curl(url, "--data-binary", "hi there")
            self.assertEqual((status, body, headers["x-openfunction-status"]), (200, b"hi there", "success"))
            self.assertNotIn("ce-id", headers)
            for mode in ("binary", "structured"):
                r = sdk(url, mode, {"type": "greeting", "source": "/me", "data": {"hi": 1}})
                self.assertIsNone(r["replyError"], mode)
                reply = r["reply"]
                self.assertEqual((reply["type"], reply["source"], reply["inreplyto"], reply["data"]),
                                 ("dev.libofctx.echo", "/echo", r["sent"]["id"], {"hi": 1}), mode)
                self.assertTrue(reply["datacontenttype"].startswith("application/json"), mode)
            self.assertTrue(r["headers"]["content-type"].startswith("application/cloudevents+json"))
            status, _, body = curl(url, "-H", "ce-specversion: 1.0", "-H", "ce-id: 1", "-H", "ce-type: t",
                                   "--data", "x")
            self.assertEqual(status, 400)
            self.assertEqual(json.loads(body)["error"], "the CloudEvent has no source")
            self.assertEqual(h.stop(), 0)
        finally:
            h.close()


class StartUp(unittest.TestCase):
    def run_probe(self, ctx, env=None):
        fenv = {"PATH": os.environ.get("PATH", ""), "FUNC_CONTEXT": json.dumps(ctx),
                "CONTEXT_MODE": "self-host"}
        fenv.update({k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_"))})
        fenv.update(env or {})
        return subprocess.run(function_command("knative_probe"), env=fenv, capture_output=True,
                              text=True, timeout=30)

    def test_bad_pattern_exits_2(self):
        for pattern, why in (("/a/{1x}", "name is letters"), ("/id/{id:[0-9}", "does not compile"),
                             ("/a{b}", "whole segment")):
            p = self.run_probe(dict(context(pattern), port=str(free_port())))
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(why, p.stderr)

    def test_pattern_variable_wins(self):
        h = knative("/ctx", kind="http", env={"OFCTX_HTTP_PATTERN": "/env/{name}"})
        try:
            self.assertEqual(curl(h.app + "/env/x")[2], b"hello: x")
            self.assertEqual(curl(h.app + "/ctx")[0], 404)
        finally:
            h.close()
        p = self.run_probe(dict(context("/"), port=str(free_port())), {"OFCTX_HTTP_PATTERN": "nope"})
        self.assertEqual(p.returncode, 2)
        self.assertIn("OFCTX_HTTP_PATTERN: \"nope\": it must start with", p.stderr)

    def test_http_function_needs_knative(self):
        p = self.run_probe({"name": "p", "runtime": "Async", "port": str(free_port())},
                           {"PROBE_KIND": "http"})
        self.assertEqual(p.returncode, 2)
        self.assertIn("runs only with runtime \"Knative\"", p.stderr)

    def test_port_variable_wins(self):
        ctx_port, port = free_port(), free_port()
        env = {"PATH": os.environ.get("PATH", ""), "CONTEXT_MODE": "self-host", "PORT": str(port),
               "OFCTX_LISTEN_HOST": "127.0.0.1",
               "FUNC_CONTEXT": json.dumps(dict(context("/"), port=str(ctx_port)))}
        env.update({k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_", "LSAN_"))})
        fn = subprocess.Popen(function_command("knative_probe"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def up():
                try:
                    return http("GET", "http://127.0.0.1:%d/healthz" % port, timeout=2)[0] == 200
                except OSError:
                    return False
            wait_until(up, "the function on PORT")
            with self.assertRaises(OSError):
                http("GET", "http://127.0.0.1:%d/healthz" % ctx_port, timeout=2)
            fn.send_signal(signal.SIGTERM)
            self.assertEqual(fn.wait(30), 0)
        finally:
            if fn.poll() is None:
                fn.kill()
                fn.wait()

if __name__ == "__main__":
    unittest.main()
