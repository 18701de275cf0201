#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Soak: N events through the async runtime (tests/functions/probe.c) over
keep-alive connections, every second event sending one output to a fast
fake sidecar. Measures the function's RSS and open descriptors after a
warm-up and at the end, and checks the counts end to end: every event
answered 200 exactly once, every send received exactly once.

    bench/soak.py [--events 1000000] [--connections 8] [--build build]
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import free_port  # noqa: E402


async def read_message(reader):
    """Head and body of one HTTP/1.1 request or response (Content-Length or none)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    return head, body


class Sidecar:
    """Answers the function's calls at once: health 204, bindings 204."""

    def __init__(self):
        self.sends = {}

    async def serve(self, reader, writer):
        try:
            while True:
                head, body = await read_message(reader)
                if head.startswith(b"POST /v1.0/bindings/"):
                    ident = json.loads(body)["data"]["id"]
                    self.sends[ident] = self.sends.get(ident, 0) + 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the function closed, or the soak is over
        writer.close()


def usage(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return rss, len(os.listdir("/proc/%d/fd" % pid))


async def drive(port, first, count, connections, answers):
    async def worker(w):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for i in range(first + w, first + count, connections):
            body = (json.dumps({"send": ["out"], "id": str(i)}) if i % 2 == 0
                    else json.dumps({"return": 200})).encode()
            writer.write(b"POST /kafka-in HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            head, _ = await read_message(reader)
            status = int(head.split(b" ", 2)[1])
            answers[status] = answers.get(status, 0) + 1
        writer.close()
    await asyncio.gather(*(worker(w) for w in range(connections)))


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1000000)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    sidecar = Sidecar()
    server = await asyncio.start_server(sidecar.serve, "127.0.0.1", 0)
    dapr_port = server.sockets[0].getsockname()[1]
    app_port = free_port()
    context = {"name": "soak", "runtime": "Async", "port": str(app_port),
               "inputs": {"kafka": {"componentName": "kafka-in", "componentType": "bindings.kafka"}},
               "outputs": {"out": {"componentName": "kafka-out", "componentType": "bindings.kafka",
                                   "operation": "create"}}}
    env = dict(os.environ, FUNC_CONTEXT=json.dumps(context), CONTEXT_MODE="self-host",
               DAPR_HTTP_PORT=str(dapr_port), OFCTX_LISTEN_HOST="127.0.0.1", OFCTX_LOG_LEVEL="warn")
    fn = subprocess.Popen([os.path.join(args.build, "bin", "probe")], env=env, stderr=subprocess.PIPE)
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", app_port)).close()
            break
        except OSError:
            await asyncio.sleep(0.01)
    answers = {}
    warm = min(10000, args.events // 10)
    await drive(app_port, 0, warm, args.connections, answers)
    rss0, fds0 = usage(fn.pid)
    start = time.perf_counter()
    await drive(app_port, warm, args.events - warm, args.connections, answers)
    seconds = time.perf_counter() - start
    rss1, fds1 = usage(fn.pid)
    fn.terminate()
    status = fn.wait(30)
    err = fn.stderr.read().decode()
    server.close()
    expected_sends = (args.events + 1) // 2
    duplicates = sum(1 for v in sidecar.sends.values() if v > 1)
    print("events           %d over %d keep-alive connections, %.1f s (%.0f events/s, with the driver)"
          % (args.events, args.connections, seconds, (args.events - warm) / seconds))
    print("answers          %s" % answers)
    print("sends received   %d distinct of %d expected, %d duplicated" % (len(sidecar.sends), expected_sends,
                                                                        duplicates))
    print("RSS              %d KB after %d events, %d KB at the end" % (rss0, warm, rss1))
    print("descriptors      %d after %d events, %d at the end" % (fds0, warm, fds1))
    print("exit status      %d" % status)
    ok = (answers == {200: args.events} and len(sidecar.sends) == expected_sends and duplicates == 0
          and status == 0)
    if not ok:
        print(err[-2000:], file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
