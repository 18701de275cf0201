#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The direct mode (OFCTX_DIRECT=1, docs/direct-mode.md) against the sidecar
mode, side by side in one run (issue 27). The same workload in each: the
logs-handler (examples/logs-handler, its own context.json) over N Fluent
Bit records of gen_records.py (the typical workload of logs_handler.py:
1% 404s, folded into a few alerts), the function pinned to CPU 0 and
everything else to CPU 1. Three ways in:

  direct            the records produced beforehand with kcat into a topic of
                    librdkafka's mock cluster (build/bin/kafka_mock, on
                    loopback); the function joins a fresh consumer group and
                    consumes them; its alerts go to an HTTP sink of this script.
                    Done when /metrics counts N events and the lag is 0 (every
                    offset committed); /metrics is polled every 20 ms
  sidecar-emulator  tools/daprd_emulator.py as the sidecar: its startup sequence
                    (dial, /dapr/config, OPTIONS on the binding's route) once
                    the function is started, then each record delivered as a
                    binding event through its control API (POST
                    /emulator/deliver/binding/NAME), one after another as
                    Dapr's Kafka binding gives a partition's records; the
                    emulator opens a connection per event (daprd keeps them)
  sidecar-keepalive the same events posted by this script to the function's
                    binding route (POST /kafka-receiver) on one keep-alive
                    connection, as daprd does, with the emulator still the
                    sidecar of the function's sends

Each figure is the median of RUNS runs, the modes alternating (direct,
emulator, keep-alive, direct, ...) so that a busy machine slows them alike:

  wall          function start to the last record done (committed, in direct)
  records/s     N / wall: start-up included; "after the first": the records
                after the first over the time after it (the steady rate)
  CPU/record    the function's user plus system time (/proc/PID/stat, all its
                threads) over the run, divided by N; "after the first": the
                time after the first record, over the records after it
  peer CPU      the same for the other process that carries the records: the
                mock cluster (a broker: a real one runs elsewhere) in direct,
                the emulator in the sidecar rows (a real daprd costs its own)
  first record  exec to the first record handled (cold start)
  peak RSS      the function's VmHWM at the end

    bench/direct.py [--build build] [--records 5000] [--runs 3]

5 000 records by default: librdkafka 2.0.2's mock cluster keeps only about
the last 10 000 records of a partition, trimming the oldest (bench/README.md);
the run stops, saying so, when the lag reads 0 before every record was
handled.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runtimes  # noqa: E402  (the processes, ports and /proc helpers)
from logs_handler import records_file  # noqa: E402  (the same generated records)
from harness import write_components  # noqa: E402  (runtimes put tests/integration on the path)

KCAT = shutil.which("kcat")
CONTEXT = os.path.join(runtimes.ROOT, "examples", "logs-handler", "context.json")


class Sink(BaseHTTPRequestHandler):
    """The direct mode's HTTP binding output: every request answered 200."""

    protocol_version = "HTTP/1.1"
    count = 0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Sink.count += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def vm_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))


def context():
    with open(CONTEXT) as f:
        return json.load(f)


def finish(fn, peer_pid, peer_cpu, n, start, first):
    """The figures of a run whose last record is done now; stops the function.
    `first` is (the time, the function's CPU seconds) when the first record was done."""
    end = time.perf_counter()
    cpu = runtimes.cpu_seconds(fn.pid)
    hwm = vm_hwm_kb(fn.pid)
    peer = runtimes.cpu_seconds(peer_pid) - peer_cpu
    runtimes.stop(fn)
    rest = max(n - 1, 1)
    return {"wall": end - start, "rps": n / (end - start), "steady": rest / max(end - first[0], 1e-6),
            "cpu": cpu * 1e6 / n, "steady_cpu": (cpu - first[1]) * 1e6 / rest, "peer": peer * 1e6 / n,
            "first": (first[0] - start) * 1000, "hwm": hwm}


