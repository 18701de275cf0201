# SPDX-License-Identifier: Apache-2.0
"""The libofctx buildpack (buildpack/) under a lifecycle played here as the
Buildpack API 0.10 describes it, since no pack or lifecycle binary can be
installed: an application directory, a platform directory with env/ files
(what OpenFunction's spec.build.env becomes), a layers directory; detect,
then build with the plan detect wrote; then the layers' [types] and
launch.toml read back, a second build over the same layers (the cache
restored), and the launched process run with the launch environment the
lifecycle would give it, under the Dapr emulator or as a Knative function.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILDPACK = os.path.join(ROOT, "buildpack")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import BIN_DIR, Harness, http  # noqa: E402

ASYNC_FN = r"""
#include <string.h>
#include <ofctx/ofctx.h>

/* sends what it gets to the output "out", and answers "got N bytes" */
ofctx_result_t Hello(ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  ofctx_set_reply(ctx, "hello", 5);
  return ofctx_send_to(ctx, "out", data, len, NULL) == OFCTX_OK ? OFCTX_SUCCESS : OFCTX_ERROR;
}
"""

KNATIVE_FN = r"""
#include <stdio.h>
#include <ofctx/ofctx.h>
#include "greeting.h"

ofctx_result_t Greeter(ofctx_t *ctx, const ofctx_event_t *in) {
  char text[64];
  int n = snprintf(text, sizeof text, "%s from a CMake project", greeting());
  (void)in;
  ofctx_set_reply(ctx, text, (size_t)n);
  return OFCTX_SUCCESS;
}
"""

HTTP_FN = r"""
#include <ofctx/ofctx.h>

void Plain(ofctx_t *ctx, const ofctx_event_t *req, ofctx_response_t *res) {
  (void)ctx;
  (void)req;
  ofctx_response_set_status(res, 201);
  ofctx_response_append(res, "plain http", 10);
}
"""

# a batch function with its own state: the generated main runs Counter_batch
# (not Counter, which fails every event), with Counter_init and Counter_fini,
# and its own command, --count-to N (Counter_commands)
BATCH_FN = r"""
#include <stdio.h>
#include <stdlib.h>
#include <ofctx/ofctx.h>

typedef struct {
  int events;
} state_t;

ofctx_result_t Counter(ofctx_t *ctx, const ofctx_event_t *in) {
  (void)ctx;
  (void)in;
  return OFCTX_ERROR;
}

ofctx_result_t Counter_batch(ofctx_t *ctx, ofctx_batch_t *batch) {
  state_t *s = ofctx_user_data(ctx);
  for (size_t i = 0; i < ofctx_batch_count(batch); i++)
    ofctx_batch_set_status(batch, i, OFCTX_SUCCESS);
  s->events += (int)ofctx_batch_count(batch);
  return OFCTX_SUCCESS;
}

int Counter_init(const ofctx_config_t *cfg, void **user_data) {
  (void)cfg;
  *user_data = calloc(1, sizeof(state_t));
  return *user_data ? 0 : -1;
}

void Counter_fini(void *user_data) {
  state_t *s = user_data;
  fprintf(stderr, "fini: %d events\n", s->events);
  free(s);
}

static int count_to(const ofctx_config_t *cfg, const char *value, void *arg) {
  (void)arg;
  printf("%s counts to %s\n", ofctx_config_name(cfg), value);
  return (int)strtol(value, NULL, 10);
}

const ofctx_command_t Counter_commands[] = {
    {"count-to", "N", "count to N, and exit with N", count_to},
    {NULL, NULL, NULL, NULL}};
"""

CMAKELISTS = """cmake_minimum_required(VERSION 3.18)
project(greeter C)
find_package(PkgConfig REQUIRED)
pkg_check_modules(OFCTX REQUIRED IMPORTED_TARGET libofctx)
add_library(function STATIC greeter.c greeting.c)
target_link_libraries(function PUBLIC PkgConfig::OFCTX)
"""

# ofctx new's Knative function, made to read the event with jansson: it
# answers "hello NAME" to {"name": NAME}
JANSSON_FN = r"""
#include <stdio.h>
#include <jansson.h>
#include <ofctx/ofctx.h>

