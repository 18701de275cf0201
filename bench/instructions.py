#!/usr/bin/env python3
"""Instructions per record (or event) of every runtime path, counted by valgrind's
callgrind: the same figure on every run of the same binary and input, however busy the
machine is, where requests/s and CPU time move by 20% from one run to the next. The
function runs under callgrind with the context of bench/runtimes.py; after a warm-up the
counters are zeroed, REQUESTS requests are sent one after another on one keep-alive
connection, and the instructions counted (the function's user space: the kernel's work
is not in them) are divided by the records they carried:

  binding       the logs-handler, Async over HTTP: one record per request to the binding
                input (no match, no output: as async-noalert)
  pubsub        one record per request as a pub/sub CloudEvent (as async-pubsub)
  bulk          100 such CloudEvents per bulk delivery (as async-bulk)
  bulk-raw      100 records per bulk delivery as raw payloads (rawPayload: base64 text), as
                docs/logs-handler.md's high-volume setup has them
  grpc-binding  the binding row over gRPC (APP_PROTOCOL=grpc): one OnBindingEvent call per
                record, made by bench/grpc_calls.js (Node's http2 client) on one connection
                (as grpc-noalert)
  knative-http  examples/echo, Knative runtime: a plain POST, its body echoed (knative-http)
  knative-ce    the same as a binary-mode CloudEvent (ce-* headers: knative-ce)
  knative-traced  knative-ce with tracing on (provider opentelemetry) and a traceparent header:
                the invocation's span continued, its ids on the log lines; no exporter
  knative-exported  knative-traced with the OTLP exporter (gzip) to a local collector (a thread
                of this script answering 200): each span copied, batched, encoded, gzipped and
                posted; run it with --requests 1024 or more, so that batches of 512 fill
  once-ce       examples/dedup-hook's once, the same CloudEvent, no hook named in the context
  once-dedup    the same with the context naming the dedup hook (pre and post): every request
                after the first has the id seen before, and is dropped by the hook
  new-send      the function `ofctx new` makes (Async, a binding event): one send to the
                output per event, to the Dapr sidecar emulator
  new-state     `ofctx new --state`'s: the same send, after a state read and a write of
                the store's key through the emulator (its state API): new-state less
                new-send is what a get and a set cost the function per event
  new-send-grpc, new-state-grpc  the same two with the sidecar's gRPC API
                (OFCTX_DAPR_PROTOCOL=grpc), tests/grpc/fake_daprd.js playing it

    bench/instructions.py [--build build] [--requests 50] [--only ROW,...] [--keep DIR]
"""

import argparse
import base64
import glob
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runtimes  # noqa: E402  (the same records, contexts and helpers)
from harness import GRPC_DIR, NODE  # noqa: E402  (runtimes put tests/integration on the path)


def http_client(port, path, body, headers, expect=(200,)):
    """send(n): n requests, each once the one before is answered (with a status of
    `expect`), on one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(n):
        for _ in range(n):
            conn.request("POST", path, body, headers)
            answer = conn.getresponse()
            answer.read()
            if answer.status not in expect:
                raise SystemExit("%s answered %d" % (path, answer.status))

    return send, conn.close


def grpc_client(port, path, message, folder):
    """send(n): n gRPC calls, each once the one before has ended, on one HTTP/2 connection."""
    body_file = os.path.join(folder, "call.bin")
    with open(body_file, "wb") as f:
        f.write(message)
    node = subprocess.Popen([NODE, os.path.join(runtimes.HERE, "grpc_calls.js"), str(port), path,
                             body_file], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def send(n):
        node.stdin.write("%d\n" % n)
        node.stdin.flush()
        line = node.stdout.readline().strip()
        if line != "ok":
            raise SystemExit("%s: %s" % (path, line or "grpc_calls.js ended"))

    def close():
        node.stdin.close()
        node.wait(60)

    return send, close


def scaffold(build, folder, name, *options):
    """The function `ofctx new NAME OPTIONS` makes, built against the build tree
    (-O2): its program's path."""
    src, build = os.path.join(folder, name), os.path.abspath(build)
    subprocess.run([os.path.join(build, "bin", "ofctx"), "new", name, "--dir", src, *options], check=True,
                   capture_output=True)
    program = os.path.join(src, name)
    subprocess.run(["cc", "-std=c11", "-O2", "-g", "-o", program, name + ".c", "main.c",
                    "-I" + os.path.join(runtimes.ROOT, "include"), "-I" + os.path.join(build, "include"),
                    "-L" + build, "-lofctx", "-Wl,-rpath," + build], cwd=src, check=True)
    return program


