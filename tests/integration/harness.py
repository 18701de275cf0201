# SPDX-License-Identifier: Apache-2.0
"""Runs a libofctx function under the Dapr sidecar emulator, on loopback.

A Harness starts tools/daprd_emulator.py and a function binary (by
default build/bin/probe, from OFCTX_BIN_DIR), wires their ports and tokens,
runs daprd's start-up sequence, and offers the control API as methods. Every
process it starts is stopped by close(); nothing outside 127.0.0.1 is used.
"""

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "..", "..", "tools", "daprd_emulator.py")
BIN_DIR = os.environ.get("OFCTX_BIN_DIR", os.path.join(HERE, "..", "..", "build", "bin"))
PYTHON = os.environ.get("OFCTX_PYTHON", "python3")
# OFCTX_VALGRIND=1 runs every function under valgrind memcheck: any error,
# or memory definitely or indirectly lost, makes it exit 99.
VALGRIND = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect",
            "--track-fds=no"] if os.environ.get("OFCTX_VALGRIND") == "1" else []


def function_command(binary, *args):
    """The command line that runs a built function (under valgrind when asked)."""
    return VALGRIND + [os.path.join(BIN_DIR, binary), *args]


def free_port():
    """A free loopback port below the kernel's ephemeral range: a port that
    bind(0) hands out is ephemeral, so an outgoing connection of a test that
    runs alongside can take it before the process meant to listen there does."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        low = int(f.read().split()[0])
    while True:
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def http(method, url, body=None, headers=None, timeout=30):
    """One request; returns (status, headers dict lower-cased, body bytes)."""
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def write_components(path, *components):
    """Writes Dapr Component resources to the file `path`, a YAML document
    each, as a resources directory holds them (the direct mode reads one).
    Each component is (name, type, metadata): metadata (name, value) pairs in
    their order, each value written as a YAML string."""
    docs = []
    for name, kind, metadata in components:
        docs.append("apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: %s\nspec:\n"
                    "  type: %s\n  version: v1\n  metadata:\n" % (name, kind) +
                    "".join("  - name: %s\n    value: %s\n" % (k, json.dumps(str(v))) for k, v in metadata))
    with open(path, "w") as f:
        f.write("---\n".join(docs))


def promtool_check(test, text):
    """Fails `test` unless `promtool check metrics` takes the page `text` (bytes)."""
    promtool = shutil.which("promtool")
    if not promtool:
        test.fail("promtool is not installed; scripts/test.sh installs Debian's prometheus")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=60)
    test.assertEqual(check.returncode, 0, check.stdout + check.stderr)


def rss_kib(proc, field="VmRSS"):
    """The function's resident memory (KiB): VmRSS, now, or VmHWM, its peak
    so far; None when it says nothing of the function's own use: under
    valgrind, or built with AddressSanitizer (whose shadow and quarantine are
    most of it)."""
    with open("/proc/%d/maps" % proc.pid) as f:
        maps = f.read()
    if VALGRIND or "libasan" in maps or "valgrind" in maps:
        return None
    with open("/proc/%d/status" % proc.pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def wait_until(predicate, what, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


class FunctionProcess:
    """What both harnesses do with the function they run: start it on
    loopback with the given environment, wait until it answers /healthz,
    read its log, stop it. Subclasses set self.tmp and self.app_port."""

    def start_function(self, binary, context, env, command=None):
        fenv = {k: v for k, v in os.environ.items()
                if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH", "LD_"))}
        fenv.update({
            "FUNC_CONTEXT": json.dumps(dict(context, port=str(self.app_port))),
            "CONTEXT_MODE": "self-host",
            "DAPR_HOST": "127.0.0.1",
            "OFCTX_LISTEN_HOST": "127.0.0.1",
            "OFCTX_SEND_BACKOFF_MS": "5",
            "OFCTX_SEND_BACKOFF_MAX_MS": "20",
            "OFCTX_LOG_LEVEL": "debug",
        })
        fenv.update(env)
        self.fn_log = open(os.path.join(self.tmp.name, "function.log"), "w+")
        self.fn = subprocess.Popen(VALGRIND + command if command else function_command(binary), env=fenv,
                                   stdout=self.fn_log, stderr=subprocess.STDOUT)
        self.app = "http://127.0.0.1:%d" % self.app_port
        wait_until(self._app_up, "the function to listen")

    def _app_up(self):
        if self.fn.poll() is not None:
            raise AssertionError("the function exited with %s:\n%s" % (self.fn.returncode, self.log()))
        try:
            return http("GET", self.app + "/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    def log(self):
        self.fn_log.flush()
        self.fn_log.seek(0)
        return self.fn_log.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the function and returns its exit status."""
        self.fn.send_signal(sig)
        return self.fn.wait(timeout)

    def finish(self):
        """Stops the function with SIGTERM, closes everything, and fails
        unless it exited 0."""
        status = self.stop()
        log = self.log()
        self.close()
        assert status == 0, "exit status %s:\n%s" % (status, log)

    def close_all(self, procs, logs):
        for proc in procs:
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
        for f in logs:
            if hasattr(self, f):
                getattr(self, f).close()
        self.tmp.cleanup()