class Direct:
    name = "direct"

    def __init__(self, bin_dir, records, runs, folder):
        self.bin_dir, self.records, self.folder = bin_dir, records, folder
        with open(records) as f:
            self.n = sum(1 for _ in f)
        self.mock = subprocess.Popen(runtimes.pinned(1, [os.path.join(bin_dir, "kafka_mock")] +
                                                     ["bench-%d" % i for i in range(runs)]),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        runtimes.STARTED.append(self.mock)
        self.brokers = self.mock.stdout.readline().strip()
        if not self.brokers:
            raise SystemExit("kafka_mock did not start: " + self.mock.stderr.read())
        self.sink = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
        threading.Thread(target=self.sink.serve_forever, daemon=True).start()
        self.run_no = 0

    def resources(self, topic):
        path = os.path.join(self.folder, topic)
        os.makedirs(path, exist_ok=True)
        write_components(os.path.join(path, "components.yaml"), (
            "kafka-receiver", "bindings.kafka",
            [("brokers", self.brokers), ("topics", topic), ("consumerGroup", "group-" + topic),
             ("authType", "none"), ("initialOffset", "oldest")]), (
            "notification-manager", "bindings.http",
            [("url", "http://127.0.0.1:%d/api/v2/alerts" % self.sink.server_address[1])]))
        return path

    def counts(self, port):
        """(events handled, total lag) from /metrics; lag None before a partition is fetched."""
        try:
            text = runtimes.get(port, "/metrics").decode()
        except OSError:
            return 0, None
        events = sum(int(v) for v in re.findall(r'^ofctx_events_total\{input="kafka-receiver",[^}]*\} (\d+)$',
                                                 text, re.M))
        lags = re.findall(r"^ofctx_kafka_consumer_lag\{[^}]*\} (\d+)$", text, re.M)
        return events, sum(int(v) for v in lags) if lags else None

    def run(self):
        topic = "bench-%d" % self.run_no
        self.run_no += 1
        with open(self.records) as f:  # produced beforehand: not timed
            subprocess.run(runtimes.pinned(1, [KCAT, "-P", "-b", self.brokers, "-t", topic]), stdin=f,
                           check=True, capture_output=True, timeout=300)
        port = runtimes.free_port()
        env = runtimes.function_env(context(), port, {"OFCTX_DIRECT": "1",
                                                      "OFCTX_RESOURCES_PATH": self.resources(topic)})
        env.pop("DAPR_GRPC_PORT", None)
        env.pop("DAPR_HTTP_PORT", None)
        peer_cpu = runtimes.cpu_seconds(self.mock.pid)
        start = time.perf_counter()
        fn = runtimes.launch(runtimes.pinned(0, [os.path.join(self.bin_dir, "logs-handler")]), env)
        first = None
        deadline = start + 600
        while True:
            events, lag = self.counts(port)
            now = time.perf_counter()
            if first is None and events:
                first = (now, runtimes.cpu_seconds(fn.pid))
            if events >= self.n and lag == 0:
                return finish(fn, self.mock.pid, peer_cpu, self.n, start, first)
            if lag == 0 and events:  # every record was produced before the start: a lag of 0
                # with records not handled is a partition that did not keep them all
                raise SystemExit("direct: the lag is 0 with %d of %d records handled: the mock cluster "
                                 "keeps about the last 10 000 records of a partition" % (events, self.n))
            if fn.poll() is not None or now > deadline:
                raise SystemExit("direct: the function %s with %d of %d records done"
                                 % ("exited" if fn.poll() is not None else "timed out", events, self.n))
            time.sleep(0.005 if first is None else 0.02)

    def close(self):
        self.sink.shutdown()
        runtimes.stop(self.mock)


class Emulated:
    """The sidecar rows: the emulator as the sidecar; `keepalive` posts the
    events straight to the function instead of through the emulator."""

    def __init__(self, bin_dir, records, folder, keepalive):
        self.name = "sidecar-keepalive" if keepalive else "sidecar-emulator"
        self.bin_dir, self.folder, self.keepalive = bin_dir, folder, keepalive
        with open(records, "rb") as f:
            self.lines = [l.rstrip(b"\n") for l in f if l.strip()]
        self.n = len(self.lines)

    def start_emulator(self, app_port):
        comp_file = os.path.join(self.folder, "components.json")
        with open(comp_file, "w") as f:
            json.dump({"bindings": [{"name": "kafka-receiver", "type": "bindings.kafka"},
                                    {"name": "notification-manager", "type": "bindings.http",
                                     "direction": "output"}]}, f)
        ready = os.path.join(self.folder, "dapr-%d.port" % app_port)
        proc = runtimes.launch(runtimes.pinned(1, [sys.executable, os.path.join(runtimes.ROOT, "tools",
                                                                                "daprd_emulator.py"),
                                                   "--app-port", str(app_port), "--dapr-http-port", "0",
                                                   "--components", comp_file, "--ready-file", ready]),
                               dict(os.environ))
        runtimes.wait_until(lambda: os.path.exists(ready), "the emulator", 60)
        with open(ready) as f:
            return proc, int(f.read().strip())

    def run(self):
        port = runtimes.free_port()
        emu, emu_port = self.start_emulator(port)  # a sidecar already there when the function starts
        env = runtimes.function_env(context(), port, {"DAPR_HTTP_PORT": str(emu_port)})
        env.pop("DAPR_GRPC_PORT", None)
        peer_cpu = runtimes.cpu_seconds(emu.pid)
        start = time.perf_counter()
        fn = runtimes.launch(runtimes.pinned(0, [os.path.join(self.bin_dir, "logs-handler")]), env)
        if self.keepalive:
            while not runtimes.listening(port):
                time.sleep(0.001)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            path, headers = "/kafka-receiver", {"Content-Type": "application/json",
                                                "User-Agent": "Go-http-client/1.1"}
        else:
            conn = http.client.HTTPConnection("127.0.0.1", emu_port, timeout=60)
            conn.request("POST", "/emulator/startup", json.dumps({"timeoutMs": 30000}))
            answer = conn.getresponse()
            if answer.status != 200:
                raise SystemExit("the emulator's startup: %d %s" % (answer.status, answer.read()))
            answer.read()
            path, headers = "/emulator/deliver/binding/kafka-receiver", {}
        first = None
        for line in self.lines:
            conn.request("POST", path, line, headers)
            answer = conn.getresponse()
            body = answer.read()
            ok = answer.status == 200 if self.keepalive else json.loads(body).get("acked")
            if not ok:
                raise SystemExit("%s: a record was not acknowledged: %d %s" % (self.name, answer.status, body[:300]))
            if first is None:
                first = (time.perf_counter(), runtimes.cpu_seconds(fn.pid))
        conn.close()
        figures = finish(fn, emu.pid, peer_cpu, self.n, start, first)
        runtimes.stop(emu)
        return figures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(runtimes.ROOT, "build"))
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    bin_dir = os.path.join(args.build, "bin")
    if not KCAT:
        raise SystemExit("kcat is not installed (scripts/lib.sh lists it)")
    folder = os.path.join(tempfile.gettempdir(), "ofctx-bench-logs-handler")
    os.makedirs(folder, exist_ok=True)
    records = records_file(folder, args.records, [])
    tmp = tempfile.mkdtemp(prefix="ofctx-bench-direct-")
    modes = [Direct(bin_dir, records, args.runs, tmp), Emulated(bin_dir, records, tmp, False),
             Emulated(bin_dir, records, tmp, True)]
    results = {m.name: [] for m in modes}
    try:
        for _ in range(args.runs):  # alternately: every mode once, then again
            for mode in modes:
                results[mode.name].append(mode.run())
    finally:
        modes[0].close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d records (%s), the logs-handler; median of %d runs, alternating; the function on CPU 0, "
          "the rest on CPU 1" % (args.records, os.path.basename(records), args.runs))
    print()
    print("| Mode | Wall (s) | Records/s | Records/s after the first | CPU/record | CPU/record after the first "
          "| Peer CPU/record | First record | Peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|")
    peers = {"direct": "mock cluster", "sidecar-emulator": "emulator", "sidecar-keepalive": "emulator"}
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print("| %s | %.2f | %s | %s | %.1f µs | %.1f µs | %.1f µs (%s) | %.0f ms | %.1f MB |" % (
            name, med["wall"], "{:,}".format(round(med["rps"])).replace(",", " "),
            "{:,}".format(round(med["steady"])).replace(",", " "), med["cpu"], med["steady_cpu"], med["peer"],
            peers[name], med["first"], max(r["hwm"] for r in runs) / 1024))


if __name__ == "__main__":
    main()
