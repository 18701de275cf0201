#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Handler throughput: the logs-handler through the local runtime on N
generated Fluent Bit records (gen_records.py, about 1% alerting), its alerts
written to /dev/null, beside `wc -l` on the same file (the floor: reading
the bytes and finding the lines). Prints the median of RUNS runs.

    bench/handler.py [--records 1000000] [--runs 5] [--build build]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def timed(cmd, **kw):
    """Wall seconds and max RSS (KB) of one run of `cmd`. The RSS comes from
    /usr/bin/time: a child of Python starts as a copy of Python, and getrusage
    would count that copy's pages."""
    with tempfile.NamedTemporaryFile("r") as rss:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd, check=True,
                       stdout=subprocess.DEVNULL, **kw)
        return time.perf_counter() - start, int(rss.read().split()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    data_dir = os.path.join(args.build, "bench")
    os.makedirs(data_dir, exist_ok=True)
    data = os.path.join(data_dir, "records-%d.jsonl" % args.records)
    if not os.path.exists(data):
        with open(data + ".tmp", "w") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "gen_records.py"), str(args.records)],
                           stdout=f, check=True)
        os.rename(data + ".tmp", data)
    size = os.path.getsize(data)
    handler = [os.path.join(args.build, "bin", "logs-handler"), "--context",
               os.path.join(ROOT, "examples", "logs-handler", "context.json"), "--invoke", data]
    err = open(os.path.join(data_dir, "handler.log"), "w")
    timed(["wc", "-l", data])  # warm the page cache
    handler_runs = [timed(handler, stderr=err) for _ in range(args.runs)]
    wc_times = [timed(["wc", "-l", data])[0] for _ in range(args.runs)]
    err.close()
    with open(os.path.join(data_dir, "handler.log")) as f:
        summary = [l for l in f if " events: " in l][-1].strip()
    t, floor = statistics.median(r[0] for r in handler_runs), statistics.median(wc_times)
    rss = max(r[1] for r in handler_runs)
    print("records        %d (%.1f MB, %s)" % (args.records, size / 1e6, os.path.basename(data)))
    print("handler        %.3f s median of %d: %.0f records/s, %.0f MB/s" % (t, args.runs, args.records / t,
                                                                         size / t / 1e6))
    print("wc -l (floor)  %.3f s median of %d: %.0f records/s, %.0f MB/s" % (floor, args.runs,
                                                                         args.records / floor, size / floor / 1e6))
    print("max RSS        %d KB (the handler's largest)" % rss)
    print("last run       %s" % summary)


if __name__ == "__main__":
    main()
