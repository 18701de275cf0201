#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The logs-handler's main job, measured: `logs-handler --invoke` over N
generated Fluent Bit records (gen_records.py, a fixed seed), its stdout (the
alerts) to /dev/null. Several builds are measured side by side, their runs
alternating (build A, build B, A, B, ...) so that a busy machine slows them
alike; each row gives the median wall time of its runs, records/s, the
largest peak RSS (/usr/bin/time) and the instructions per record counted by
callgrind on a smaller file (the instructions of the run less those of a run
on an empty file, divided by the records: the same figure on every run).

The workloads (each row one of them for one build):

  typical   N records as gen_records.py writes them: docker and CRI records
            of seven pods in three namespaces, access-log lines mostly 200,
            some 3xx, 4xx and 5xx, 5% other lines; 1% are 404s of three
            wordpress-v1 pods, the default rule's: bounded keys (3 groups)
  keys      the same with 5% 404s spread over 5 000 wordpress-v1 pods:
            unbounded keys (about 4 300 groups open at the end), for the
            memory a key costs
  FILE      with --rules FILE: the typical records with LOGS_RULES_FILE=FILE
            (builds that read rules files; bench/rules/one.yaml is the
            default rule as a file, bench/rules/twenty.yaml 20 typical rules)
  RULE      with --each FILE: a row for each rule of FILE, alone (with FILE's
            defaults and settings): what each costs by itself, against what
            they cost together

    bench/logs_handler.py [--build DIR]... [--records 200000] [--runs 5]
                          [--callgrind-records 20000] [--rules FILE]...
                          [--each FILE]...
                          [--only typical,keys] [--annotate 15]

--build (repeatable; default build-rel, else build) names build trees whose
bin/logs-handler is measured; a RelWithDebInfo or Release build. --annotate K
prints the K functions with the most instructions (self, per record) of the
last build's typical callgrind run. The records are kept in
$TMPDIR/ofctx-bench-logs-handler/ for the next run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CONTEXT = os.path.join(ROOT, "examples", "logs-handler", "context.json")
WORKLOADS = {"typical": [], "keys": ["--alerting", "0.05", "--pods", "5000"]}


def records_file(folder, count, gen_args):
    """The records of a workload, made once and kept in `folder`."""
    name = "records-%d%s.jsonl" % (count, "".join(a.replace("-", "") for a in gen_args))
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        with open(path + ".tmp", "w") as f:
            subprocess.run([sys.executable, os.path.join(HERE, "gen_records.py"), str(count)] + gen_args,
                           stdout=f, check=True)
        os.rename(path + ".tmp", path)
    return path


def head(src, dst, count):
    """The first `count` lines of `src` in `dst`."""
    with open(src) as f, open(dst, "w") as out:
        for _, line in zip(range(count), f):
            out.write(line)
    return dst


def command(build, data):
    return [os.path.join(build, "bin", "logs-handler"), "--context", CONTEXT, "--invoke", data]


def environment(rules):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGS_")}
    if rules:
        env["LOGS_RULES_FILE"] = rules
    return env


def timed(cmd, env):
    """Wall seconds, peak RSS (KB) and the summary line of one run. The RSS
    comes from /usr/bin/time: a child of Python starts as a copy of Python,
    and getrusage would count that copy's pages."""
    with tempfile.NamedTemporaryFile("r") as rss, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        p = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + cmd, env=env,
                           stdout=subprocess.DEVNULL, stderr=err)
        wall = time.perf_counter() - start
        err.seek(0)
        log = err.read()
        if p.returncode != 0:
            raise SystemExit("%s exited %d:\n%s" % (" ".join(cmd), p.returncode, log[-2000:]))
        summary = [line for line in log.splitlines() if " events: " in line]
        return wall, int(rss.read().split()[-1]), summary[-1] if summary else ""


def instructions(cmd, env, out):
    """The instructions callgrind counts in a run of `cmd` (the whole
    process's user space)."""
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd, env=env,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))


def sanitized(build):
    """Whether the build's logs-handler has a sanitizer, which valgrind
    cannot run (its symbols name the library's too)."""
    with open(os.path.join(build, "bin", "logs-handler"), "rb") as f:
        return b"__asan_init" in f.read()


