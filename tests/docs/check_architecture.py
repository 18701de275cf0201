#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that docs/architecture.md tells the truth about the tree:
- libofctx/'s #include lines against its layers: every file has a layer in
  its table, no file includes a header of a layer above its own, and each
  "is included only by" line of its must-never list holds;
- every libofctx/ source file is named in its Sources tables, and every
  test file (tests/**/test_*) in its Tests table;
- the test of libofctx/x.c is tests/test_x.c, unless the Tests section lists
  x.c as an exception ("- `x.c`: where it is tested instead"); an exception
  with a test of its own, or of no source, is a fault too;
- every environment variable the library reads is named in docs/*.md.
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


def section(text, heading):
    """The text of the section under `heading` (a "## " line), to the next."""
    m = re.search(r"^## %s.*?$(.*?)(?=^## |\Z)" % re.escape(heading), text, re.M | re.S)
    return m.group(1) if m else ""


def table_names(text):
    """The base names of the backquoted paths in the rows of the tables of `text`."""
    names = set()
    for row in re.findall(r"^\|.*\|$", text, re.M):
        for name in re.findall(r"`([^`]+)`", row):
            names.add(os.path.basename(name.rstrip("/")))
    return names


def tables_tell_the_tree(faults):
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    sources = table_names(section(text, "Sources"))
    for name in sorted(os.listdir(SRC)):
        if name.endswith((".c", ".h")) and name not in sources:
            faults.append("libofctx/%s: not in the Sources tables of docs/architecture.md" % name)
    tests = table_names(section(text, "Tests"))
    root = os.path.join(ROOT, "tests")
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "node_modules"]
        for name in sorted(files):
            if name.startswith("test_") and name.endswith((".c", ".py", ".js", ".sh")) and name not in tests:
                faults.append("%s: not in the Tests table of docs/architecture.md"
                              % os.path.relpath(os.path.join(folder, name), ROOT))


def exception_names(text):
    """The sources the Tests section lists as tested elsewhere: its "- `x.c`: reason" lines."""
    return re.findall(r"^- `([\w]+\.c)`: \S", section(text, "Tests"), re.M)


def each_source_has_its_test(faults):
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    names = exception_names(text)
    excepted = set(names)
    for name in sorted(set(n for n in names if names.count(n) > 1)):
        faults.append("docs/architecture.md: %s is listed twice among the exceptions" % name)
    for name in sorted(os.listdir(SRC)):
        if not name.endswith(".c"):
            continue
        has_test = os.path.exists(os.path.join(ROOT, "tests", "test_" + name))
        if not has_test and name not in excepted:
            faults.append("libofctx/%s: no tests/test_%s, and not among the exceptions of the Tests "
                          "section of docs/architecture.md" % (name, name))
        if has_test and name in excepted:
            faults.append("libofctx/%s: has tests/test_%s, yet is listed as an exception in "
                          "docs/architecture.md" % (name, name))
    for name in sorted(excepted):
        if not os.path.exists(os.path.join(SRC, name)):
            faults.append("docs/architecture.md: the exception %s is no file of libofctx/" % name)


# getenv("X"), env_get(getenv_fn, arg, "X"), document(getenv_fn, arg, "X", ...) and
# the options table's OPT("X", ...)
READS = re.compile(r'(?:getenv\(|(?:env_get|document)\([^,()]+,\s*[^,()]+,\s*|OPT\()"([A-Z][A-Z0-9_]+)"')


def variables_documented(faults):
    docs = ""
    for name in sorted(os.listdir(os.path.join(ROOT, "docs"))):
        if name.endswith(".md"):
            with open(os.path.join(ROOT, "docs", name), encoding="utf-8") as f:
                docs += f.read()
    for name in sorted(os.listdir(SRC)):
        if not name.endswith(".c"):
            continue
        with open(os.path.join(SRC, name), encoding="utf-8") as f:
            for variable in sorted(set(READS.findall(f.read()))):
                if "`%s`" % variable not in docs:
                    faults.append("libofctx/%s reads %s, which no docs/*.md names" % (name, variable))


def main():
    layers, only = read_doc()
    faults = []
    tables_tell_the_tree(faults)
    each_source_has_its_test(faults)
    variables_documented(faults)
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
    print("%d files checked against %d layers and %d rules, the tables, the tests and the variables: "
          "%d faults" % (len(files), len(set(layers.values())), len(only), len(faults)))
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
