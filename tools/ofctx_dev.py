#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The developer verbs of the ofctx tool: new, run, invoke and components. The ofctx
binary runs this file (installed in share/libofctx beside the Dapr sidecar
emulator) as

    python3 ofctx_dev.py OFCTX_BINARY VERB [ARGS...]

and the usage of each verb is in USAGE below. Python's standard library
only."""

import argparse
import errno
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
PROG = "ofctx"

USAGE = """\
usage: ofctx new NAME [--runtime async|knative] [--signature openfunction|http] [--state STORE]
                      [--dir DIR]
       ofctx run [--context FILE] [--dapr-http-port PORT] [--verbose] -- COMMAND [ARG...]
       ofctx invoke binding NAME [DATA] [--metadata KEY=VALUE]... [--sidecar PORT]
       ofctx invoke pubsub NAME TOPIC [DATA] [--content-type TYPE] [--sidecar PORT]
       ofctx invoke cloudevent URL [DATA] [--structured] [--type T] [--source S] [--id ID]
                                          [--content-type TYPE]
       ofctx components FUNCTION.yaml --out DIR

DATA is the text itself, @FILE for a file's bytes, or - for stdin (default:
no data). See 'ofctx --help' and docs/getting-started.md.
"""


def fail(message, status=2):
    sys.stderr.write("%s: %s\n" % (PROG, message))
    sys.exit(status)


# ---- ofctx new ------------------------------------------------------------

ASYNC_C = """\
/* {name}: an OpenFunction function on the Async runtime (Dapr). Each event
 * from the input is logged, answered with a short text, and sent on to the
 * output "out". */
#include <ofctx/ofctx.h>

ofctx_result_t {ident}(ofctx_t *ctx, const ofctx_event_t *in) {{
  size_t len;
  const char *data = ofctx_event_data(in, &len);

  ofctx_log(ctx, OFCTX_LOG_INFO, "%zu bytes from %s", len, ofctx_event_input(in));
  ofctx_set_reply(ctx, "ok", 2);
  if (ofctx_send_to(ctx, "out", data, len, NULL) != OFCTX_OK)
    return OFCTX_ERROR; /* not acknowledged: Dapr delivers it again */
  return OFCTX_SUCCESS;  /* acknowledged once the send has been accepted */
}}
"""

STATE_C = """\
/* {name}: an OpenFunction function on the Async runtime (Dapr) with state.
 * Each event is counted in the state store "{state}" (key "events"): the
 * count is read, one more written back, and the event sent on to the
 * output "out". Two events handled at once may both count from the same
 * value; a write with the ETag read (ofctx/state.h) makes that a conflict. */
#include <stdio.h>
#include <stdlib.h>

#include <ofctx/ofctx.h>

/* The count read (on the loop, the invocation still open). */
static void counted(ofctx_t *ctx, const ofctx_state_result_t *r, void *arg) {{
  const ofctx_event_t *in = ofctx_event(ctx);
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  ofctx_err_t rc = r->code;
  char count[24];
  int n;

  (void)arg;
  if (rc == OFCTX_OK) {{
    n = snprintf(count, sizeof count, "%lld", (r->found ? atoll(r->value) : 0) + 1);
    ofctx_log(ctx, OFCTX_LOG_INFO, "event %s from %s", count, ofctx_event_input(in));
    rc = ofctx_state_set(ctx, "{state}", "events", count, (size_t)n, NULL);
  }}
  if (rc == OFCTX_OK)
    rc = ofctx_send_to(ctx, "out", data, len, NULL);
  if (rc != OFCTX_OK && ofctx_hold(ctx) == OFCTX_OK)
    ofctx_release(ctx, rc); /* the input fails: Dapr delivers it again */
}}

ofctx_result_t {ident}(ofctx_t *ctx, const ofctx_event_t *in) {{
  (void)in;
  ofctx_set_reply(ctx, "ok", 2);
  if (ofctx_state_get(ctx, "{state}", "events", counted, NULL) != OFCTX_OK)
    return OFCTX_ERROR;
  return OFCTX_SUCCESS; /* acknowledged once the read, the write and the send have settled */
}}
"""

KNATIVE_C = """\
/* {name}: an OpenFunction function on the Knative runtime. It answers each
 * request (or CloudEvent) with a greeting and the size of its data. */
#include <stdio.h>

#include <ofctx/ofctx.h>

ofctx_result_t {ident}(ofctx_t *ctx, const ofctx_event_t *in) {{
  size_t len;
  char reply[128];
  int n;

  ofctx_event_data(in, &len);
  n = snprintf(reply, sizeof reply, "hello from {name}: %zu bytes", len);
  return ofctx_set_reply(ctx, reply, (size_t)n) == OFCTX_OK ? OFCTX_SUCCESS : OFCTX_ERROR;
}}
"""

HTTP_C = """\
/* {name}: a plain HTTP function on the Knative runtime: it writes the whole
 * response itself. */
#include <ofctx/ofctx.h>

void {ident}(ofctx_t *ctx, const ofctx_event_t *req, ofctx_response_t *res) {{
  static const char body[] = "hello from {name}\\n";

  (void)ctx;
  (void)req;
  ofctx_response_set_status(res, 200);
  ofctx_response_add_header(res, "Content-Type", "text/plain; charset=utf-8");
  ofctx_response_append(res, body, sizeof body - 1);
}}
"""

MAIN_C = """\
/* main for running {name} by hand; the buildpack writes the same one, and
 * builds only the "function" library of CMakeLists.txt. It runs {ident}
 * with the {ident}_init, _tick, _tick_ms, _fini, _commands, _metrics and
 * _hooks that {name}.c defines (weak references: NULL when it does not; what each
 * is: docs/building.md). */
#include <ofctx/ofctx.h>

{declaration}
int {ident}_init(const ofctx_config_t *cfg, void **user_data) __attribute__((weak));
void {ident}_tick(ofctx_t *ctx, int stopping, void *user_data) __attribute__((weak));
extern const unsigned {ident}_tick_ms __attribute__((weak));
void {ident}_fini(void *user_data) __attribute__((weak));
extern const ofctx_command_t {ident}_commands[] __attribute__((weak));
void {ident}_metrics(ofctx_metrics_t *m, void *user_data) __attribute__((weak));
extern const ofctx_hook_t {ident}_hooks[] __attribute__((weak));

int main(int argc, char **argv) {{
  ofctx_main_opts_t opts = OFCTX_MAIN_OPTS_INIT;

  opts.{field} = {ident};
  opts.init = {ident}_init;
  opts.tick = {ident}_tick;
  opts.tick_ms = &{ident}_tick_ms ? {ident}_tick_ms : 1000;
  opts.fini = {ident}_fini;
  opts.commands = {ident}_commands;
  opts.metrics = {ident}_metrics;
  opts.hooks = {ident}_hooks;
  return ofctx_main_opts(argc, argv, &opts);
}}
"""

CMAKE = """\
cmake_minimum_required(VERSION 3.18)
project({ident} C)