class Harness(FunctionProcess):
    def __init__(self, context, components, env=None, emulator_env=None, binary="probe",
                 emulator_args=(), startup=True, command=None):
        """`command` (a list) runs instead of the built `binary`."""
        self.tmp = tempfile.TemporaryDirectory(prefix="ofctx-it-")
        self.app_port = free_port()
        comp_file = os.path.join(self.tmp.name, "components.json")
        with open(comp_file, "w") as f:
            json.dump(components, f)
        ready = os.path.join(self.tmp.name, "dapr.port")
        self.emulator_log = open(os.path.join(self.tmp.name, "emulator.log"), "w+")
        eenv = dict(os.environ)
        eenv.pop("DAPR_API_TOKEN", None)
        eenv.pop("APP_API_TOKEN", None)
        eenv.update(emulator_env or {})
        self.emulator = subprocess.Popen(
            [PYTHON, EMULATOR, "--app-port", str(self.app_port), "--dapr-http-port", "0",
             "--components", comp_file, "--ready-file", ready, "--app-id", "probe",
             *emulator_args],
            env=eenv, stdout=self.emulator_log, stderr=subprocess.STDOUT)
        self.fn = None
        try:
            wait_until(lambda: os.path.exists(ready), "the emulator")
            with open(ready) as f:
                self.dapr_port = int(f.read().strip())
            self.dapr = "http://127.0.0.1:%d" % self.dapr_port
            self.start_function(binary, context, dict({"DAPR_HTTP_PORT": str(self.dapr_port)}, **(env or {})),
                                command)
            self.startup_result = self.control("POST", "/emulator/startup", {}) if startup else None
        except BaseException:
            self.close()
            raise

    # ---- the emulator's control API ----

    def control(self, method, path, body=None, headers=None):
        data = json.dumps(body) if body is not None and not isinstance(body, (bytes, str)) else body
        status, _, text = http(method, self.dapr + path, data, headers)
        try:
            return json.loads(text) if text else {"status_code": status}
        except ValueError:
            return {"status_code": status, "text": text.decode("utf-8", "replace")}

    def deliver_binding(self, name, data, metadata=None, chunked=False):
        headers = {"X-Emulator-Metadata": json.dumps(metadata or {})}
        return self.control("POST", "/emulator/deliver/binding/%s%s" % (name, "?chunked=1" if chunked else ""),
                            data if isinstance(data, (bytes, str)) else json.dumps(data), headers)

    def deliver_pubsub(self, pubsub, topic, data, content_type="application/json"):
        return self.control("POST", "/emulator/deliver/pubsub/%s/%s" % (pubsub, urllib.parse.quote(topic)),
                            data if isinstance(data, (bytes, str)) else json.dumps(data),
                            {"Content-Type": content_type})

    def deliver_bulk(self, pubsub, topic, messages):
        """One bulk delivery of `messages` ([{"data", "contentType", "metadata", "entryId"}])."""
        return self.control("POST", "/emulator/deliver/bulk/%s/%s" % (pubsub, urllib.parse.quote(topic)),
                            json.dumps(messages))

    def received(self, prefix="/v1.0/"):
        """The sidecar API calls under `prefix`, health checks left out."""
        calls = self.control("GET", "/emulator/received")
        return [c for c in calls if c["path"].startswith(prefix) and not c["path"].startswith("/v1.0/healthz")]

    def clear_received(self):
        self.control("DELETE", "/emulator/received")

    def faults(self, rules):
        self.control("POST", "/emulator/faults", rules)

    def close(self):
        self.close_all((self.fn, self.emulator), ("fn_log", "emulator_log"))


def raw_exchange(port, data, read_timeout=10):
    """Sends raw bytes to 127.0.0.1:port and returns everything read until the
    server closes the connection (or the timeout)."""
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(read_timeout)
        try:
            s.sendall(data)
        except OSError:
            pass
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except (socket.timeout, ConnectionResetError):
            pass
        return b"".join(chunks)


