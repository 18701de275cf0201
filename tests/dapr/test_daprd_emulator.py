#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Contract tests for tools/daprd_emulator.py.

They check the emulator against daprd's behaviour as README.md next to
this file lists it ("§N" below: its table's rows), black-box: the emulator runs as a subprocess on free ports and
tiny fake apps (http.server in a thread) play the app's part.  Nothing here
uses libofctx.

Run from the repo root:  python3 -m unittest -v tests/dapr/test_daprd_emulator.py
or from anywhere:        python3 /path/to/tests/dapr/test_daprd_emulator.py -v
"""

import base64
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

EMULATOR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                        "daprd_emulator.py")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from harness import free_port  # noqa: E402  (ports below the ephemeral range)
APP_ID = "test-app"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
RFC3339_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

def call(port, method, path, body=None, headers=None, timeout=10):
    """One request on a fresh connection: (status, HTTPResponse headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp, resp.read()
    finally:
        conn.close()


def read_request_body(handler):
    te = (handler.headers.get("Transfer-Encoding") or "").lower()
    if "chunked" in te:
        out = bytearray()
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(out), True
            out += handler.rfile.read(size)
            handler.rfile.readline()
    n = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(n), False


class FakeApp:
    """A tiny app: records every request; answers per (method, path) with a
    configured status/body/headers, or closes the connection (action
    "close"), or sleeps first (delay seconds).  Default: 404 empty."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests = []
        self.routes = {}
        app = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle_any(self):
                body, chunked = read_request_body(self)
                path = self.path.split("?", 1)[0]
                with app.lock:
                    app.requests.append({"method": self.command, "path": self.path,
                                         "headers": list(self.headers.items()), "body": body,
                                         "chunked": chunked})
                    spec = dict(app.routes.get((self.command, path), {}))
                if spec.get("delay"):
                    time.sleep(spec["delay"])
                if spec.get("action") == "close":
                    self.close_connection = True
                    return
                status = spec.get("status", 404)
                payload = spec.get("body", b"")
                self.send_response(status)
                for k, v in spec.get("headers", {}).items():
                    self.send_header(k, v)
                if status not in (204, 304):
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if status not in (204, 304) and self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_HEAD = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def port(self):
        return self.server.server_address[1]

    def set(self, method, path, status=200, body=b"", headers=None, action=None, delay=None):
        with self.lock:
            self.routes[(method, path)] = {"status": status, "body": body, "headers": headers or {},
                                           "action": action, "delay": delay}

    def reqs(self, method=None, path=None):
        with self.lock:
            return [r for r in self.requests
                    if (method is None or r["method"] == method)
                    and (path is None or r["path"].split("?", 1)[0] == path)]

    def clear(self):
        with self.lock:
            self.requests = []

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def header(req, name):
    """Case-insensitive header value from a recorded request, or None."""
    for k, v in req["headers"]:
        if k.lower() == name.lower():
            return v
    return None


class Emulator:
    """The emulator as a subprocess on a free port."""

    def __init__(self, components, app_port, args=(), env=None, wait=True):
        self.dir = tempfile.mkdtemp(prefix="daprd-emulator-test-")
        self.components_path = os.path.join(self.dir, "components.json")
        with open(self.components_path, "w") as f:
            json.dump(components, f)
        self.ready_file = os.path.join(self.dir, "port")
        full_env = {k: v for k, v in os.environ.items() if k not in ("DAPR_API_TOKEN", "APP_API_TOKEN")}
        full_env.update(env or {})
        cmd = [sys.executable, EMULATOR, "--app-port", str(app_port), "--dapr-http-port", "0",
               "--components", self.components_path, "--ready-file", self.ready_file,
               "--app-id", APP_ID] + list(args)
        self.stderr_path = os.path.join(self.dir, "stderr")
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=full_env)
        self.port = None
        self.line = None
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=10):
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None:
                with open(self.stderr_path, "rb") as err:
                    raise AssertionError("emulator exited early: %r" % err.read())
            if time.monotonic() > deadline:
                raise AssertionError("emulator did not become ready")
            time.sleep(0.01)
        with open(self.ready_file) as f:
            self.port = int(f.read().strip())
        self.line = self.proc.stdout.readline().decode()

    def call(self, method, path, body=None, headers=None, timeout=10):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        return call(self.port, method, path, body, headers, timeout)

    def json(self, method, path, body=None, headers=None, timeout=10):
        status, resp, data = self.call(method, path, body, headers, timeout)
        return status, (json.loads(data) if data else None)

    def received(self):
        return self.json("GET", "/emulator/received")[1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def binding_request(data=None, operation="create", metadata=None, omit_data=False):
    doc = {"operation": operation}
    if not omit_data:
        doc["data"] = data
    if metadata is not None:
        doc["metadata"] = metadata
    return json.dumps(doc).encode()


# ---------------------------------------------------------------------------
# §3.1 output bindings, §3 routing, §4.1 health, §5 body limit
# ---------------------------------------------------------------------------

class OutputBindingTest(unittest.TestCase):
    MAX = 2048

    @classmethod
    def setUpClass(cls):
        components = {"bindings": [
            {"name": "kafka-out", "type": "bindings.kafka", "direction": "output"},
            {"name": "nm", "type": "bindings.http", "response": {"body": "pong", "headers": {"X-Reply": "yes"}}},
            {"name": "nm404", "type": "bindings.http", "response": {"status": 404, "body": "nope"}},
            {"name": "in-only", "type": "bindings.kafka", "direction": "input"},
        ]}
        cls.emu = Emulator(components, free_port(), ["--max-body-size", str(cls.MAX)])
        cls.addClassCleanup(cls.emu.stop)

    def post(self, name, body, method="POST"):
        return self.emu.call(method, "/v1.0/bindings/" + name, body)

    def last(self):
        return self.emu.received()[-1]

    def assert_error(self, result, status, code, message):
        st, resp, data = result
        self.assertEqual(st, status, data)
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        self.assertEqual(json.loads(data), {"errorCode": code, "message": message})

    def test_stdout_line_and_ready_file(self):
        self.assertEqual(self.emu.line, "daprd-emulator listening on 127.0.0.1:%d\n" % self.emu.port)

    def test_kafka_create_is_204_and_string_payload_keeps_quotes(self):
        st, resp, data = self.post("kafka-out", binding_request("hello"))
        self.assertEqual((st, data), (204, b""))
        last = self.last()
        self.assertEqual(last["status"], 204)
        self.assertEqual(last["payload"], '"hello"')
        self.assertEqual(last["binding"], "kafka-out")
        self.assertEqual(last["operation"], "create")

    def test_payload_is_go_json_marshal(self):
        body = (b'{"operation":"create","data":{"z":1,"a":{"y":"<b>&\\u2028","x":[1.0,2.50,1e21,1e-7,'
                b'12345678901234567890]}},"metadata":{"key":"k"}}')
        self.assertEqual(self.post("kafka-out", body)[0], 204)
        self.assertEqual(self.last()["payload"],
                         '{"a":{"x":[1,2.5,1e+21,1e-7,12345678901234567000],'
                         '"y":"\\u003cb\\u003e\\u0026\\u2028"},"z":1}')
        self.assertEqual(self.last()["metadata"], {"key": "k"})

    def test_payload_null_when_data_absent_or_null(self):
        self.assertEqual(self.post("kafka-out", binding_request(omit_data=True))[0], 204)
        self.assertEqual(self.last()["payload"], "null")
        self.assertEqual(self.post("kafka-out", binding_request(None))[0], 204)
        self.assertEqual(self.last()["payload"], "null")

    def test_put_is_accepted(self):
        self.assertEqual(self.post("kafka-out", binding_request(7), method="PUT")[0], 204)
        self.assertEqual(self.last()["payload"], "7")

    def test_field_names_match_case_insensitively(self):
        self.assertEqual(self.post("kafka-out", b'{"Operation":"create","DATA":"x"}')[0], 204)
        self.assertEqual(self.last()["payload"], '"x"')

    def test_http_binding_200_with_metadata_headers(self):
        st, resp, data = self.post("nm", binding_request({"q": 1}, operation="get"))
        self.assertEqual((st, data), (200, b"pong"))
        raw = dict(resp.getheaders())
        self.assertEqual(raw.get("Metadata.statuscode"), "200")
        self.assertEqual(raw.get("Metadata.status"), "200 OK")
        self.assertEqual(raw.get("Metadata.x-Reply"), "yes")
        self.assertEqual(raw.get("Content-Type"), "application/json")
        self.assertEqual(self.last()["payload"], '{"q":1}')

    def test_http_binding_response_can_be_changed(self):
        st, _, _ = self.emu.call("PUT", "/emulator/bindings/nm/response", {"echo": True})
        self.assertEqual(st, 204)
        try:
            st, _, data = self.post("nm", binding_request("hi", operation="post"))
            self.assertEqual((st, data), (200, b'"hi"'))
        finally:
            self.emu.call("PUT", "/emulator/bindings/nm/response", {"body": "pong", "headers": {"X-Reply": "yes"}})

    def test_http_binding_non_2xx_is_500_with_metadata(self):
        result = self.post("nm404", binding_request(None, operation="get"))
        self.assert_error(result, 500, "ERR_INVOKE_OUTPUT_BINDING",
                          "error invoking output binding nm404: received status code 404")
        self.assertEqual(dict(result[1].getheaders()).get("Metadata.statuscode"), "404")
        st, _, data = self.post("nm404", binding_request(None, operation="get",
                                                         metadata={"errorIfNot2XX": "false"}))
        self.assertEqual((st, data), (200, b"nope"))

    def test_http_binding_unsupported_operation(self):
        self.assert_error(self.post("nm", binding_request(1, operation="frob")), 500,
                          "ERR_INVOKE_OUTPUT_BINDING",
                          "error invoking output binding nm: binding nm does not support operation frob. "
                          "supported operations:create get head post put patch delete options trace")

    def test_missing_operation(self):
        self.assert_error(self.post("kafka-out", b'{"data":1}'), 500, "ERR_INVOKE_OUTPUT_BINDING",
                          "error invoking output binding kafka-out: operation field is missing from request")
        # SendToOutputBinding checks the operation before the binding name.
        self.assert_error(self.post("nope", b'{"data":1,"operation":""}'), 500, "ERR_INVOKE_OUTPUT_BINDING",
                          "error invoking output binding nope: operation field is missing from request")

    def test_unsupported_operation(self):
        self.assert_error(self.post("kafka-out", binding_request(1, operation="get")), 500,
                          "ERR_INVOKE_OUTPUT_BINDING",
                          "error invoking output binding kafka-out: binding kafka-out does not support "
                          "operation get. supported operations:create")

    def test_unknown_binding(self):
        self.assert_error(self.post("nope", binding_request(1)), 500, "ERR_INVOKE_OUTPUT_BINDING",
                          "error invoking output binding nope: couldn't find output binding nope")

    def test_input_only_binding_is_not_an_output(self):
        self.assert_error(self.post("in-only", binding_request(1)), 500, "ERR_INVOKE_OUTPUT_BINDING",
                          "error invoking output binding in-only: couldn't find output binding in-only")

    def test_malformed_json_is_400(self):
        self.assert_error(self.post("kafka-out", b'{"data":'), 400, "ERR_MALFORMED_REQUEST",
                          "failed deserializing HTTP body: unexpected end of JSON input")
        self.assert_error(self.post("kafka-out", b'{"operation":"create"} x'), 400, "ERR_MALFORMED_REQUEST",
                          "failed deserializing HTTP body: invalid character 'x' after top-level value")
        st, _, data = self.post("kafka-out", b'[1]')
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(data)["errorCode"], "ERR_MALFORMED_REQUEST")
        self.assertTrue(json.loads(data)["message"].startswith("failed deserializing HTTP body: json: cannot"))
        st, _, data = self.post("kafka-out", b'{"operation":5}')
        self.assertEqual((st, json.loads(data)["errorCode"]), (400, "ERR_MALFORMED_REQUEST"))

    def test_body_over_max_is_400(self):
        prefix, suffix = b'{"operation":"create","data":"', b'"}'
        exact = prefix + b"x" * (self.MAX - len(prefix) - len(suffix)) + suffix
        self.assertEqual(len(exact), self.MAX)
        self.assertEqual(self.post("kafka-out", exact)[0], 204)
        over = prefix + b"x" * (self.MAX + 100) + suffix
        self.assert_error(self.post("kafka-out", over), 400, "ERR_MALFORMED_REQUEST",
                          "failed deserializing HTTP body: stream too large")

    def test_paths_are_cleaned(self):
        self.assertEqual(self.emu.call("POST", "/v1.0//bindings/kafka-out/", binding_request(1))[0], 204)
        self.assertEqual(self.emu.call("POST", "//v1.0/bindings/./kafka-out", binding_request(1))[0], 204)

    def test_anything_else_is_404_json(self):
        for method, path in (("GET", "/v1.0/bindings/kafka-out"), ("POST", "/v1.0/nothing"),
                             ("POST", "/v1.0/bindings/a/b"), ("GET", "/")):
            with self.subTest(path=path):
                st, resp, data = self.emu.call(method, path, b"{}" if method == "POST" else None)
                self.assertEqual(st, 404)
                self.assertEqual(resp.getheader("Content-Type"), "application/json")
                self.assertEqual(json.loads(data)["errorCode"], "ERR_DIRECT_INVOKE")

    def test_publish_without_any_pubsub_is_400_not_configured(self):
        st, _, data = self.emu.call("POST", "/v1.0/publish/pubsub/topic", b"x")
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(data)["errorCode"], "ERR_PUBSUB_NOT_CONFIGURED")

    def test_healthz_ready_by_default_and_appid_check(self):
        self.assertEqual(self.emu.call("GET", "/v1.0/healthz")[0], 204)
        self.assertEqual(self.emu.call("GET", "/v1.0/healthz/outbound")[0], 204)
        self.assertEqual(self.emu.call("GET", "/v1.0/healthz?appid=" + APP_ID)[0], 204)
        st, _, data = self.emu.call("GET", "/v1.0/healthz?appid=other")
        self.assertEqual((st, json.loads(data)["errorCode"]), (500, "ERR_HEALTH_APPID_NOT_MATCH"))

    def test_received_log(self):
        self.assertEqual(self.emu.call("DELETE", "/emulator/received")[0], 204)
        self.assertEqual(self.emu.received(), [])
        body = binding_request("x")
        self.emu.call("POST", "/v1.0/bindings/kafka-out?a=1&b=2", body, {"X-Test": "t"})
        rec = self.emu.received()
        self.assertEqual(len(rec), 1)
        r = rec[0]
        self.assertEqual((r["method"], r["path"], r["query"]), ("POST", "/v1.0/bindings/kafka-out", "a=1&b=2"))
        self.assertEqual(r["headers"].get("X-Test"), "t")
        self.assertEqual(r["body"], body.decode())
        self.assertIsNone(r["token"])
        self.assertEqual(r["status"], 204)
        self.assertEqual(r["payload"], '"x"')
        self.assertIsNone(r["cloudevent"])

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.emu.port, timeout=5)
        try:
            for _ in range(3):
                conn.request("POST", "/v1.0/bindings/kafka-out", binding_request(1))
                resp = conn.getresponse()
                resp.read()
                self.assertEqual(resp.status, 204)
                self.assertIsNone(resp.getheader("Connection"))
        finally:
            conn.close()


class HttpBindingForwardTest(unittest.TestCase):
    """§6.2: a bindings.http component with a url makes the real request."""

    @classmethod
    def setUpClass(cls):
        cls.remote = FakeApp()
        cls.addClassCleanup(cls.remote.server.shutdown)
        components = {"bindings": [
            {"name": "am", "type": "bindings.http",
             "metadata": [{"name": "url", "value": "http://127.0.0.1:%d/base/" % cls.remote.port}]},
            {"name": "down", "type": "bindings.http", "url": "http://127.0.0.1:%d" % free_port()},
        ]}
        cls.emu = Emulator(components, free_port())
        cls.addClassCleanup(cls.emu.stop)

    def test_post_goes_to_url_and_path_with_headers(self):
        self.remote.set("POST", "/base/api/v2/alerts", 200, b'{"ok":true}', {"X-Remote": "r"})
        st, resp, data = self.emu.call("POST", "/v1.0/bindings/am", binding_request(
            [{"labels": {"a": "b"}}], operation="post",
            metadata={"path": "/api/v2/alerts/", "X-Tenant": "t1", "lower": "not a header"}))
        self.assertEqual((st, data), (200, b'{"ok":true}'))
        self.assertEqual(dict(resp.getheaders()).get("Metadata.x-Remote"), "r")
        req = self.remote.requests[-1]
        headers = {k.lower(): v for k, v in req["headers"]}
        self.assertEqual((req["method"], req["path"]), ("POST", "/base/api/v2/alerts"))
        self.assertEqual(req["body"], b'[{"labels":{"a":"b"}}]')
        self.assertEqual(headers["content-type"], "application/json; charset=utf-8")
        self.assertEqual(headers["x-tenant"], "t1")
        self.assertNotIn("lower", headers)

    def test_create_is_post_and_get_has_no_body(self):
        # no path metadata: the url as it is, its trailing slash kept
        self.remote.set("POST", "/base/", 200)
        self.remote.set("GET", "/base/", 200, b"got")
        self.assertEqual(self.emu.call("POST", "/v1.0/bindings/am", binding_request("x"))[0], 200)
        self.assertEqual(self.remote.requests[-1]["body"], b'"x"')
        st, _, data = self.emu.call("POST", "/v1.0/bindings/am", binding_request("x", operation="get"))
        self.assertEqual((st, data, self.remote.requests[-1]["body"]), (200, b"got", b""))

    def test_remote_error_and_unreachable_remote(self):
        self.remote.set("POST", "/base/bad", 400, b"invalid label set")
        st, _, data = self.emu.call("POST", "/v1.0/bindings/am", binding_request(
            {}, operation="post", metadata={"path": "bad"}))
        self.assertEqual(st, 500)
        self.assertEqual(json.loads(data)["message"],
                         "error invoking output binding am: received status code 400")
        st, _, data = self.emu.call("POST", "/v1.0/bindings/down", binding_request({}, operation="post"))
        self.assertEqual(st, 500)
        self.assertIn("received status code 502", json.loads(data)["message"])


# ---------------------------------------------------------------------------
# §3.2 publish
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# §3.3 state
# ---------------------------------------------------------------------------

class StateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator({"states": [{"name": "store", "type": "state.redis"}]}, free_port())
        cls.bare = Emulator({}, free_port())
        cls.addClassCleanup(cls.emu.stop)
        cls.addClassCleanup(cls.bare.stop)

    def save(self, items, emu=None):
        st, _, data = (emu or self.emu).call("POST", "/v1.0/state/store", json.dumps(items).encode(),
                                            {"Content-Type": "application/json"})
        return st, (json.loads(data) if data else None)

    def get(self, key):
        st, resp, data = self.emu.call("GET", "/v1.0/state/store/" + key)
        return st, data, resp.getheader("ETag")

    def test_save_get_delete(self):
        self.assertEqual(self.save([{"key": "a", "value": {"z": 1, "b": [1.50, "x"]}},
                                    {"key": "t/1", "value": "text"}]), (204, None))
        st, data, etag = self.get("a")
        # the value as json.Marshal has it: compact, keys sorted, numbers as float64
        self.assertEqual((st, data), (200, b'{"b":[1.5,"x"],"z":1}'))
        self.assertTrue(etag)
        self.assertEqual(self.get("t%2F1")[:2], (200, b'"text"'))
        self.assertEqual(self.save([]), (204, None))
        self.assertEqual(self.emu.call("DELETE", "/v1.0/state/store/a")[0], 204)
        self.assertEqual(self.get("a"), (204, b"", None))  # a missing key is 204
        self.assertEqual(self.emu.call("DELETE", "/v1.0/state/store/a")[0], 204)

    def test_etags(self):
        self.save([{"key": "e", "value": 1}])
        etag = self.get("e")[2]
        st, body = self.save([{"key": "e", "value": 2, "etag": etag + "0"}])
        self.assertEqual((st, body["errorCode"]), (409, "ERR_STATE_SAVE"))
        st, body = self.save([{"key": "e", "value": 2, "options": {"concurrency": "first-write"}}])
        self.assertEqual(st, 409)  # first-write: a key that exists needs its ETag
        self.assertEqual(self.save([{"key": "e", "value": 2, "etag": etag,
                                     "options": {"concurrency": "first-write"}}]), (204, None))
        self.assertEqual(self.get("e")[1], b"2")
        new = self.get("e")[2]
        self.assertNotEqual(new, etag)
        st, _, data = self.emu.call("DELETE", "/v1.0/state/store/e", headers={"If-Match": etag})
        self.assertEqual((st, json.loads(data)["errorCode"]), (409, "ERR_STATE_DELETE"))
        self.assertEqual(self.emu.call("DELETE", "/v1.0/state/store/e", headers={"If-Match": new})[0], 204)

    def test_errors(self):
        st, body = self.save([{"value": 1}])
        self.assertEqual((st, body["errorCode"], body["message"]),
                         (400, "ERR_MALFORMED_REQUEST", '"key" is a required field'))
        self.assertEqual(self.save("nope")[0], 400)
        st, _, data = self.emu.call("POST", "/v1.0/state/other", b"[]")
        self.assertEqual((st, json.loads(data)["errorCode"]), (400, "ERR_STATE_STORE_NOT_FOUND"))
        st, _, data = self.bare.call("GET", "/v1.0/state/store/k")
        self.assertEqual((st, json.loads(data)["errorCode"]), (500, "ERR_STATE_STORE_NOT_CONFIGURED"))

    def advance(self, seconds):
        self.assertEqual(self.emu.call("POST", "/emulator/states/clock",
                                       json.dumps({"advance": seconds}).encode())[0], 204)

    def test_ttl(self):
        # metadata ttlInSeconds on the item: readable until it expires, then 204 as a missing key
        self.assertEqual(self.save([{"key": "t1", "value": 1, "metadata": {"ttlInSeconds": "60"}},
                                    {"key": "t2", "value": 2}]), (204, None))
        self.assertEqual(self.get("t1")[:2], (200, b"1"))
        etag = self.get("t1")[2]
        self.assertGreater(self.emu.json("GET", "/emulator/states/store")[1]["t1"]["ttl"], 50)
        self.advance(59)
        self.assertEqual(self.get("t1")[:2], (200, b"1"))
        self.advance(2)
        self.assertEqual(self.get("t1"), (204, b"", None))
        self.assertEqual(self.get("t2")[:2], (200, b"2"))  # no TTL: kept
        self.assertNotIn("t1", self.emu.json("GET", "/emulator/states/store")[1])
        # an expired item is gone for ETags too
        st, body = self.save([{"key": "t1", "value": 3, "etag": etag}])
        self.assertEqual((st, body["errorCode"]), (409, "ERR_STATE_SAVE"))
        # ?metadata.ttlInSeconds= applies to every item, over the item's own
        st, _, _ = self.emu.call("POST", "/v1.0/state/store?metadata.ttlInSeconds=5",
                                 json.dumps([{"key": "q", "value": 1, "metadata": {"ttlInSeconds": "-1"}}]).encode())
        self.assertEqual(st, 204)
        self.advance(6)
        self.assertEqual(self.get("q")[0], 204)
        # -1 and 0: no expiry; a save without TTL clears the one the key had
        self.save([{"key": "n", "value": 1, "metadata": {"ttlInSeconds": "-1"}},
                   {"key": "z", "value": 1, "metadata": {"ttlInSeconds": "0"}},
                   {"key": "c", "value": 1, "metadata": {"ttlInSeconds": "1"}}])
        self.save([{"key": "c", "value": 2}])
        self.advance(10 ** 6)
        self.assertEqual([self.get(k)[0] for k in ("n", "z", "c")], [200, 200, 200])

    def test_ttl_refused(self):
        for bad in ("soon", "1.5", "-2", "2147483648"):
            st, body = self.save([{"key": "b", "value": 1, "metadata": {"ttlInSeconds": bad}}])
            self.assertEqual((st, body["errorCode"]), (500, "ERR_STATE_SAVE"), bad)
            self.assertIn("incorrect value for metadata 'ttlInSeconds'", body["message"])
        self.assertEqual(self.get("b")[0], 204)  # nothing saved
        for bad in (b'{"advance": -1}', b'{"advance": NaN}', b'{"advance": true}', b'[]'):
            self.assertEqual(self.emu.call("POST", "/emulator/states/clock", bad)[0], 400, bad)

    def test_control_and_metadata(self):
        self.save([{"key": "c", "value": "v"}])
        st, items = self.emu.json("GET", "/emulator/states/store")
        self.assertEqual((st, items["c"]["value"]), (200, '"v"'))
        comps = self.emu.json("GET", "/v1.0/metadata")[1]["components"]
        self.assertIn({"name": "store", "type": "state.redis", "version": "v1",
                       "capabilities": ["ETAG", "TRANSACTIONAL", "TTL"]}, comps)


class BulkPublishTest(unittest.TestCase):
    """§3.2 bulk: an array of entries, each published as its own message;
    failedEntries on a partial failure; /v1.0-alpha1/ only before 1.17."""

    ENTRIES = [{"entryId": "a", "event": {"n": 1}, "contentType": "application/json"},
               {"entryId": "b", "event": "hello", "contentType": "text/plain", "metadata": {"k": "v"}}]

    @classmethod
    def setUpClass(cls):
        components = {"pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}]}
        cls.emu = Emulator(components, free_port())
        cls.old = Emulator(components, free_port(), ["--no-bulk-publish-v1"])
        cls.addClassCleanup(cls.emu.stop)
        cls.addClassCleanup(cls.old.stop)

    def post(self, emu, path, entries):
        st, _, data = emu.call("POST", path, json.dumps(entries).encode(), {"Content-Type": "application/json"})
        return st, (json.loads(data) if data else None), emu.received()[-1]

    def test_entries_are_published_each(self):
        st, body, rec = self.post(self.emu, "/v1.0/publish/bulk/pubsub/orders?metadata.m=1", self.ENTRIES)
        self.assertEqual((st, body), (204, None))
        a, b = rec["bulk"]
        self.assertEqual((a["entryId"], a["cloudevent"]["data"], a["cloudevent"]["datacontenttype"]),
                         ("a", {"n": 1}, "application/json"))
        self.assertEqual((b["cloudevent"]["data"], b["metadata"]), ("hello", {"k": "v"}))
        self.assertEqual((a["cloudevent"]["topic"], a["cloudevent"]["pubsubname"]), ("orders", "pubsub"))
        self.assertEqual(rec["metadata"], {"m": "1"})

    def test_bad_requests(self):
        for entries in ([{"entryId": "a", "event": 1}, {"entryId": "a", "event": 2}], [{"event": 1}], {"a": 1}):
            with self.subTest(entries=entries):
                st, body, _ = self.post(self.emu, "/v1.0/publish/bulk/pubsub/orders", entries)
                self.assertEqual((st, body["errorCode"]), (400, "ERR_PUBSUB_EVENTS_SER"))
        st, body, _ = self.post(self.emu, "/v1.0/publish/bulk/nope/orders", self.ENTRIES)
        self.assertEqual((st, body["errorCode"]), (400, "ERR_PUBSUB_NOT_FOUND"))

    def test_failed_entries(self):
        st, _ = self.emu.json("POST", "/emulator/faults", [{"path": "/v1.0/publish/bulk/pubsub/orders",
                                                             "action": "status", "status": 500, "failEntries": ["b"]}])
        self.assertEqual(st, 200)
        st, body, _ = self.post(self.emu, "/v1.0/publish/bulk/pubsub/orders", self.ENTRIES)
        self.assertEqual(st, 500)
        self.assertEqual([e["entryId"] for e in body["failedEntries"]], ["b"])
        self.assertEqual(body["errorCode"], "ERR_PUBSUB_PUBLISH_MESSAGE")

    def test_before_1_17_only_alpha1(self):
        # the v1.0 path is then a single publish to a pub/sub named "bulk"
        st, body, _ = self.post(self.old, "/v1.0/publish/bulk/pubsub/orders", self.ENTRIES)
        self.assertEqual((st, body["errorCode"]), (404, "ERR_PUBSUB_NOT_FOUND"))
        st, body, rec = self.post(self.old, "/v1.0-alpha1/publish/bulk/pubsub/orders", self.ENTRIES)
        self.assertEqual((st, len(rec["bulk"])), (204, 2))


class PublishTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator({"pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}]}, free_port())
        cls.addClassCleanup(cls.emu.stop)

    def publish(self, path, body, content_type=None, headers=None):
        h = dict(headers or {})
        if content_type:
            h["Content-Type"] = content_type
        st, _, data = self.emu.call("POST", path, body, h)
        return st, data, self.emu.received()[-1]

    def test_json_publish_builds_cloudevent(self):
        st, data, rec = self.publish("/v1.0/publish/pubsub/orders", b'{"orderId": 1, "b": [true, null]}',
                                     "application/json")
        self.assertEqual((st, data), (204, b""))
        ce = rec["cloudevent"]
        self.assertRegex(ce["id"], UUID_RE)
        self.assertEqual(ce["source"], APP_ID)
        self.assertEqual(ce["type"], "com.dapr.event.sent")
        self.assertEqual(ce["specversion"], "1.0")
        self.assertEqual(ce["datacontenttype"], "application/json")
        self.assertEqual(ce["data"], {"orderId": 1, "b": [True, None]})
        self.assertEqual((ce["topic"], ce["pubsubname"]), ("orders", "pubsub"))
        self.assertRegex(ce["time"], RFC3339_RE)
        for key in ("traceid", "traceparent", "tracestate"):
            self.assertIn(key, ce)
        # The stored bytes are Go's json.Marshal of the envelope: keys sorted, compact.
        self.assertEqual(rec["payload"], json.dumps(json.loads(rec["payload"]), sort_keys=True,
                                                    separators=(",", ":")))

    def test_content_type_defaults_to_text_plain(self):
        st, _, rec = self.publish("/v1.0/publish/pubsub/t", b"hello world")
        self.assertEqual(st, 204)
        self.assertEqual(rec["cloudevent"]["datacontenttype"], "text/plain")
        self.assertEqual(rec["cloudevent"]["data"], "hello world")

    def test_json_content_type_with_invalid_json_keeps_string(self):
        st, _, rec = self.publish("/v1.0/publish/pubsub/t", b"{not json", "application/json; charset=utf-8")
        self.assertEqual(st, 204)
        self.assertEqual(rec["cloudevent"]["datacontenttype"], "application/json; charset=utf-8")
        self.assertEqual(rec["cloudevent"]["data"], "{not json")

    def test_json_numbers_are_kept_verbatim(self):
        st, _, rec = self.publish("/v1.0/publish/pubsub/t", b'{"n":12345678901234567890,"f":1.50}',
                                  "application/json")
        self.assertEqual(st, 204)
        self.assertIn('"data":{"f":1.50,"n":12345678901234567890}', rec["payload"])

    def test_octet_stream_goes_to_data_base64(self):
        st, _, rec = self.publish("/v1.0/publish/pubsub/t", b"\x00\xffbin", "application/octet-stream")
        self.assertEqual(st, 204)
        self.assertEqual(rec["cloudevent"]["data_base64"], base64.b64encode(b"\x00\xffbin").decode())
        self.assertNotIn("data", rec["cloudevent"])

    def test_topic_may_contain_slashes(self):
        st, _, rec = self.publish("/v1.0/publish/pubsub/a/b/c", b"x")
        self.assertEqual(st, 204)
        self.assertEqual(rec["cloudevent"]["topic"], "a/b/c")

    def test_metadata_query_params(self):
        st, _, rec = self.publish("/v1.0/publish/pubsub/t?metadata.foo=bar&metadata.cloudevent.id=my-id"
                                  "&metadata.cloudevent.source=other&other=1", b"x")
        self.assertEqual(st, 204)
        self.assertEqual(rec["metadata"], {"foo": "bar", "cloudevent.id": "my-id", "cloudevent.source": "other"})
        self.assertEqual(rec["cloudevent"]["id"], "my-id")
        self.assertEqual(rec["cloudevent"]["source"], "other")

    def test_raw_payload_is_published_unmodified(self):
        st, _, rec = self.publish("/v1.0/publish/pubsub/t?metadata.rawPayload=true", b'{"a": 1}',
                                  "application/json")
        self.assertEqual(st, 204)
        self.assertEqual(rec["payload"], '{"a": 1}')
        self.assertIsNone(rec["cloudevent"])

    def test_bad_raw_payload_is_400(self):
        st, data, _ = self.publish("/v1.0/publish/pubsub/t?metadata.rawPayload=maybe", b"x")
        self.assertEqual(st, 400)
        doc = json.loads(data)
        self.assertEqual(doc["errorCode"], "ERR_PUBSUB_REQUEST_METADATA")
        self.assertEqual(doc["message"], "failed deserializing metadata. Error: rawPayload value must be a "
                                         "valid boolean: actual is 'maybe'")

    def test_unknown_pubsub_is_404_kit_error(self):
        st, data, rec = self.publish("/v1.0/publish/nope/t", b"x")
        self.assertEqual(st, 404)
        doc = json.loads(data)
        self.assertEqual(doc["errorCode"], "ERR_PUBSUB_NOT_FOUND")
        self.assertEqual(doc["message"], "pubsub nope is not found")
        info = doc["details"][0]
        self.assertEqual(info["@type"], "type.googleapis.com/google.rpc.ErrorInfo")
        self.assertEqual(info["domain"], "dapr.io")
        self.assertEqual(info["reason"], "DAPR_PUBSUB_NOT_FOUND")
        self.assertEqual(rec["status"], 404)
        self.assertIsNone(rec["payload"])

    def test_empty_topic_is_404(self):
        for path in ("/v1.0/publish/pubsub", "/v1.0/publish/pubsub/"):
            with self.subTest(path=path):
                st, data, _ = self.publish(path, b"x")
                self.assertEqual(st, 404)
                self.assertEqual(json.loads(data)["errorCode"], "ERR_TOPIC_NAME_EMPTY")

    def test_cloudevent_content_type_passthrough(self):
        ce_in = {"id": "given", "data": {"k": 1}, "specversion": "1.0", "topic": "ignored"}
        st, _, rec = self.publish("/v1.0/publish/pubsub/t", json.dumps(ce_in).encode(),
                                  "application/cloudevents+json")
        self.assertEqual(st, 204)
        ce = rec["cloudevent"]
        self.assertEqual((ce["id"], ce["data"], ce["topic"], ce["pubsubname"]), ("given", {"k": 1}, "t", "pubsub"))
        self.assertEqual((ce["source"], ce["type"]), ("Dapr", "com.dapr.event.sent"))

    def test_cloudevent_content_type_bad_body_is_500(self):
        st, data, _ = self.publish("/v1.0/publish/pubsub/t", b'{"}', "application/cloudevents+json")
        self.assertEqual(st, 500)
        self.assertEqual(json.loads(data)["errorCode"], "ERR_PUBSUB_CLOUD_EVENTS_SER")

    def test_traceparent_header_is_used(self):
        tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        st, _, rec = self.publish("/v1.0/publish/pubsub/t", b"x", headers={"traceparent": tp})
        self.assertEqual(st, 204)
        self.assertEqual((rec["cloudevent"]["traceparent"], rec["cloudevent"]["traceid"]), (tp, tp))

    def test_put_is_accepted(self):
        st, _, _ = self.emu.call("PUT", "/v1.0/publish/pubsub/t", b"x")
        self.assertEqual(st, 204)


# ---------------------------------------------------------------------------
# §5 tokens
# ---------------------------------------------------------------------------

class TokenTest(unittest.TestCase):
    SIDECAR_TOKEN = "sidecar-secret"
    APP_TOKEN = "app-secret"

    @classmethod
    def setUpClass(cls):
        cls.app = FakeApp()
        cls.addClassCleanup(cls.app.close)
        cls.app.set("GET", "/healthz", 200)
        cls.app.set("GET", "/dapr/config", 200, b"{}")
        cls.app.set("GET", "/dapr/subscribe", 200, b'[{"pubsubname":"pubsub","topic":"t","route":"/t"}]')
        cls.app.set("OPTIONS", "/kafka-in", 200)
        cls.app.set("POST", "/kafka-in", 200)
        cls.app.set("POST", "/t", 200)
        components = {"bindings": [{"name": "kafka-in", "type": "bindings.kafka"}],
                      "pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}]}
        cls.emu = Emulator(components, cls.app.port,
                           ["--enable-app-health-check", "--app-health-probe-interval-ms", "50"],
                           env={"DAPR_API_TOKEN": cls.SIDECAR_TOKEN, "APP_API_TOKEN": cls.APP_TOKEN})
        cls.addClassCleanup(cls.emu.stop)
        cls.startup_status, cls.startup = cls.emu.json("POST", "/emulator/startup", {"timeoutMs": 3000})

    def assert_401(self, result):
        st, resp, data = result
        self.assertEqual(st, 401)
        self.assertTrue(resp.getheader("Content-Type").startswith("text/plain"))
        self.assertEqual(data.strip(), b"invalid api token")

    def test_startup_ran_with_health_probe(self):
        self.assertEqual(self.startup_status, 200, self.startup)
        self.assertTrue(self.startup["health"]["healthy"])
        self.assertTrue(self.startup["bindings"]["kafka-in"]["subscribed"])

    def test_missing_or_wrong_token_is_401(self):
        self.assert_401(self.emu.call("POST", "/v1.0/bindings/kafka-in", binding_request(1)))
        self.assert_401(self.emu.call("POST", "/v1.0/bindings/kafka-in", binding_request(1),
                                      {"dapr-api-token": "wrong"}))
        self.assert_401(self.emu.call("POST", "/v1.0/publish/pubsub/t", b"x"))
        self.assert_401(self.emu.call("GET", "/v1.0/metadata"))

    def test_right_token_passes(self):
        st, _, _ = self.emu.call("POST", "/v1.0/bindings/kafka-in", binding_request(1),
                                 {"dapr-api-token": self.SIDECAR_TOKEN})
        self.assertEqual(st, 204)
        st, _, _ = self.emu.call("POST", "/v1.0/publish/pubsub/t", b"x", {"Dapr-Api-Token": self.SIDECAR_TOKEN})
        self.assertEqual(st, 204)
        self.assertEqual(self.emu.received()[-1]["token"], self.SIDECAR_TOKEN)

    def test_get_healthz_routes_are_exempt(self):
        self.assertEqual(self.emu.call("GET", "/v1.0/healthz")[0], 204)
        self.assertEqual(self.emu.call("GET", "/v1.0/healthz/outbound")[0], 204)
        self.assertIsNone(self.emu.received()[-1]["token"])
        # Only the GETs are exempt.
        self.assert_401(self.emu.call("POST", "/v1.0/healthz", b""))

    def test_control_api_is_not_token_checked(self):
        self.assertEqual(self.emu.call("GET", "/emulator/state")[0], 200)

    def test_app_token_on_every_app_call_except_health_probe(self):
        for method, path in (("GET", "/dapr/config"), ("GET", "/dapr/subscribe"), ("OPTIONS", "/kafka-in")):
            reqs = self.app.reqs(method, path)
            self.assertTrue(reqs, path)
            self.assertEqual(header(reqs[0], "dapr-api-token"), self.APP_TOKEN, path)
        health = self.app.reqs("GET", "/healthz")
        self.assertTrue(health)
        self.assertIsNone(header(health[0], "dapr-api-token"))
        st, doc = self.emu.json("POST", "/emulator/deliver/binding/kafka-in", b"{}")
        self.assertEqual((st, doc["acked"]), (200, True))
        self.assertEqual(header(self.app.reqs("POST", "/kafka-in")[-1], "dapr-api-token"), self.APP_TOKEN)
        st, doc = self.emu.json("POST", "/emulator/deliver/pubsub/pubsub/t", b"x")
        self.assertEqual((st, doc["verdict"]), (200, "SUCCESS"))
        self.assertEqual(header(self.app.reqs("POST", "/t")[-1], "dapr-api-token"), self.APP_TOKEN)
        st, doc = self.emu.json("POST", "/emulator/health-probe")
        self.assertEqual((st, doc["healthy"]), (200, True))
        self.assertIsNone(header(self.app.reqs("GET", "/healthz")[-1], "dapr-api-token"))


# ---------------------------------------------------------------------------
# §4.2 / §1.1 startup sequence and OPTIONS probes
# ---------------------------------------------------------------------------

class StartupProbeTest(unittest.TestCase):
    NAMES = ["b200", "b204", "b405", "b404", "b500", "b401", "bdirect", "bhttp", "broute", "bdrop", "bafter"]

    @classmethod
    def setUpClass(cls):
        cls.app = FakeApp()
        cls.addClassCleanup(cls.app.close)
        for name, status in (("b200", 200), ("b204", 204), ("b405", 405), ("b404", 404), ("b500", 500),
                             ("b401", 401), ("bdirect", 404), ("bafter", 200)):
            cls.app.set("OPTIONS", "/" + name, status)
        cls.app.set("OPTIONS", "/custom/path", 204)
        cls.app.set("OPTIONS", "/bdrop", action="close")
        cls.app.set("POST", "/bdirect", 404, b"no handler")
        cls.app.set("GET", "/dapr/config", 200, b'{"entities":[]}')
        bindings = []
        for name in cls.NAMES:
            comp = {"name": name, "type": "bindings.kafka"}
            if name == "bdirect":
                comp["direction"] = " Input , output"
            elif name == "bhttp":
                comp["type"] = "bindings.http"
            elif name == "broute":
                comp["route"] = "/custom/path"
            bindings.append(comp)
        cls.emu = Emulator({"bindings": bindings}, cls.app.port)
        cls.addClassCleanup(cls.emu.stop)
        cls.status, cls.result = cls.emu.json("POST", "/emulator/startup", {"timeoutMs": 3000})
        cls.startup_requests = list(cls.app.requests)

    def startup_reqs(self, method, path):
        return [r for r in self.startup_requests if r["method"] == method and r["path"] == path]

    def test_startup_succeeded(self):
        self.assertEqual(self.status, 200, self.result)

    def test_probe_statuses(self):
        expected = {"b200": (200, True), "b204": (204, True), "b405": (405, True), "b404": (404, False),
                    "b500": (500, False), "b401": (401, False), "broute": (204, True)}
        for name, (probe, subscribed) in expected.items():
            with self.subTest(binding=name):
                self.assertEqual(self.result["bindings"][name]["probe"], probe)
                self.assertEqual(self.result["bindings"][name]["subscribed"], subscribed)

    def test_direction_input_skips_probe(self):
        self.assertEqual(self.result["bindings"]["bdirect"], {"probe": "skipped", "subscribed": True,
                                                              "started": True, "route": "/bdirect"})
        self.assertEqual(self.startup_reqs("OPTIONS", "/bdirect"), [])

    def test_transport_error_stops_remaining_bindings(self):
        drop = self.result["bindings"]["bdrop"]
        self.assertFalse(drop["subscribed"])
        self.assertTrue(drop["probe"].startswith(
            'error: could not invoke OPTIONS method on input binding subscription endpoint "bdrop": '), drop)
        self.assertEqual(self.result["bindings"]["bafter"]["probe"], "not started")
        self.assertFalse(self.result["bindings"]["bafter"]["subscribed"])
        self.assertEqual(self.startup_reqs("OPTIONS", "/bafter"), [])

    def test_route_metadata_is_probed(self):
        self.assertEqual(len(self.startup_reqs("OPTIONS", "/custom/path")), 1)
        self.assertEqual(self.startup_reqs("OPTIONS", "/broute"), [])

    def test_output_only_binding_is_not_probed(self):
        self.assertNotIn("bhttp", self.result["bindings"])
        self.assertEqual(self.startup_reqs("OPTIONS", "/bhttp"), [])

    def test_probe_request_shape(self):
        req = self.startup_reqs("OPTIONS", "/b200")[0]
        self.assertEqual(header(req, "Content-Type"), "application/json")
        self.assertIsNone(header(req, "Content-Length"))
        self.assertIsNone(header(req, "dapr-api-token"))  # APP_API_TOKEN unset
        self.assertEqual(req["body"], b"")

    def test_config_fetched_first_with_app_id(self):
        order = [(r["method"], r["path"]) for r in self.startup_requests]
        self.assertEqual(order[0], ("GET", "/dapr/config"))
        probed = [p.lstrip("/") for m, p in order if m == "OPTIONS"]
        self.assertEqual(probed, ["b200", "b204", "b405", "b404", "b500", "b401", "custom/path", "bdrop"])
        req = self.startup_reqs("GET", "/dapr/config")[0]
        self.assertEqual(header(req, "Dapr-App-Id"), APP_ID)
        self.assertEqual(self.result["config"], {"status": 200, "body": '{"entities":[]}'})

    def test_subscribe_not_called_without_pubsubs(self):
        self.assertEqual(self.startup_reqs("GET", "/dapr/subscribe"), [])
        self.assertEqual(self.result["subscriptions"], [])

    def test_delivery_needs_a_subscribed_started_binding(self):
        st, doc = self.emu.json("POST", "/emulator/deliver/binding/b404", b"{}")
        self.assertEqual((st, doc), (409, {"error": "not subscribed"}))
        st, doc = self.emu.json("POST", "/emulator/deliver/binding/bafter", b"{}")
        self.assertEqual(st, 409)
        st, doc = self.emu.json("POST", "/emulator/deliver/binding/bhttp", b"{}")
        self.assertEqual(st, 404)
        st, doc = self.emu.json("POST", "/emulator/deliver/binding/bdirect", b"{}")
        self.assertEqual((st, doc["status"], doc["acked"], doc["body"]), (200, 404, False, "no handler"))

    def test_probe_timeout_is_a_transport_error(self):
        self.app.set("OPTIONS", "/b404", 404, delay=1.0)
        try:
            st, result = self.emu.json("POST", "/emulator/startup", {"timeoutMs": 3000, "optionsTimeoutMs": 200})
            self.assertEqual(st, 200)
            self.assertTrue(result["bindings"]["b404"]["probe"].startswith("error: "), result["bindings"]["b404"])
            self.assertEqual(result["bindings"]["b500"]["probe"], "not started")
        finally:
            self.app.set("OPTIONS", "/b404", 404)
            self.emu.json("POST", "/emulator/startup", {"timeoutMs": 3000})


# ---------------------------------------------------------------------------
# §1.2/§1.3 binding deliveries, §2.1 subscriptions, §2.2 pub/sub deliveries
# ---------------------------------------------------------------------------

SUBSCRIPTIONS = [
    {"pubsubname": "pubsub", "topic": "orders", "route": "/v1-route", "routes": {"default": "/orders"}},
    {"pubsubname": "pubsub", "topic": "legacy", "route": "legacy-no-slash"},
    {"PubsubName": "pubsub", "Topic": "rules",
     "Routes": {"rules": [{"match": 'event.type == "special"', "path": "/special"}], "default": "/rules-default"}},
    {"pubsubname": "pubsub", "topic": "onlyrules", "routes": {"rules": [{"match": 'event.type == "x"', "path": "/x"}]}},
    {"pubsubname": "pubsub", "topic": "raw", "route": "/raw", "metadata": {"rawPayload": "true"}},
    {"pubsubname": "pubsub", "topic": "table", "route": "/table"},
    {"pubsubname": "pubsub", "topic": "a/b", "route": "/ab"},
]


class DeliveryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app = FakeApp()
        cls.addClassCleanup(cls.app.close)
        cls.app.set("OPTIONS", "/kafka-in", 405)
        cls.app.set("POST", "/kafka-in", 200, b"ok")
        cls.app.set("GET", "/dapr/subscribe", 200, json.dumps(SUBSCRIPTIONS).encode())
        for path in ("/orders", "/legacy-no-slash", "/special", "/rules-default", "/raw", "/ab", "/x"):
            cls.app.set("POST", path, 200)
        components = {"bindings": [{"name": "kafka-in", "type": "bindings.kafka"}],
                      "pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}]}
        cls.emu = Emulator(components, cls.app.port)
        cls.addClassCleanup(cls.emu.stop)
        cls.status, cls.result = cls.emu.json("POST", "/emulator/startup", {"timeoutMs": 3000})
        cls.subscribe_request = cls.app.reqs("GET", "/dapr/subscribe")[0]

    def deliver_binding(self, body, metadata=None, query=""):
        headers = {"X-Emulator-Metadata": json.dumps(metadata)} if metadata is not None else {}
        return self.emu.json("POST", "/emulator/deliver/binding/kafka-in" + query, body, headers)

    def deliver(self, topic, body, content_type=None, query="", metadata=None):
        headers = {}
        if content_type:
            headers["Content-Type"] = content_type
        if metadata is not None:
            headers["X-Emulator-Metadata"] = json.dumps(metadata)
        return self.emu.json("POST", "/emulator/deliver/pubsub/pubsub/" + topic + query, body, headers)

    def test_405_probe_subscribes(self):
        self.assertEqual(self.status, 200, self.result)
        self.assertEqual(self.result["bindings"]["kafka-in"]["probe"], 405)
        self.assertTrue(self.result["bindings"]["kafka-in"]["subscribed"])

    def test_subscriptions_discovered(self):
        req = self.subscribe_request
        self.assertEqual(header(req, "Content-Type"), "application/json")
        self.assertEqual(header(req, "Dapr-App-Id"), APP_ID)
        subs = {s["topic"]: s for s in self.result["subscriptions"]}
        self.assertEqual(subs["orders"]["path"], "/orders")  # routes.default wins over route
        self.assertEqual(subs["orders"]["route"], "/v1-route")
        self.assertEqual(subs["rules"]["pubsubname"], "pubsub")  # field names are case-insensitive
        self.assertEqual(subs["rules"]["routes"]["rules"], [{"match": 'event.type == "special"', "path": "/special"}])
        self.assertEqual(subs["raw"]["metadata"], {"rawPayload": "true"})

    def test_binding_delivery_request(self):
        body = b"not json \x00\xff bytes"
        md = {"__key": "k1", "__offset": "42", "mykey": "v", "content-type": "text/plain", "Connection": "x"}
        st, doc = self.deliver_binding(body, md)
        self.assertEqual(st, 200)
        self.assertEqual(doc["status"], 200)
        self.assertEqual(doc["body"], "ok")
        self.assertTrue(doc["acked"])
        req = self.app.reqs("POST", "/kafka-in")[-1]
        self.assertEqual(req["body"], body)
        self.assertFalse(req["chunked"])
        names = [k for k, _ in req["headers"]]
        self.assertIn("__key", names)
        self.assertIn("__offset", names)
        self.assertIn("Mykey", names)  # lower-cased then Go-canonicalised
        self.assertNotIn("Connection", [k for k, v in req["headers"] if v == "x"])
        self.assertEqual([v for k, v in req["headers"] if k.lower() == "content-type"], ["application/json"])
        self.assertEqual(header(req, "Content-Length"), str(len(body)))
        self.assertEqual(header(req, "__offset"), "42")

    def test_binding_delivery_chunked(self):
        body = b'{"hello":"world"}'
        st, doc = self.deliver_binding(body, query="?chunked=1")
        self.assertEqual((st, doc["acked"]), (200, True))
        req = self.app.reqs("POST", "/kafka-in")[-1]
        self.assertTrue(req["chunked"])
        self.assertIsNone(header(req, "Content-Length"))
        self.assertEqual(req["body"], body)

    def test_binding_ack_rules(self):
        try:
            self.app.set("POST", "/kafka-in", 204)
            self.assertTrue(self.deliver_binding(b"x")[1]["acked"])
            self.assertFalse(self.deliver_binding(b"x", query="?strict=1")[1]["acked"])
            self.app.set("POST", "/kafka-in", 500, b"boom")
            st, doc = self.deliver_binding(b"x")
            self.assertEqual((doc["status"], doc["acked"], doc["body"]), (500, False, "boom"))
            self.app.set("POST", "/kafka-in", action="close")
            st, doc = self.deliver_binding(b"x")
            self.assertEqual((st, doc["status"], doc["acked"]), (200, None, False))
            self.assertTrue(doc["error"])
        finally:
            self.app.set("POST", "/kafka-in", 200, b"ok")

    def test_binding_bad_metadata_header(self):
        st, _ = self.emu.json("POST", "/emulator/deliver/binding/kafka-in", b"x", {"X-Emulator-Metadata": "{nope"})
        self.assertEqual(st, 400)

    def test_pubsub_default_route_and_request_shape(self):
        self.app.clear()
        st, doc = self.deliver("orders", b'{"orderId":1}', "application/json", metadata={"__key": "k"})
        self.assertEqual(st, 200, doc)
        self.assertEqual((doc["path"], doc["status"], doc["verdict"]), ("/orders", 200, "SUCCESS"))
        req = self.app.reqs("POST", "/orders")[-1]
        self.assertEqual(header(req, "Content-Type"), "application/cloudevents+json")
        self.assertEqual(header(req, "Pubsubname"), "pubsub")
        self.assertEqual(header(req, "__key"), "k")
        ce = json.loads(req["body"])
        self.assertEqual(ce["data"], {"orderId": 1})
        self.assertEqual((ce["topic"], ce["pubsubname"], ce["source"]), ("orders", "pubsub", APP_ID))
        self.assertEqual(ce, doc["cloudevent"])
        self.assertEqual(self.app.reqs("POST", "/v1-route"), [])
        self.assertIsNone(header(req, "dapr-api-token"))

    def test_pubsub_route_without_leading_slash(self):
        st, doc = self.deliver("legacy", b"x")
        self.assertEqual((doc["path"], doc["verdict"]), ("legacy-no-slash", "SUCCESS"))
        self.assertTrue(self.app.reqs("POST", "/legacy-no-slash"))

    def test_pubsub_rules(self):
        st, doc = self.deliver("rules", b"x", query="?metadata.cloudevent.type=special")
        self.assertEqual(doc["path"], "/special")
        st, doc = self.deliver("rules", b"x")
        self.assertEqual(doc["path"], "/rules-default")

    def test_pubsub_no_route_matched_is_success_without_delivery(self):
        self.app.clear()
        st, doc = self.deliver("onlyrules", b"x")
        self.assertEqual((st, doc["verdict"], doc["delivered"]), (200, "SUCCESS", False))
        self.assertEqual(self.app.reqs("POST"), [])

    def test_pubsub_raw_subscription(self):
        st, doc = self.deliver("raw", b"\x01raw")
        ce = json.loads(self.app.reqs("POST", "/raw")[-1]["body"])
        self.assertEqual(ce["data_base64"], base64.b64encode(b"\x01raw").decode())
        self.assertEqual((ce["datacontenttype"], ce["source"]), ("application/octet-stream", "Dapr"))
        self.assertNotIn("data", ce)

    def test_pubsub_raw_query(self):
        st, doc = self.deliver("orders", b'{"a":1}', "application/json", query="?raw=1")
        self.assertEqual(doc["cloudevent"]["data_base64"], base64.b64encode(b'{"a":1}').decode())

    def test_pubsub_topic_with_slash(self):
        st, doc = self.deliver("a/b", b"x")
        self.assertEqual((st, doc["path"]), (200, "/ab"))

    def test_pubsub_without_subscription_is_409(self):
        st, doc = self.deliver("nope", b"x")
        self.assertEqual(st, 409)
        st, doc = self.emu.json("POST", "/emulator/deliver/pubsub/other/orders", b"x")
        self.assertEqual(st, 404)

    def test_response_table(self):
        rows = [
            (200, b"", "SUCCESS"),
            (200, b"plain text", "SUCCESS"),
            (200, b"{}", "SUCCESS"),
            (200, b'{"status":"SUCCESS"}', "SUCCESS"),
            (200, b'{"status":""}', "SUCCESS"),
            (204, b"", "SUCCESS"),
            (201, b'{"status":"SUCCESS"}', "SUCCESS"),
            (200, b'{"status":"RETRY"}', "RETRY"),
            (202, b'{"status":"RETRY"}', "RETRY"),
            (200, b'{"status":"DROP"}', "DROP"),
            (200, b'{"status":"BOGUS"}', "RETRY"),
            (404, b"", "DROP"),
            (404, b'{"status":"SUCCESS"}', "DROP"),
            (500, b"", "RETRY"),
            (503, b'{"status":"SUCCESS"}', "RETRY"),
            (400, b'{"status":"DROP"}', "RETRY"),
        ]
        for status, body, verdict in rows:
            with self.subTest(status=status, body=body):
                self.app.set("POST", "/table", status, body)
                st, doc = self.deliver("table", b"x")
                self.assertEqual(st, 200)
                self.assertEqual((doc["status"], doc["verdict"]), (status, verdict))
        with self.subTest(row="connection error"):
            self.app.set("POST", "/table", action="close")
            st, doc = self.deliver("table", b"x")
            self.assertEqual((doc["status"], doc["verdict"]), (None, "RETRY"))
            self.assertTrue(doc["error"])


# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------

class FaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        components = {"bindings": [{"name": "kafka-out", "type": "bindings.kafka"}],
                      "pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}]}
        cls.emu = Emulator(components, free_port())
        cls.addClassCleanup(cls.emu.stop)

    def setUp(self):
        self.assertEqual(self.emu.call("DELETE", "/emulator/faults")[0], 204)

    def faults(self, specs):
        st, doc = self.emu.json("POST", "/emulator/faults", specs)
        self.assertEqual(st, 200, doc)

    def binding(self):
        return self.emu.call("POST", "/v1.0/bindings/kafka-out", binding_request(1))

    def test_status_fault(self):
        self.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 503, "count": 2}])
        for _ in range(2):
            st, resp, data = self.binding()
            self.assertEqual(st, 503)
            self.assertEqual(resp.getheader("Content-Type"), "application/json")
            self.assertEqual(json.loads(data)["errorCode"], "ERR_INVOKE_OUTPUT_BINDING")
            rec = self.emu.received()[-1]
            self.assertEqual((rec["status"], rec["fault"]), (503, "status"))
        self.assertEqual(self.binding()[0], 204)

    def test_status_fault_with_retry_after(self):
        self.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 429,
                      "retryAfter": 2}])
        st, resp, _ = self.binding()
        self.assertEqual((st, resp.getheader("Retry-After")), (429, "2"))
        st, resp, _ = self.binding()
        self.assertEqual((st, resp.getheader("Retry-After")), (204, None))

    def test_slow_status_fault(self):
        self.faults([{"path": "/v1.0/bindings/kafka-out", "action": "status", "status": 400, "ms": 300}])
        start = time.monotonic()
        self.assertEqual(self.binding()[0], 400)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)

    def test_delay_fault(self):
        self.faults([{"path": "/v1.0/bindings/kafka-out", "action": "delay", "ms": 300, "count": 1}])
        start = time.monotonic()
        self.assertEqual(self.binding()[0], 204)
        self.assertGreaterEqual(time.monotonic() - start, 0.3)
        start = time.monotonic()
        self.assertEqual(self.binding()[0], 204)
        self.assertLess(time.monotonic() - start, 0.3)

    def test_reset_fault(self):
        self.faults([{"path": "/v1.0/bindings/kafka-out", "action": "reset", "count": 1}])
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.binding()
        self.assertIsNone(self.emu.received()[-1]["status"])
        self.assertEqual(self.binding()[0], 204)

    def test_reset_is_a_real_rst(self):
        self.faults([{"path": "/v1.0/healthz", "action": "reset", "count": 1}])
        with socket.create_connection(("127.0.0.1", self.emu.port), timeout=5) as s:
            s.sendall(b"GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            with self.assertRaises(ConnectionResetError):
                while s.recv(1024):
                    pass

    def test_wildcard_and_method(self):
        self.faults([{"path": "/v1.0/publish/*", "method": "POST", "action": "status", "status": 500,
                      "count": -1}])
        for _ in range(3):
            st, _, data = self.emu.call("POST", "/v1.0/publish/pubsub/t", b"x")
            self.assertEqual(st, 500)
            self.assertEqual(json.loads(data)["errorCode"], "ERR_PUBSUB_PUBLISH_MESSAGE")
        self.assertEqual(self.emu.call("PUT", "/v1.0/publish/pubsub/t", b"x")[0], 204)
        self.assertEqual(self.emu.call("DELETE", "/emulator/faults")[0], 204)
        self.assertEqual(self.emu.call("POST", "/v1.0/publish/pubsub/t", b"x")[0], 204)

    def test_fault_on_outbound_health(self):
        self.faults([{"path": "/v1.0/healthz/outbound", "action": "status", "status": 500}])
        self.assertEqual(self.emu.call("GET", "/v1.0/healthz/outbound")[0], 500)
        self.assertEqual(self.emu.call("GET", "/v1.0/healthz/outbound")[0], 204)

    def test_invalid_fault_is_400(self):
        for spec in ({"path": "/x", "action": "explode"}, {"action": "reset"},
                     {"path": "/x", "action": "status"}, {"path": "/x", "action": "delay", "ms": -1},
                     {"path": "/x", "action": "status", "status": 429, "retryAfter": "soon"}):
            with self.subTest(spec=spec):
                self.assertEqual(self.emu.json("POST", "/emulator/faults", [spec])[0], 400)


# ---------------------------------------------------------------------------
# §4.1 readiness timing
# ---------------------------------------------------------------------------

class ReadinessTest(unittest.TestCase):
    def test_outbound_then_healthz_after_startup(self):
        app = FakeApp()
        self.addCleanup(app.close)
        emu = Emulator({}, app.port, ["--outbound-ready-after-ms", "800", "--healthz-after-startup"])
        self.addCleanup(emu.stop)
        st, _, data = emu.call("GET", "/v1.0/healthz/outbound")
        self.assertEqual(st, 500)
        self.assertEqual(json.loads(data), {"errorCode": "ERR_OUTBOUND_HEALTH_NOT_READY",
                                            "message": "dapr outbound is not ready"})
        st, _, data = emu.call("GET", "/v1.0/healthz")
        self.assertEqual((st, json.loads(data)["errorCode"]), (500, "ERR_HEALTH_NOT_READY"))
        deadline = time.monotonic() + 5
        while emu.call("GET", "/v1.0/healthz/outbound")[0] != 204:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)
        self.assertEqual(emu.call("GET", "/v1.0/healthz")[0], 500)  # waits for the startup sequence
        self.assertEqual(emu.json("POST", "/emulator/startup")[0], 200)
        self.assertEqual(emu.call("GET", "/v1.0/healthz")[0], 204)


# ---------------------------------------------------------------------------
# Process lifecycle
# ---------------------------------------------------------------------------

class LifecycleTest(unittest.TestCase):
    def start(self, *args):
        emu = Emulator({}, free_port(), args)
        self.addCleanup(emu.stop)
        return emu

    def test_control_shutdown_exits_0(self):
        emu = self.start()
        st, doc = emu.json("POST", "/emulator/shutdown")
        self.assertEqual(st, 200)
        self.assertEqual(emu.proc.wait(5), 0)

    def test_api_shutdown_exits_0(self):
        emu = self.start()
        self.assertEqual(emu.call("POST", "/v1.0/shutdown")[0], 204)
        self.assertEqual(emu.proc.wait(5), 0)

    def test_signals_exit_0_promptly(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=sig):
                emu = self.start()
                start = time.monotonic()
                emu.proc.send_signal(sig)
                # generous bounds: a loaded CI machine once took over 5 s
                self.assertEqual(emu.proc.wait(30), 0)
                self.assertLess(time.monotonic() - start, 15)

    def test_help(self):
        out = subprocess.run([sys.executable, EMULATOR, "--help"], capture_output=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        self.assertIn(b"--app-port", out.stdout)
        self.assertIn(b"/emulator/startup", out.stdout)

    def test_bad_components_file_exits_2(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            f.write("{not json")
        self.addCleanup(os.unlink, f.name)
        out = subprocess.run([sys.executable, EMULATOR, "--app-port", "1", "--dapr-http-port", "0",
                              "--components", f.name], capture_output=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn(b"components", out.stderr)

    def test_startup_gives_up_when_app_port_is_closed(self):
        emu = self.start()
        start = time.monotonic()
        st, doc = emu.json("POST", "/emulator/startup", {"timeoutMs": 350})
        self.assertEqual(st, 504)
        self.assertGreaterEqual(doc["connect"]["attempts"], 2)  # a dial every 100 ms
        self.assertLess(time.monotonic() - start, 2)



BULK_SUBSCRIPTIONS = [
    {"pubsubname": "pubsub", "topic": "bulk", "route": "/bulk",
     "bulkSubscribe": {"enabled": True, "maxMessagesCount": 10}},
    {"pubsubname": "pubsub", "topic": "single", "route": "/single"},
]


class BulkDeliveryTest(unittest.TestCase):
    """§2.3: bulk delivery to a bulkSubscribe subscription, and the
    per-entry reading of the answer."""

    @classmethod
    def setUpClass(cls):
        cls.app = FakeApp()
        cls.addClassCleanup(cls.app.close)
        cls.app.set("GET", "/dapr/subscribe", 200, json.dumps(BULK_SUBSCRIPTIONS).encode())
        cls.emu = Emulator({"pubsubs": [{"name": "pubsub", "type": "pubsub.kafka"}]}, cls.app.port)
        cls.addClassCleanup(cls.emu.stop)
        cls.emu.json("POST", "/emulator/startup", {"timeoutMs": 3000})

    def deliver(self, messages, topic="bulk"):
        return self.emu.json("POST", "/emulator/deliver/bulk/pubsub/" + topic, json.dumps(messages).encode())

    def answer(self, status, body):
        self.app.set("POST", "/bulk", status, body if isinstance(body, bytes) else json.dumps(body).encode(),
                     {"Content-Type": "application/json"})

    def test_envelope(self):
        self.app.clear()
        self.app.set("GET", "/dapr/subscribe", 200, json.dumps(BULK_SUBSCRIPTIONS).encode())
        self.answer(200, {"statuses": []})
        st, doc = self.deliver([{"entryId": "a", "data": {"n": 1}}, {"entryId": "b", "data": "text",
                                                                   "contentType": "text/plain",
                                                                   "metadata": {"k": "v"}}])
        self.assertEqual(st, 200, doc)
        [req] = self.app.reqs("POST", "/bulk")
        self.assertEqual(header(req, "Content-Type"), "application/json")
        env = json.loads(req["body"])
        self.assertEqual((env["type"], env["topic"], env["pubsubname"]), ("com.dapr.event.sent.bulk", "bulk", "pubsub"))
        self.assertRegex(env["id"], UUID_RE)
        a, b = env["entries"]
        self.assertEqual((a["entryId"], a["contentType"]), ("a", "application/cloudevents+json"))
        self.assertEqual(a["event"]["data"], {"n": 1})
        self.assertEqual(a["event"]["specversion"], "1.0")
        self.assertEqual((b["event"]["data"], b["event"]["datacontenttype"]), ("text", "text/plain"))
        self.assertEqual(b["metadata"], {"k": "v"})

    def test_verdicts(self):
        two = [{"entryId": "a", "data": 1}, {"entryId": "b", "data": 2}]
        cases = [
            (200, {"statuses": [{"entryId": "a", "status": "SUCCESS"}, {"entryId": "b", "status": "DROP"}]},
             {"a": "SUCCESS", "b": "DROP"}),
            (200, {"statuses": [{"entryId": "a", "status": "SUCCESS"}]}, {"a": "SUCCESS", "b": "RETRY"}),
            (200, {"statuses": [{"entryId": "a", "status": ""}, {"entryId": "b", "status": "MAYBE"}]},
             {"a": "RETRY", "b": "RETRY"}),
            (200, b"not json", {"a": "RETRY", "b": "RETRY"}),
            (404, {}, {"a": "DROP", "b": "DROP"}),
            (500, {"statuses": [{"entryId": "a", "status": "SUCCESS"}]}, {"a": "RETRY", "b": "RETRY"}),
        ]
        for status, body, want in cases:
            self.answer(status, body)
            st, doc = self.deliver(two)
            self.assertEqual(doc["verdicts"], want, (status, body))

    def test_a_subscription_without_bulk_takes_no_bulk_delivery(self):
        st, doc = self.deliver([{"data": 1}], topic="single")
        self.assertEqual(st, 409)
        self.assertIn("bulkSubscribe", doc["error"])

if __name__ == "__main__":
    unittest.main()
