#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks that the C of the library, its tools, its examples and its public
headers calls none of the functions that cannot bound what they write or
that cannot report an error (as curl's checksrc bans them): sprintf and
vsprintf (use snprintf), strcpy and strcat (a length and memcpy, or
snprintf), strtok (not reentrant; strtok_r or a scan), atoi and atol (no
error; strtol), gets (no bound at all). Comments and string literals are
not code and are skipped. Prints each call as FILE:LINE; exits 1 when there
is one, or when there is no file to check."""

import os
import re
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BANNED = ("sprintf", "vsprintf", "strcpy", "strcat", "strtok", "atoi", "atol", "gets")
CALL = re.compile(r"\b(%s)\s*\(" % "|".join(BANNED))
# A comment, a string literal or a character literal, in the order they open.
NOT_CODE = re.compile(r'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)


def sources():
    """The files checked: libofctx/, examples/ and include/ (every .c and .h
    below them) and tools/*.c."""
    for top in ("libofctx", "examples", "include"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    yield os.path.join(folder, name)
    tools = os.path.join(ROOT, "tools")
    for name in sorted(os.listdir(tools)):
        if name.endswith(".c"):
            yield os.path.join(tools, name)


def blank(match):
    """The text of `match` with everything but its line breaks blanked, so
    that line numbers stay."""
    return re.sub(r"[^\n]", " ", match.group(0))


def calls(path):
    """The banned calls in the file at `path`, as (line, name)."""
    with open(path, encoding="utf-8") as f:
        code = NOT_CODE.sub(blank, f.read())
    return [(code.count("\n", 0, m.start()) + 1, m.group(1)) for m in CALL.finditer(code)]


def main():
    checked, faults = 0, 0
    for path in sources():
        checked += 1
        for line, name in calls(path):
            print("%s:%d: %s() is banned" % (os.path.relpath(path, ROOT), line, name))
            faults += 1
    if checked == 0:
        print("no source file found under %s" % ROOT)
        return 1
    print("%d files, %d banned calls" % (checked, faults))
    return 1 if faults else 0


if __name__ == "__main__":
    sys.exit(main())