def check_rules(build, rules):
    """Refuses a build that cannot read rules files: it would ignore
    LOGS_RULES_FILE and measure the default rule."""
    p = subprocess.run([os.path.join(build, "bin", "logs-handler"), "--context", CONTEXT, "--check-rules", rules],
                       env=environment(None), capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("%s: %s does not check %s (no rules files in this build?):\n%s"
                         % (build, "logs-handler --check-rules", rules, (p.stderr or p.stdout)[-1000:]))


def sends(summary):
    """The sends of a run, from its summary line ("...; 6 sends; ...")."""
    parts = [p.strip() for p in summary.split(";") if p.strip().endswith(" sends")]
    return parts[0].split()[0] if parts else "?"


def split_rules(path, folder):
    """A rules file for each rule of `path`, alone with the file's defaults
    and settings: their paths, named after the rules."""
    import yaml  # python3-yaml, a test package
    with open(path) as f:
        doc = yaml.safe_load(f)
    out = []
    for rule in doc["rules"]:
        one = dict(doc, rules=[rule])
        name = os.path.join(folder, "%s.yaml" % rule["name"])
        with open(name, "w") as f:
            json.dump(one, f)  # JSON is YAML
        out.append(name)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", action="append", help="a build tree (repeatable)")
    ap.add_argument("--records", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--callgrind-records", type=int, default=20000, help="0: no callgrind")
    ap.add_argument("--rules", action="append", default=[], help="a rules file (repeatable)")
    ap.add_argument("--each", action="append", default=[], metavar="FILE",
                    help="a row for each rule of a rules file, alone (repeatable)")
    ap.add_argument("--only", default="typical,keys", help="the generated workloads to run")
    ap.add_argument("--annotate", type=int, default=0, metavar="K")
    args = ap.parse_args()
    builds = args.build or [os.path.join(ROOT, d) for d in ("build-rel", "build")
                            if os.path.exists(os.path.join(ROOT, d, "bin", "logs-handler"))][:1]
    if not builds:
        raise SystemExit("no build: give --build DIR")
    folder = os.path.join(tempfile.gettempdir(), "ofctx-bench-logs-handler")
    os.makedirs(folder, exist_ok=True)
    workloads = [(w, records_file(folder, args.records, WORKLOADS[w]), None)
                 for w in args.only.split(",") if w]
    typical = records_file(folder, args.records, WORKLOADS["typical"])
    rules_files = list(args.rules)
    split = tempfile.TemporaryDirectory(prefix="ofctx-bench-rules-")
    for each in args.each:
        rules_files += split_rules(each, split.name)
    for rules in rules_files:
        for build in builds:
            check_rules(build, os.path.abspath(rules))
        workloads.append((os.path.basename(rules), typical, os.path.abspath(rules)))
    rows = [(b, w) for w in workloads for b in builds]
    subprocess.run(["cat"] + sorted({w[1] for w in workloads}), stdout=subprocess.DEVNULL)  # the page cache
    runs = {r: [] for r in range(len(rows))}
    for _ in range(args.runs):  # alternately: every row once, then again
        for i, (build, (_, data, rules)) in enumerate(rows):
            runs[i].append(timed(command(build, data), environment(rules)))
    counted = {}
    with tempfile.TemporaryDirectory(prefix="ofctx-bench-") as tmp:
        empty = head(typical, os.path.join(tmp, "empty.jsonl"), 0)
        for i, (build, (name, data, rules)) in enumerate(rows):
            if args.callgrind_records <= 0 or sanitized(build):
                continue
            small = head(data, os.path.join(tmp, "small-%d.jsonl" % i), args.callgrind_records)
            out = os.path.join(tmp, "callgrind-%d.out" % i)
            base = instructions(command(build, empty), environment(rules), out + ".empty")
            counted[i] = (instructions(command(build, small), environment(rules), out) - base) / args.callgrind_records
            if args.annotate and name == "typical" and build == builds[-1]:
                annotated = subprocess.run(["callgrind_annotate", "--inclusive=no", out], capture_output=True,
                                           text=True, check=True).stdout.splitlines()
                top = [l for l in annotated if l.strip() and l.strip()[0].isdigit() and ":" in l]
                annotate = top[1:args.annotate + 1]  # the first is the program total
    print("%d records (%s), median of %d runs, alternating; instructions per record: callgrind on the first %d"
          % (args.records, os.path.basename(typical), args.runs, args.callgrind_records))
    print()
    print("| Build | Workload | Wall (s) | Records/s | Peak RSS | Instructions per record | Sends |")
    print("|---|---|---|---|---|---|---|")
    for i, (build, (name, _, _)) in enumerate(rows):
        wall = statistics.median(r[0] for r in runs[i])
        rss = max(r[1] for r in runs[i])
        print("| %s | %s | %.3f | %s | %.1f MB | %s | %s |" % (
            os.path.relpath(build, ROOT) if build.startswith(ROOT) else build, name, wall,
            "{:,}".format(round(args.records / wall)).replace(",", " "), rss / 1024,
            "{:,}".format(round(counted[i])).replace(",", " ") if i in counted else "-",
            sends(runs[i][-1][2])))
    if args.annotate and counted:
        print()
        print("Instructions per record (self) of %s's typical run, the top %d functions:"
              % (builds[-1], args.annotate))
        print()
        for line in annotate:
            count, where = line.strip().split(None, 1)
            print("    %6.0f  %s" % (int(count.replace(",", "")) / args.callgrind_records,
                                   where.split(")", 1)[-1].strip()))


if __name__ == "__main__":
    main()
