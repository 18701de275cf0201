#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every doc in the repository speaks of the repository alone: no absolute
path of the machine it was written on, no folder beside the checkout, and
every Markdown file a doc names by itself (`name.md`, no folder) exists in
the repository.
Prints each fault; exits 1 when there is one."""

import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SKIP = {".git", "node_modules"}
OUTSIDE = re.compile(r"(/work/|/home/|\.\./shared|\bshared/docs\b|\bthe brief\b)")
# A bare name (no folder) is a file of ours; a path with folders may be an
# upstream project's file, named with its repository.
MD_NAME = re.compile(r"(?<![\w./-])[\w-]+\.md\b")


def docs():
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith("build")]
        for name in files:
            if name.endswith(".md"):
                yield os.path.join(top, name)


def main():
    paths = list(docs())
    names = {os.path.basename(p) for p in paths}
    faults = []
    for path in paths:
        rel = os.path.relpath(path, ROOT)
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                for m in OUTSIDE.finditer(line):
                    faults.append("%s:%d: names %r, outside the repository" % (rel, n, m.group(0)))
                for m in MD_NAME.finditer(line):
                    if os.path.basename(m.group(0)) not in names:
                        faults.append("%s:%d: names %s, which the repository does not hold"
                                      % (rel, n, m.group(0)))
    for fault in faults:
        print(fault)
    print("%d docs read, %d faults" % (len(paths), len(faults)))
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
