# SPDX-License-Identifier: Apache-2.0
"""A developer's first hour, as docs/getting-started.md walks it: the library
installed into a prefix, `ofctx new` in a folder outside the repository, the
function built against the installed library with CMake and with pkg-config,
run with `ofctx run` (the Dapr sidecar emulator wired to its context), sent
events with `ofctx invoke`, and the errors each verb gives; and the loop of
`ofctx run` itself (RunLoop): how it stops, the hints it prints, a second
run, what `invoke` shows of a dropped event and of a publish, and the exit
statuses `ofctx --help` gives."""

import glob
import http.server
import json
import os
import shlex
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN_DIR, free_port, function_command, wait_until  # noqa: E402


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return True
    except OSError:
        return False

BUILD = os.path.dirname(os.path.abspath(BIN_DIR))


def stop_process(p, signum):
    """Sends P SIGNUM unless it has ended, and waits for it (SIGKILL after a minute)."""
    if p.poll() is None:
        p.send_signal(signum)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def sanitized():
    lib = os.path.join(BUILD, "libofctx.so")
    with open(lib, "rb") as f:
        return b"__asan_init" in f.read()


class NameCollision(unittest.TestCase):
    """name_collision itself, with symbols given: each entry the buildpack's
    generated main refers to counts, not the function's name alone."""

    def test_every_entry_of_the_generated_main_is_checked(self):
        tools = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             "tools")
        sys.path.insert(0, tools)
        import ofctx_dev  # noqa: E402
        for suffix in ("", "_batch", "_init", "_tick", "_tick_ms", "_fini", "_commands", "_metrics", "_hooks"):
            with self.subTest(suffix=suffix):
                why = ofctx_dev.name_collision("lib-x", "lib_x", {"lib_x" + suffix}, set())
                self.assertEqual(why, "lib_x%s is a symbol of the C library or of a library libofctx "
                                      "uses: the function would replace it" % suffix)
        self.assertIsNone(ofctx_dev.name_collision("lib-x", "lib_x", {"lib_x_other"}, set()))


