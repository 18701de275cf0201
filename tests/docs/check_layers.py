#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks libofctx/'s #include lines against docs/architecture.md: every
file has a layer in its table, no file includes a header of a layer above
its own, and each "is included only by" line of its must-never list holds.
Prints each fault; exits 1 when there is one."""

import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "architecture.md")
SRC = os.path.join(ROOT, "libofctx")


def read_doc():
    layers, only = {}, {}
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    for m in re.finditer(r"^\| (\d+)\. [^|]+ \| (.+?) \|$", text, re.M):
        for name in re.findall(r"`([\w]+)`", m.group(2)):
            layers[name] = int(m.group(1))
    for m in re.finditer(r"^- `([\w.]+)` is included only by (.+)$", text, re.M):
        only[m.group(1)] = set(re.findall(r"`([\w.]+)`", m.group(2)))
    return layers, only


def main():
    layers, only = read_doc()
    faults = []
    if not layers:
        faults.append("docs/architecture.md: no layer table found")
    files = sorted(f for f in os.listdir(SRC) if f.endswith((".c", ".h")))
    for name in files:
        stem = name.rsplit(".", 1)[0]
        if stem not in layers:
            faults.append("libofctx/%s: in no layer of docs/architecture.md" % name)
            continue
        with open(os.path.join(SRC, name), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m or m.group(1).startswith("ofctx/"):
                    continue
                target = m.group(1)
                if target.endswith(".c"):
                    faults.append("libofctx/%s:%d: includes a .c file" % (name, n))
                tstem = target.rsplit(".", 1)[0]
                if tstem in layers and layers[tstem] > layers[stem]:
                    faults.append("libofctx/%s:%d: includes %s, of layer %d above its own (%d)"
                                  % (name, n, target, layers[tstem], layers[stem]))
                if target in only and name not in only[target]:
                    faults.append("libofctx/%s:%d: includes %s, which only %s may"
                                  % (name, n, target, ", ".join(sorted(only[target]))))
    for fault in faults:
        print(fault)
    print("%d files checked against %d layers and %d rules, %d faults"
          % (len(files), len(set(layers.values())), len(only), len(faults)))
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
