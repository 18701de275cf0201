#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Runtime benchmarks with wrk (keep-alive), the function pinned to CPU 0
and wrk to CPU 1 when there are two:

  async-noalert   logs-handler, Async runtime, POST /<binding> of records that do not alert
  async-alert     the same with records that all alert: one key, so flood control folds
                  them into one notification (to a sidecar played by knative_probe)
  async-send      examples/echo on the same context: each event one send to the output,
                  the send path on its own
  async-send-grpc async-send with its sends over the sidecar's gRPC API (OFCTX_DAPR_PROTOCOL=grpc)
  async-send-2k   async-send throttled to about 2 000 events/s: the send path's latency at a
                  moderate rate
  async-10k       async-noalert throttled to about 10 000 requests/s: the latency then
  async-pubsub    async-noalert, the records as single pub/sub CloudEvents (records/s)
  async-bulk      the same records, 100 to a bulk delivery (bulkSubscribe): records/s
  grpc-noalert    async-noalert with APP_PROTOCOL=grpc: OnBindingEvent calls by h2load
                  (64 connections, 16 streams each)
  grpc-alert      async-alert over gRPC both ways (grpc_sidecar plays the sidecar)
  grpc-send       async-send over gRPC both ways: each event one InvokeBinding
  knative-http    examples/echo, Knative runtime, plain HTTP POST
  knative-ce      examples/echo, Knative runtime, binary-mode CloudEvents
  cold-start      exec to the first /healthz answer, median of many starts
  nginx           nginx `return 200` (one worker, access log off; when /usr/sbin/nginx is there:
                  apt-get install nginx-light) and async-noalert, run alternately with the same
                  requests: the ratio of their requests/s
  rss-idle        the idle RSS of the functions above, and of the logs-handler once its
                  start-up wait has asked the sidecar (which opens libcurl)
Also the function's RSS idle and after each load, and its CPU time per request (user plus
system, from /proc), which a noisy machine disturbs less than requests/s. Each wrk figure
is the median of RUNS runs (each column apart). Prints a Markdown table.

    bench/runtimes.py [--seconds 10] [--runs 3] [--build build] [--only NAME,...]
