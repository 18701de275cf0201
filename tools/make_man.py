#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The manual pages, made from the docs: man/ofctx.1 from docs/ofctx.md, and
man/libofctx.3 from the public headers (include/ofctx/*.h: each header's
opening comment, then each function with the comment above it).

    tools/make_man.py           write them
    tools/make_man.py --check   exit 1 when they are not what the docs give
                                (the test suite runs this)

The Markdown it reads is the little docs/ofctx.md uses: "#" and "##"
headings, paragraphs, fenced code, "`term`" lines followed by ": text"
lines (a definition), and `code` in text."""

import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADERS = [
    "function.h", "event.h", "response.h", "batch.h", "send.h", "state.h", "trace.h", "metrics.h", "config.h",
    "strmap.h", "json.h", "error.h", "alloc.h",
]


def version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        return re.search(r"project\(\s*libofctx\s+VERSION\s+([0-9.]+)", f.read(), re.I).group(1)


def escape(text):
    """Text for roff: backslashes, and a line never starts with . or '."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    text = "".join(c if ord(c) < 128 else "\\[u%04X]" % ord(c) for c in text)  # groff reads ASCII
    return re.sub(r"^([.'])", r"\\&\1", text)


def inline(text):
    out, pos = [], 0
    for m in re.finditer(r"`([^`]+)`", text):
        out.append(escape(text[pos:m.start()]))
        out.append("\\fB" + escape(m.group(1)) + "\\fR")
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def markdown_to_roff(md, name, section, title):
    lines = md.splitlines()
    out = ['.TH %s %s "" "libofctx %s" "%s"' % (name.upper(), section, version(), title)]
    para, i = [], 0

    def flush():
        if para:
            out.append(".PP")
            out.append(inline(" ".join(para)))
            para.clear()

    while i < len(lines):
        line = lines[i]
        if line.startswith("# "):
            i += 1
            continue
        if line.startswith("## "):
            flush()
            out.append(".SH " + escape(line[3:].strip()))
        elif line.startswith("```"):
            flush()
            out.append(".PP")
            out.append(".nf")
            out.append(".RS 4")
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(escape(lines[i]) if lines[i] else "")
                i += 1
            out.append(".RE")
            out.append(".fi")
        elif line.startswith("`") and i + 1 < len(lines) and lines[i + 1].startswith(": "):
            flush()
            out.append(".TP")
            out.append(inline(line))
            text = []
            i += 1
            while i < len(lines) and (lines[i].startswith(": ") or lines[i].startswith("  ")) and lines[i].strip():
                text.append(lines[i][2:].strip())
                i += 1
            out.append(inline(" ".join(text)))
            continue
        elif not line.strip():
            flush()
        else:
            para.append(line.strip())
        i += 1
    flush()
    return "\n".join(out) + "\n"


def comment_parts(block):
    """A /* ... */ comment as [("text", words) | ("code", lines)]: lines
    indented past the comment's margin are code."""
    parts = []
    for raw in block.strip()[2:-2].splitlines():
        line = re.sub(r"^\s*\*? ?", "", raw, count=1).rstrip()
        kind = "code" if line.startswith("  ") else "text"
        if not line.strip():
            kind = "gap"
        if parts and parts[-1][0] == kind:
            parts[-1][1].append(line)
        else:
            parts.append((kind, [line]))
    return [(k, " ".join(l.strip() for l in ls) if k == "text" else ls) for k, ls in parts if k != "gap"]


def header_doc(path):
    """(the header's opening comment, [([prototypes], comment parts)]): a
    declaration with no comment of its own right after another joins its
    group."""
    with open(path) as f:
        src = f.read()
    opening = re.match(r"\s*(/\*.*?\*/)", src, re.S)
    groups, last_end = [], None
    for m in re.finditer(r"((?:/\*(?:(?!\*/).)*\*/[ \t]*\n)?)OFCTX_EXTERN\s+([^;]+);", src, re.S):
        proto = " ".join(m.group(2).split())
        if m.group(1).strip():
            groups.append(([proto], comment_parts(m.group(1))))
        elif groups and last_end is not None and not src[last_end:m.start()].strip():
            groups[-1][0].append(proto)
        else:
            groups.append(([proto], []))
        last_end = m.end()
    return (comment_parts(opening.group(1)) if opening else []), groups


def render_parts(parts):
    out = []
    for kind, value in parts:
        if kind == "text":
            out.append(inline(value))
        else:
            out += [".RS 2", ".nf"] + [escape(l[2:]) for l in value] + [".fi", ".RE"]
    return out


def bold(text):
    """A .B line: its quotes as \\(dq, since .B reads quotes as its own."""
    return ".B " + escape(text).replace('"', "\\(dq")


def library_page():
    out = ['.TH LIBOFCTX 3 "" "libofctx %s" "Library Functions Manual"' % version(),
           ".SH NAME", "libofctx \\- the OpenFunction functions framework in C",
           ".SH SYNOPSIS", ".nf", ".B #include <ofctx/ofctx.h>", ".PP",
           "cc \\-o fn fn.c $(pkg\\-config \\-\\-cflags \\-\\-libs libofctx)", ".fi",
           ".SH DESCRIPTION",
           ".PP",
           inline("A function is one C function; `ofctx_main` runs it. The library reads the "
                  "function context (`FUNC_CONTEXT`), serves the events Dapr delivers (runtime Async) or "
                  "HTTP requests and CloudEvents (runtime Knative), runs the function once per event, and "
                  "carries its sends to Dapr. Every library function returns an `ofctx_err_t` or says "
                  "otherwise; `ofctx_strerror` gives its text. What a library function returns, the caller "
                  "owns, unless its comment says it is borrowed. The function you write returns an "
                  "`ofctx_result_t` instead: `OFCTX_SUCCESS`, `OFCTX_DROP` or `OFCTX_ERROR`; any other "
                  "value, 0 (`OFCTX_OK`) too, counts as `OFCTX_ERROR`."),
           ".PP",
           inline("The functions follow, by header, each with the comment of its declaration. The headers "
                  "hold the types and constants too.")]
    for h in HEADERS:
        opening, groups = header_doc(os.path.join(ROOT, "include", "ofctx", h))
        out.append('.SH "<ofctx/%s>"' % h)
        if opening:
            out.append(".PP")
            out += render_parts(opening)
        for protos, parts in groups:
            if parts:
                out.append(".TP")
                out.append(bold(protos[0]))
                for p in protos[1:]:
                    out += [".TQ", bold(p)]
                out += render_parts(parts)
            else:
                for p in protos:
                    out += [".PP", bold(p)]
    out += [".SH SEE ALSO", "ofctx(1); " + inline("`docs/getting-started.md` in the libofctx sources.")]
    return "\n".join(out) + "\n"


def pages():
    with open(os.path.join(ROOT, "docs", "ofctx.md")) as f:
        tool = markdown_to_roff(f.read(), "ofctx", 1, "User Commands")
    return {os.path.join(ROOT, "man", "ofctx.1"): tool, os.path.join(ROOT, "man", "libofctx.3"): library_page()}


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in pages().items():
        try:
            with open(path) as f:
                current = f.read()
        except OSError:
            current = None
        if current == text:
            continue
        if check:
            stale.append(os.path.relpath(path, ROOT))
        else:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
    if stale:
        sys.stderr.write("make_man: %s not made from the docs as they are; run tools/make_man.py\n"
                         % ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
