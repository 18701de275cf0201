#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The rules files that docs/logs-handler.md teaches are shown as they are:
each YAML block that follows a line linking to a rules file
("[`examples/logs-handler/rules/x.yaml`](../examples/logs-handler/rules/x.yaml):")
is that file's text, every file of examples/logs-handler/rules/ and
examples/logs-handler/rules.yaml is shown so, and no other block of the
page holds a rules file (a `rules:` key), which no test would compile.
(test_lh_rules_doc compiles the files.) Prints each fault; exits 1 when
there is one."""

import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(ROOT, "docs", "logs-handler.md")
LINK = re.compile(r"^\[`(examples/logs-handler/[\w./-]+\.yaml)`\]\(\.\./\1\):$")


def blocks(lines):
    """(line number of the opening fence, the line before it, the block's text)."""
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start, body = i, []
            i += 1
            while i < len(lines) and lines[i] != "```":
                body.append(lines[i])
                i += 1
            before = lines[start - 2] if start >= 2 and lines[start - 1] == "" else ""
            yield start + 1, lines[start], before, "".join(l + "\n" for l in body)
        i += 1


def main():
    with open(DOC, encoding="utf-8") as f:
        lines = f.read().split("\n")
    faults, shown = [], set()
    for n, fence, before, text in blocks(lines):
        m = LINK.match(before)
        if m:
            name = m.group(1)
            path = os.path.join(ROOT, name)
            if fence != "```yaml":
                faults.append("docs/logs-handler.md:%d: the block after the link to %s is not ```yaml" % (n, name))
            elif not os.path.isfile(path):
                faults.append("docs/logs-handler.md:%d: %s does not exist" % (n, name))
            else:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        faults.append("docs/logs-handler.md:%d: the block is not %s as it is" % (n, name))
                shown.add(name)
        elif re.search(r"^rules:", text, re.M):
            faults.append("docs/logs-handler.md:%d: a rules file that is no file of "
                          "examples/logs-handler/rules/ (no test compiles it)" % n)
    folder = os.path.join(ROOT, "examples", "logs-handler", "rules")
    files = ["examples/logs-handler/rules.yaml"] + sorted(
        "examples/logs-handler/rules/" + f for f in os.listdir(folder) if f.endswith(".yaml"))
    for name in files:
        if name not in shown:
            faults.append("docs/logs-handler.md: does not show %s" % name)
    for fault in faults:
        print(fault)
    print("%d rules files shown, %d faults" % (len(shown), len(faults)))
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