"""

import argparse
import atexit
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import free_port, raw_exchange, wait_until  # noqa: E402

STARTED = []  # every process started, killed at exit should a benchmark fail half-way
atexit.register(lambda: [p.kill() for p in STARTED if p.poll() is None])
TWO_CPUS = (os.cpu_count() or 1) >= 2


def pinned(cpu, cmd):
    return ["taskset", "-c", str(cpu)] + cmd if TWO_CPUS else cmd


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port)).close()
        return True
    except OSError:
        return False


def wait_port(port):
    wait_until(lambda: listening(port), "a listener on %d" % port, 10)


def get(port, path):
    """The raw answer to GET `path` on 127.0.0.1:`port`."""
    return raw_exchange(port, b"GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" % path.encode())


class FastSidecar:
    """Dapr's output-binding API (and /v1.0/healthz/outbound) played by a
    libofctx function: knative_probe as a plain HTTP function on
    /v1.0/{api}/{name}, answering 200 (a Python sidecar would be the
    bottleneck). It shares CPU 1 with wrk."""

    def __init__(self, bin_dir):
        self.proc, self.port = start_function(
            os.path.join(bin_dir, "knative_probe"), {"name": "sidecar", "runtime": "Knative"},
            {"PROBE_KIND": "http", "OFCTX_HTTP_PATTERN": "/v1.0/{api}/{name}"}, cpu=1)

    @property
    def count(self):
        m = re.search(rb'ofctx_events_total\{input="http",outcome="success"\} (\d+)', get(self.port, "/metrics"))
        return int(m.group(1))

    def close(self):
        stop(self.proc)


class GrpcSidecar:
    """Dapr's gRPC API played by grpc_sidecar (libofctx's own gRPC server,
    answering every call OK) on CPU 1, which it shares with h2load."""

    def __init__(self, bin_dir):
        self.port = free_port()
        self.proc = launch(pinned(1, [os.path.join(bin_dir, "grpc_sidecar"), str(self.port)]), dict(os.environ))
        wait_port(self.port)

    @property
    def count(self):
        return int(get(self.port, "/count").split(b"\r\n\r\n", 1)[1])

    def close(self):
        stop(self.proc)


def pb_field(number, payload):
    """A length-delimited protobuf field (payloads here stay under 2 MiB)."""
    n, length = len(payload), b""
    while True:
        length += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
        n >>= 7
        if not n:
            return bytes([number << 3 | 2]) + length + payload


def binding_event(name, data):
    """A gRPC request body: one BindingEventRequest {name, data}."""
    msg = pb_field(1, name.encode()) + pb_field(2, data.encode())
    return b"\x00" + len(msg).to_bytes(4, "big") + msg


def h2load_once(url, seconds, body_file, pid, connections=64, streams=16):
    """Requests/s, the mean time per request (h2load gives no percentiles), the requests that
    failed (h2load sees HTTP only: the gRPC status is checked by the caller through the
    sidecar's count), and the function's CPU time per request (µs)."""
    cpu = cpu_seconds(pid)
    out = subprocess.run(pinned(1, ["h2load", "-t1", "-c%d" % connections, "-m%d" % streams,
                                    "-D%d" % seconds, "-d", body_file, "-H", "content-type: application/grpc",
                                    "-H", "te: trailers", url]), capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu
    rps = float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out).group(1))
    m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored", out)
    total, failed = int(m.group(2)), int(m.group(4)) + int(m.group(5))
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    mean = re.search(r"time for request:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
    return rps, float(mean.group(1)) * scale[mean.group(2)], failed, cpu * 1e6 / max(total, 1)


def h2load(url, seconds, body_file, runs, pid):
    results = [h2load_once(url, seconds, body_file, pid) for _ in range(runs)]
    lat = {"50": "%.2fms (mean)" % statistics.median(r[1] for r in results),
           "cpu": "%.1fus" % statistics.median(r[3] for r in results)}
    return statistics.median(r[0] for r in results), lat, sum(r[2] for r in results)


def function_env(context, port, extra_env=None):
    """The environment of a function that listens on 127.0.0.1:`port`."""
    env = dict(os.environ, FUNC_CONTEXT=json.dumps(dict(context, port=str(port))),
               CONTEXT_MODE="self-host", OFCTX_LISTEN_HOST="127.0.0.1", OFCTX_LOG_LEVEL="warn")
    env.update(extra_env or {})
    return env


def launch(cmd, env):
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    STARTED.append(proc)
    return proc


def start_function(binary, context, extra_env=None, cpu=0):
    """The function, pinned to `cpu`, once it listens: (process, port)."""
    port = free_port()
    fn = launch(pinned(cpu, [binary]), function_env(context, port, extra_env))
    wait_port(port)
    return fn, port


def stop(proc):
    proc.terminate()
    proc.wait(30)


def cpu_seconds(pid):
    """User plus system time of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk_once(url, seconds, lua, connections, pid):
    """Requests/s, the latency percentiles wrk reports (in ms), the non-2xx answers, and the
    function's CPU time per request (µs): steadier than requests/s on a noisy machine."""
    cpu = cpu_seconds(pid)
    out = subprocess.run(pinned(1, ["wrk", "-t1", "-c%d" % connections, "-d%ds" % seconds, "--latency",
                                    "-s", lua, url]), capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    lat = {p: float(v) * scale[unit] for p, v, unit in
           re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\b", out, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, lat, int(errors.group(1)) if errors else 0, cpu * 1e6 / max(total, 1)


def wrk(url, seconds, lua, runs, pid, connections=64):
    """The medians of `runs` wrk runs, the non-2xx answers of all, and the median CPU
    time per request of the function `pid`."""
    results = [wrk_once(url, seconds, lua, connections, pid) for _ in range(runs)]
    lat = {p: "%.2fms" % statistics.median(r[1][p] for r in results) for p in results[0][1]}
    lat["cpu"] = "%.1fus" % statistics.median(r[3] for r in results)
    return statistics.median(r[0] for r in results), lat, sum(r[2] for r in results)


def lua_script(folder, name, method, body, headers, rate=None, connections=64):
    path = os.path.join(folder, name + ".lua")
    with open(path, "w") as f:
        f.write("wrk.method = %s\nwrk.body = %s\n" % (json.dumps(method), json.dumps(body)))
        for k, v in headers.items():
            f.write("wrk.headers[%s] = %s\n" % (json.dumps(k), json.dumps(v)))
        if rate:  # each connection waits its share of the interval, drawn at random so that
            # the connections do not fall into step and arrive in bursts: about `rate` in all
            f.write("function delay() return math.random(0, %d) end\n" % max(1, round(2000 * connections / rate)))
    return path


RECORD = {"@timestamp": 1629856477.226758, "time": "2021-08-25T01:54:37.226757612Z",
          "kubernetes": {"pod_name": "wordpress-v1-f54f697c5-hdn2z", "namespace_name": "demo-project",
                         "container_name": "container-nrdsp1", "container_image": "wordpress:4.8-apache"}}


def record(status):
    r = dict(RECORD)
    r["log"] = ('10.0.0.7 - - [25/Aug/2021:01:54:36 +0000] "GET /wp-content/x.png HTTP/1.1" %d 4923 '
                '"https://blog.example.com/" "Mozilla/5.0 (X11; Linux x86_64)"\n' % status)
    return json.dumps(r)


def dapr_json(value):
    """JSON as Dapr writes it (Go's encoding/json): no white space."""
    return json.dumps(value, separators=(",", ":"))


def logs_handler_context(sidecar):
    with open(os.path.join(ROOT, "examples", "logs-handler", "context.json")) as f:
        return json.load(f), {"DAPR_HTTP_PORT": str(sidecar.port), "OFCTX_DAPR_WAIT_MS": "0"}


NGINX = "/usr/sbin/nginx"


def start_nginx(folder, port):
    """nginx answering every request 200 with no body, one process on CPU 0."""
    conf = os.path.join(folder, "nginx.conf")
    with open(conf, "w") as f:
        f.write("daemon off; master_process off; worker_processes 1; pid %s/nginx.pid;\n"
                "error_log stderr error; events { worker_connections 1024; }\n"
                "http { access_log off; client_body_temp_path %s;\n"
                "  server { listen 127.0.0.1:%d; location / { return 200; } } }\n" % (folder, folder, port))
    proc = subprocess.Popen(pinned(0, [NGINX, "-c", conf, "-p", folder]), stderr=subprocess.DEVNULL)
    STARTED.append(proc)
    wait_port(port)
    return proc


def nginx_rows(bin_dir, sidecar, tmp, args):
    """nginx and async-noalert, `args.runs` wrk runs each, alternately."""
    context, env = logs_handler_context(sidecar)
    binding = context["inputs"]["kafka-receiver"]["componentName"]
    port = free_port()
    web = start_nginx(tmp, port)
    fn, fport = start_function(os.path.join(bin_dir, "logs-handler"), context, env)
    lua = lua_script(tmp, "nginx", "POST", record(200), {"Content-Type": "application/json"})
    runs = {"nginx": [], "async-noalert": []}
    for _ in range(args.runs):
        runs["nginx"].append(wrk_once("http://127.0.0.1:%d/%s" % (port, binding), args.seconds, lua, 64, web.pid))
        runs["async-noalert"].append(wrk_once("http://127.0.0.1:%d/%s" % (fport, binding), args.seconds, lua,
                                              64, fn.pid))
    stop(fn)
    stop(web)
    medians = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    rows = []
    for name, results in runs.items():
        lat = {p: "%.2fms" % statistics.median(r[1][p] for r in results) for p in results[0][1]}
        lat["cpu"] = "%.1fus" % statistics.median(r[3] for r in results)
        rows.append((name + " (alternating)", medians[name], lat, sum(r[2] for r in results),
                     "async-noalert / nginx: %.2fx" % (medians["async-noalert"] / medians["nginx"])))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    bin_dir = os.path.join(args.build, "bin")
    tmp = tempfile.mkdtemp(prefix="ofctx-bench-")
    sidecar = FastSidecar(bin_dir)
    rows = []

    def want(name):
        return not only or name in only

    context, env = logs_handler_context(sidecar)
    binding = context["inputs"]["kafka-receiver"]["componentName"]
    if want("async-noalert") or want("async-alert") or want("async-10k"):
        fn, port = start_function(os.path.join(bin_dir, "logs-handler"), context, env)
        idle = rss_kb(fn.pid)
        url = "http://127.0.0.1:%d/%s" % (port, binding)
        plan = [("async-noalert", record(200), None), ("async-10k", record(200), 10000),
                ("async-alert", record(404), None)]
        for name, body, rate in plan:
            if not want(name):
                continue
            before = sidecar.count
            rps, lat, errors = wrk(url, args.seconds, lua_script(tmp, name, "POST", body,
                                                                   {"Content-Type": "application/json"},
                                                                   rate), args.runs, fn.pid)
            sends = sidecar.count - before
            rows.append((name, rps, lat, errors, "RSS %d KB idle, %d KB after; %d alerts sent"
                         % (idle, rss_kb(fn.pid), sends)))
        stop(fn)
    if want("async-send") or want("async-send-2k"):
        fn, port = start_function(os.path.join(bin_dir, "echo"), context, env)
        for name, rate in (("async-send", None), ("async-send-2k", 2000)):
            if not want(name):
                continue
            before = sidecar.count
            rps, lat, errors = wrk("http://127.0.0.1:%d/%s" % (port, binding), args.seconds,
                                   lua_script(tmp, name, "POST", record(404),
                                              {"Content-Type": "application/json"}, rate), args.runs, fn.pid)
            rows.append((name, rps, lat, errors, "examples/echo; %d sends" % (sidecar.count - before)))
        stop(fn)
    if want("async-pubsub") or want("async-bulk"):
        # the logs-handler on a pub/sub input: the same records as CloudEvents
        pctx = dict(context, inputs={"kafka-receiver": {"uri": "logs", "componentName": "pubsub",
                                                        "componentType": "pubsub.kafka",
                                                        "metadata": {"bulkSubscribe": "true"}}})
        fn, port = start_function(os.path.join(bin_dir, "logs-handler"), pctx, env)
        url = "http://127.0.0.1:%d/dapr/pubsub/kafka-receiver" % port
        event = {"id": "1", "source": "bench", "type": "t", "specversion": "1.0",
                 "datacontenttype": "application/json", "topic": "logs", "pubsubname": "pubsub",
                 "data": json.loads(record(200))}
        bulk = {"id": "b", "type": "com.dapr.event.sent.bulk", "topic": "logs", "pubsubname": "pubsub",
                "entries": [{"entryId": str(i), "event": event, "contentType": "application/cloudevents+json",
                             "metadata": {}} for i in range(100)]}
        # compact, as Dapr (Go's encoding/json) writes its envelopes
        for name, body, per in (("async-pubsub", dapr_json(event), 1), ("async-bulk", dapr_json(bulk), 100)):
            if not want(name):
                continue
            rps, lat, errors = wrk(url, args.seconds, lua_script(tmp, name, "POST", body,
                                                                   {"Content-Type": "application/json"}),
                                   args.runs, fn.pid)
            lat["cpu"] = "%.2fus per record" % (float(lat["cpu"][:-2]) / per)
            rows.append((name, rps * per, lat, errors, "records/s (%d per request); RSS %d KB after"
                         % (per, rss_kb(fn.pid))))
        stop(fn)
    for binary, names in (("logs-handler", ("grpc-noalert", "grpc-alert")), ("echo", ("grpc-send",))):
        if not any(want(n) for n in names):
            continue
        grpc_sidecar = GrpcSidecar(bin_dir)
        genv = dict(env, APP_PROTOCOL="grpc", DAPR_GRPC_PORT=str(grpc_sidecar.port))
        fn, port = start_function(os.path.join(bin_dir, binary), context, genv)
        idle = rss_kb(fn.pid)
        url = "http://127.0.0.1:%d/dapr.proto.runtime.v1.AppCallback/OnBindingEvent" % port
        for name, status in (("grpc-noalert", 200), ("grpc-alert", 404), ("grpc-send", 404)):
            if name not in names or not want(name):
                continue
            body_file = os.path.join(tmp, name + ".bin")
            with open(body_file, "wb") as f:
                f.write(binding_event(binding, record(status)))
            before = grpc_sidecar.count
            rps, lat, errors = h2load(url, args.seconds, body_file, args.runs, fn.pid)
            sends = grpc_sidecar.count - before
            rows.append((name, rps, lat, errors, "%s; RSS %d KB idle, %d KB after; %d sends"
                         % (binary, idle, rss_kb(fn.pid), sends)))
        stop(fn)
        grpc_sidecar.close()
    if want("async-send-grpc"):
        # the HTTP app of async-send, its sends over the sidecar's gRPC API
        grpc_sidecar = GrpcSidecar(bin_dir)
        fn, port = start_function(os.path.join(bin_dir, "echo"), context,
                                  dict(env, OFCTX_DAPR_PROTOCOL="grpc", DAPR_GRPC_PORT=str(grpc_sidecar.port)))
        before = grpc_sidecar.count
        rps, lat, errors = wrk("http://127.0.0.1:%d/%s" % (port, binding), args.seconds,
                               lua_script(tmp, "async-send-grpc", "POST", record(404),
                                          {"Content-Type": "application/json"}), args.runs, fn.pid)
        rows.append(("async-send-grpc", rps, lat, errors, "examples/echo; %d sends over gRPC"
                     % (grpc_sidecar.count - before)))
        stop(fn)
        grpc_sidecar.close()
    echo_context = {"name": "echo", "runtime": "Knative", "httpPattern": "/echo"}
    if want("knative-http") or want("knative-ce"):
        fn, port = start_function(os.path.join(bin_dir, "echo"), echo_context)
        idle = rss_kb(fn.pid)
        url = "http://127.0.0.1:%d/echo" % port
        if want("knative-http"):
            rps, lat, errors = wrk(url, args.seconds, lua_script(tmp, "http", "POST", '{"hello":"world"}',
                                                                 {"Content-Type": "application/json"}),
                                   args.runs, fn.pid)
            rows.append(("knative-http", rps, lat, errors, "RSS %d KB idle, %d KB after" % (idle, rss_kb(fn.pid))))
        if want("knative-ce"):
            headers = {"Content-Type": "application/json", "ce-specversion": "1.0", "ce-id": "1",
                       "ce-source": "/bench", "ce-type": "dev.bench.event"}
            rps, lat, errors = wrk(url, args.seconds, lua_script(tmp, "ce", "POST", '{"hello":"world"}', headers),
                                   args.runs, fn.pid)
            rows.append(("knative-ce", rps, lat, errors, "RSS %d KB after" % rss_kb(fn.pid)))
        stop(fn)
    if want("rss-idle"):
        idle = {}
        for name, binary, ctx, extra in [
                ("echo", "echo", echo_context, {}),
                ("logs-handler before calling the sidecar", "logs-handler", context, env),
                ("logs-handler after its start-up wait", "logs-handler", context,
                 dict(env, OFCTX_DAPR_WAIT_MS="30000"))]:
            fn, port = start_function(os.path.join(bin_dir, binary), ctx, extra)
            wait_until(lambda: get(port, "/readyz").startswith(b"HTTP/1.1 200"), name + " ready", 10)
            time.sleep(0.2)
            idle[name] = rss_kb(fn.pid)
            stop(fn)
        rows.append(("rss-idle", None, {}, 0, "; ".join("%s %d KB" % kv for kv in idle.items())))
    if want("cold-start"):
        times = []
        for _ in range(50):
            port = free_port()
            env = function_env(echo_context, port)
            start = time.perf_counter()
            fn = launch([os.path.join(bin_dir, "echo")], env)
            while True:
                try:
                    if get(port, "/healthz").startswith(b"HTTP/1.1 200"):
                        break
                except OSError:
                    pass
            times.append(time.perf_counter() - start)
            stop(fn)
        rows.append(("cold-start", None, {"50": "%.1fms" % (statistics.median(times) * 1000),
                                          "99": "%.1fms" % (max(times) * 1000)}, 0,
                     "exec to the first /healthz answer, 50 starts (the 99 column is the slowest)"))
    if want("nginx") and os.path.exists(NGINX):
        rows.extend(nginx_rows(bin_dir, sidecar, tmp, args))
    sidecar.close()
    print("| Benchmark | Requests/s | p50 | p99 | CPU/request | Non-2xx | Notes |")
    print("|---|---|---|---|---|---|---|")
    for name, rps, lat, errors, notes in rows:
        print("| %s | %s | %s | %s | %s | %d | %s |" % (name, "%.0f" % rps if rps else "-", lat.get("50", "-"),
                                                      lat.get("99", "-"), lat.get("cpu", "-"), errors, notes))
    # a benchmark whose requests fail measures nothing: say so
    return 1 if any(errors for _, _, _, errors, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