class Emulator:
    """tools/daprd_emulator.py with these components, as the functions' sidecar:
    callgrind counts the function's instructions, not the sidecar's."""

    def __init__(self, components, folder):
        comp_file = os.path.join(folder, "components.json")
        with open(comp_file, "w") as f:
            json.dump(components, f)
        ready = os.path.join(folder, "dapr.port")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(runtimes.ROOT, "tools", "daprd_emulator.py"), "--app-port",
             str(runtimes.free_port()), "--dapr-http-port", "0", "--components", comp_file, "--ready-file", ready],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runtimes.STARTED.append(self.proc)
        runtimes.wait_until(lambda: os.path.exists(ready), "the emulator", 60)
        with open(ready) as f:
            self.port = int(f.read().strip())

    def close(self):
        self.proc.terminate()
        self.proc.wait(60)


class FakeDaprd:
    """tests/grpc/fake_daprd.js: the sidecar's gRPC API (bindings and an
    in-memory state store), for the gRPC rows."""

    def __init__(self, folder):
        ready = os.path.join(folder, "fake.json")
        self.port = runtimes.free_port()
        self.proc = subprocess.Popen(
            [NODE, os.path.join(GRPC_DIR, "fake_daprd.js"), "--app-port", str(runtimes.free_port()),
             "--grpc-port", str(self.port), "--ready-file", ready],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runtimes.STARTED.append(self.proc)
        runtimes.wait_until(lambda: os.path.exists(ready), "the fake daprd", 60)

    def close(self):
        self.proc.terminate()
        self.proc.wait(60)


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP sink: takes the export and answers 200, an empty body."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def count(binary, context, env, client, requests, folder, keep=None):
    port = runtimes.free_port()
    out = os.path.join(folder, "callgrind.out")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--compress-strings=no",
                             "--callgrind-out-file=" + out, binary],
                            env=runtimes.function_env(context, port, env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        runtimes.wait_until(lambda: runtimes.listening(port), "the function under callgrind", 60)
        send, close = client(port)
        send(5)  # warm: the pools and buffers are made
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        send(requests)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
        close()
    finally:
        proc.terminate()
        proc.wait(60)
    dump = min(glob.glob(out + ".*"), key=os.path.getmtime)  # the one callgrind_control asked for
    if keep:
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        shutil.copyfile(dump, keep)
    with open(dump) as f:
        return next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(runtimes.ROOT, "build"))
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--only", default="", help="rows to count (NAME,...), all when empty")
    ap.add_argument("--keep", default="", help="a folder for each row's dump (NAME.callgrind), for "
                    "callgrind_annotate --compress-strings=no")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    binary = os.path.join(args.build, "bin", "logs-handler")
    echo = os.path.join(args.build, "bin", "echo")
    with open(binary, "rb") as f:
        if b"__asan_init" in f.read():  # also the library's, whose symbols the binary names
            print("(instructions per record: not counted, valgrind cannot run a sanitizer build)")
            return
    context, env = runtimes.logs_handler_context(type("NoSidecar", (), {"port": 1})())
    binding = context["inputs"]["kafka-receiver"]["componentName"]
    pubsub = dict(context, inputs={"kafka-receiver": {
        "uri": "logs", "componentName": "pubsub", "componentType": "pubsub.kafka",
        "metadata": {"bulkSubscribe": "true"}}})
    event = {"id": "1", "source": "bench", "type": "t", "specversion": "1.0",
             "datacontenttype": "application/json", "topic": "logs", "pubsubname": "pubsub",
             "data": json.loads(runtimes.record(200))}
    bulk = {"id": "b", "type": "com.dapr.event.sent.bulk", "topic": "logs", "pubsubname": "pubsub",
            "entries": [{"entryId": str(i), "event": event, "contentType": "application/cloudevents+json",
                         "metadata": {}} for i in range(100)]}
    raw = dict(bulk, entries=[{"entryId": str(i), "contentType": "application/json", "metadata": {},
                               "event": base64.b64encode(runtimes.record(200).encode()).decode()}
                              for i in range(100)])
    json_type = {"Content-Type": "application/json"}

    def post(path, body, headers=json_type, expect=(200,)):
        return lambda folder: lambda port: http_client(port, path, body, headers, expect)

    def grpc(path, message):
        return lambda folder: lambda port: grpc_client(port, path, message, folder)

    # gRPC: no call sends (no record matches), so no sidecar is asked; the port only has to be set
    grpc_env = dict(env, APP_PROTOCOL="grpc", DAPR_GRPC_PORT="1")
    knative = {"name": "echo", "runtime": "Knative", "httpPattern": "/echo"}
    ce = dict(json_type, **{"ce-specversion": "1.0", "ce-id": "1", "ce-source": "/bench",
                            "ce-type": "dev.bench.event"})
    traced = dict(knative, tracing={"enabled": True, "provider": {"name": "opentelemetry"}})
    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    exported = dict(knative, tracing={"enabled": True, "provider": {
        "name": "opentelemetry", "exporter": {
            "name": "otlp", "endpoint": "http://127.0.0.1:%d" % collector.server_address[1],
            "compression": "gzip"}}})
    traced_ce = dict(ce, traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    once = os.path.join(args.build, "bin", "once")
    dedup = dict(knative, name="once", prePlugins=["dedup"], postPlugins=["dedup"])
    rows = [("binding", binary, context, env, post("/" + binding, runtimes.record(200)), 1),
            ("pubsub", binary, pubsub, env, post("/dapr/pubsub/kafka-receiver", runtimes.dapr_json(event)), 1),
            ("bulk", binary, pubsub, env, post("/dapr/pubsub/kafka-receiver", runtimes.dapr_json(bulk)), 100),
            ("bulk-raw", binary, pubsub, env, post("/dapr/pubsub/kafka-receiver", runtimes.dapr_json(raw)), 100),
            ("grpc-binding", binary, context, grpc_env,
             grpc("/dapr.proto.runtime.v1.AppCallback/OnBindingEvent",
                  runtimes.binding_event(binding, runtimes.record(200))), 1),
            ("knative-http", echo, knative, {}, post("/echo", '{"hello":"world"}'), 1),
            ("knative-ce", echo, knative, {}, post("/echo", '{"hello":"world"}', ce), 1),
            ("knative-traced", echo, traced, {}, post("/echo", '{"hello":"world"}', traced_ce), 1),
            ("knative-exported", echo, exported, {}, post("/echo", '{"hello":"world"}', traced_ce), 1),
            ("once-ce", once, dict(knative, name="once"), {}, post("/echo", '{"hello":"world"}', ce), 1),
            # the first is handled, every later one dropped (400) by the hook
            ("once-dedup", once, dedup, {}, post("/echo", '{"hello":"world"}', ce, (200, 400)), 1)]
    scaffolds = tempfile.TemporaryDirectory(prefix="ofctx-bench-new-")
    sidecar = fake = None
    new_rows = {"new-send", "new-state", "new-send-grpc", "new-state-grpc"}
    if not only or only & new_rows:
        sidecar = Emulator({"bindings": [{"name": "in", "type": "bindings.kafka"},
                                         {"name": "out", "type": "bindings.kafka", "direction": "output"}],
                            "states": [{"name": "store", "type": "state.redis"}]}, scaffolds.name)
        # the contexts `ofctx new` writes (the store named "store")
        new_ctx = {"name": "counter", "runtime": "Async",
                   "inputs": {"in": {"componentName": "in", "componentType": "bindings.kafka"}},
                   "outputs": {"out": {"componentName": "out", "componentType": "bindings.kafka",
                                       "operation": "create"}}}
        state_ctx = dict(new_ctx, states={"store": {"componentName": "store", "componentType": "state.redis"}})
        new_env = {"DAPR_HTTP_PORT": str(sidecar.port), "OFCTX_DAPR_WAIT_MS": "0"}
        sender = scaffold(args.build, scaffolds.name, "sender")
        counter = scaffold(args.build, scaffolds.name, "counter", "--state", "store")
        rows += [("new-send", sender, new_ctx, new_env, post("/in", '{"hello":"world"}'), 1),
                 ("new-state", counter, state_ctx, new_env, post("/in", '{"hello":"world"}'), 1)]
        if not os.path.isdir(os.path.join(GRPC_DIR, "node_modules", "@grpc", "grpc-js")):
            print("(new-send-grpc, new-state-grpc: not counted, tests/grpc/node_modules is missing: "
                  "npm ci there)")
        elif not only or only & {"new-send-grpc", "new-state-grpc"}:
            fake = FakeDaprd(scaffolds.name)
            grpc_new_env = dict(new_env, OFCTX_DAPR_PROTOCOL="grpc", DAPR_GRPC_PORT=str(fake.port))
            rows += [("new-send-grpc", sender, new_ctx, grpc_new_env, post("/in", '{"hello":"world"}'), 1),
                     ("new-state-grpc", counter, state_ctx, grpc_new_env, post("/in", '{"hello":"world"}'), 1)]
    print("| Delivery | Instructions per record |\n|---|---|")
    try:
        for name, program, ctx, extra, client, per in rows:
            if only and name not in only:
                continue
            with tempfile.TemporaryDirectory(prefix="ofctx-callgrind-") as folder:
                keep = os.path.join(args.keep, name + ".callgrind") if args.keep else None
                total = count(program, ctx, extra, client(folder), args.requests, folder, keep)
            print("| %s | %d |" % (name, round(total / (args.requests * per))), flush=True)
    finally:
        for peer in (sidecar, fake):
            if peer:
                peer.close()
        scaffolds.cleanup()


if __name__ == "__main__":
    main()