@unittest.skipIf(sanitized(), "a program built by hand cannot load an ASan-built library")
class FirstHour(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="ofctx-dev-")
        cls.prefix = os.path.join(cls.tmp.name, "prefix")
        subprocess.run(["cmake", "--install", BUILD, "--prefix", cls.prefix], check=True,
                       capture_output=True)
        cls.ofctx = os.path.join(cls.prefix, "bin", "ofctx")
        cls.pc_dir = os.path.dirname(glob.glob(os.path.join(cls.prefix, "**", "libofctx.pc"), recursive=True)[0])
        cls.lib_dir = os.path.dirname(cls.pc_dir)
        cls.work = os.path.join(cls.tmp.name, "work")  # outside the repository
        os.makedirs(cls.work)
        # `ofctx run` keeps its emulator's port here (in ofctx/run.json), for `ofctx invoke`
        cls.env = dict(os.environ, XDG_RUNTIME_DIR=cls.tmp.name, CONTEXT_MODE="self-host")
        cls.env.pop("FUNC_CONTEXT", None)
        cls.state = os.path.join(cls.tmp.name, "ofctx", "run.json")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def ofctx_cmd(self, *args, cwd=None, env=None, check=True):
        p = subprocess.run([self.ofctx, *args], cwd=cwd or self.work, env=env or self.env,
                           capture_output=True, text=True, timeout=120)
        if check:
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p

    def new_and_build(self, name, *options):
        """`ofctx new`, then both builds: the CMake one's program, and the pkg-config one's."""
        self.ofctx_cmd("new", name, *options)
        src = os.path.join(self.work, name)
        cmake = subprocess.run(["cmake", "-S", src, "-B", os.path.join(src, "build"),
                                "-DCMAKE_PREFIX_PATH=" + self.prefix], capture_output=True, text=True)
        self.assertEqual(cmake.returncode, 0, cmake.stderr)
        built = subprocess.run(["cmake", "--build", os.path.join(src, "build")], capture_output=True, text=True)
        self.assertEqual(built.returncode, 0, built.stdout + built.stderr)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libofctx"], capture_output=True, text=True,
                               env=dict(self.env, PKG_CONFIG_PATH=self.pc_dir), check=True).stdout.split()
        pc = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-o", name + "-pc", name + ".c",
                             "main.c", *flags, "-Wl,-rpath," + self.lib_dir], cwd=src, capture_output=True,
                            text=True)
        self.assertEqual(pc.returncode, 0, pc.stderr)
        return src

    def start_run(self, src, program, port):
        p = subprocess.Popen([self.ofctx, "run", "--context", "context.json", "--", program], cwd=src,
                             env=dict(self.env, PORT=str(port)), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.stop_run, p)
        wait_until(lambda: os.path.exists(self.state), "ofctx run's emulator")
        return p

    def stop_run(self, p):
        stop_process(p, signal.SIGINT)
        p.stdout.close()
        p.stderr.close()

    def test_an_async_function_from_new_to_an_answer(self):
        src = self.new_and_build("orders")
        for f in ("orders.c", "main.c", "CMakeLists.txt", "context.json", "Dockerfile", "function.yaml",
                  "README.md", "components/kafka.yaml"):
            self.assertTrue(os.path.exists(os.path.join(src, f)), f)
        # the deploy files name what the context names
        import yaml  # python3-yaml, installed by scripts/test.sh
        with open(os.path.join(src, "context.json")) as f:
            ctx = json.load(f)
        with open(os.path.join(src, "function.yaml")) as f:
            serving = yaml.safe_load(f)["spec"]["serving"]
        with open(os.path.join(src, "components", "kafka.yaml")) as f:
            components = {c["metadata"]["name"]: c for c in yaml.safe_load_all(f)}
        names = sorted(c["componentName"] for part in ("inputs", "outputs") for c in ctx[part].values())
        self.assertEqual([t["name"] for t in serving["triggers"]["dapr"]],
                         [c["componentName"] for c in ctx["inputs"].values()])
        self.assertEqual([o["dapr"]["name"] for o in serving["outputs"]],
                         [c["componentName"] for c in ctx["outputs"].values()])
        self.assertEqual(sorted(serving["bindings"]), names)
        self.assertEqual(sorted(components), names)
        for name in names:
            self.assertEqual(components[name]["spec"]["metadata"], serving["bindings"][name]["metadata"])
        # the local runtime works at once too, on both builds
        for program in ("build/orders", "./orders-pc"):
            local = subprocess.run([os.path.join(src, program), "--context", "context.json", "--invoke", "-"],
                                   cwd=src, input="hi\n", capture_output=True, text=True, env=self.env)
            self.assertEqual(local.returncode, 0, local.stderr)
            self.assertEqual([json.loads(l).get("output") for l in local.stdout.splitlines()], ["out", None])
        port = free_port()
        run = self.start_run(src, "./build/orders", port)
        wait_until(lambda: self.ofctx_cmd("invoke", "binding", "in", "x", check=False).returncode == 0,
                   "the function to take events")
        p = self.ofctx_cmd("invoke", "binding", "in", '{"order":1}', "--metadata", "traceparent=00-ab")
        self.assertIn("sent: binding out create: {\"order\":1}", p.stdout)
        self.assertIn("status: 200", p.stdout)
        self.assertIn("acknowledged", p.stdout)
        # the run printed what the function sent to its sidecar
        os.kill(run.pid, signal.SIGINT)
        out, err = run.communicate(timeout=30)
        self.assertEqual(run.returncode, 0, err)
        self.assertIn("on 127.0.0.1:%d, its sidecar emulator" % port, err)
        self.assertIn("the sidecar got binding out create: {\"order\":1}", err)
        self.assertFalse(os.path.exists(self.state))

    def test_a_function_with_state(self):
        src = self.new_and_build("counter", "--state", "visits")
        import yaml
        with open(os.path.join(src, "context.json")) as f:
            ctx = json.load(f)
        with open(os.path.join(src, "function.yaml")) as f:
            serving = yaml.safe_load(f)["spec"]["serving"]
        with open(os.path.join(src, "components", "state.yaml")) as f:
            component = yaml.safe_load(f)
        self.assertEqual(ctx["states"], {"visits": {"componentName": "visits", "componentType": "state.redis"}})
        self.assertEqual(list(serving["states"]), ["visits"])  # v1beta2: OpenFunction names it in the context
        self.assertEqual(component["metadata"]["name"], "visits")
        self.assertEqual(component["spec"], serving["states"]["visits"]["spec"])
        # --invoke: each event read, counted and written back, then sent on
        local = subprocess.run([os.path.join(src, "build", "counter"), "--context", "context.json", "--invoke", "-"],
                               cwd=src, input="a\nb\n", capture_output=True, text=True, env=self.env)
        self.assertEqual(local.returncode, 0, local.stderr)
        lines = [json.loads(l) for l in local.stdout.splitlines()]
        self.assertEqual([l.get("value") for l in lines if l.get("state") == "set"], [1, 2])
        self.assertEqual([l["data"] for l in lines if l.get("output") == "out"], ["a", "b"])
        # ofctx run: the emulator has the state store the context names
        self.start_run(src, "./build/counter", free_port())
        wait_until(lambda: self.ofctx_cmd("invoke", "binding", "in", "x", check=False).returncode == 0,
                   "the function to take events")
        with open(self.state) as f:
            sidecar = json.load(f)["sidecar"]

        def count():
            with urllib.request.urlopen("http://127.0.0.1:%d/emulator/states/visits" % sidecar, timeout=30) as r:
                return int(json.load(r)["events"]["value"])
        before = count()
        p = self.ofctx_cmd("invoke", "binding", "in", '{"n":2}')
        self.assertIn("sent: binding out create: {\"n\":2}", p.stdout)
        self.assertIn("acknowledged", p.stdout)
        self.assertEqual(count(), before + 1)

    def test_a_pubsub_message_through_the_emulator(self):
        src = self.new_and_build("subscriber")
        with open(os.path.join(src, "context.json")) as f:
            ctx = json.load(f)
        ctx["inputs"] = {"orders": {"uri": "orders", "componentName": "pubsub", "componentType": "pubsub.kafka"}}
        with open(os.path.join(src, "context.json"), "w") as f:
            json.dump(ctx, f)
        self.start_run(src, "./build/subscriber", free_port())
        wait_until(lambda: self.ofctx_cmd("invoke", "pubsub", "pubsub", "orders", "{}", check=False).returncode == 0,
                   "the subscription")
        p = self.ofctx_cmd("invoke", "pubsub", "pubsub", "orders", '{"order":2}')
        self.assertIn("sent: binding out create: {\"order\":2}", p.stdout)
        self.assertIn("verdict: SUCCESS", p.stdout)
        p = self.ofctx_cmd("invoke", "pubsub", "pubsub", "nowhere", "{}", check=False)
        self.assertEqual(p.returncode, 1)

    def test_a_knative_function_answers_cloudevents(self):
        src = self.new_and_build("greeter", "--runtime", "knative")
        port = free_port()
        self.start_run(src, "./greeter-pc", port)
        url = "http://127.0.0.1:%d/" % port
        wait_until(lambda: self.ofctx_cmd("invoke", "cloudevent", url, check=False).returncode == 0,
                   "the function to listen")
        for mode in ((), ("--structured",)):
            p = self.ofctx_cmd("invoke", "cloudevent", url, '{"a":1}', *mode)
            self.assertIn("status: 200", p.stdout)
            self.assertIn("hello from greeter: 7 bytes", p.stdout)

    def test_the_main_runs_the_function_s_own_commands(self):
        src = self.new_and_build("tally")
        help_ = subprocess.run(["./tally-pc", "--help"], cwd=src, env=self.env, capture_output=True, text=True)
        self.assertEqual(help_.returncode, 0, help_.stderr)
        self.assertNotIn("own commands", help_.stdout)  # tally_commands is not defined: NULL
        with open(os.path.join(src, "tally.c"), "a") as f:
            f.write('\n#include <stdio.h>\n\n'
                    'static int say(const ofctx_config_t *cfg, const char *value, void *arg) {\n'
                    '  (void)arg;\n'
                    '  printf("%s says %s\\n", ofctx_config_name(cfg), value);\n'
                    '  return 4;\n'
                    '}\n\n'
                    'const ofctx_command_t tally_commands[] = {{"say", "WORD", "say WORD", say},\n'
                    '                                          {NULL, NULL, NULL, NULL}};\n')
        built = subprocess.run(["cmake", "--build", os.path.join(src, "build")], capture_output=True, text=True)
        self.assertEqual(built.returncode, 0, built.stdout + built.stderr)
        program = os.path.join(src, "build", "tally")
        help_ = subprocess.run([program, "--help"], cwd=src, env=self.env, capture_output=True, text=True)
        self.assertIn("\n  --say WORD      say WORD\n", help_.stdout)
        said = subprocess.run([program, "--say", "hi", "--context", "context.json"], cwd=src, env=self.env,
                              capture_output=True, text=True)
        self.assertEqual((said.returncode, said.stdout, said.stderr), (4, "tally says hi\n", ""))

    def test_a_plain_http_function_builds(self):
        src = self.new_and_build("page", "--runtime", "knative", "--signature", "http")
        with open(os.path.join(src, "page.c")) as f:
            self.assertIn("ofctx_response_t *res", f.read())

    def test_the_errors_say_what_to_do(self):
        cases = [
            (("new", "Bad_Name"), "is not a Kubernetes name"),
            (("new", "x", "--signature", "http"), "for the Knative runtime only"),
            (("new", "x", "--runtime", "knative", "--state", "s"), "--state is for the Async runtime only"),
            (("new", "x", "--state", "Bad_Store"), "the state store 'Bad_Store' is not a Kubernetes name"),
            (("invoke", "binding", "in", "x"), "no 'ofctx run' is running here"),
            (("invoke", "nothing"), "say what to send"),
            (("run", "--context", "context.json"), "give the function's command after --"),
        ]
        for args, text in cases:
            with self.subTest(args=args):
                p = self.ofctx_cmd(*args, check=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(text, p.stderr)
        os.makedirs(os.path.join(self.work, "taken"), exist_ok=True)
        with open(os.path.join(self.work, "taken", "f"), "w"):
            pass
        p = self.ofctx_cmd("new", "taken", check=False)
        self.assertIn("exists and is not empty", p.stderr)
        # a port in use is named as such, with PORT
        src = os.path.join(self.work, "busy")
        self.ofctx_cmd("new", "busy")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            p = subprocess.run([self.ofctx, "run", "--context", "context.json", "--", "true"], cwd=src,
                               env=dict(self.env, PORT=str(s.getsockname()[1])), capture_output=True, text=True,
                               timeout=60)
        self.assertEqual(p.returncode, 2)
        self.assertIn("is in use", p.stderr)
        self.assertIn("PORT", p.stderr)

    def test_names_that_would_collide_are_refused(self):
        # write, read, close, send: the function would replace libc's symbol
        # (the library's first write() would run it); log: libm's; main and a
        # keyword: no compile; function: the buildpack's CMake target; all:
        # CMake's; ofctx-*: the library's prefix
        for name, why in (("write", "write is a symbol of the C library"), ("read", "read is a symbol"),
                          ("close", "close is a symbol"), ("send", "send is a symbol"), ("log", "log is a symbol"),
                          ("main", "main is the program's own"), ("int", "int is a C keyword"),
                          ("function", "function is a CMake target already"), ("all", "all is a CMake target"),
                          ("ofctx-demo", "ofctx and ofctx_ names are libofctx's"),
                          # no compile: macros gnu11 (CMake's C 11) predefines
                          # ("expected identifier before numeric constant"),
                          # and types of the headers ofctx.h includes
                          # ("redeclared as different kind of symbol")
                          ("linux", "linux is a macro the compiler predefines"),
                          ("unix", "unix is a macro the compiler predefines"),
                          ("size-t", "size_t ends in _t, which POSIX reserves for types"),
                          ("int8-t", "int8_t ends in _t"), ("wchar-t", "wchar_t ends in _t"),
                          ("ptrdiff-t", "ptrdiff_t ends in _t"), ("max-align-t", "max_align_t ends in _t")):
            with self.subTest(name=name):
                p = self.ofctx_cmd("new", name, check=False)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn("the name %r would collide: %s" % (name, why), p.stderr)
                self.assertIn("(e.g. %s)" % ("fn-" + name if name.startswith("ofctx") else name + "-fn"), p.stderr)
                self.assertFalse(os.path.exists(os.path.join(self.work, name)))
        # what it suggests is taken
        self.ofctx_cmd("new", "write-fn")
        with open(os.path.join(self.work, "write-fn", "write-fn.c")) as f:
            self.assertIn("ofctx_result_t write_fn(ofctx_t *ctx", f.read())
        self.ofctx_cmd("new", "size-t-fn")
        with open(os.path.join(self.work, "size-t-fn", "size-t-fn.c")) as f:
            self.assertIn("ofctx_result_t size_t_fn(ofctx_t *ctx", f.read())

    def test_names_are_checked_without_a_compiler(self):
        # no cc (nor nm, ldd) on PATH: the common predefined macros still are
        bare = os.path.join(self.tmp.name, "bare-path")
        os.makedirs(bare, exist_ok=True)
        if not os.path.exists(os.path.join(bare, "python3")):
            os.symlink(sys.executable, os.path.join(bare, "python3"))
        work = tempfile.mkdtemp(prefix="bare-", dir=self.tmp.name)
        for name in ("linux", "i386"):
            with self.subTest(name=name):
                p = self.ofctx_cmd("new", name, cwd=work, env=dict(self.env, PATH=bare), check=False)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn("%s is a macro the compiler predefines" % name, p.stderr)
                self.assertIn("(e.g. %s-fn)" % name, p.stderr)
                self.assertFalse(os.path.exists(os.path.join(work, name)))

    def dev_env(self, **changes):
        """The env of a `ofctx run` or `ofctx invoke` with no XDG_RUNTIME_DIR (so
        its state is under TMPDIR, a folder of this test's), changed."""
        tmpdir = tempfile.mkdtemp(prefix="tmpdir-", dir=self.tmp.name)
        env = dict(self.env, TMPDIR=tmpdir, **changes)
        if "XDG_RUNTIME_DIR" not in changes:
            env.pop("XDG_RUNTIME_DIR")
        return env, os.path.join(tmpdir, "ofctx-%d" % os.getuid())

    def scaffold(self, name):
        if not os.path.exists(os.path.join(self.work, name)):
            self.ofctx_cmd("new", name)
        return os.path.join(self.work, name)

    def test_run_without_a_usable_runtime_dir_keeps_its_state_in_a_private_folder(self):
        src = self.scaffold("stateful")
        env, private = self.dev_env(XDG_RUNTIME_DIR=os.path.join(self.tmp.name, "missing"))
        sidecar = free_port()
        # its stderr in a file: what it left running cannot hold a pipe open
        with open(os.path.join(env["TMPDIR"], "stderr"), "w+") as err:
            p = subprocess.Popen([self.ofctx, "run", "--context", "context.json", "--dapr-http-port",
                                  str(sidecar), "--", "sleep", "600"], cwd=src,
                                 env=dict(env, PORT=str(free_port())), stdout=subprocess.DEVNULL, stderr=err)
            state = os.path.join(private, "run.json")
            try:
                wait_until(lambda: os.path.exists(state) or p.poll() is not None, "ofctx run's state")
                err.seek(0)
                self.assertIsNone(p.poll(), err.read())
                self.assertEqual(stat.S_IMODE(os.lstat(private).st_mode), 0o700)
                self.assertEqual(stat.S_IMODE(os.lstat(state).st_mode), 0o600)
                with open(state) as f:
                    self.assertEqual(json.load(f)["sidecar"], sidecar)
            finally:
                p.send_signal(signal.SIGINT)
                p.wait(60)
            err.seek(0)
            self.assertNotIn("Traceback", err.read())
        self.assertFalse(os.path.exists(state))
        self.assertFalse(listening(sidecar), "the emulator outlived ofctx run")

    def test_run_refuses_an_unsafe_state_folder_before_starting_anything(self):
        src = self.scaffold("careful")
        cases = ["open to others", "a symbolic link"]
        if os.getuid() == 0:
            cases.append("another user's")
        for case in cases:
            with self.subTest(case=case):
                env, private = self.dev_env()
                marker = os.path.join(env["TMPDIR"], "started")
                if case == "a symbolic link":
                    os.mkdir(private + "-elsewhere", 0o700)
                    os.symlink(private + "-elsewhere", private)
                else:
                    os.mkdir(private)
                    os.chmod(private, 0o755 if case == "open to others" else 0o700)
                    if case == "another user's":
                        os.chown(private, 65534, 65534)
                sidecar = free_port()
                p = subprocess.run([self.ofctx, "run", "--context", "context.json", "--dapr-http-port",
                                    str(sidecar), "--", "touch", marker], cwd=src,
                                   env=dict(env, PORT=str(free_port())), capture_output=True, text=True,
                                   timeout=120)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("%s %s" % (private, {"open to others": "can be used by other users",
                                                   "a symbolic link": "is a symbolic link",
                                                   "another user's": "belongs to user 65534"}[case]), p.stderr)
                self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
                self.assertFalse(os.path.exists(marker), "the function ran")
                self.assertFalse(listening(sidecar), "the emulator ran")

    def test_run_stops_what_it_started_when_it_cannot_record_its_state(self):
        # the state file cannot be written (a folder took its name) once the
        # emulator runs: a one-line error, and the emulator is stopped
        src = self.scaffold("unrecorded")
        env, private = self.dev_env()
        os.makedirs(os.path.join(private, "run.json"))
        os.chmod(private, 0o700)
        marker = os.path.join(self.tmp.name, "unrecorded-started")
        sidecar = free_port()
        p = subprocess.run([self.ofctx, "run", "--context", "context.json", "--dapr-http-port", str(sidecar),
                            "--", "touch", marker], cwd=src, env=dict(env, PORT=str(free_port())),
                           capture_output=True, text=True, timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertNotIn("Traceback", p.stderr)
        self.assertIn("cannot record the emulator's port", p.stderr)
        self.assertIn(os.path.join(private, "run.json"), p.stderr)
        self.assertFalse(os.path.exists(marker), "the function ran")
        self.assertFalse(listening(sidecar), "the emulator outlived ofctx run")

    def fake_sidecar(self, delivered, port=0):
        """A sidecar that acknowledges everything and notes what it is sent
        in DELIVERED: what another user could listen with."""
        class Fake(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.answer(b"[]")

            def do_POST(self):
                delivered.append(self.path)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.answer(b'{"status":200,"headers":{},"body":"faked","acked":true}')

            def answer(self, body):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        fake = http.server.ThreadingHTTPServer(("127.0.0.1", port), Fake)
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        self.addCleanup(fake.server_close)
        self.addCleanup(fake.shutdown)
        return fake.server_address[1]

    def lookalike(self, verb="run"):
        """A process of ours whose command line is an `ofctx run`'s (python3
        ofctx_dev.py OFCTX run, as tools/ofctx.c execs it): its pid."""
        p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)",
                              os.path.join(self.tmp.name, "ofctx_dev.py"), self.ofctx, verb])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        return p.pid

    def test_invoke_trusts_no_state_another_user_could_have_planted(self):
        # a fake sidecar that acknowledges everything, named by a planted state
        delivered = []
        state = json.dumps({"sidecar": self.fake_sidecar(delivered), "pid": self.lookalike(), "inputs": {}})

        def plant(path, mode):
            with open(path, "w") as f:
                f.write(state)
            os.chmod(path, mode)

        cases = ["an open folder", "a linked folder", "a linked file", "an open file"]
        if os.getuid() == 0:
            cases += ["another user's folder", "another user's file"]
        for case in cases + ["a private folder and file"]:
            with self.subTest(case=case):
                env, private = self.dev_env()
                # where a state file used to be: a predictable name in TMPDIR
                plant(os.path.join(env["TMPDIR"], "ofctx-run-%d.json" % os.getuid()), 0o644)
                if case == "a linked folder":
                    os.mkdir(private + "-elsewhere", 0o700)
                    plant(os.path.join(private + "-elsewhere", "run.json"), 0o600)
                    os.symlink(private + "-elsewhere", private)
                else:
                    os.mkdir(private)
                    os.chmod(private, 0o755 if case == "an open folder" else 0o700)
                    if case == "a linked file":
                        plant(os.path.join(env["TMPDIR"], "planted.json"), 0o600)
                        os.symlink(os.path.join(env["TMPDIR"], "planted.json"), os.path.join(private, "run.json"))
                    else:
                        plant(os.path.join(private, "run.json"), 0o644 if case == "an open file" else 0o600)
                    if case == "another user's folder":
                        os.chown(private, 65534, 65534)
                    if case == "another user's file":
                        os.chown(os.path.join(private, "run.json"), 65534, 65534)
                before = len(delivered)
                p = self.ofctx_cmd("invoke", "binding", "in", "secret", env=env, check=False)
                if case == "a private folder and file":  # the checks refuse only what they should
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertIn("acknowledged", p.stdout)
                    continue
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn("not trusted", p.stderr)
                self.assertIn(private, p.stderr)
                self.assertNotIn("Traceback", p.stderr)
                self.assertNotIn("acknowledged", p.stdout)
                self.assertEqual(len(delivered), before, "the event went where a planted file said")

    def test_invoke_trusts_no_state_of_a_killed_run(self):
        # ofctx run killed with SIGKILL leaves its state; its emulator is
        # stopped, and another user listens on its port: invoke sends nothing
        src = self.scaffold("killed")
        env, private = self.dev_env()
        state = os.path.join(private, "run.json")
        sidecar = free_port()
        with open(os.path.join(env["TMPDIR"], "stderr"), "w+") as err:
            run = subprocess.Popen([self.ofctx, "run", "--context", "context.json", "--dapr-http-port",
                                  str(sidecar), "--", "sleep", "600"], cwd=src,
                                 env=dict(env, PORT=str(free_port())), stdout=subprocess.DEVNULL, stderr=err,
                                 start_new_session=True)

            def stop_all():  # what ofctx run started outlives it: its group
                try:
                    os.killpg(run.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                run.wait()
            self.addCleanup(stop_all)
            wait_until(lambda: os.path.exists(state) or run.poll() is not None, "ofctx run's state")
            err.seek(0)
            self.assertIsNone(run.poll(), err.read())
        with open(state) as f:  # the pid of ofctx run itself (tools/ofctx.c execs ofctx_dev.py)
            self.assertEqual(json.load(f)["pid"], run.pid)
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        stop_all()
        wait_until(lambda: not listening(sidecar), "the emulator to stop")
        delivered = []
        self.fake_sidecar(delivered, sidecar)
        p = self.ofctx_cmd("invoke", "binding", "in", "secret", env=env, check=False)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertEqual(p.stderr.strip().splitlines(),
                         ["ofctx: invoke: no 'ofctx run' is running here (stale state in %s); start one, "
                          "or give --sidecar PORT" % state])
        self.assertNotIn("acknowledged", p.stdout)
        self.assertEqual(delivered, [], "the event went to the port of a killed run")
        self.assertFalse(os.path.exists(state), "the stale state was kept")
        p = self.ofctx_cmd("invoke", "binding", "in", "secret", env=env, check=False)
        self.assertIn("no 'ofctx run' is running here (%s)" % state, p.stderr)

    def test_invoke_trusts_no_state_whose_pid_is_not_a_run(self):
        # a private state file whose pid is gone, or is now another program,
        # another verb, another user's: stale, whatever port it names
        delivered = []
        port = self.fake_sidecar(delivered)
        gone = subprocess.Popen(["true"])
        gone.wait()
        other = subprocess.Popen(["sleep", "600"])
        self.addCleanup(other.wait)
        self.addCleanup(other.kill)
        pids = {"a pid that is gone": gone.pid, "another program": other.pid,
                "an ofctx invoke": self.lookalike("invoke"), "no pid": None}
        if os.getuid() != 0:
            pids["another user's"] = 1
        for case, pid in pids.items():
            with self.subTest(case=case):
                env, private = self.dev_env()
                os.mkdir(private, 0o700)
                state = os.path.join(private, "run.json")
                with open(state, "w") as f:
                    json.dump({"sidecar": port, "pid": pid, "inputs": {}}, f)
                os.chmod(state, 0o600)
                p = self.ofctx_cmd("invoke", "binding", "in", "secret", env=env, check=False)
                self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
                self.assertIn("no 'ofctx run' is running here (stale state in %s)" % state, p.stderr)
                self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
                self.assertEqual(delivered, [])
                self.assertFalse(os.path.exists(state))

    def test_the_tool_runs_from_any_prefix(self):
        # no LD_LIBRARY_PATH: the installed tool finds its library beside it
        env = {k: v for k, v in self.env.items() if k != "LD_LIBRARY_PATH"}
        p = subprocess.run([self.ofctx, "version"], env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("libofctx "))


class RunLoop(unittest.TestCase):
    """`ofctx run` and `ofctx invoke` of the build (their scripts in
    share/libofctx beside its bin) around probe (tests/functions/probe.c),
    whose events say what it does: stopping as a terminal stops it, the hint
    it prints, a second run, a dropped event, a publish's bytes."""

    OFCTX = os.path.join(BIN_DIR, "ofctx")
    PROBE = os.path.join(BIN_DIR, "probe")

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="ofctx-run-")
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name
        # the state of `ofctx run` for `ofctx invoke`: in ofctx/run.json here
        self.env = dict(os.environ, XDG_RUNTIME_DIR=self.tmp, CONTEXT_MODE="self-host")
        self.env.pop("FUNC_CONTEXT", None)
        self.state = os.path.join(self.tmp, "ofctx", "run.json")

    def context(self, inputs, outputs=None, name="probe"):
        path = os.path.join(self.tmp, "%s.json" % name)
        with open(path, "w") as f:
            json.dump({"name": name, "version": "v1", "runtime": "Async", "port": "8080", "inputs": inputs,
                       "outputs": outputs or {}}, f)
        return path

    def start(self, context, command=None, env=None):
        """`ofctx run` in a session of its own, as a shell starts a job: its
        pid, app port and stderr (a file: what it starts cannot hold a pipe)."""
        port = free_port()
        err = open(os.path.join(self.tmp, "run-%d.err" % port), "w+")
        self.addCleanup(err.close)
        run = subprocess.Popen([self.OFCTX, "run", "--context", context, "--", *(command or [self.PROBE])],
                               env=dict(env or self.env, PORT=str(port)), stdout=subprocess.DEVNULL,
                               stderr=err, start_new_session=True)
        self.addCleanup(self.stop_all, run)
        return run, port, err

    def stop_all(self, run):
        stop_process(run, signal.SIGTERM)

    @staticmethod
    def kill_all(pids):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def started(self, run, err):
        """Waits until RUN has recorded its state; its state."""
        wait_until(lambda: os.path.exists(self.state) or run.poll() is not None, "ofctx run's state", 60)
        self.assertIsNone(run.poll(), self.text(err))
        with open(self.state) as f:
            return json.load(f)

    @staticmethod
    def text(err):
        err.flush()
        err.seek(0)
        return err.read()

    def invoke(self, *args, env=None):
        return subprocess.run([self.OFCTX, "invoke", *args], env=env or self.env, capture_output=True,
                              text=True, timeout=120)

    def taking(self, *args):
        """Waits until the function takes events (the emulator has started it)."""
        wait_until(lambda: self.invoke(*args).returncode == 0, "the function to take events", 60)

    BINDING = {"in": {"componentName": "in", "componentType": "bindings.kafka"}}
    PUBSUB = {"orders": {"uri": "orders", "componentName": "pubsub", "componentType": "pubsub.kafka"}}

    def running(self, command=None):
        """`ofctx run` of COMMAND (probe) for a binding input, once the
        function has started: run, its app port, stderr, the emulator's port."""
        run, port, err = self.start(self.context(self.BINDING), command)
        sidecar = self.started(run, err)["sidecar"]
        if command is None:
            self.taking("binding", "in", "x")
        else:
            wait_until(lambda: "send it an event" in self.text(err), "the function to start", 60)
        return run, port, err, sidecar

    def assert_ended_well(self, run, port, err, sidecar):
        self.assertEqual(run.wait(60), 0, self.text(err))
        stderr = self.text(err)
        self.assertNotIn("does not answer", stderr)
        self.assertNotIn("Traceback", stderr)
        self.assertFalse(os.path.exists(self.state))
        self.assertFalse(listening(sidecar), "the emulator outlived ofctx run")
        self.assertFalse(listening(port), "the function outlived ofctx run")

    def test_ctrl_c_stops_the_function_then_the_emulator_and_ends_well(self):
        # a terminal's Ctrl-C goes to every process of the foreground group:
        # ofctx run forwards it alone, to a function that drains (probe), one
        # slow to drain (the emulator must outlive it) and one that dies of it
        # (sleep); none is an error
        slow = ["sh", "-c", "trap 'sleep 1; exit 0' INT TERM; while :; do sleep 0.1; done"]
        for command in (None, slow, ["sleep", "600"]):
            with self.subTest(command=command and command[0]):
                run, port, err, sidecar = self.running(command)
                os.killpg(run.pid, signal.SIGINT)
                self.assert_ended_well(run, port, err, sidecar)

    def test_sigterm_to_ofctx_run_alone_stops_both(self):
        run, port, err, sidecar = self.running()
        run.send_signal(signal.SIGTERM)
        self.assert_ended_well(run, port, err, sidecar)

    def test_a_killed_run_takes_what_it_started_along(self):
        # SIGKILL leaves ofctx run no time to stop its children, which are in
        # sessions of their own: they end with it all the same
        run, port, err, sidecar = self.running()
        with open("/proc/%d/task/%d/children" % (run.pid, run.pid)) as f:
            children = [int(pid) for pid in f.read().split()]
        self.assertEqual(len(children), 2, children)  # the emulator and the function
        self.addCleanup(self.kill_all, children)  # should they outlive it
        run.kill()
        run.wait()
        wait_until(lambda: not listening(sidecar) and not listening(port), "the emulator and the function to end",
                   60)

    def test_the_hint_is_an_invoke_that_works_for_each_kind_of_input(self):
        for inputs, verb in ((self.BINDING, "ofctx invoke binding in "),
                             (self.PUBSUB, "ofctx invoke pubsub pubsub orders ")):
            with self.subTest(verb=verb):
                run, port, err = self.start(self.context(inputs))
                self.started(run, err)
                wait_until(lambda: "send it an event" in self.text(err), "the hint", 60)
                hint = [line.split(": ", 2)[2] for line in self.text(err).splitlines() if "send it an event" in line]
                self.assertEqual(len(hint), 1, self.text(err))
                self.assertTrue(hint[0].startswith(verb), hint)
                args = shlex.split(hint[0])[2:]
                self.taking(*args)
                p = self.invoke(*args)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertEqual(p.stdout.splitlines()[-1], "acknowledged", p.stdout)
                self.stop_all(run)
                self.assertEqual(run.returncode, 0, self.text(err))

    def test_a_second_run_is_refused_and_the_first_stays_reachable(self):
        first, port, err = self.start(self.context(self.BINDING))
        state = self.started(first, err)
        self.taking("binding", "in", "x")
        marker = os.path.join(self.tmp, "second-started")
        second, _, err2 = self.start(self.context(self.BINDING, name="second"), ["touch", marker])
        self.assertEqual(second.wait(60), 2, self.text(err2))
        self.assertEqual(self.text(err2).splitlines(), [
            "ofctx: run: another 'ofctx run' runs here (pid %d: probe on 127.0.0.1:%d, its sidecar emulator "
            "on 127.0.0.1:%d), and 'ofctx invoke' reaches one only: stop it first, or run this one with "
            "XDG_RUNTIME_DIR set to another folder of yours (and invoke it with the same)"
            % (first.pid, port, state["sidecar"])])
        self.assertFalse(os.path.exists(marker), "the second function ran")
        with open(self.state) as f:
            self.assertEqual(json.load(f), state)
        p = self.invoke("binding", "in", "x")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # with a folder of its own, a second run runs, and is reached there
        other = os.path.join(self.tmp, "other")
        os.mkdir(other, 0o700)
        env = dict(self.env, XDG_RUNTIME_DIR=other)
        second, _, err2 = self.start(self.context(self.BINDING, name="second"), env=env)
        wait_until(lambda: os.path.exists(os.path.join(other, "ofctx", "run.json")) or second.poll() is not None,
                   "the second run's state", 60)
        self.assertIsNone(second.poll(), self.text(err2))
        wait_until(lambda: self.invoke("binding", "in", "x", env=env).returncode == 0, "the second function", 60)
        self.stop_all(second)
        self.assertEqual(second.returncode, 0, self.text(err2))
        p = self.invoke("binding", "in", "x")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_a_dropped_event_is_shown_as_dropped(self):
        # probe returns OFCTX_DROP for {"return": 400}: a binding answers 200
        # all the same (the function's metrics count it), pub/sub says DROP
        for inputs, args in ((self.BINDING, ("binding", "in")), (self.PUBSUB, ("pubsub", "pubsub", "orders"))):
            with self.subTest(input=args[0]):
                run, port, err = self.start(self.context(inputs))
                self.started(run, err)
                self.taking(*args, "{}")
                p = self.invoke(*args, '{"return": 400}')
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                lines = p.stdout.splitlines()
                self.assertNotIn("acknowledged", lines)
                self.assertTrue(lines[-1].startswith("dropped: "), p.stdout)
                if args[0] == "pubsub":
                    self.assertIn("verdict: DROP", lines)
                p = self.invoke(*args, '{"return": 200}')
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertFalse(any(line.startswith("dropped") for line in p.stdout.splitlines()), p.stdout)
                p = self.invoke(*args, '{"return": 500}')
                self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
                self.assertFalse(any(line.startswith("dropped") for line in p.stdout.splitlines()), p.stdout)
                self.stop_all(run)

    def test_a_publish_is_shown_as_sent(self):
        # bytes that JSON would print otherwise: key order, spaces
        sent = '{"b":1,  "a":2}'
        outputs = {"out": {"uri": "copies", "componentName": "pubsub", "componentType": "pubsub.kafka"}}
        run, port, err = self.start(self.context(self.BINDING, outputs))
        self.started(run, err)
        self.taking("binding", "in", "x")
        p = self.invoke("binding", "in", json.dumps({"send_opts": {"output": "out", "data": sent}}))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("sent: publish pubsub/copies: %s\n" % sent, p.stdout)
        wait_until(lambda: "the sidecar got publish" in self.text(err), "ofctx run to print the publish", 60)
        self.assertIn("ofctx run: the sidecar got publish pubsub/copies: %s\n" % sent, self.text(err))

    def test_the_exit_statuses_are_those_the_help_gives(self):
        help_ = subprocess.run([self.OFCTX, "--help"], capture_output=True, text=True).stdout
        said = " ".join(help_[help_.index("Exit status:"):].split())
        self.assertIn("0 on success", said)
        self.assertIn("1 when invoke's event was not taken (not acknowledged, or dropped)", said)
        self.assertIn("or the sidecar emulator or URL did not answer", said)
        self.assertIn("2 for a bad context, a bad argument or a usage error", said)
        self.assertIn("run: the function's status, 0 when Ctrl-C or SIGTERM stopped it", said)
        # 2: usage; 1: nothing answers
        self.assertEqual(self.invoke("binding").returncode, 2)
        p = self.invoke("binding", "in", "x", "--sidecar", str(free_port()))
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("does not answer", p.stderr)
        p = self.invoke("cloudevent", "http://127.0.0.1:%d/" % free_port())
        self.assertEqual(p.returncode, 1, p.stderr)
        # run: the function's own status
        p = subprocess.run([self.OFCTX, "run", "--context", self.context(self.BINDING), "--", "sh", "-c",
                            "exit 3"], env=dict(self.env, PORT=str(free_port())), capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 3, p.stderr)