# Valid JSON (RFC 8259) that jansson refuses: integers beyond 64 bits, a
# number beyond a double, "\u0000", lone surrogates, nesting past 2048.
BEYOND_JANSSON = ['{"n":123456789012345678901234567890}', '[-1e999, 1E+400]', '{"s":"a\\u0000b"}',
                  '["\\ud800", "\\udfff\\ud800"]', "[" * 2500 + "]" * 2500,
                  '{ "spaced" :\t[ 1 ,\n 2 ] }']


GRPC_DIR = os.path.join(HERE, "..", "grpc")
NODE = os.environ.get("OFCTX_NODE", "node")


class GrpcHarness(FunctionProcess):
    """A function with APP_PROTOCOL=grpc under the fake daprd of tests/grpc
    (gRPC's Node.js implementation with Dapr's own .proto files): it calls
    the function's AppCallback and serves the Dapr API the function sends to.
    Its npm packages are installed by scripts/test.sh before any test runs."""

    def __init__(self, context, env=None, app_token=None, api_token=None, fake_args=(),
                 binary="probe", start=True):
        if not os.path.isdir(os.path.join(GRPC_DIR, "node_modules", "@grpc", "grpc-js")):
            raise RuntimeError("tests/grpc/node_modules is missing: scripts/test.sh installs it "
                               "(npm ci in tests/grpc)")
        self.tmp = tempfile.TemporaryDirectory(prefix="ofctx-grpc-")
        self.app_port = free_port()
        self.grpc_port = free_port()
        self.context = context
        self.env = env or {}
        self.app_token = app_token
        self.api_token = api_token
        self.binary = binary
        ready = os.path.join(self.tmp.name, "fake.json")
        self.fake_log = open(os.path.join(self.tmp.name, "fake.log"), "w+")
        cmd = [NODE, os.path.join(GRPC_DIR, "fake_daprd.js"), "--app-port", str(self.app_port),
               "--grpc-port", str(self.grpc_port), "--ready-file", ready, *fake_args]
        if app_token:
            cmd += ["--app-token", app_token]
        if api_token:
            cmd += ["--api-token", api_token]
        self.fake = subprocess.Popen(cmd, stdout=self.fake_log, stderr=subprocess.STDOUT)
        self.fn = None
        try:
            wait_until(lambda: os.path.exists(ready), "the fake daprd")
            with open(ready) as f:
                ports = json.load(f)
            self.control_url = "http://127.0.0.1:%d" % ports["http"]
            self.http_port = ports["http"]
            if start:
                self.start()
        except BaseException:
            self.close()
            raise

    def start(self, extra_env=None):
        fenv = {"APP_PROTOCOL": "grpc", "DAPR_HTTP_PORT": str(self.http_port),
                "DAPR_GRPC_PORT": str(self.grpc_port)}
        if self.app_token:
            fenv["APP_API_TOKEN"] = self.app_token
        if self.api_token:
            fenv["DAPR_API_TOKEN"] = self.api_token
        fenv.update(self.env)
        fenv.update(extra_env or {})
        self.start_function(self.binary, self.context, fenv)

    def control(self, method, path, body=None):
        data = json.dumps(body) if body is not None else None
        status, _, text = http(method, self.control_url + path, data, timeout=120)
        if status >= 300 and status != 404:
            raise AssertionError("fake daprd %s %s: %s %s" % (method, path, status, text))
        return json.loads(text) if text else None

    def call(self, method, request=None, metadata=None, deadline_ms=None):
        return self.control("POST", "/call", {"method": method, "request": request or {},
                                              "metadata": metadata or {}, "deadlineMs": deadline_ms})

    def load(self, method, requests, concurrency):
        return self.control("POST", "/load", {"method": method, "requests": requests,
                                              "concurrency": concurrency})["results"]

    def received(self):
        return self.control("GET", "/received")

    def clear_received(self):
        self.control("DELETE", "/received")

    def faults(self, rules):
        self.control("POST", "/faults", rules)

    def close(self):
        self.close_all((self.fn, self.fake), ("fn_log", "fake_log"))


def h2_raw(port, spec):
    """Runs tests/grpc/h2_raw.js: raw HTTP/2 requests (Node's own http2
    client) described by `spec`; returns its JSON answer."""
    out = subprocess.run([NODE, os.path.join(GRPC_DIR, "h2_raw.js"), str(port)], input=json.dumps(spec),
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise AssertionError("h2_raw.js failed: %s" % out.stderr)
    return json.loads(out.stdout)