ofctx_result_t greeter(ofctx_t *ctx, const ofctx_event_t *in) {
  size_t len;
  const char *data = ofctx_event_data(in, &len);
  json_t *doc = json_loadb(data, len, 0, NULL);
  const char *name = json_string_value(json_object_get(doc, "name"));
  char reply[128];
  int n = snprintf(reply, sizeof reply, "hello %s", name ? name : "nobody");
  json_decref(doc);
  return ofctx_set_reply(ctx, reply, (size_t)n) == OFCTX_OK ? OFCTX_SUCCESS : OFCTX_ERROR;
}
"""

ASYNC_CONTEXT = {"name": "hello", "runtime": "Async",
                 "inputs": {"in": {"componentName": "in", "componentType": "bindings.kafka"}},
                 "outputs": {"out": {"componentName": "out", "componentType": "bindings.kafka",
                                     "operation": "create"}}}
COMPONENTS = {"bindings": [{"name": "in", "type": "bindings.kafka"},
                           {"name": "out", "type": "bindings.kafka", "direction": "output"}]}


class Lifecycle:
    """One application, its platform and its layers, in a temporary directory."""

    def __init__(self, files, platform_env, layers_from=None, buildpack=BUILDPACK):
        self.buildpack = buildpack
        self.tmp = tempfile.TemporaryDirectory(prefix="ofctx-bp-")
        self.app = os.path.join(self.tmp.name, "workspace")
        self.layers = os.path.join(self.tmp.name, "layers", "dev.openfunction.libofctx")
        self.platform = os.path.join(self.tmp.name, "platform")
        os.makedirs(os.path.join(self.platform, "env"))
        os.makedirs(self.app)
        if layers_from:  # the cache of an earlier build, restored
            shutil.copytree(layers_from, self.layers, symlinks=True)
        else:
            os.makedirs(self.layers)
        for name, text in files.items():
            path = os.path.join(self.app, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        for name, value in platform_env.items():
            with open(os.path.join(self.platform, "env", name), "w") as f:
                f.write(value)
        self.plan = os.path.join(self.tmp.name, "plan.toml")
        self.bp_plan = os.path.join(self.tmp.name, "bp-plan.toml")

    def run(self, phase, extra):
        env = {"PATH": os.environ["PATH"], "HOME": self.tmp.name, "CNB_PLATFORM_DIR": self.platform,
               "CNB_BUILDPACK_DIR": self.buildpack, "CNB_TARGET_OS": "linux", "CNB_TARGET_ARCH": "amd64"}
        env.update(extra)
        return subprocess.run([os.path.join(self.buildpack, "bin", phase)], cwd=self.app, env=env,
                              capture_output=True, text=True, timeout=900)

    def detect(self):
        return self.run("detect", {"CNB_BUILD_PLAN_PATH": self.plan})

    def build(self):
        # the buildpack plan: what the build plan's requirements resolved to
        with open(self.plan, "rb") as f:
            plan = tomllib.load(f)
        with open(self.bp_plan, "w") as f:
            for req in plan.get("requires", []):
                f.write('[[entries]]\n  name = "%s"\n' % req["name"])
        return self.run("build", {"CNB_LAYERS_DIR": self.layers, "CNB_BP_PLAN_PATH": self.bp_plan})

    def layer_toml(self, name):
        with open(os.path.join(self.layers, name + ".toml"), "rb") as f:
            return tomllib.load(f)

    def process(self):
        """The default process of launch.toml, and the launch environment:
        each launch layer's bin/ on PATH and lib/ on LD_LIBRARY_PATH."""
        with open(os.path.join(self.layers, "launch.toml"), "rb") as f:
            launch = tomllib.load(f)
        [web] = [p for p in launch["processes"] if p.get("default")]
        paths, libs = [], []
        for entry in sorted(os.listdir(self.layers)):
            if entry.endswith(".toml") and entry != "launch.toml":
                name = entry[:-5]
                if self.layer_toml(name).get("types", {}).get("launch"):
                    paths.append(os.path.join(self.layers, name, "bin"))
                    libs.append(os.path.join(self.layers, name, "lib"))
        env = {"PATH": ":".join(paths + [os.environ["PATH"]]), "LD_LIBRARY_PATH": ":".join(libs)}
        return web, env

    def close(self):
        self.tmp.cleanup()