class ComponentsVerb(unittest.TestCase):
    """`ofctx components`: the resources directory of the direct mode from
    an OpenFunction Function. From examples/logs-handler's function.yaml it
    writes the components of its dapr-components.yaml, and the logs-handler
    starts in direct mode on them (every key is one the direct mode takes)."""

    OFCTX = os.path.join(BIN_DIR, "ofctx")
    DEPLOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                          "logs-handler", "deploy")

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="ofctx-components-")
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name
        self.out = os.path.join(self.tmp, "components")

    def components(self, function):
        return subprocess.run([self.OFCTX, "components", function, "--out", self.out],
                              capture_output=True, text=True, timeout=60)

    @staticmethod
    def by_name(docs):
        """{name: (type, version, {key: value})}: the metadata's order is not Dapr's concern."""
        return {d["metadata"]["name"]: (d["spec"]["type"], d["spec"].get("version"),
                                        {m["name"]: m["value"] for m in d["spec"]["metadata"]})
                for d in docs if d and d.get("kind") == "Component"}

    def test_logs_handler_function_gives_its_components(self):
        import yaml
        p = self.components(os.path.join(self.DEPLOY, "function.yaml"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        self.assertEqual(sorted(os.listdir(self.out)), ["kafka-receiver.yaml", "notification-manager.yaml"])
        written = []
        for name in sorted(os.listdir(self.out)):
            with open(os.path.join(self.out, name)) as f:
                written += list(yaml.safe_load_all(f))
        self.assertTrue(all(d["apiVersion"] == "dapr.io/v1alpha1" for d in written))
        with open(os.path.join(self.DEPLOY, "dapr-components.yaml")) as f:
            expected = self.by_name(yaml.safe_load_all(f))
        self.assertEqual(self.by_name(written), expected)
        self.assertIn("consumeRetryEnabled", expected["kafka-receiver"][2])  # a key to carry
        # components-configmap.yaml holds the files it wrote (but their first line)
        with open(os.path.join(self.DEPLOY, "components-configmap.yaml")) as f:
            cm = yaml.safe_load(f)
        for name in os.listdir(self.out):
            with open(os.path.join(self.out, name)) as f:
                text = f.read()
            self.assertEqual(cm["data"][name], text.split("\n", 1)[1])

    def test_direct_deploy_files_agree(self):
        """deployment-direct.yaml's context is context.json's inputs and
        outputs, and both KEDA triggers (it and function-direct.yaml) read
        the group, topic and brokers of the ConfigMap's Kafka component,
        from where its initialOffset starts a new group."""
        import yaml
        with open(os.path.join(self.DEPLOY, "components-configmap.yaml")) as f:
            kafka = yaml.safe_load(yaml.safe_load(f)["data"]["kafka-receiver.yaml"])
        md = {m["name"]: m["value"] for m in kafka["spec"]["metadata"]}
        with open(os.path.join(self.DEPLOY, "deployment-direct.yaml")) as f:
            deployment, scaled = list(yaml.safe_load_all(f))
        with open(os.path.join(self.DEPLOY, "function-direct.yaml")) as f:
            function = yaml.safe_load(f)
        env = {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        ctx = json.loads(env["FUNC_CONTEXT"])
        with open(os.path.join(self.DEPLOY, "..", "context.json")) as f:
            own = json.load(f)
        self.assertEqual((ctx["inputs"], ctx["outputs"], ctx["runtime"]),
                         (own["inputs"], own["outputs"], own["runtime"]))
        self.assertEqual(scaled["spec"]["scaleTargetRef"]["name"], deployment["metadata"]["name"])
        triggers = [scaled["spec"]["triggers"][0],
                    function["spec"]["serving"]["scaleOptions"]["keda"]["triggers"][0]]
        policy = {"oldest": "earliest", "newest": "latest"}[md["initialOffset"]]
        for t in triggers:
            self.assertEqual((t["type"], t["metadata"]["consumerGroup"], t["metadata"]["topic"],
                              t["metadata"]["bootstrapServers"], t["metadata"]["offsetResetPolicy"]),
                             ("kafka", md["consumerGroup"], md["topics"], md["brokers"], policy))
        for params in (env, function["spec"]["serving"]["params"]):
            self.assertEqual((params["OFCTX_DIRECT"], params["OFCTX_RESOURCES_PATH"]),
                             ("1", "/etc/logs-handler-components"))

    def test_direct_mode_starts_on_what_it_wrote(self):
        """The logs-handler with its own context.json, in direct mode on the
        written directory: ready, and the components were taken (a key the
        direct mode does not take would stop it with status 2)."""
        p = self.components(os.path.join(self.DEPLOY, "function.yaml"))
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.DEPLOY, "..", "context.json")) as f:
            ctx = json.load(f)
        port = free_port()
        ctx["port"] = str(port)
        env = dict(os.environ, FUNC_CONTEXT=json.dumps(ctx), CONTEXT_MODE="self-host",
                   OFCTX_DIRECT="1", OFCTX_RESOURCES_PATH=self.out)
        env.pop("DAPR_GRPC_PORT", None)
        err = open(os.path.join(self.tmp, "err"), "w+")
        self.addCleanup(err.close)
        proc = subprocess.Popen(function_command("logs-handler"), env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        self.addCleanup(stop_process, proc, signal.SIGKILL)

        def ready():
            self.assertIsNone(proc.poll(), "the function stopped")
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=5) as r:
                    return r.status == 200
            except OSError:
                return False
        wait_until(ready, "ready in direct mode", seconds=60)
        stop_process(proc, signal.SIGTERM)
        err.seek(0)
        self.assertIn("sends=direct", err.read())

    def test_errors(self):
        bad = os.path.join(self.tmp, "bad.yaml")
        cases = [("kind: Deployment\n", "0 Functions, 1 expected"),
                 ("apiVersion: core.openfunction.io/v1beta1\nkind: Function\n",
                  "only core.openfunction.io/v1beta2 is read"),
                 ("apiVersion: core.openfunction.io/v1beta2\nkind: Function\nspec: {}\n",
                  "the Function defines no component"),
                 ("apiVersion: core.openfunction.io/v1beta2\nkind: Function\nspec:\n  serving:\n"
                  "    bindings:\n      in: {version: v1}\n",
                  "spec.serving.bindings.in: a component spec with a type expected"),
                 ("a: [\n", "bad.yaml")]
        for text, message in cases:
            with open(bad, "w") as f:
                f.write(text)
            p = self.components(bad)
            self.assertEqual(p.returncode, 2, text)
            self.assertIn(message, p.stderr)
        missing = self.components(os.path.join(self.tmp, "none.yaml"))
        self.assertEqual(missing.returncode, 2)
        self.assertIn("none.yaml", missing.stderr)

    def test_component_the_function_only_names_is_reported(self):
        fn = os.path.join(self.tmp, "fn.yaml")
        with open(fn, "w") as f:
            f.write("apiVersion: core.openfunction.io/v1beta2\nkind: Function\nspec:\n  serving:\n"
                    "    triggers: {dapr: [{name: in, type: bindings.kafka}]}\n"
                    "    outputs: [{dapr: {name: out, type: bindings.http}}]\n"
                    "    pubsub:\n      out: {type: pubsub.kafka, version: v1, metadata: []}\n")
        p = self.components(fn)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.listdir(self.out), ["out.yaml"])
        self.assertIn("'in' is named by the Function's triggers or outputs but not defined", p.stderr)

    def test_secret_key_ref_is_copied_and_said_where_it_is_read(self):
        """A secretKeyRef is copied as it is (a Function's components have no
        auth.secretStore), and the verb says where the direct mode reads it."""
        import yaml
        fn = os.path.join(self.tmp, "fn.yaml")
        with open(fn, "w") as f:
            f.write("apiVersion: core.openfunction.io/v1beta2\nkind: Function\nspec:\n  serving:\n"
                    "    bindings:\n      in:\n        type: bindings.kafka\n        metadata:\n"
                    "        - {name: saslPassword, secretKeyRef: {name: kafka-credentials, "
                    "key: password}}\n")
        p = self.components(fn)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.out, "in.yaml")) as f:
            doc = yaml.safe_load(f)
        self.assertEqual(doc["spec"]["metadata"],
                         [{"name": "saslPassword",
                           "secretKeyRef": {"name": "kafka-credentials", "key": "password"}}])
        self.assertIn("in: metadata 'saslPassword' is a secretKeyRef, copied as it is: the direct "
                      "mode reads it from $OFCTX_SECRETS_PATH/kafka-credentials/password", p.stderr)



if __name__ == "__main__":
    unittest.main()
