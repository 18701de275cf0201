#!/usr/bin/env python3
"""Instructions per record of the logs-handler's deliveries, counted by valgrind's
callgrind: the same figure on every run of the same binary and input, however busy the
machine is, where requests/s and CPU time move by 20% from one run to the next. The
function runs under callgrind with the context of bench/runtimes.py; after a warm-up the
counters are zeroed, REQUESTS requests are sent on one keep-alive connection, and the
instructions counted (the function's user space: the kernel's work is not in them) are
divided by the records they carried:

  binding   one record per request to the binding input (no match, as async-noalert)
  pubsub    one record per request as a pub/sub CloudEvent (as async-pubsub)
  bulk      100 such CloudEvents per bulk delivery (as async-bulk)
  bulk-raw  100 records per bulk delivery as raw payloads (rawPayload: base64 text), as
            docs/logs-handler.md's high-volume setup has them

    bench/instructions.py [--build build] [--requests 50]
"""

import argparse
import base64
import glob
import http.client
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runtimes  # noqa: E402  (the same records, contexts and helpers)


def count(binary, context, env, path, body, requests, folder):
    port = runtimes.free_port()
    out = os.path.join(folder, "callgrind.out")
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, binary],
                            env=runtimes.function_env(context, port, env),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        runtimes.wait_until(lambda: runtimes.listening(port), "the function under callgrind", 60)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def send(n):
            for _ in range(n):
                conn.request("POST", path, body, {"Content-Type": "application/json"})
                answer = conn.getresponse()
                answer.read()
                if answer.status != 200:
                    raise SystemExit("%s answered %d" % (path, answer.status))

        send(5)  # warm: the pools and buffers are made
        subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
        send(requests)
        subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    finally:
        proc.terminate()
        proc.wait(60)
    dump = min(glob.glob(out + ".*"), key=os.path.getmtime)  # the one callgrind_control asked for
    with open(dump) as f:
        return next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(runtimes.ROOT, "build"))
    ap.add_argument("--requests", type=int, default=50)
    args = ap.parse_args()
    binary = os.path.join(args.build, "bin", "logs-handler")
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
    rows = [("binding", context, "/" + binding, runtimes.record(200), 1),
            ("pubsub", pubsub, "/dapr/pubsub/kafka-receiver", runtimes.dapr_json(event), 1),
            ("bulk", pubsub, "/dapr/pubsub/kafka-receiver", runtimes.dapr_json(bulk), 100),
            ("bulk-raw", pubsub, "/dapr/pubsub/kafka-receiver", runtimes.dapr_json(raw), 100)]
    print("| Delivery | Instructions per record |\n|---|---|")
    for name, ctx, path, body, per in rows:
        with tempfile.TemporaryDirectory(prefix="ofctx-callgrind-") as folder:
            total = count(binary, ctx, env, path, body, args.requests, folder)
        print("| %s | %d |" % (name, round(total / (args.requests * per))))


if __name__ == "__main__":
    main()