class Buildpack(unittest.TestCase):
    """The first build compiles libofctx into its layer; the other cases
    start from a copy of that layer, as a cache restored."""

    @classmethod
    def setUpClass(cls):
        cls.first = Lifecycle({"hello.c": ASYNC_FN}, {"FUNC_NAME": "Hello"})
        cls.detected = cls.first.detect()
        cls.built = cls.first.build()
        if cls.built.returncode != 0:
            raise AssertionError("the first build failed:\n" + cls.built.stdout + cls.built.stderr)
        cls.cache = os.path.join(cls.first.tmp.name, "cache")
        shutil.copytree(cls.first.layers, cls.cache, symlinks=True,
                        ignore=lambda d, names: [n for n in names if d == cls.first.layers and
                                                 not n.startswith("libofctx")])

    @classmethod
    def tearDownClass(cls):
        cls.first.close()

    def lifecycle(self, files, env):
        lc = Lifecycle(files, env, layers_from=self.cache)
        self.addCleanup(lc.close)
        return lc

    def build_ok(self, files, env):
        """The lifecycle of `files`, detected and built: it must succeed."""
        lc = self.lifecycle(files, env)
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 0, built.stderr)
        return lc, built

    def serve_knative(self, lc, name, method, body=None):
        """(status, body) of one request to the built process, run as a Knative function."""
        web, env = lc.process()
        h = Harness({"name": name, "runtime": "Knative"}, COMPONENTS, env=env, command=web["command"],
                    startup=False)
        try:
            status, _, answer = http(method, h.app + "/", body)
        finally:
            h.finish()
        return status, answer

    def scaffold(self, name, *options):
        """The files `ofctx new NAME OPTIONS` makes, by path."""
        tmp = tempfile.TemporaryDirectory(prefix="ofctx-bp-new-")
        self.addCleanup(tmp.cleanup)
        dest = os.path.join(tmp.name, name)
        out = subprocess.run([os.path.join(BIN_DIR, "ofctx"), "new", name, "--dir", dest, *options],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        files = {}
        for top, _, names in os.walk(dest):
            for n in names:
                with open(os.path.join(top, n)) as f:
                    files[os.path.relpath(os.path.join(top, n), dest)] = f.read()
        return files

    def jansson_scaffold(self, link):
        """ofctx new's Knative function greeter, its code JANSSON_FN; its
        CMakeLists.txt links jansson when LINK is true."""
        files = self.scaffold("greeter", "--runtime", "knative")
        files["greeter.c"] = JANSSON_FN
        if link:
            cmake = files["CMakeLists.txt"]
            for old, new in (("find_package(ofctx 0.1 REQUIRED)\n",
                              "find_package(ofctx 0.1 REQUIRED)\nfind_package(PkgConfig REQUIRED)\n"
                              "pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)\n"),
                             ("target_link_libraries(function PUBLIC ofctx::ofctx)\n",
                              "target_link_libraries(function PUBLIC ofctx::ofctx PkgConfig::JANSSON)\n")):
                self.assertIn(old, cmake)
                cmake = cmake.replace(old, new)
            files["CMakeLists.txt"] = cmake
        return files

    def test_an_ofctx_new_scaffold_builds_unchanged(self):
        # its CMakeLists.txt finds libofctx with find_package(ofctx); its
        # README names the function: orders in orders.c
        files = self.scaffold("orders")
        self.assertIn("find_package(ofctx 0.1 REQUIRED)", files["CMakeLists.txt"])
        self.assertIn("The function is `orders` in `orders.c`", files["README.md"])
        lc = self.lifecycle(files, {"FUNC_NAME": "orders"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 0, built.stderr)
        web, env = lc.process()
        events = os.path.join(lc.tmp.name, "events.jsonl")
        with open(events, "w") as f:
            f.write('{"n":1}\nhello\n')
        out = subprocess.run(web["command"] + ["--context", os.path.join(lc.app, "context.json"), "--invoke",
                                               events], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("orders: 2 events: 2 handled", out.stderr)
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        self.assertEqual([(x.get("output"), x.get("data")) for x in lines if "output" in x],
                         [("out", {"n": 1}), ("out", "hello")])
        self.assertEqual([(x["outcome"], x["reply"]["data"]) for x in lines if "outcome" in x],
                         [("SUCCESS", "ok"), ("SUCCESS", "ok")])

    def test_an_ofctx_new_state_scaffold_builds_unchanged(self):
        # ofctx new --state: the buildpack's own main runs it as the scaffold's does
        files = self.scaffold("counter", "--state", "visits")
        self.assertIn("ofctx_state_get", files["counter.c"])
        lc, _ = self.build_ok(files, {"FUNC_NAME": "counter"})
        web, env = lc.process()
        out = subprocess.run(web["command"] + ["--context", os.path.join(lc.app, "context.json"), "--invoke", "-"],
                             input="a\nb\n", env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        self.assertEqual([(x["state"], x.get("value")) for x in lines if "state" in x],
                         [("get", None), ("set", 1), ("get", 1), ("set", 2)])
        self.assertEqual([x["data"] for x in lines if x.get("output") == "out"], ["a", "b"])

    def test_a_scaffold_that_links_jansson_builds_and_serves(self):
        lc, _ = self.build_ok(self.jansson_scaffold(link=True), {"FUNC_NAME": "greeter"})
        self.assertEqual(self.serve_knative(lc, "greeter", "POST", '{"name": "ada"}'), (200, b"hello ada"))

    def test_the_documented_cmakelists_links_jansson(self):
        # docs/building.md, "A library the function needs": its CMakeLists.txt for hello.c
        with open(os.path.join(ROOT, "docs", "building.md")) as f:
            doc = f.read().split("### A library the function needs\n", 1)[1]
        cmake = doc.split("```cmake\n", 1)[1].split("```", 1)[0]
        self.assertIn("PkgConfig::JANSSON", cmake)
        lc = self.lifecycle({"CMakeLists.txt": cmake, "hello.c": JANSSON_FN}, {"FUNC_NAME": "greeter"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 0, built.stderr)
        web, env = lc.process()
        context, events = os.path.join(lc.tmp.name, "context.json"), os.path.join(lc.tmp.name, "events.jsonl")
        with open(context, "w") as f:
            json.dump(ASYNC_CONTEXT, f)
        with open(events, "w") as f:
            f.write('{"name":"ada"}\n')
        out = subprocess.run(web["command"] + ["--context", context, "--invoke", events], env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        [result] = [json.loads(line) for line in out.stdout.splitlines() if '"outcome"' in line]
        self.assertEqual((result["outcome"], result["reply"]["data"]), ("SUCCESS", "hello ada"))

    def test_a_library_not_linked_is_a_link_error(self):
        # the scaffold's CMakeLists.txt does not link jansson: link it there
        lc = self.lifecycle(self.jansson_scaffold(link=False), {"FUNC_NAME": "greeter"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        self.assertIn("collect2: error: ld returned 1 exit status", built.stderr)
        # (GNU ld names the first symbol, and the library, libofctx's, that has it)
        [why] = [line for line in built.stderr.splitlines() if line.startswith("libofctx buildpack: ")]
        self.assertRegex(why, r"the function does not link: json_\w+ is not defined in what it links \(it is "
                              r"in libjansson\.so\.4\); if it is in a library \(e\.g\. jansson\), link that library to "
                              r"the target \"function\" in .*/CMakeLists\.txt \(target_link_libraries\): see "
                              r"docs/building\.md")
        # without a CMakeLists.txt, the function is linked with libofctx only
        lc = self.lifecycle({"greeter.c": JANSSON_FN}, {"FUNC_NAME": "greeter"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        [why] = [line for line in built.stderr.splitlines() if line.startswith("libofctx buildpack: ")]
        self.assertRegex(why, r"the function does not link: json_\w+(, json_\w+)* (is|are) not defined"
                              r"( in what it links \(it is in libjansson\.so\.4\))?; if it is in a library")
        self.assertIn("the function needs a CMakeLists.txt that links it", why)
        self.assertIn('see docs/building.md, "A library the function needs"', why)
        self.assertFalse(os.path.exists(os.path.join(lc.layers, "function", "bin", "function")))
        # a function declared and defined nowhere
        lc = self.lifecycle({"hello.c": ASYNC_FN.replace("ofctx_set_reply(ctx", "helper();\n  ofctx_set_reply(ctx")
                             .replace("/* sends", "void helper(void);\n\n/* sends")}, {"FUNC_NAME": "Hello"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        self.assertIn("libofctx buildpack: the function does not link: helper is not defined; if it is in a library",
                      built.stderr)

    def test_a_scaffold_that_does_not_compile_or_configure(self):
        files = self.scaffold("broken")
        files["broken.c"] = files["broken.c"].replace("size_t len;", "size_t len = undeclared;")
        lc = self.lifecycle(files, {"FUNC_NAME": "broken"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        self.assertIn("'undeclared' undeclared", built.stderr)
        self.assertIn("libofctx buildpack: the function does not compile", built.stderr)
        self.assertNotIn("does not link", built.stderr)
        # cmake's own message, on the buildpack's line
        files = self.scaffold("broken")
        files["CMakeLists.txt"] = files["CMakeLists.txt"].replace(
            "find_package(ofctx 0.1 REQUIRED)", "find_package(ofctx 0.1 REQUIRED)\nfind_package(nosuchlib REQUIRED)")
        lc = self.lifecycle(files, {"FUNC_NAME": "broken"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        self.assertRegex(built.stderr, r"libofctx buildpack: .*/workspace/CMakeLists\.txt does not configure: "
                                       r"CMake Error at .*/CMakeLists\.txt:5 \(find_package\): .*\"nosuchlib\"")
        self.assertNotIn("does not compile", built.stderr)
        # a project without the target the buildpack links
        files = self.scaffold("broken")
        files["CMakeLists.txt"] = files["CMakeLists.txt"].replace("function", "fn")
        lc = self.lifecycle(files, {"FUNC_NAME": "broken"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        self.assertRegex(built.stderr, r"\nlibofctx buildpack: /\S+/workspace/CMakeLists\.txt defines no target named "
                                       r"\"function\" \(a library with broken in it\)\n$")

    def test_single_file_function_builds_and_serves_events(self):
        self.assertEqual(self.detected.returncode, 0, self.detected.stderr)
        with open(self.first.plan, "rb") as f:
            plan = tomllib.load(f)
        self.assertEqual(plan, {"provides": [{"name": "libofctx"}], "requires": [{"name": "libofctx"}]})
        self.assertIn("libofctx 0.1.0: building", self.built.stdout)
        web, env = self.first.process()
        # no Hello_commands: --help lists no commands of the function's own
        out = subprocess.run(web["command"] + ["--help"], env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("--all-outcomes", out.stdout)
        self.assertNotIn("own commands", out.stdout)
        lib = self.first.layer_toml("libofctx")
        self.assertEqual(lib["types"], {"build": True, "cache": True, "launch": True})
        self.assertEqual(lib["metadata"]["version"], "0.1.0")
        # the buildpacks after this one find_package(ofctx) in the layer
        env_build = os.path.join(self.first.layers, "libofctx", "env.build")
        with open(os.path.join(env_build, "CMAKE_PREFIX_PATH.prepend")) as f:
            self.assertEqual(f.read(), os.path.join(self.first.layers, "libofctx"))
        self.assertTrue(os.path.isfile(os.path.join(self.first.layers, "libofctx", "lib", "cmake", "ofctx",
                                                    "ofctxConfig.cmake")))
        self.assertEqual(self.first.layer_toml("function")["types"], {"launch": True})
        web, env = self.first.process()
        self.assertEqual(web["type"], "web")
        self.assertEqual(web["command"], [os.path.join(self.first.layers, "function", "bin", "function")])
        # the launched process under the Dapr emulator: the event comes in,
        # its data goes out to the output, the answer is the reply
        h = Harness(ASYNC_CONTEXT, COMPONENTS, env=env, command=web["command"])
        try:
            r = h.deliver_binding("in", {"n": 1})
            self.assertEqual((r["status"], r["acked"]), (200, True), r)
            [sent] = h.received("/v1.0/bindings/")
            self.assertEqual(json.loads(sent["body"])["data"], {"n": 1})
        finally:
            h.finish()

    def test_second_build_reuses_the_cached_library(self):
        lc = self.lifecycle({"hello.c": ASYNC_FN}, {"FUNC_NAME": "Hello"})
        so = os.path.join(lc.layers, "libofctx", "lib", "libofctx.so.0.1.0")
        before = os.stat(so).st_mtime_ns
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 0, built.stderr)
        self.assertIn("libofctx 0.1.0: reusing the cached layer", built.stdout)
        self.assertEqual(os.stat(so).st_mtime_ns, before)
        # another version in the cache is rebuilt, not reused
        toml = os.path.join(lc.layers, "libofctx.toml")
        with open(toml) as f:
            text = f.read()
        with open(toml, "w") as f:
            f.write(text.replace('version = "0.1.0"', 'version = "0.0.9"'))
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertIn("libofctx 0.1.0: building", built.stdout)

    def test_own_cmakelists_as_a_knative_function(self):
        lc, _ = self.build_ok({"CMakeLists.txt": CMAKELISTS, "greeter.c": KNATIVE_FN,
                            "greeting.h": "const char *greeting(void);\n",
                            "greeting.c": 'const char *greeting(void) { return "hi"; }\n'},
                           {"FUNC_NAME": "Greeter"})
        self.assertEqual(self.serve_knative(lc, "greeter", "POST", "x"), (200, b"hi from a CMake project"))

    def test_http_signature(self):
        lc, built = self.build_ok({"plain.c": HTTP_FN}, {"FUNC_NAME": "Plain", "FUNC_TYPE": "http"})
        self.assertIn("plain HTTP signature", built.stdout)
        self.assertEqual(lc.layer_toml("function")["metadata"]["signature"], "http")
        self.assertEqual(self.serve_knative(lc, "plain", "GET"), (201, b"plain http"))

    def test_a_compile_error_reaches_the_log(self):
        lc = self.lifecycle({"broken.c": "int Broken(void *ctx, const void *in) { return undeclared; }\n"},
                            {"FUNC_NAME": "Broken"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        self.assertIn("broken.c:1:", built.stderr)
        self.assertIn("'undeclared' undeclared", built.stderr)
        self.assertIn("the function does not compile", built.stderr)
        self.assertNotIn("does not link", built.stderr)

    def test_no_func_name(self):
        lc = self.lifecycle({"hello.c": ASYNC_FN}, {})
        detected = lc.detect()
        self.assertEqual(detected.returncode, 1)
        self.assertIn("FUNC_NAME is not set", detected.stderr)

    def test_func_name_not_in_the_source(self):
        lc = self.lifecycle({"hello.c": ASYNC_FN}, {"FUNC_NAME": "Nope"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        self.assertIn("FUNC_NAME=Nope: no function Nope in", built.stderr)

    def test_bad_settings_are_named(self):
        for env, words in (({"FUNC_NAME": "2fast"}, 'FUNC_NAME="2fast" is not the name of a C function'),
                           ({"FUNC_NAME": "main"}, "FUNC_NAME=main"),
                           ({"FUNC_NAME": "int"}, "FUNC_NAME=int is a C keyword"),
                           ({"FUNC_NAME": "ofctx_hello"}, "ofctx and ofctx_ names are libofctx's"),
                           # no compile: predefined macros (gnu11), and the
                           # headers' types (POSIX reserves the _t suffix)
                           ({"FUNC_NAME": "linux"}, "FUNC_NAME=linux is a macro the compiler predefines"),
                           ({"FUNC_NAME": "unix"}, "(e.g. unix_fn)"),
                           ({"FUNC_NAME": "size_t"}, "FUNC_NAME=size_t ends in _t, which POSIX reserves"),
                           ({"FUNC_NAME": "max_align_t"}, "(e.g. max_align_t_fn)"),
                           ({"FUNC_NAME": "Hello", "FUNC_TYPE": "grpc"}, 'FUNC_TYPE="grpc"')):
            lc = self.lifecycle({"hello.c": ASYNC_FN}, env)
            detected = lc.detect()
            self.assertEqual(detected.returncode, 1, env)
            self.assertIn(words, detected.stderr)

    def test_a_name_the_libraries_use_is_refused(self):
        # a function named write would replace libc's (the library's first
        # write() would run it): the names `ofctx new` refuses
        lc = self.lifecycle({"hello.c": ASYNC_FN.replace("Hello", "write")}, {"FUNC_NAME": "write"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        self.assertIn("FUNC_NAME=write: write is a symbol of the C library", built.stderr)
        self.assertFalse(os.path.exists(os.path.join(lc.layers, "function", "bin", "function")))

    def test_code_with_its_own_main_is_told_so(self):
        lc = self.lifecycle({"hello.c": ASYNC_FN + "int main(void) { return 0; }\n"}, {"FUNC_NAME": "Hello"})
        built = lc.build() if lc.detect().returncode == 0 else None
        self.assertEqual(built.returncode, 1)
        self.assertIn("your code defines main", built.stderr)

    def test_build_reads_the_plan(self):
        lc = self.lifecycle({"hello.c": ASYNC_FN}, {"FUNC_NAME": "Hello"})
        self.assertEqual(lc.detect().returncode, 0)
        with open(lc.plan, "w") as f:
            f.write('[[requires]]\n  name = "something-else"\n')
        built = lc.build()
        self.assertEqual(built.returncode, 1)
        self.assertIn("has no entry for libofctx", built.stderr)

    def test_not_a_c_function(self):
        lc = self.lifecycle({"index.js": "module.exports = {}\n"}, {"FUNC_NAME": "Hello"})
        self.assertEqual(lc.detect().returncode, 100)

    def test_func_src_and_func_clear_source(self):
        lc = self.lifecycle({"fn/hello.c": ASYNC_FN, "README.md": "x\n"},
                            {"FUNC_NAME": "Hello", "FUNC_SRC": "fn", "FUNC_CLEAR_SOURCE": "true"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 0, built.stderr)
        self.assertEqual(os.listdir(lc.app), [])
        web, _ = lc.process()
        self.assertTrue(os.access(web["command"][0], os.X_OK))

    def test_batch_init_fini_and_commands_are_wired(self):
        lc = self.lifecycle({"counter.c": BATCH_FN}, {"FUNC_NAME": "Counter"})
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 0, built.stderr)
        web, env = lc.process()
        context = os.path.join(lc.tmp.name, "context.json")
        events = os.path.join(lc.tmp.name, "events.jsonl")
        with open(context, "w") as f:
            json.dump(ASYNC_CONTEXT, f)
        with open(events, "w") as f:
            f.write('{"n":1}\n{"n":2}\n')
        out = subprocess.run(web["command"] + ["--context", context, "--invoke", events], env=env,
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("2 events: 2 handled", out.stderr)
        self.assertEqual(out.stderr.count("fini: 2 events\n"), 1, out.stderr)
        # its own command: listed by --help, run with the context instead of
        # serving (neither init nor fini), its status the exit status
        out = subprocess.run(web["command"] + ["--help"], env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("\n  --count-to N    count to N, and exit with N\n", out.stdout)
        out = subprocess.run(web["command"] + ["--count-to", "3", "--context", context],
                             env=dict(env, CONTEXT_MODE="self-host"), capture_output=True, text=True,
                             timeout=60)
        self.assertEqual((out.returncode, out.stdout, out.stderr), (3, "hello counts to 3\n", ""))

    def test_the_logs_handler_with_the_packaged_buildpack(self):
        # the example as OpenFunction builds it (deploy/function-build.yaml:
        # sourceSubPath examples/logs-handler is the workspace), by the
        # buildpack as buildpack/package.sh packages it for pack, with no
        # cache: libofctx is built from the package's own src/
        tmp = tempfile.TemporaryDirectory(prefix="ofctx-bp-package-")
        self.addCleanup(tmp.cleanup)
        packaged = os.path.join(tmp.name, "buildpack")
        out = subprocess.run([os.path.join(BUILDPACK, "package.sh"), packaged], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(os.path.isfile(os.path.join(packaged, "src", "CMakeLists.txt")))
        files = {}
        src = os.path.join(ROOT, "examples", "logs-handler")
        for name in os.listdir(src):
            if name.endswith((".c", ".h")) or name == "CMakeLists.txt":
                with open(os.path.join(src, name)) as f:
                    files[name] = f.read()
        lc = Lifecycle(files, {"FUNC_NAME": "LogsHandler"}, buildpack=packaged)
        self.addCleanup(lc.close)
        self.assertEqual(lc.detect().returncode, 0)
        built = lc.build()
        self.assertEqual(built.returncode, 0, built.stderr)
        self.assertIn("libofctx 0.1.0: building", built.stdout)
        web, env = lc.process()
        out = subprocess.run(web["command"] + ["--context", os.path.join(src, "context.json"), "--invoke",
                                               os.path.join(src, "testdata", "records.jsonl")],
                             env=dict(env, LOGS_ALERT_FORMAT="alertmanager"), capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        alerts = [json.loads(line) for line in out.stdout.splitlines() if line.startswith('{"output"')]
        self.assertGreater(len(alerts), 0)
        self.assertEqual(alerts[0]["output"], "notification-manager")


class GeneratedMain(unittest.TestCase):
    """The main the buildpack writes (write_main in bin/lib.sh), without a build."""

    def generate(self, func_name, func_type=""):
        env = {"PATH": os.environ["PATH"], "FUNC_NAME": func_name, "FUNC_TYPE": func_type,
               "CNB_PLATFORM_DIR": os.path.join(ROOT, "no-such-platform")}
        out = subprocess.run(["bash", "-c", '. "$1/bin/lib.sh" && write_main', "write_main", BUILDPACK],
                             env=env, capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out.stdout

    def test_the_logs_handler_main_is_the_generated_one(self):
        # the Dockerfile image (main.c) and the buildpack image run the same code
        with open(os.path.join(ROOT, "examples", "logs-handler", "main.c"), "rb") as f:
            self.assertEqual(f.read(), self.generate("LogsHandler"))

    def test_every_entry_is_wired(self):
        text = self.generate("Fn").decode()
        for line in ("ofctx_result_t Fn_batch(ofctx_t *ctx, ofctx_batch_t *batch) __attribute__((weak));",
                     "int Fn_init(const ofctx_config_t *cfg, void **user_data) __attribute__((weak));",
                     "ofctx_result_t Fn(ofctx_t *ctx, const ofctx_event_t *in);",
                     "void Fn_fini(void *user_data) __attribute__((weak));",
                     "extern const ofctx_command_t Fn_commands[] __attribute__((weak));",
                     "void Fn_metrics(ofctx_metrics_t *m, void *user_data) __attribute__((weak));",
                     "extern const ofctx_hook_t Fn_hooks[] __attribute__((weak));",
                     "    opts.batch = Fn_batch;", "    opts.function = Fn;", "  opts.fini = Fn_fini;",
                     "  opts.commands = Fn_commands;", "  opts.metrics = Fn_metrics;", "  opts.hooks = Fn_hooks;"):
            self.assertIn(line + "\n", text)
        http = self.generate("Fn", "http").decode()
        self.assertIn("  opts.http = Fn;\n", http)
        self.assertNotIn("_batch", http)  # a batch function runs only under Async
        self.assertIn("  opts.fini = Fn_fini;\n", http)
        self.assertIn("  opts.commands = Fn_commands;\n", http)
        self.assertIn("  opts.metrics = Fn_metrics;\n", http)


if __name__ == "__main__":
    unittest.main()