find_package(ofctx 0.1 REQUIRED)

# The function itself: the buildpack links it with a main of its own.
add_library(function STATIC {name}.c)
target_link_libraries(function PUBLIC ofctx::ofctx)
set_target_properties(function PROPERTIES C_STANDARD 11)

# The program to run it by hand: {name}
add_executable({name} main.c)
target_link_libraries({name} PRIVATE function)
"""

DOCKERFILE = """\
# {name}'s image: built on Debian 12 with libofctx, run on Debian 12 slim.
# libofctx comes from its source tree, given as a second build context:
#   docker build --build-context libofctx=/path/to/libofctx -t REGISTRY/{name}:v1 .
# (podman build takes --build-context too.)
FROM debian:12 AS build
RUN apt-get update \\
 && apt-get install -y --no-install-recommends gcc libc6-dev make cmake pkgconf \\
      libuv1-dev libjansson-dev libhttp-parser-dev libcurl4-openssl-dev libpcre2-dev \\
      libyaml-dev libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler zlib1g-dev librdkafka-dev \\
 && rm -rf /var/lib/apt/lists/*
COPY --from=libofctx . /libofctx
RUN cmake -S /libofctx -B /libofctx/build -DCMAKE_BUILD_TYPE=Release -DOFCTX_BUILD_TESTS=OFF \\
 && cmake --build /libofctx/build -j"$(nproc)" \\
 && cmake --install /libofctx/build --prefix /usr/local
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release && cmake --build /build -j"$(nproc)"

FROM debian:12-slim
# libcurl4 is opened at the first send (dlopen): ldd does not show it.
RUN apt-get update \\
 && apt-get install -y --no-install-recommends libuv1 libjansson4 libcurl4 libhttp-parser2.9 \\
      libpcre2-8-0 libyaml-0-2 libnghttp2-14 libprotobuf-c1 librdkafka1 \\
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/local/lib/libofctx.so.0.* /usr/local/lib/
COPY --from=build /build/{name} /usr/local/bin/{name}
RUN ldconfig
# OpenFunction sets FUNC_CONTEXT; the function listens on its port (8080).
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/{name}"]
"""

README = """\
# {name}

A libofctx function ({runtime} runtime, {signature} signature), made by
`ofctx new`. The function is `{ident}` in `{name}.c`.

## Build

With CMake (`find_package(ofctx)`):

```sh
cmake -S . -B build && cmake --build build
```

or with pkg-config:

```sh
cc -std=c11 -o {name} {name}.c main.c $(pkg-config --cflags --libs libofctx)
```

## Run it here

{run_here}

## Deploy

- `function.yaml`: the OpenFunction Function, for an image you built
  (`Dockerfile`; change `REGISTRY`). To have OpenFunction build the image
  with the libofctx builder instead, add a `spec.build` with
  `env: {{FUNC_NAME: {ident}}}` (docs/building.md in libofctx).
- Hooks: define `const ofctx_hook_t {ident}_hooks[]` in `{name}.c` (a
  name, and `pre`, `post` or `done` parts), and name the ones to run in
  `spec.serving.hooks` of `function.yaml` (commented out there).
- Tracing: `spec.serving.tracing` of `function.yaml` (commented out there)
  turns on W3C trace context; `ofctx_trace_id(ctx)` gives the trace id.
{state_readme}{deploy_more}
"""

RUN_ASYNC = """\
Without Dapr, with the local runtime: each line is one event.

```sh
printf 'hello\\n' | ./build/{name} --context context.json --invoke -
```

With a Dapr sidecar emulator, which delivers events as Dapr does:

```sh
ofctx run --context context.json -- ./build/{name}
# in another shell:
ofctx invoke binding in 'hello'
```
"""

RUN_KNATIVE = """\
```sh
ofctx run --context context.json -- ./build/{name}
# in another shell:
ofctx invoke cloudevent http://127.0.0.1:8080/ 'hello'
curl -d hello http://127.0.0.1:8080/
```
"""

ASYNC_CONTEXT = {
    "name": None, "version": "v1", "runtime": "Async", "port": "8080",
    "inputs": {"in": {"componentName": "in", "componentType": "bindings.kafka"}},
    "outputs": {"out": {"componentName": "out", "componentType": "bindings.kafka", "operation": "create"}},
}

KNATIVE_CONTEXT = {"name": None, "version": "v1", "runtime": "Knative", "port": "8080"}

COMPONENTS = """\
# The Dapr components the context names: Kafka bindings "in" (the input)
# and "out" (the output). With OpenFunction, the Function's
# spec.serving.bindings makes them instead (function.yaml).
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: in
spec:
  type: bindings.kafka
  version: v1
  metadata:
{in_metadata_4}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: out
spec:
  type: bindings.kafka
  version: v1
  metadata:
{out_metadata_4}
"""

FUNCTION_HEAD = """\
apiVersion: core.openfunction.io/v1beta2
kind: Function
metadata:
  name: {name}
spec:
  version: "v1.0.0"
  image: REGISTRY/{name}:v1
  serving:
"""

FUNCTION_ASYNC = """\
# {name} under OpenFunction (Async runtime), API v1beta2 (OpenFunction 1.1
# and later). Push the image the Dockerfile builds to REGISTRY first.
{function_head}    annotations:
      openfunction.io/enable-dapr: "true"
      # "sidecar": a Dapr sidecar in each pod of the function. "standalone"
      # is the shared proxy mode: one Dapr proxy per function, which its
      # pods share (fewer containers; KEDA scaling is reported not to work
      # in it, OpenFunction issue 514).
      openfunction.io/dapr-service-mode: "sidecar"
    triggers:
      dapr:
        - name: in
          type: bindings.kafka
    outputs:
      - dapr:
          name: out
          type: bindings.kafka
          operation: create
    # The hooks of {ident}_hooks (in {name}.c) to run, in order:
    # hooks:
    #   pre: [my-hook]
    #   post: [my-hook]
    # W3C trace context, continued from the events and passed on with the
    # sends; spans exported over OTLP/HTTP (docs/observability.md in libofctx):
    # tracing:
    #   enabled: true
    #   provider:
    #     name: opentelemetry
    #     exporter: {{name: otlp, endpoint: "http://otel-collector:4318", protocol: http/protobuf}}
{states_yaml}    bindings:
      in:
        type: bindings.kafka
        version: v1
        metadata:
{in_metadata_10}
      out:
        type: bindings.kafka
        version: v1
        metadata:
{out_metadata_10}
    template:
      containers:
        - name: function
          imagePullPolicy: IfNotPresent
"""

FUNCTION_KNATIVE = """\
# {name} under OpenFunction (Knative runtime).
{function_head}    triggers:
      http:
        port: 8080
    # The hooks of {ident}_hooks (in {name}.c) to run, in order:
    # hooks:
    #   pre: [my-hook]
    #   post: [my-hook]
    # W3C trace context, continued from the events and passed on with the
    # sends; spans exported over OTLP/HTTP (docs/observability.md in libofctx):
    # tracing:
    #   enabled: true
    #   provider:
    #     name: opentelemetry
    #     exporter: {{name: otlp, endpoint: "http://otel-collector:4318", protocol: http/protobuf}}
    template:
      containers:
        - name: function
          imagePullPolicy: IfNotPresent
"""


# The state store of `ofctx new --state STORE`: in the Function, and as a Dapr
# component; the commented block in the Function without it.
STATE_METADATA = [("redisHost", "redis-master:6379"), ("redisPassword", "")]

STATES_YAML = """\
    # The Dapr state store of ofctx_state_get/_set/_delete (ofctx/state.h):
    # OpenFunction makes the component and names it in the context.
    states:
      {state}:
        spec:
          type: state.redis
          version: v1
          metadata:
""" + "".join('            - name: %s\n              value: "%s"\n' % kv for kv in STATE_METADATA)

STATES_COMMENTED = """\
    # A Dapr state store for ofctx_state_get/_set/_delete (ofctx/state.h);
    # `ofctx new NAME --state store` writes it, and code that uses it:
    # states:
    #   store:
    #     spec:
    #       type: state.redis
    #       version: v1
    #       metadata:
""" + "".join('    #         - name: %s\n    #           value: "%s"\n' % kv for kv in STATE_METADATA)

STATE_COMPONENT = """\
# The Dapr state store the context names under "states" ({state}), on Redis.
# With OpenFunction, the Function's spec.serving.states makes it instead
# (function.yaml).
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: {state}
spec:
  type: state.redis
  version: v1
  metadata:
""" + "".join('    - name: %s\n      value: "%s"\n' % kv for kv in STATE_METADATA)

STATE_README = """\
- State: the context's `states` entry `{state}` is a Dapr state store
  (`spec.serving.states` of `function.yaml`, `components/state.yaml`);
  `{ident}` reads and writes the key `events` there with `ofctx_state_get`
  and `ofctx_state_set` (`ofctx/state.h`). `ofctx run` gives it a store in
  memory; with `--invoke` the requests are printed, each on a line.
"""


# The Kafka bindings' metadata, for the Dapr components and the Function alike.
KAFKA_METADATA = {
    "in": [("brokers", "kafka-brokers:9092"), ("topics", "{name}-in"), ("consumerGroup", "{name}"),
           ("authType", "none")],
    "out": [("brokers", "kafka-brokers:9092"), ("publishTopic", "{name}-out"), ("authType", "none")],
}


def metadata_yaml(binding, name, indent):
    pad = " " * indent
    return "\n".join('%s- name: %s\n%s  value: "%s"' % (pad, k, pad, v.format(name=name))
                     for k, v in KAFKA_METADATA[binding])


def identifier(name):
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return ident if not ident[0].isdigit() else "_" + ident


# What a function's name must not be. Its C identifier becomes a global symbol
# of the program, beside the buildpack's weak IDENT_batch, IDENT_init,
# IDENT_tick, IDENT_tick_ms, IDENT_fini, IDENT_commands, IDENT_metrics and IDENT_hooks: a symbol of the C library or of a library libofctx loads
# would replace that library's own (a function named "write" builds, and the
# library's first write() runs the function instead), a C keyword, main, a
# macro the compiler predefines (linux, unix under gnu11, CMake's default) or
# a type name (POSIX reserves names ending in _t: size_t, int8_t, wchar_t of
# the headers ofctx.h includes) does not compile, and ofctx_ is the
# library's. buildpack/bin/lib.sh refuses the same FUNC_NAMEs. The name is
# also the program's CMake target, beside the "function" library and the
# names CMake keeps for itself.
C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while
    alignas alignof bool constexpr false noreturn nullptr static_assert thread_local true typeof
    typeof_unqual complex imaginary asm errno assert offsetof""".split())
# The names of the C library, for when its symbols cannot be read (no nm, no
# ldd): the common POSIX ones.
POSIX_NAMES = frozenset("""
    abort abs accept access alarm atexit atoi bind calloc chdir chmod chown clock close closedir
    connect creat dup dup2 execl execv execve execvp exit fclose fcntl fdopen fflush fgets fileno
    fopen fork fprintf fputs fread free freopen fscanf fseek fstat fsync ftell ftruncate fwrite
    getaddrinfo getc getchar getcwd getenv getline getopt getpid getppid gets getuid gmtime index
    ioctl isatty kill link listen localtime log lseek lstat malloc memchr memcmp memcpy memmove
    memset mkdir mktime mmap munmap nanosleep open opendir pause perror pipe poll popen printf
    putc putchar puts qsort raise rand random read readdir readlink realloc recv recvfrom
    recvmsg remove rename rewind rmdir scanf select send sendmsg sendto setenv setsid
    setsockopt shutdown sigaction signal sleep snprintf socket sprintf sqrt srand sscanf stat
    strcat strchr strcmp strcpy strdup strerror strlen strncmp strncpy strstr strtol symlink
    sync system time times tmpfile truncate umask uname ungetc unlink unsetenv usleep wait
    waitpid write writev exp pow floor ceil round""".split())
# The compiler's predefined macros, for when it cannot be asked (no cc).
PREDEFINED_MACROS = frozenset("linux unix i386".split())
CMAKE_TARGETS = frozenset("function all clean help install test package depend preinstall".split())


def library_symbols(ofctx_bin):
    """The dynamic symbols that the libraries of a function define: those the
    ofctx tool is linked with (libofctx, its dependencies, the C library) as
    ldd lists them, and libm, read with nm; empty when they cannot be read."""
    def run(*cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
        except (OSError, subprocess.SubprocessError):
            return ""
    libs = set(re.findall(r"=> (/\S+)", run("ldd", ofctx_bin)))
    for name in ("libc.so.6", "libm.so.6"):
        path = run("cc", "-print-file-name=" + name).strip()
        if os.path.isabs(path):
            libs.add(os.path.realpath(path))
    symbols = set()
    for lib in sorted(libs):
        for line in run("nm", "-D", "--defined-only", lib).splitlines():
            fields = line.split()
            if len(fields) == 3:
                symbols.add(fields[2].split("@")[0])
    return symbols


def predefined_macros():
    """The macros the compiler predefines (#define NAME lines of cc -dM -E),
    else PREDEFINED_MACROS."""
    try:
        out = subprocess.run(["cc", "-dM", "-E", "-"], stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    return set(re.findall(r"^#define ([A-Za-z_][A-Za-z0-9_]*)", out, re.M)) or PREDEFINED_MACROS


def name_collision(name, ident, symbols, macros=PREDEFINED_MACROS):
    """Why the function NAME (C identifier IDENT) would collide, or None."""
    if ident == "ofctx" or ident.startswith("ofctx_"):
        return "ofctx and ofctx_ names are libofctx's"
    if ident == "main":
        return "main is the program's own (main.c, or the buildpack's main, calls the function)"
    if ident in C_KEYWORDS:
        return "%s is a C keyword or a name C reserves" % ident
    if ident in macros:
        return "%s is a macro the compiler predefines (cc -dM -E): the function would not compile" % ident
    if ident.endswith("_t"):
        return "%s ends in _t, which POSIX reserves for types (size_t, int8_t, wchar_t)" % ident
    for sym in [ident] + [ident + s for s in ("_batch", "_init", "_tick", "_tick_ms", "_fini", "_commands",
                                                   "_metrics", "_hooks")]:
        if sym in symbols or sym in POSIX_NAMES:
            return ("%s is a symbol of the C library or of a library libofctx uses: the function "
                    "would replace it" % sym)
    if name in CMAKE_TARGETS:
        return "%s is a CMake target already (the function library the buildpack links, or one of CMake's)" % name
    return None


def cmd_new(ofctx_bin, args):
    p = argparse.ArgumentParser(prog="ofctx new", add_help=True)
    p.add_argument("name")
    p.add_argument("--runtime", choices=("async", "knative"), default="async")
    p.add_argument("--signature", choices=("openfunction", "http"), default="openfunction")
    p.add_argument("--dir", help="where to make it (default: ./NAME)")
    p.add_argument("--state", metavar="STORE",
                   help="a Dapr state store of that name in the context, and code that counts events in it")
    a = p.parse_args(args)
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", a.name) or len(a.name) > 63:
        fail("new: the name %r is not a Kubernetes name (lower-case letters, digits and '-', "
             "starting and ending with a letter or digit, at most 63)" % a.name)
    symbols, macros = library_symbols(ofctx_bin), predefined_macros()
    why = name_collision(a.name, identifier(a.name), symbols, macros)
    if why:
        better = [n for n in (a.name + "-fn", "fn-" + a.name) if len(n) <= 63 and
                  not name_collision(n, identifier(n), symbols, macros)]
        fail("new: the name %r would collide: %s; choose another%s" % (
            a.name, why, " (e.g. %s)" % better[0] if better else ""))
    if a.signature == "http" and a.runtime != "knative":
        fail("new: the http signature is for the Knative runtime only (--runtime knative)")
    if a.state is not None and a.runtime != "async":
        fail("new: --state is for the Async runtime only")
    if a.state is not None and (not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", a.state) or len(a.state) > 63):
        fail("new: the state store %r is not a Kubernetes name (lower-case letters, digits and '-', "
             "starting and ending with a letter or digit, at most 63)" % a.state)
    dest = a.dir or a.name
    if os.path.exists(dest) and os.listdir(dest):
        fail("new: %s exists and is not empty" % dest)
    os.makedirs(dest, exist_ok=True)
    name, ident = a.name, identifier(a.name)
    fields = {"name": name, "ident": ident, "runtime": a.runtime.capitalize(), "signature": a.signature}
    fields["function_head"] = FUNCTION_HEAD.format(name=name)
    fields["state"] = a.state
    fields["states_yaml"] = STATES_YAML.format(state=a.state) if a.state else STATES_COMMENTED
    fields["state_readme"] = STATE_README.format(**fields) if a.state else ""
    for binding in KAFKA_METADATA:
        for indent in (4, 10):
            fields["%s_metadata_%d" % (binding, indent)] = metadata_yaml(binding, name, indent)
    if a.runtime == "async":
        source, context = (STATE_C if a.state else ASYNC_C), dict(ASYNC_CONTEXT, name=name)
        if a.state:
            context["states"] = {a.state: {"componentName": a.state, "componentType": "state.redis"}}
    else:
        source, context = (HTTP_C if a.signature == "http" else KNATIVE_C), dict(KNATIVE_CONTEXT, name=name)
    if a.signature == "http":
        declaration = "void %s(ofctx_t *ctx, const ofctx_event_t *req, ofctx_response_t *res);" % ident
        field = "http"
    else:
        declaration = "ofctx_result_t %s(ofctx_t *ctx, const ofctx_event_t *in);" % ident
        field = "function"
    files = {
        name + ".c": source.format(**fields),
        "main.c": MAIN_C.format(declaration=declaration, field=field, **fields),
        "CMakeLists.txt": CMAKE.format(**fields),
        "context.json": json.dumps(context, indent=2) + "\n",
        "Dockerfile": DOCKERFILE.format(**fields),
        "function.yaml": (FUNCTION_ASYNC if a.runtime == "async" else FUNCTION_KNATIVE).format(**fields),
        "README.md": README.format(
            run_here=(RUN_ASYNC if a.runtime == "async" else RUN_KNATIVE).format(**fields),
            deploy_more=("- `components/`: the Dapr components, for Dapr without OpenFunction.\n"
                         if a.runtime == "async" else ""), **fields),
        ".dockerignore": "build/\n",
    }
    if a.runtime == "async":
        files[os.path.join("components", "kafka.yaml")] = COMPONENTS.format(**fields)
    if a.state:
        files[os.path.join("components", "state.yaml")] = STATE_COMPONENT.format(**fields)
    for path, text in files.items():
        full = os.path.join(dest, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    print("%s: made %s (%s runtime, %s signature%s): %s" % (
        PROG, dest, a.runtime, a.signature, ", state store " + a.state if a.state else "",
        ", ".join(sorted(files))))
    print("next: cd %s && cmake -S . -B build && cmake --build build" % dest)
    return 0


# ---- the context, and the emulator's components ------------------------------

def normalized_context(ofctx_bin, context_file, env):
    """The context as `ofctx context check` prints it (the library's own reading)."""
    cmd = [ofctx_bin, "context", "check"] + (["--file", context_file] if context_file else [])
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        fail("the function context: " + p.stderr.strip())
    return json.loads(p.stdout)


def components_of(ctx):
    """The emulator's components file for the context's inputs, outputs and state stores."""
    bindings, pubsubs = {}, {}
    for role, comps in (("input", ctx.get("inputs") or {}), ("output", ctx.get("outputs") or {})):
        for c in comps.values():
            name, kind = c.get("componentName"), c.get("componentType", "")
            if kind.startswith("pubsub."):
                pubsubs.setdefault(name, {"name": name, "type": kind})
            elif name in bindings:
                bindings[name]["roles"].add(role)
            else:
                bindings[name] = {"name": name, "type": kind, "roles": {role}}
    out = []
    for b in bindings.values():
        entry = {"name": b["name"], "type": b["type"]}
        if b["roles"] == {"output"}:
            entry["direction"] = "output"
        out.append(entry)
    states = {c.get("componentName"): {"name": c.get("componentName"), "type": c.get("componentType", "")}
              for c in (ctx.get("states") or {}).values()}
    return {"bindings": out, "pubsubs": list(pubsubs.values()), "states": list(states.values())}


def emulator_path():
    # beside this file: in tools/, and in share/libofctx of a build or install
    path = os.path.join(HERE, "daprd_emulator.py")
    if os.path.exists(path):
        return path
    fail("run: the Dapr sidecar emulator (daprd_emulator.py) is not beside %s" % __file__)


# ---- where `ofctx run` keeps its state for `ofctx invoke` ---------------------
#
# As ssh-agent and tmux do: in a folder of this user's that no one else may
# enter (XDG_RUNTIME_DIR/ofctx, else TMPDIR/ofctx-UID), a file only this user
# reads; anything else found there is refused, never trusted.

class Untrusted(Exception):
    """A state folder or file that someone else could have made or changed."""


def state_dir():
    """XDG_RUNTIME_DIR/ofctx when XDG_RUNTIME_DIR is a folder of this user's
    that it can write, else ofctx-UID in the temporary folder (TMPDIR, /tmp)."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg):
        try:
            st = os.stat(xdg)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and os.access(xdg, os.W_OK | os.X_OK):
                return os.path.join(xdg, "ofctx")
        except OSError:
            pass
    return os.path.join(tempfile.gettempdir(), "ofctx-%d" % os.getuid())


def state_file():
    return os.path.join(state_dir(), "run.json")


def check_private(path, st, kind):
    """Raises Untrusted unless ST (an lstat of PATH) is a KIND of this user's
    that no one else can read or write."""
    want = stat.S_ISDIR if kind == "folder" else stat.S_ISREG
    if stat.S_ISLNK(st.st_mode):
        why = "is a symbolic link"
    elif not want(st.st_mode):
        why = "is not a %s" % kind
    elif st.st_uid != os.getuid():
        why = "belongs to user %d, not to you (user %d)" % (st.st_uid, os.getuid())
    elif st.st_mode & 0o077:
        why = "can be used by other users (mode %04o, not %s)" % (
            stat.S_IMODE(st.st_mode), "0700" if kind == "folder" else "0600")
    else:
        return
    raise Untrusted("%s %s: not trusted; remove it (or set XDG_RUNTIME_DIR to a folder of your own)"
                    % (path, why))


def make_state_dir():
    """The state folder, made (0700) if absent and checked; Untrusted or OSError."""
    path = state_dir()
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    check_private(path, os.lstat(path), "folder")
    if not os.access(path, os.W_OK | os.X_OK):
        raise Untrusted("%s is not writable: remove it" % path)
    return path


def write_state(state):
    """Writes the state file (0600, never through a link) as a new file
    linked to its name in the folder only this user can write: FileExistsError
    when a file has that name already (another `ofctx run`'s, say), which it
    never replaces."""
    path = os.path.join(make_state_dir(), "run.json")
    new = "%s.%d" % (path, os.getpid())
    try:
        os.unlink(new)  # left by an earlier run that had this pid
    except FileNotFoundError:
        pass
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(state, f)
        os.link(new, path)
    finally:
        try:
            os.unlink(new)
        except OSError:
            pass


def claim_state(state):
    """Records STATE for `ofctx invoke` unless another `ofctx run` of this
    user's runs here: that one's state then, and nothing is written. A state
    whose run is gone is replaced; Untrusted or OSError when the file cannot
    be written."""
    for _ in range(3):
        try:
            write_state(state)
            return None
        except FileExistsError:
            pass
        other, st = read_state_file()
        if st is not None and run_is_alive(other.get("pid")):
            return other
        remove_state(st)
    raise OSError(errno.EEXIST, "another ofctx run keeps replacing it")


def remove_state(st):
    """Removes the state file if it is still the one ST (its fstat) describes."""
    try:
        now = os.lstat(state_file())
        if st is not None and (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
            os.unlink(state_file())
    except OSError:
        pass


def running_run():
    """The state of the `ofctx run` of this user's that runs, or None (none
    runs, or the state cannot be read: writing it will say why)."""
    try:
        state, st = read_state_file()
    except (Untrusted, OSError):
        return None
    return state if st is not None and run_is_alive(state.get("pid")) else None


def read_state():
    """The state `ofctx run` recorded, {} when there is none; Untrusted when
    the folder or the file could be someone else's."""
    return read_state_file()[0]


def read_state_file():
    """read_state(), and the file's fstat (None when there is no file)."""
    path = state_dir()
    try:
        check_private(path, os.lstat(path), "folder")
    except FileNotFoundError:
        return {}, None
    path = os.path.join(path, "run.json")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return {}, None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Untrusted("%s is a symbolic link: not trusted; remove it" % path)
        raise Untrusted("%s: %s" % (path, e.strerror))
    with os.fdopen(fd) as f:
        st = os.fstat(f.fileno())
        check_private(path, st, "file")
        try:
            state = json.load(f)
        except ValueError:
            state = {}
    return (state if isinstance(state, dict) else {}), st


def run_is_alive(pid):
    """Whether PID is a running `ofctx run` of this user's: it exists, /proc
    says it is ours, and its command line is ofctx_dev.py OFCTX run (what
    tools/ofctx.c execs, so that process records its own pid). A pid that is
    gone, or was reused by another program or user, is not."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except OSError:  # ESRCH: gone; EPERM: someone else's
        return False
    try:
        if os.stat("/proc/%d" % pid).st_uid != os.getuid():
            return False
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    for i, arg in enumerate(argv):
        if os.path.basename(arg) == b"ofctx_dev.py":
            return argv[i + 2:i + 3] == [b"run"]
    return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def request(port, method, path, body=None, headers=None, timeout=60):
    """One request to 127.0.0.1:PORT: (status, body); OSError when nothing answers."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def control(port, method, path, body=None, headers=None, timeout=60):
    try:
        return request(port, method, path, body, headers, timeout)
    except OSError as e:
        fail("the sidecar emulator on port %d does not answer (%s); is 'ofctx run' running?" % (port, e), 1)


def describe_send(entry):
    if entry.get("binding"):
        return "binding %s %s: %s" % (entry["binding"], entry.get("operation"), entry.get("payload"))
    if entry.get("pubsub"):
        # the body as the function sent it: a publish's data is sent as it
        # is (a bulk publish's, its entries), never rewritten on the way
        bulk = "/publish/bulk/" in (entry.get("path") or "")
        return "%spublish %s/%s: %s" % ("bulk " if bulk else "", entry["pubsub"], entry["topic"], entry.get("body"))
    return "%s %s -> %s" % (entry.get("method"), entry.get("path"), entry.get("status"))


def sends_after(port, seen, answering=control):
    """The sends the emulator on PORT received after the first SEEN, and how
    many it received in all; ANSWERING asks it (request: OSError when it does
    not answer)."""
    status, body = answering(port, "GET", "/emulator/received")
    entries = json.loads(body) if status == 200 else []
    return [e for e in entries[seen:] if e.get("binding") or e.get("pubsub")], len(entries)


def dropped_count(app_port):
    """How many events the function on APP_PORT has dropped (OFCTX_DROP, or
    poison), as its /metrics counts them; None when it does not say."""
    try:
        status, body = request(app_port, "GET", "/metrics", timeout=10)
    except OSError:
        return None
    counts = re.findall(r'^ofctx_events_total\{[^\n]*outcome="drop"[^\n]*\} (\d+)$',
                        body.decode("utf-8", "replace"), re.M)
    return sum(int(n) for n in counts) if status == 200 and counts else None


# ---- ofctx run --------------------------------------------------------------

try:  # prctl (Linux): a child of `ofctx run` ends with it
    import ctypes
    PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (ImportError, OSError, AttributeError):
    PRCTL = None
PR_SET_PDEATHSIG = 1
# what `ofctx run` sends the function for each signal that stops it: SIGHUP
# (the terminal closed) stops it as SIGTERM does
STOP_SIGNALS = {signal.SIGINT: signal.SIGINT, signal.SIGTERM: signal.SIGTERM, signal.SIGHUP: signal.SIGTERM}


def start_child(command, **kwargs):
    """COMMAND started in a session of its own, so that a terminal's Ctrl-C
    (sent to its whole foreground process group) reaches `ofctx run` alone,
    which stops the function first and the emulator after it; and which gets
    SIGTERM when `ofctx run` dies before it (SIGKILL)."""
    parent = os.getpid()

    def with_parent():
        if PRCTL is not None:
            PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it died before prctl
            os._exit(1)
    return subprocess.Popen(command, start_new_session=True, preexec_fn=with_parent, **kwargs)


def stop_child(child, signum=signal.SIGTERM):
    """Sends SIGNUM to CHILD's process group (a function's own children too,
    as a terminal would) unless CHILD has ended."""
    if child is not None and child.poll() is None:
        try:
            os.killpg(child.pid, signum)
        except OSError:  # it ended in between
            pass


def stop_and_wait(child):
    """SIGTERM, at most 30 s to end, then SIGKILL."""
    stop_child(child)
    if child is not None:
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            stop_child(child, signal.SIGKILL)
            child.wait()


def hints(ctx, app_port):
    """The `ofctx invoke` that sends the function an event, for each input."""
    if ctx["runtime"] == "Knative":
        return ["ofctx invoke cloudevent http://127.0.0.1:%d%s 'hello'" % (app_port, ctx.get("httpPattern", "/"))]
    out = []
    for name, c in (ctx.get("inputs") or {}).items():
        if c.get("componentType", "").startswith("pubsub."):
            out.append("ofctx invoke pubsub %s %s '{\"hello\":\"world\"}'" % (
                shlex.quote(c["componentName"]), shlex.quote(c.get("uri") or name)))
        else:
            out.append("ofctx invoke binding %s 'hello'" % shlex.quote(name))
    return out


def start_emulator(ctx, tmp, app_port, dapr_port, verbose, env):
    """The Dapr sidecar emulator wired to the context, and its ready file."""
    comp_file, ready = os.path.join(tmp, "components.json"), os.path.join(tmp, "ready")
    with open(comp_file, "w") as f:
        json.dump(components_of(ctx), f)
    emulator = start_child(
        [sys.executable, emulator_path(), "--app-port", str(app_port), "--dapr-http-port", str(dapr_port),
         "--components", comp_file, "--ready-file", ready, "--app-id", ctx["name"], "--auto-startup"]
        + (["--verbose"] if verbose else []), stdout=subprocess.DEVNULL, env=env)
    return emulator, ready


def record_run(ctx, dapr_port, app_port, inputs):
    """Records this run for `ofctx invoke`, or fails (what was started is
    stopped by the caller)."""
    try:
        other = claim_state({"sidecar": dapr_port, "app": app_port, "pid": os.getpid(), "inputs": inputs,
                             "name": ctx["name"]})
    except (Untrusted, OSError) as e:
        fail("run: cannot record the emulator's port for ofctx invoke in %s: %s"
             % (state_file(), e.strerror if isinstance(e, OSError) else e))
    if other:
        refuse_second_run(other)


def refuse_second_run(other):
    fail("run: another 'ofctx run' runs here (pid %s: %s on 127.0.0.1:%s, its sidecar emulator on "
         "127.0.0.1:%s), and 'ofctx invoke' reaches one only: stop it first, or run this one with "
         "XDG_RUNTIME_DIR set to another folder of yours (and invoke it with the same)"
         % (other.get("pid"), other.get("name", "a function"), other.get("app"), other.get("sidecar")))


def cmd_run(ofctx_bin, args):
    if "--" not in args:
        fail("run: give the function's command after --, e.g. ofctx run --context context.json -- ./fn")
    split = args.index("--")
    p = argparse.ArgumentParser(prog="ofctx run")
    p.add_argument("--context", help="the function context (default: FUNC_CONTEXT)")
    p.add_argument("--dapr-http-port", type=int, default=0)
    p.add_argument("--verbose", action="store_true", help="the emulator logs each request")
    a = p.parse_args(args[:split])
    command = args[split + 1:]
    if not command:
        fail("run: no command after --")
    env = dict(os.environ)
    env.setdefault("CONTEXT_MODE", "self-host")
    ctx = normalized_context(ofctx_bin, a.context, env)
    if a.context:
        with open(a.context) as f:
            env["FUNC_CONTEXT"] = f.read()
    app_port = int(ctx["port"])
    # the state's folder first: a folder that cannot be used, or another
    # run, stops this one before anything is started
    try:
        make_state_dir()
    except Untrusted as e:
        fail("run: %s" % e)
    except OSError as e:
        fail("run: cannot make %s: %s" % (state_dir(), e.strerror))
    other = running_run()
    if other:
        refuse_second_run(other)
    if listening(app_port):
        fail("run: port %d (the context's port, or PORT) is in use: stop what listens there or "
             "choose another with PORT" % app_port)
    return run_loop(ctx, command, env, app_port, a.dapr_http_port or free_port(), a.verbose)


def run_loop(ctx, command, env, app_port, dapr_port, verbose):
    """Runs the emulator and the function until the function ends, or a
    signal stops it (forwarded to it alone; a second one kills it); its exit
    status, 0 when a signal stopped it."""
    inputs = {k: v["componentName"] for k, v in (ctx.get("inputs") or {}).items()}
    emulator = fn = None
    stopping = []  # the signals sent to the function (to send it once started)

    def forward(signum, frame):
        stopping.append(signal.SIGKILL if stopping else STOP_SIGNALS[signum])
        stop_child(fn, stopping[-1])

    for signum in STOP_SIGNALS:
        signal.signal(signum, forward)
    tmp = tempfile.mkdtemp(prefix="ofctx-run-")
    # from here every way out, a failure included, stops what was started:
    # the function first, then the emulator it may still send to
    try:
        emulator, ready = start_emulator(ctx, tmp, app_port, dapr_port, verbose, env)
        deadline = time.time() + 20
        while not os.path.exists(ready):
            if stopping:
                return 0  # stopped before it started: the finally below stops the emulator
            if emulator.poll() is not None or time.time() > deadline:
                fail("run: the sidecar emulator did not start (port %d)" % dapr_port, 1)
            time.sleep(0.05)
        record_run(ctx, dapr_port, app_port, inputs)
        env.update({"DAPR_HTTP_PORT": str(dapr_port), "PORT": str(app_port), "APP_PROTOCOL": "http",
                    "OFCTX_DAPR_PROTOCOL": "http"})
        try:
            fn = start_child(command, env=env)
        except OSError as e:
            fail("run: cannot start %s: %s" % (command[0], e.strerror))
        if stopping:
            stop_child(fn, stopping[-1])
        sys.stderr.write("%s run: %s (%s) on 127.0.0.1:%d, its sidecar emulator on 127.0.0.1:%d\n"
                         % (PROG, ctx["name"], ctx["runtime"], app_port, dapr_port))
        for hint in hints(ctx, app_port):
            sys.stderr.write("%s run: send it an event from another shell: %s\n" % (PROG, hint))
        status = watch(fn, dapr_port, stopping)
    finally:
        for signum in STOP_SIGNALS:  # the stopping below is bounded; let it end
            signal.signal(signum, signal.SIG_IGN)
        stop_and_wait(fn)
        stop_and_wait(emulator)
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            if read_state().get("pid") == os.getpid():
                os.unlink(state_file())
        except (Untrusted, OSError):
            pass
    if status < 0 and -status in stopping:
        return 0  # it died of the signal that stopped it: as asked
    return status if status >= 0 else 128 - status


def watch(fn, dapr_port, stopping):
    """Prints what the function sends to its sidecar until it ends; its
    status (negative: the signal that ended it)."""
    seen, told = 0, 0

    def print_sends():
        nonlocal seen
        try:
            sends, seen = sends_after(dapr_port, seen, request)
        except OSError:  # the emulator ended: it says why on stderr
            return
        for s in sends:
            sys.stderr.write("%s run: the sidecar got %s\n" % (PROG, describe_send(s)))

    while fn.poll() is None:
        if len(stopping) > told:
            told = len(stopping)
            sys.stderr.write("%s run: stopping the function%s\n"
                             % (PROG, " (killed)" if told > 1 else "; again to kill it"))
        print_sends()
        time.sleep(0.2)
    print_sends()  # what came after the last look
    return fn.returncode


# ---- ofctx invoke -----------------------------------------------------------

def read_data(value):
    if value is None:
        return b""
    if value == "-":
        return sys.stdin.buffer.read()
    if value.startswith("@"):
        try:
            with open(value[1:], "rb") as f:
                return f.read()
        except OSError as e:
            fail("invoke: %s: %s" % (value[1:], e.strerror))
    return value.encode()


def sidecar_port(given):
    state = run_state()
    port = given or state.get("sidecar")
    if not port:
        fail("invoke: no 'ofctx run' is running here (%s); start one, or give --sidecar PORT"
             % ("stale state in " + state_file() if state.get("stale") else state_file()))
    return port


def run_state():
    """The state of the `ofctx run` that runs, {} when none does. A state
    whose `ofctx run` is gone (killed with SIGKILL, say: its port may now be
    anyone's) is removed, and is {"stale": True}."""
    try:
        state, st = read_state_file()
    except Untrusted as e:
        fail("invoke: %s" % e)
    except OSError as e:
        fail("invoke: %s: %s" % (state_file(), e.strerror))
    if st is None or run_is_alive(state.get("pid")):
        return state
    remove_state(st)  # ours (read_state_file checked), if still the file read
    return {"stale": True}


def print_answer(status, headers, body):
    print("status: %s" % status)
    for k, v in sorted(headers.items()):
        if k.lower().startswith("ce-") or k.lower() in ("content-type", "x-openfunction-status"):
            print("%s: %s" % (k, v))
    if body:
        print(body if isinstance(body, str) else body.decode("utf-8", "replace"))


def cmd_invoke(args):
    if not args or args[0] not in ("binding", "pubsub", "cloudevent"):
        fail("invoke: say what to send: binding NAME, pubsub NAME TOPIC, or cloudevent URL\n" + USAGE)
    kind = args[0]
    p = argparse.ArgumentParser(prog="ofctx invoke " + kind)
    if kind == "binding":
        p.add_argument("name", help="the input (its name in the context, or its component)")
        p.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE")
    elif kind == "pubsub":
        p.add_argument("name", help="the pub/sub component")
        p.add_argument("topic")
        p.add_argument("--content-type", default="application/json")
    else:
        p.add_argument("url")
        p.add_argument("--structured", action="store_true")
        p.add_argument("--type", default="dev.libofctx.invoke")
        p.add_argument("--source", default="/ofctx/invoke")
        p.add_argument("--id")
        p.add_argument("--content-type", default="application/json")
    p.add_argument("data", nargs="?")
    p.add_argument("--sidecar", type=int, help="the port of the emulator 'ofctx run' started")
    a = p.parse_args(args[1:])
    data = read_data(a.data)
    if kind == "cloudevent":
        return invoke_cloudevent(a, data)
    port = sidecar_port(a.sidecar)
    _, seen = sends_after(port, 0)
    state = run_state()
    # the function's port, to read what became of a binding event (a
    # dropped one is acknowledged as a handled one is)
    drops = dropped_count(state["app"]) if state.get("sidecar") == port and state.get("app") else None
    if kind == "binding":
        name = state.get("inputs", {}).get(a.name, a.name)
        metadata = {}
        for pair in a.metadata:
            k, sep, v = pair.partition("=")
            if not sep:
                fail("invoke: --metadata takes KEY=VALUE, not %r" % pair)
            metadata[k] = v
        status, body = control(port, "POST", "/emulator/deliver/binding/" + urllib.parse.quote(name, safe=""),
                               data, {"X-Emulator-Metadata": json.dumps(metadata)})
    else:
        status, body = control(port, "POST", "/emulator/deliver/pubsub/%s/%s" % (
            urllib.parse.quote(a.name, safe=""), urllib.parse.quote(a.topic, safe="/")),
            data, {"Content-Type": a.content_type})
    try:
        answer = json.loads(body)
    except ValueError:
        answer = {"error": body.decode("utf-8", "replace")}
    if status >= 300 or ("error" in answer and answer.get("status") is None):
        fail("invoke: %s" % answer.get("error", status), 1)
    for s in sends_after(port, seen)[0]:
        print("sent: " + describe_send(s))
    print_answer(answer.get("status"), answer.get("headers") or {}, answer.get("body", ""))
    if kind == "binding":
        verdict = "RETRY" if not answer.get("acked") else "SUCCESS" if drops is None or (
            dropped_count(state["app"]) or 0) <= drops else "DROP"
    else:
        verdict = answer.get("verdict")
        print("verdict: %s" % verdict)
    print(VERDICTS.get((kind, verdict), VERDICTS[(kind, "RETRY")]))
    return 0 if verdict == "SUCCESS" else 1


# what becomes of an event, by input kind and verdict (docs/async-runtime.md)
VERDICTS = {
    ("binding", "SUCCESS"): "acknowledged",
    ("binding", "DROP"): "dropped: the function declared the event poison (OFCTX_DROP); it was acknowledged "
                         "all the same (200), and Dapr does not deliver it again",
    ("binding", "RETRY"): "not acknowledged: Dapr would deliver it again",
    ("pubsub", "SUCCESS"): "acknowledged",
    ("pubsub", "DROP"): "dropped: Dapr does not deliver it again (it goes to the subscription's dead-letter "
                        "topic, if it has one)",
    ("pubsub", "RETRY"): "not acknowledged: Dapr would deliver it again",
}


def invoke_cloudevent(a, data):
    event_id = a.id or "ofctx-%d" % int(time.time() * 1000)
    if a.structured:
        event = {"specversion": "1.0", "id": event_id, "source": a.source, "type": a.type,
                 "datacontenttype": a.content_type}
        # JSON data as JSON (its "null" too), other data as a string, none as null
        event["data"] = data.decode("utf-8", "replace") if data else None
        if data and a.content_type.startswith("application/json"):
            try:
                event["data"] = json.loads(data)
            except ValueError:
                pass
        body = json.dumps(event, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/cloudevents+json"}
    else:
        body = data
        headers = {"Content-Type": a.content_type, "ce-specversion": "1.0", "ce-id": event_id,
                   "ce-source": a.source, "ce-type": a.type}
    req = urllib.request.Request(a.url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, rheaders, rbody = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, rheaders, rbody = e.code, dict(e.headers), e.read()
    except OSError as e:
        fail("invoke: %s does not answer (%s)" % (a.url, e), 1)
    print_answer(status, rheaders, rbody)
    return 0 if 200 <= status < 300 else 1


# ---- ofctx components ---------------------------------------------------

def function_of(path):
    """The one core.openfunction.io/v1beta2 Function of the YAML file PATH."""
    try:
        import yaml  # python3-yaml: only this verb reads YAML
    except ImportError:
        fail("components needs python3-yaml (apt-get install python3-yaml)")
    try:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except (OSError, yaml.YAMLError) as e:
        fail("components: %s: %s" % (path, e))
    found = [d for d in docs if isinstance(d, dict) and d.get("kind") == "Function"]
    if len(found) != 1:
        fail("components: %s: %d Functions, 1 expected" % (path, len(found)))
    fn = found[0]
    if fn.get("apiVersion") != "core.openfunction.io/v1beta2":
        fail("components: %s: apiVersion %r: only core.openfunction.io/v1beta2 is read"
             % (path, fn.get("apiVersion")))
    return fn


def components_of_function(path, fn):
    """{name: Component} of the Function FN's spec.serving: its bindings and
    pubsub (name: spec) and its states (name: {spec: ...}), as OpenFunction
    makes them; and the components its triggers and outputs name that the
    Function does not define (they must be in the cluster already)."""
    serving = (fn.get("spec") or {}).get("serving") or {}
    out = {}
    for key in ("bindings", "pubsub", "states"):
        for name, spec in (serving.get(key) or {}).items():
            if key == "states":
                spec = (spec or {}).get("spec")
            if not isinstance(spec, dict) or not spec.get("type"):
                fail("components: %s: spec.serving.%s.%s: a component spec with a type expected"
                     % (path, key, name))
            if name in out:
                fail("components: %s: component %r defined twice" % (path, name))
            out[name] = {"apiVersion": "dapr.io/v1alpha1", "kind": "Component",
                         "metadata": {"name": name}, "spec": spec}
    named = [t.get("name") for t in ((serving.get("triggers") or {}).get("dapr") or [])]
    named += [(o.get("dapr") or {}).get("name") for o in (serving.get("outputs") or [])]
    missing = sorted({n for n in named if n and n not in out})
    return out, missing


def cmd_components(args):
    p = argparse.ArgumentParser(prog="ofctx components", usage=USAGE)
    p.add_argument("function")
    p.add_argument("--out", required=True)
    a = p.parse_args(args)
    import yaml
    comps, missing = components_of_function(a.function, function_of(a.function))
    if not comps:
        fail("components: %s: the Function defines no component (spec.serving.bindings, "
             "pubsub, states)" % a.function)
    os.makedirs(a.out, exist_ok=True)
    for name, comp in comps.items():
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
            fail("components: %s: component name %r cannot be a file name" % (a.function, name))
        target = os.path.join(a.out, name + ".yaml")
        with open(target, "w") as f:
            f.write("# from %s (ofctx components)\n" % os.path.basename(a.function))
            yaml.safe_dump(comp, f, sort_keys=False, default_flow_style=False)
        print(target)
    for name, comp in comps.items():
        for item in comp["spec"].get("metadata") or []:
            if isinstance(item, dict) and isinstance(item.get("secretKeyRef"), dict):
                ref = item["secretKeyRef"]
                sys.stderr.write("%s: components: %s: metadata %r is a secretKeyRef, copied as it "
                                 "is: the direct mode reads it from $OFCTX_SECRETS_PATH/%s/%s "
                                 "(the Secret %r mounted there; docs/direct-mode.md)\n"
                                 % (PROG, name, item.get("name"), ref.get("name"),
                                    ref.get("key") or ref.get("name"), ref.get("name")))
    for name in missing:
        sys.stderr.write("%s: components: %r is named by the Function's triggers or outputs but "
                         "not defined in it: add its Component file yourself\n" % (PROG, name))
    return 0


def main():
    if len(sys.argv) < 3:
        fail(USAGE)
    ofctx_bin, verb, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    verbs = {"new": lambda: cmd_new(ofctx_bin, args), "run": lambda: cmd_run(ofctx_bin, args),
             "invoke": lambda: cmd_invoke(args), "components": lambda: cmd_components(args)}
    if verb not in verbs:
        fail("unknown command %s\n%s" % (verb, USAGE))
    try:
        return verbs[verb]()
    except KeyboardInterrupt:  # run: Ctrl-C before it started anything ends it as after
        return 0 if verb == "run" else 130
    except OSError as e:  # one line, not a traceback (run has stopped what it started)
        fail("%s: %s" % (verb, e), 1)


if __name__ == "__main__":
    sys.exit(main())
