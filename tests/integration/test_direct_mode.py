# SPDX-License-Identifier: Apache-2.0
"""The direct mode end to end (OFCTX_DIRECT=1, docs/direct-mode.md): no
sidecar. A Kafka cluster is librdkafka's mock cluster (build/bin/kafka_mock,
a real implementation of the Kafka protocol on loopback), records are
produced by kcat, and the function's HTTP binding output reaches an HTTP
server of the test's own. Every test has a topic and a consumer group of
its own; the groups' session timeout is short."""

import json
import re
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN_DIR, free_port, function_command, http, wait_until, write_components  # noqa: E402

KCAT = shutil.which("kcat")
# one topic per test: a partition each, or four where partitions are split
TOPICS = (["direct-%d" % i for i in range(32)] + ["direct-split-%d:4" % i for i in range(8)] +
          ["direct-out-%d" % i for i in range(8)])


class QuietServer(ThreadingHTTPServer):
    """A connection reset by a function the test killed is no error."""

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Endpoint:
    """An HTTP server that records each request (method, path, headers,
    body) and answers with `status`, which a test may change."""

    def __init__(self):
        self.requests = []
        self.status = 200
        self.delay = 0.0  # seconds before each answer
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with endpoint.lock:
                    endpoint.requests.append({"method": self.command, "path": self.path,
                                              "headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": body})
                    status = endpoint.status
                if endpoint.delay:
                    time.sleep(endpoint.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self):
        with self.lock:
            return [r["body"] for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@unittest.skipUnless(KCAT, "kcat is not installed (scripts/lib.sh lists it)")
class DirectMode(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mock = subprocess.Popen([os.path.join(BIN_DIR, "kafka_mock")] + TOPICS,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cls.brokers = cls.mock.stdout.readline().strip()
        if not cls.brokers:
            cls.mock.kill()
            raise RuntimeError("kafka_mock did not start: " + cls.mock.stderr.read())
        cls.next_topic = 0
        cls.next_split = 0
        cls.next_out = 0

    @classmethod
    def tearDownClass(cls):
        cls.mock.send_signal(signal.SIGTERM)
        cls.mock.communicate(timeout=30)

    def setUp(self):
        if "split" in self._testMethodName:
            self.topic = "direct-split-%d" % DirectMode.next_split
            DirectMode.next_split += 1
        else:
            self.topic = "direct-%d" % DirectMode.next_topic
            DirectMode.next_topic += 1
        self.group = "group-" + self.topic
        self.endpoint = Endpoint()
        self.dir = tempfile.mkdtemp(prefix="ofctx-direct-")
        self.resources = os.path.join(self.dir, "resources")
        os.mkdir(self.resources)
        self.procs = []
        self.port = free_port()
        self.write_components()

    def tearDown(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.endpoint.close()
        shutil.rmtree(self.dir)

    # ---- the pieces ----

    def write_components(self, extra_kafka=()):
        write_components(os.path.join(self.resources, "kafka.yaml"), (
            "kafka-in", "bindings.kafka",
            [("brokers", self.brokers), ("topics", self.topic), ("consumerGroup", self.group),
             ("authType", "none"), ("initialOffset", "oldest"), ("sessionTimeout", "6s"),
             ("heartbeatInterval", "1s"), *extra_kafka]))
        write_components(os.path.join(self.resources, "alerts.yaml"), (
            "alerts", "bindings.http", [("url", "http://127.0.0.1:%d/api/v2/" % self.endpoint.port)]))

    def write_kafka_output(self, topic):
        write_components(os.path.join(self.resources, "kafka-out.yaml"), (
            "kafka-out", "bindings.kafka",
            [("brokers", self.brokers), ("publishTopic", topic), ("authType", "none")]))

    def consume(self, topic, count):
        """The first `count` records of `topic` as "key|headers|value" lines."""
        out = subprocess.run([KCAT, "-C", "-b", self.brokers, "-t", topic, "-o", "beginning",
                              "-c", str(count), "-f", "%k|%h|%s\\n"],
                             capture_output=True, text=True, timeout=60, check=True)
        return out.stdout.splitlines()

    def context(self):
        return {
            "name": "probe", "version": "v1", "runtime": "Async", "port": str(self.port),
            "inputs": {"logs": {"componentName": "kafka-in", "componentType": "bindings.kafka"}},
            "outputs": {"nm": {"componentName": "alerts", "componentType": "bindings.http",
                               "operation": "create", "metadata": {"path": "alerts"}}},
        }

    def start(self, **env):
        full = dict(os.environ, FUNC_CONTEXT=json.dumps(self.context()), CONTEXT_MODE="self-host",
                    OFCTX_DIRECT="1", OFCTX_RESOURCES_PATH=self.resources,
                    OFCTX_SEND_ATTEMPTS="1", OFCTX_SEND_BACKOFF_MS="50",
                    OFCTX_SEND_BACKOFF_MAX_MS="200", **env)
        full.pop("DAPR_GRPC_PORT", None)
        proc = subprocess.Popen(function_command("probe"), env=full, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        return proc

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err)
        return err

    def produce(self, *records, key="k1", headers=()):
        cmd = [KCAT, "-P", "-b", self.brokers, "-t", self.topic, "-k", key]
        for h in headers:
            cmd += ["-H", h]
        subprocess.run(cmd, input="".join(json.dumps(r) + "\n" for r in records), text=True,
                       check=True, timeout=60, capture_output=True)

    def produce_keyed(self, records):
        """(key, record) pairs, each key hashed to its partition by kcat."""
        cmd = [KCAT, "-P", "-b", self.brokers, "-t", self.topic, "-K", "\t"]
        subprocess.run(cmd, input="".join("%s\t%s\n" % (k, json.dumps(r)) for k, r in records),
                       text=True, check=True, timeout=60, capture_output=True)

    def bulk_context(self, max_messages, await_ms=1000):
        """The input with bulkSubscribe, as a pub/sub input takes it."""
        base = self.context

        def context():
            ctx = base()  # the port of the instance started
            ctx["inputs"]["logs"]["metadata"] = {
                "bulkSubscribe": "true", "bulkSubscribeMaxMessagesCount": str(max_messages),
                "bulkSubscribeMaxAwaitDurationMs": str(await_ms)}
            return ctx
        self.context = context

    def batches(self):
        """What the batch function reported of each batch (batch_ids), in
        the order the endpoint got them."""
        return [json.loads(b) for b in self.endpoint.bodies()]

    def ids_seen(self):
        return {json.loads(b)["id"] for b in self.endpoint.bodies()}

    # ---- the tests ----

    def test_record_reaches_the_function_and_its_send_the_endpoint(self):
        """A record produced by kcat is one binding event with the metadata
        Dapr's Kafka binding gives; what the function sends reaches the HTTP
        binding's url and path, as Dapr's HTTP binding would make it."""
        self.produce({"describe_to": "nm"}, key="pod-1", headers=["trace=abc"])
        proc = self.start()
        wait_until(lambda: self.endpoint.bodies(), "the endpoint got the send", seconds=60)
        req = self.endpoint.requests[0]
        self.assertEqual((req["method"], req["path"]), ("POST", "/api/v2/alerts"))
        self.assertEqual(req["headers"]["content-type"], "application/json; charset=utf-8")
        event = json.loads(req["body"])
        self.assertEqual((event["input"], event["kind"]), ("logs", "binding"))
        self.assertEqual(json.loads(event["data"]), {"describe_to": "nm"})
        md = event["metadata"]
        self.assertEqual((md["__key"], md["__topic"], md["__offset"], md["trace"]),
                         ("pod-1", self.topic, "0", "abc"))
        self.assertEqual(md["__partition"], "0")
        self.assertTrue(int(md["__timestamp"]) > 0)
        err = self.stop(proc)
        self.assertIn("sends=direct", err)
        self.assertIn("kafka: partitions assigned", err)

    def test_failed_send_is_not_committed_and_comes_again_after_a_restart(self):
        """The endpoint answers 500: the record is given again (in order, the
        partition paused) and its offset is not committed; a record before
        it that succeeded is. After a restart only the failed one comes again."""
        self.produce({"send": ["nm"], "id": "r1"})
        proc = self.start()
        wait_until(lambda: self.endpoint.bodies() == [b'{"id":"r1"}'], "r1 sent", seconds=60)
        self.endpoint.status = 500
        self.produce({"send": ["nm"], "id": "r2"}, {"send": ["nm"], "id": "r3"})
        wait_until(lambda: self.endpoint.bodies().count(b'{"id":"r2"}') >= 3,
                   "r2 retried", seconds=60)
        # in order: r3 waits behind r2, and both count as lag
        self.assertNotIn(b'{"id":"r3"}', self.endpoint.bodies())
        self.assertGreaterEqual(self.lag(), 1)
        self.stop(proc)
        self.endpoint.status = 200
        before = len(self.endpoint.bodies())
        proc = self.start()
        wait_until(lambda: b'{"id":"r3"}' in self.endpoint.bodies(), "r3 sent", seconds=60)
        again = self.endpoint.bodies()[before:]
        self.assertEqual(again, [b'{"id":"r2"}', b'{"id":"r3"}'])  # r1 was committed
        self.stop(proc)

    def test_bad_component_is_refused_naming_the_key(self):
        self.write_components(extra_kafka=[("awsRegion", "eu-west-1")])
        proc = self.start()
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("%s/kafka.yaml: component \"kafka-in\" (bindings.kafka): metadata "
                      "\"awsRegion\" is not implemented in direct mode" % self.resources, err)

    def with_password(self, ref):
        """kafka-in with authType password (SASL PLAIN, no TLS: the mock has
        neither) and its saslPassword given by `ref`."""
        path = os.path.join(self.resources, "kafka.yaml")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace('value: "none"', 'value: "password"') +
                    "  - name: disableTls\n    value: \"true\"\n"
                    "  - name: saslUsername\n    value: fn\n"
                    "  - name: saslPassword\n" + ref)

    def test_secret_that_cannot_be_read_is_refused(self):
        """A secretKeyRef is read from OFCTX_SECRETS_PATH/<name>/<key> at
        start: a missing file stops the start, naming where it looked."""
        secrets = os.path.join(self.dir, "secrets")
        os.makedirs(os.path.join(secrets, "kafka"))
        self.with_password("    secretKeyRef:\n      name: kafka\n      key: password\n")
        proc = self.start(OFCTX_SECRETS_PATH=secrets)
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("%s/kafka.yaml: component \"kafka-in\": metadata \"saslPassword\": "
                      "secretKeyRef {name: \"kafka\", key: \"password\"}: cannot read "
                      "%s/kafka/password: No such file or directory" % (self.resources, secrets),
                      err)

    def test_brokers_refusing_authentication_stop_the_function(self):
        """SASL against brokers that refuse it (the mock cluster has no SASL
        at all, as a broker has not for a wrong password): the function says
        so once, naming the component, and stops with exit status 1 rather
        than retrying for ever; the password, read from a mounted Secret,
        is in no log line, not even at debug level."""
        secret = "Pa55-w0rd-not-to-be-logged"
        secrets = os.path.join(self.dir, "secrets")
        os.makedirs(os.path.join(secrets, "kafka"))
        with open(os.path.join(secrets, "kafka", "password"), "w") as f:
            f.write(secret)
        self.with_password("    secretKeyRef:\n      name: kafka\n      key: password\n")
        proc = self.start(OFCTX_SECRETS_PATH=secrets, OFCTX_LOG_LEVEL="debug")
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 1, err)
        lines = [l for l in err.splitlines()
                 if "kafka: authentication or TLS with the brokers failed" in l]
        self.assertEqual(len(lines), 1, err)
        self.assertIn("kafka-in", lines[0])
        self.assertIn("Failed to initialize SASL authentication", lines[0])
        self.assertNotIn(secret, err)

    def test_output_brokers_refusing_authentication_logged_once(self):
        """A Kafka output with SASL against brokers that refuse it: one error
        line names the component (not a line per reconnection), each send
        fails after its timeout and its record is retried; the password is
        in no log line."""
        out_topic = "direct-out-%d" % DirectMode.next_out
        DirectMode.next_out += 1
        secret = "Out-Pa55-not-to-be-logged"
        write_components(os.path.join(self.resources, "kafka-out.yaml"), (
            "kafka-out", "bindings.kafka",
            [("brokers", self.brokers), ("publishTopic", out_topic), ("authType", "password"),
             ("disableTls", "true"), ("saslUsername", "fn"), ("saslPassword", secret)]))
        ctx = self.context()
        ctx["outputs"]["out"] = {"componentName": "kafka-out", "componentType": "bindings.kafka",
                                 "operation": "create"}
        self.context = lambda: ctx
        self.produce({"send_opts": {"output": "out", "data": "{\"id\":\"o1\"}"}})
        proc = self.start(OFCTX_SEND_TIMEOUT_MS="1000")
        wait_until(lambda: re.search(r'ofctx_sends_total\{output="out",result="failed"\} [2-9]',
                                     self.metrics()), "two sends failed", seconds=60)
        err = self.stop(proc)
        lines = [l for l in err.splitlines()
                 if "kafka: authentication or TLS with the brokers failed" in l]
        self.assertEqual(len(lines), 1, err)
        self.assertIn("component=kafka-out", lines[0])
        self.assertIn("the output's sends fail", lines[0])
        self.assertNotIn(secret, err)

    def test_librdkafka_that_cannot_be_loaded_is_refused(self):
        """librdkafka is opened only in direct mode (dlopen): one that cannot
        be opened stops the start with a message that names the variable."""
        proc = self.start(OFCTX_LIBRDKAFKA="libnot-rdkafka.so.9")
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("cannot load librdkafka (OFCTX_LIBRDKAFKA, default librdkafka.so.1", err)
        self.assertIn("libnot-rdkafka.so.9", err)

    def test_health_and_metrics_without_a_sidecar(self):
        """Ready at once (no sidecar to wait for); the records counted by
        outcome, the sends by result, as in sidecar mode."""
        proc = self.start()
        wait_until(lambda: self.probe_status("/readyz") == 200, "ready", seconds=30)
        self.produce({"send": ["nm"], "id": "m1"}, {"return": 400})
        wait_until(lambda: 'ofctx_events_total{input="logs",outcome="drop"} 1' in self.metrics(),
                   "both records counted", seconds=60)
        text = self.metrics()
        self.assertIn('ofctx_events_total{input="logs",outcome="success"} 1', text)
        self.assertIn('ofctx_sends_total{output="nm",result="ok"} 1', text)
        wait_until(lambda: self.lag() == 0, "no lag", seconds=30)
        self.stop(proc)

    def test_sigterm_commits_what_is_done(self):
        """SIGTERM right after the last record was sent: the drain commits
        it, so a restart in the same group gets only what is new."""
        self.produce(*({"send": ["nm"], "id": "t%d" % i} for i in range(20)))
        proc = self.start()
        wait_until(lambda: len(self.endpoint.bodies()) == 20, "20 records sent", seconds=60)
        self.stop(proc)
        proc = self.start()
        self.produce({"send": ["nm"], "id": "t20"})
        wait_until(lambda: len(self.endpoint.bodies()) >= 21, "the new record sent", seconds=60)
        self.stop(proc)
        self.assertEqual(self.endpoint.bodies(),
                         [('{"id":"t%d"}' % i).encode() for i in range(21)])

    def test_sigterm_with_silent_brokers_ends_within_the_grace_period(self):
        """A record succeeds during the SIGTERM drain while the brokers are
        frozen (its own kafka_mock, SIGSTOPped): the function does not wait
        for their answer past OFCTX_GRACE_PERIOD_MS, and exits. Nothing is
        lost: once the brokers run again, a restart in the same group gets
        the record again, unless its commit had reached them (at least once)."""
        mock = subprocess.Popen([os.path.join(BIN_DIR, "kafka_mock"), self.topic],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            self.brokers = mock.stdout.readline().strip()
            self.assertTrue(self.brokers)
            self.write_components()
            self.produce({"send": ["nm"], "id": "f0"})
            proc = self.start(OFCTX_GRACE_PERIOD_MS="4000")
            wait_until(lambda: self.lag() == 0 and self.endpoint.bodies(), "f0 committed",
                       seconds=60)
            self.endpoint.delay = 2.0  # f1 with the function when the brokers stop
            self.produce({"send": ["nm"], "id": "f1"})
            wait_until(lambda: len(self.endpoint.bodies()) == 2, "f1 sent", seconds=60)
            mock.send_signal(signal.SIGSTOP)
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=4 + 30)
            except subprocess.TimeoutExpired:
                self.fail("the function did not exit with the brokers silent")
            finally:
                mock.send_signal(signal.SIGCONT)
            self.assertEqual(proc.returncode, 0, err)
            self.endpoint.delay = 0
            proc = self.start()
            self.produce({"send": ["nm"], "id": "f2"})
            wait_until(lambda: b'{"id":"f2"}' in self.endpoint.bodies(), "f2 sent", seconds=60)
            self.stop(proc)
            again = self.endpoint.bodies()[2:]
            self.assertIn(again, ([b'{"id":"f1"}', b'{"id":"f2"}'], [b'{"id":"f2"}']))
        finally:
            mock.send_signal(signal.SIGCONT)
            mock.send_signal(signal.SIGTERM)
            mock.communicate(timeout=30)

    def test_sigkill_mid_stream_loses_nothing(self):
        """SIGKILL while records are with the function: a restart in the same
        group gets again what was not committed, so every record reaches the
        endpoint (some twice, none lost)."""
        ids = ["k%d" % i for i in range(300)]
        self.endpoint.delay = 0.005
        self.produce(*({"send": ["nm"], "id": i} for i in ids))
        proc = self.start()
        wait_until(lambda: len(self.endpoint.bodies()) >= 50, "50 records sent", seconds=120)
        proc.kill()
        proc.communicate()
        self.assertLess(len(self.ids_seen()), len(ids))  # killed mid-stream
        proc = self.start()
        wait_until(lambda: self.ids_seen() == set(ids), "every record sent", seconds=240)
        self.stop(proc)
        # in order within the partition: each record's first send after the one before it
        firsts = []
        for body in self.endpoint.bodies():
            i = json.loads(body)["id"]
            if i not in firsts:
                firsts.append(i)
        self.assertEqual(firsts, ids)

    def test_two_instances_split_the_partitions_and_a_rebalance_loses_nothing(self):
        """Two functions in one group share the topic's four partitions; when
        one stops mid-stream, the other takes its partitions over, and every
        record reaches the endpoint."""
        self.split_and_rebalance()

    def test_split_rebalance_with_batches_in_flight_loses_nothing(self):
        """The same with bulk and a batch function: the second instance's
        join revokes the first's partitions while batches are with the
        function, and its stop revokes the second's; every record still
        reaches the endpoint."""
        self.bulk_context(5, await_ms=100)
        # a batch's sends run side by side: slower answers keep it mid-stream
        self.split_and_rebalance(0.5, OFCTX_PROBE_BATCH="1")

    def split_and_rebalance(self, delay=0.04, **env):
        records = [("key-%d" % i, {"send": ["nm"], "id": "s%d" % i}) for i in range(600)]
        self.endpoint.delay = delay
        first = self.start(**env)
        wait_until(lambda: self.probe_status("/readyz") == 200, "the first ready", seconds=30)
        self.produce_keyed(records)
        wait_until(lambda: len(self.endpoint.bodies()) >= 20, "the first consuming", seconds=120)
        first_port = self.port
        self.port = free_port()  # the second, in the same group
        second = self.start(**env)
        wait_until(lambda: 'outcome="success"} 0' not in self.metrics() and self.metrics(),
                   "the second consuming", seconds=120)
        self.port = first_port
        self.assertLess(len(self.ids_seen()), len(records))  # stopped mid-stream
        first_log = self.stop(first)
        wait_until(lambda: self.ids_seen() == {r["id"] for _, r in records}, "every record sent",
                   seconds=240)
        second_log = self.stop(second)
        self.assertIn("kafka: partitions assigned input=logs partitions=4", first_log)
        self.assertIn("kafka: partitions assigned input=logs partitions=2", first_log)
        self.assertIn("kafka: partitions assigned input=logs partitions=2", second_log)
        self.assertIn("kafka: partitions assigned input=logs partitions=4", second_log)

    def test_logs_handler_alert_without_a_sidecar(self):
        """examples/logs-handler, the reference user, with its own context and
        no sidecar: the article's 404 record produced to Kafka becomes an
        alert posted to the notification endpoint, and the record is
        committed."""
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
        with open(os.path.join(root, "examples", "logs-handler", "context.json")) as f:
            ctx = json.load(f)
        ctx["port"] = str(self.port)
        self.context = lambda: ctx
        for name in os.listdir(self.resources):
            os.unlink(os.path.join(self.resources, name))
        write_components(os.path.join(self.resources, "components.yaml"), (
            "kafka-receiver", "bindings.kafka",
            [("brokers", self.brokers), ("topics", self.topic), ("consumerGroup", self.group),
             ("authRequired", "false"), ("initialOffset", "oldest")]), (
            "notification-manager", "bindings.http",
            [("url", "http://127.0.0.1:%d/api/v2/alerts" % self.endpoint.port)]))
        with open(os.path.join(root, "tests", "data", "logs", "cases.jsonl")) as f:
            record = json.loads(f.readline())["record"]  # the article's record
        record["@timestamp"] = time.time()
        record.pop("time", None)
        subprocess.run([KCAT, "-P", "-b", self.brokers, "-t", self.topic],
                       input=json.dumps(record) + "\n", text=True, check=True, timeout=60,
                       capture_output=True)
        env = dict(os.environ, FUNC_CONTEXT=json.dumps(ctx), CONTEXT_MODE="self-host",
                   OFCTX_DIRECT="1", OFCTX_RESOURCES_PATH=self.resources)
        env.pop("DAPR_GRPC_PORT", None)
        proc = subprocess.Popen(function_command("logs-handler"), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        wait_until(lambda: self.endpoint.bodies(), "the alert", seconds=60)
        req = self.endpoint.requests[0]
        self.assertEqual((req["method"], req["path"]), ("POST", "/api/v2/alerts"))
        labels = json.loads(req["body"])["alerts"][0]["labels"]
        self.assertEqual((labels["alertname"], labels["pod"], labels["status"]),
                         ("404 Request", "wordpress-v1-f54f697c5-hdn2z", "404"))
        wait_until(lambda: self.lag() == 0, "the record committed", seconds=30)
        self.stop(proc)

    def test_pubsub_output_publishes_dapr_envelope(self):
        """ofctx_publish to a pubsub.kafka output is the CloudEvent the
        sidecar would publish, on the publish's topic."""
        out_topic = "direct-out-%d" % DirectMode.next_out
        DirectMode.next_out += 1
        write_components(os.path.join(self.resources, "pubsub-out.yaml"),
                         ("events", "pubsub.kafka", [("brokers", self.brokers)]))
        ctx = self.context()
        ctx["outputs"]["pub"] = {"componentName": "events", "componentType": "pubsub.kafka",
                                 "uri": out_topic}
        self.context = lambda: ctx
        self.produce({"publish": ["events", out_topic], "id": "p1"})
        proc = self.start()
        lines = subprocess.run([KCAT, "-C", "-b", self.brokers, "-t", out_topic, "-o", "beginning",
                                "-c", "1", "-f", "%s\\n"], capture_output=True, text=True,
                               timeout=60, check=True).stdout.splitlines()
        self.stop(proc)
        envelope = json.loads(lines[0])
        self.assertEqual(list(envelope), sorted(envelope))  # the sidecar's order
        self.assertEqual(envelope["data"], {"id": "p1"})
        self.assertEqual((envelope["datacontenttype"], envelope["pubsubname"], envelope["topic"],
                          envelope["source"], envelope["specversion"], envelope["type"]),
                         ("application/json", "events", out_topic, "probe", "1.0",
                          "com.dapr.event.sent"))
        self.assertRegex(envelope["id"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                         r"[0-9a-f]{12}$")
        self.assertRegex(envelope["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

    def pubsub_input(self):
        """The input a pubsub.kafka component of the test's group."""
        write_components(os.path.join(self.resources, "kafka.yaml"), (
            "pubsub", "pubsub.kafka",
            [("brokers", self.brokers), ("consumerID", self.group), ("initialOffset", "oldest"),
             ("sessionTimeout", "6s")]))
        ctx = self.context()
        ctx["inputs"] = {"orders": {"componentName": "pubsub", "componentType": "pubsub.kafka",
                                    "uri": self.topic}}
        self.context = lambda: ctx

    def test_pubsub_batches_give_the_cloudevents(self):
        """A pubsub.kafka input with bulkSubscribe from
        OFCTX_SUBSCRIPTION_METADATA, as in sidecar mode: the batch function
        gets the records' CloudEvents in one batch with each record's
        metadata; a record that is no CloudEvent is dropped, not in it."""
        self.pubsub_input()

        def event(i, data):
            return json.dumps({"specversion": "1.0", "id": "e%d" % i, "source": "orders-app",
                               "type": "com.dapr.event.sent", "datacontenttype": "application/json",
                               "topic": self.topic, "pubsubname": "pubsub", "data": data})
        records = [event(0, {"describe_to": "nm"}), "not a cloudevent",
                   event(2, {"batch_ids": "nm", "id": "c2"}), event(3, {"return": 200, "id": "c3"})]
        subprocess.run([KCAT, "-P", "-b", self.brokers, "-t", self.topic],
                       input="".join(r + "\n" for r in records), text=True, check=True,
                       timeout=60, capture_output=True)
        proc = self.start(OFCTX_PROBE_BATCH="1",
                          OFCTX_SUBSCRIPTION_METADATA="bulkSubscribe=true,"
                                                      "bulkSubscribeMaxMessagesCount=10")
        wait_until(lambda: len(self.endpoint.bodies()) >= 2, "the description and the batch",
                   seconds=60)
        wait_until(lambda: self.lag() == 0, "all committed", seconds=30)
        metrics = self.metrics()
        err = self.stop(proc)
        bodies = [json.loads(b) for b in self.endpoint.bodies()]
        self.assertEqual(len(bodies), 2)
        report = [b for b in bodies if "ids" in b][0]
        self.assertEqual(report, {"ids": [None, "c2", "c3"], "offsets": ["0", "2", "3"],
                                  "partitions": ["0", "0", "0"]})
        got = [b for b in bodies if "ids" not in b][0]
        self.assertEqual((got["input"], got["kind"]), ("orders", "pubsub"))
        self.assertEqual(json.loads(got["data"]), {"describe_to": "nm"})
        self.assertEqual((got["attributes"]["id"], got["attributes"]["source"]),
                         ("e0", "orders-app"))
        self.assertEqual((got["metadata"]["__offset"], got["metadata"]["__topic"]),
                         ("0", self.topic))
        self.assertIn('ofctx_events_total{input="orders",outcome="drop"} 1', metrics)
        self.assertIn('ofctx_events_total{input="orders",outcome="success"} 3', metrics)
        self.assertIn("message dropped input=orders", err)

    def test_pubsub_input_gives_the_cloudevent(self):
        """A pubsub.kafka input's record is the CloudEvent a Dapr publisher
        wrote: the function gets its data and attributes; a record that is
        no CloudEvent is dropped and counted, and the next one still comes."""
        self.pubsub_input()
        event = {"specversion": "1.0", "id": "e1", "source": "orders-app",
                 "type": "com.dapr.event.sent", "datacontenttype": "application/json",
                 "topic": self.topic, "pubsubname": "pubsub", "data": {"describe_to": "nm"}}
        subprocess.run([KCAT, "-P", "-b", self.brokers, "-t", self.topic],
                       input="not a cloudevent\n" + json.dumps(event) + "\n", text=True,
                       check=True, timeout=60, capture_output=True)
        proc = self.start()
        wait_until(lambda: self.endpoint.bodies(), "the send", seconds=60)
        got = json.loads(self.endpoint.bodies()[0])
        self.assertEqual((got["input"], got["kind"]), ("orders", "pubsub"))
        self.assertEqual(json.loads(got["data"]), {"describe_to": "nm"})
        self.assertEqual(got["contentType"], "application/json")
        self.assertEqual((got["attributes"]["id"], got["attributes"]["source"],
                          got["attributes"]["topic"]), ("e1", "orders-app", self.topic))
        self.assertEqual(got["metadata"]["__offset"], "1")
        wait_until(lambda: 'ofctx_events_total{input="orders",outcome="drop"} 1' in self.metrics(),
                   "the poison record counted", seconds=30)
        err = self.stop(proc)
        self.assertIn("message dropped input=orders", err)

    def test_kafka_output_produces_a_record(self):
        """A send to a bindings.kafka output is a record on its publishTopic,
        produced by the idempotent producer, as Dapr's Kafka component makes
        it: the output's partitionKey the key, and every metadata entry a
        header, partitionKey too; with tracing on, the trace daprd gives a
        binding (traceparent, tracestate) headers as well, so the trace goes
        on through Kafka: the input record's trace, a span of the send's
        own. The input's record is committed once the brokers took it."""
        out_topic = "direct-out-%d" % DirectMode.next_out
        DirectMode.next_out += 1
        self.write_kafka_output(out_topic)
        ctx = self.context()
        ctx["outputs"]["out"] = {"componentName": "kafka-out", "componentType": "bindings.kafka",
                                 "operation": "create", "metadata": {"partitionKey": "p1"}}
        ctx["pluginsTracing"] = {"enabled": True, "provider": {"name": "opentelemetry"}}
        self.context = lambda: ctx
        trace = "0af7651916cd43dd8448eb211c80319c"
        self.produce({"send_opts": {"output": "out", "data": "{\"id\":\"o1\"}",
                                    "metadata": ["team", "logs"]}},
                     headers=["traceparent=00-%s-b7ad6b7169203331-01" % trace,
                              "tracestate=vendor=1"])
        proc = self.start()
        [line] = self.consume(out_topic, 1)
        key, headers, value = line.split("|")
        self.assertEqual((key, value), ("p1", '{"id":"o1"}'))
        self.assertRegex(headers, r"^partitionKey=p1,team=logs,traceparent=00-%s-(?!b7ad6b7169203331)"
                                  r"[0-9a-f]{16}-01,tracestate=vendor=1$" % trace)
        wait_until(lambda: 'ofctx_sends_total{output="out",result="ok"} 1' in self.metrics(),
                   "the send counted", seconds=30)
        self.stop(proc)

    def pubsub_output(self):
        """A pubsub.kafka output "pub" of component "events" on a topic of
        the test's own, which it returns."""
        out_topic = "direct-out-%d" % DirectMode.next_out
        DirectMode.next_out += 1
        write_components(os.path.join(self.resources, "pubsub-out.yaml"),
                         ("events", "pubsub.kafka", [("brokers", self.brokers)]))
        ctx = self.context()
        ctx["outputs"]["pub"] = {"componentName": "events", "componentType": "pubsub.kafka",
                                 "uri": out_topic}
        self.context = lambda: ctx
        return out_topic

    def records(self, topic, count):
        """The first `count` records of `topic`: (headers, value as JSON)."""
        out = subprocess.run([KCAT, "-C", "-b", self.brokers, "-t", topic, "-o", "beginning",
                              "-c", str(count), "-f", "%h\\t%s\\n"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        return [(h, json.loads(v)) for h, v in (line.split("\t", 1) for line in out.splitlines())]

    def test_publish_own_cloudevent_override_and_ttl(self):
        """A publish of the caller's own CloudEvent is that event, with the
        topic, pubsubname and the trace the sidecar sets, and source, type,
        specversion, time given where it has none; a cloudevent.id override
        is the envelope's id; ttlInSeconds is an expiration that many
        seconds on. The metadata are the records' headers, as Dapr's Kafka
        component makes them."""
        out_topic = self.pubsub_output()
        own = {"id": "own-1", "type": "order.created", "subject": "s-1", "topic": "elsewhere",
               "data": {"n": 1}, "extension": [1, 2]}
        self.produce({"send_opts": {"output": "pub", "data": json.dumps(own),
                                    "type": "application/cloudevents+json"}},
                     {"send_opts": {"output": "pub", "data": "{\"id\":\"o2\"}",
                                    "type": "application/json",
                                    "metadata": ["cloudevent.id", "custom-id"]}},
                     {"send_opts": {"output": "pub", "data": "{\"id\":\"o3\"}",
                                    "type": "application/json",
                                    "metadata": ["ttlInSeconds", "120"]}},
                     {"send_opts": {"output": "pub", "data": "{\"id\":\"o4\"}",
                                    "type": "application/json",
                                    "metadata": ["partitionKey", "k4", "rawPayload", "true"]}})
        proc = self.start()
        published = self.records(out_topic, 4)
        wait_until(lambda: self.lag() == 0, "the records committed", seconds=30)
        self.stop(proc)
        for _, envelope in published[:3]:
            self.assertEqual(list(envelope), sorted(envelope))  # the sidecar's order
        headers, first = published[0]
        self.assertEqual(headers, "")
        self.assertEqual({k: first[k] for k in ("id", "type", "subject", "data", "extension")},
                         {k: own[k] for k in ("id", "type", "subject", "data", "extension")})
        self.assertEqual((first["topic"], first["pubsubname"], first["source"],
                          first["specversion"], first["traceid"], first["traceparent"],
                          first["tracestate"]),
                         (out_topic, "events", "Dapr", "1.0", "", "", ""))
        self.assertRegex(first["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertNotIn("datacontenttype", first)
        headers, second = published[1]
        self.assertEqual(headers, "cloudevent.id=custom-id")
        self.assertEqual((second["id"], second["data"], second["source"]),
                         ("custom-id", {"id": "o2"}, "probe"))
        headers, third = published[2]
        self.assertEqual(headers, "ttlInSeconds=120")
        made = time.mktime(time.strptime(third["time"], "%Y-%m-%dT%H:%M:%SZ"))
        expires = time.mktime(time.strptime(third["expiration"], "%Y-%m-%dT%H:%M:%SZ"))
        self.assertEqual(expires - made, 120)
        self.assertNotIn("expiration", second)
        # the key and rawPayload are headers too, as every metadata entry
        self.assertEqual(published[3], ("partitionKey=k4,rawPayload=true", {"id": "o4"}))

    def test_bulk_publish_each_entry_a_record(self):
        """ofctx_publish_bulk to a pubsub.kafka output: each entry its own
        record, in its own envelope with its own type and metadata; the send
        succeeds when all are stored. When the brokers do not take an entry
        (one over librdkafka's message.max.bytes), the others are still
        published and the send fails naming that entry, as the sidecar's
        failedEntries do; the input record is then not committed."""
        out_topic = self.pubsub_output()
        self.produce({"publish_bulk": ["events", out_topic], "entries": [
                         {"id": "a", "data": "{\"n\":1}", "type": "application/json",
                          "metadata": ["team", "a-team"]},
                         {"id": "b", "data": "hello", "metadata": ["cloudevent.type", "t.b"]}]},
                     {"publish_bulk": ["events", out_topic], "entries": [
                         {"id": "c", "data": "{\"n\":3}"},
                         {"id": "big", "fill": 1100000}]})
        proc = self.start()
        published = self.records(out_topic, 3)
        wait_until(lambda: self.lag() == 1, "the first record committed", seconds=30)
        err = self.stop(proc)
        (ha, a), (hb, b), (hc, c) = published
        self.assertEqual((ha, a["data"], a["datacontenttype"], a["type"]),
                         ("team=a-team", {"n": 1}, "application/json", "com.dapr.event.sent"))
        self.assertEqual((hb, b["data"], b["datacontenttype"], b["type"]),
                         ("cloudevent.type=t.b", "hello", "text/plain; charset=utf-8", "t.b"))
        self.assertEqual((c["data"], c["topic"], c["pubsubname"]), ({"n": 3}, out_topic, "events"))
        self.assertNotEqual(a["id"], b["id"])
        self.assertIn("send to events finished: success (0) failed=[]", err)
        self.assertRegex(err, r"send to events finished: [^\n]*failed=\[big\]")
        self.assertRegex(err, r"send failed [^\n]*failed_entries=1 error=\"1 of 2 entries were not "
                              r"published")

    def test_expired_pubsub_record_is_dropped(self):
        """A pubsub.kafka record whose CloudEvent has an expiration in the
        past is dropped, as daprd drops it: logged, counted as a drop, and
        committed; one that has not expired comes to the function."""
        write_components(os.path.join(self.resources, "kafka.yaml"), (
            "pubsub", "pubsub.kafka",
            [("brokers", self.brokers), ("consumerGroup", self.group), ("initialOffset", "oldest"),
             ("sessionTimeout", "6s")]))
        ctx = self.context()
        ctx["inputs"] = {"orders": {"componentName": "pubsub", "componentType": "pubsub.kafka",
                                    "uri": self.topic}}
        self.context = lambda: ctx
        future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        events = [{"specversion": "1.0", "id": ident, "source": "orders-app",
                   "type": "com.dapr.event.sent", "datacontenttype": "application/json",
                   "topic": self.topic, "pubsubname": "pubsub", "expiration": expiration,
                   "data": {"describe_to": "nm"}}
                  for ident, expiration in (("old", "2020-01-01T00:00:00Z"), ("new", future))]
        subprocess.run([KCAT, "-P", "-b", self.brokers, "-t", self.topic],
                       input="".join(json.dumps(e) + "\n" for e in events), text=True,
                       check=True, timeout=60, capture_output=True)
        proc = self.start()
        wait_until(lambda: self.endpoint.bodies(), "the send", seconds=60)
        wait_until(lambda: self.lag() == 0, "both records committed", seconds=30)
        metrics = self.metrics()
        err = self.stop(proc)
        self.assertEqual([json.loads(b)["attributes"]["id"] for b in self.endpoint.bodies()],
                         ["new"])
        self.assertIn('ofctx_events_total{input="orders",outcome="drop"} 1', metrics)
        self.assertIn('ofctx_events_total{input="orders",outcome="success"} 1', metrics)
        self.assertIn('message dropped input=orders reason="the event \\"old\\" expired at '
                      '2020-01-01T00:00:00Z"', err)

    def test_split_batches_hold_records_of_one_partition_in_order(self):
        """With bulkSubscribe on the input, a batch function gets up to
        bulkSubscribeMaxMessagesCount records in one call, all of one
        partition and in its order, each with its own metadata; every record
        comes once, and all are committed: a restart gets only what is new."""
        self.bulk_context(7)
        records = [("key-%d" % (i % 5), {"batch_ids": "nm", "id": "b%d" % i}) for i in range(200)]
        self.produce_keyed(records)
        proc = self.start(OFCTX_PROBE_BATCH="1")
        wait_until(lambda: sum(len(b["ids"]) for b in self.batches()) >= len(records),
                   "every record in a batch", seconds=120)
        batches = self.batches()
        self.assertEqual(sorted(i for b in batches for i in b["ids"]),
                         sorted(r["id"] for _, r in records))  # each once
        by_partition = {}
        for b in batches:
            self.assertTrue(1 <= len(b["ids"]) <= 7, b)
            self.assertEqual(len(set(b["partitions"])), 1, b)  # one partition
            by_partition.setdefault(b["partitions"][0], []).extend(zip(b["ids"], b["offsets"]))
        self.assertGreater(max(len(b["ids"]) for b in batches), 1)
        self.assertGreater(len(by_partition), 1)
        produced = {}
        for key, r in records:
            produced.setdefault(key, []).append(r["id"])
        for got in by_partition.values():
            # in the partition's order: offsets counting up from 0, and the
            # ids of each key (one partition) in the order produced
            self.assertEqual([int(o) for _, o in got], list(range(len(got))))
            ids = [i for i, _ in got]
            for key_ids in produced.values():
                mine = [i for i in ids if i in key_ids]
                self.assertIn(mine, ([], key_ids))
        self.stop(proc)
        before = len(self.endpoint.bodies())
        proc = self.start(OFCTX_PROBE_BATCH="1")
        self.produce_keyed([("key-0", {"batch_ids": "nm", "id": "new"})])
        wait_until(lambda: len(self.endpoint.bodies()) > before, "the new record", seconds=60)
        self.stop(proc)
        self.assertEqual([b["ids"] for b in self.batches()[before:]], [["new"]])

    def test_binding_batches_from_the_subscription_variable(self):
        """A bindings.kafka input takes bulkSubscribe from
        OFCTX_SUBSCRIPTION_METADATA, as an OpenFunction Function (whose
        context has no input metadata) sets it: the batch function gets the
        records in one batch."""
        self.produce(*({"batch_ids": "nm", "id": "v%d" % i} for i in range(3)))
        proc = self.start(OFCTX_PROBE_BATCH="1",
                          OFCTX_SUBSCRIPTION_METADATA="bulkSubscribe=true,"
                                                      "bulkSubscribeMaxMessagesCount=10")
        wait_until(lambda: sum(len(b["ids"]) for b in self.batches()) >= 3, "the records",
                   seconds=60)
        wait_until(lambda: self.lag() == 0, "all committed", seconds=30)
        self.stop(proc)
        self.assertEqual([b["ids"] for b in self.batches()], [["v0", "v1", "v2"]])

    def test_retry_in_the_middle_of_a_batch_comes_again_with_what_follows(self):
        """An entry answered RETRY in the middle of a batch: it and the
        entries after it are given again after the back-off (those before
        it are not), and they are not committed; after a restart they come
        again, and the entries before it do not."""
        self.bulk_context(5)
        self.produce(*({"batch_ids": "nm", "id": "a%d" % i} for i in range(2)),
                     {"batch_ids": "nm", "id": "a2", "return_env": "PROBE_A2"},
                     *({"batch_ids": "nm", "id": "a%d" % i} for i in range(3, 5)))
        proc = self.start(OFCTX_PROBE_BATCH="1", PROBE_A2="500")
        wait_until(lambda: len(self.batches()) >= 3, "a2 given again twice", seconds=60)
        self.assertGreaterEqual(self.lag(), 3)
        self.stop(proc)
        first_run = [b["ids"] for b in self.batches()]
        self.assertEqual(first_run[0], ["a0", "a1", "a2", "a3", "a4"])
        for ids in first_run[1:]:
            self.assertEqual(ids, ["a2", "a3", "a4"])
        proc = self.start(OFCTX_PROBE_BATCH="1")
        wait_until(lambda: len(self.batches()) > len(first_run), "a2 after the restart",
                   seconds=60)
        wait_until(lambda: self.lag() == 0, "all committed", seconds=30)
        self.stop(proc)
        self.assertEqual([b["ids"] for b in self.batches()[len(first_run):]],
                         [["a2", "a3", "a4"]])

    def test_backlog_past_the_held_limit_pauses_and_loses_nothing(self):
        """More records wait than a partition may hold (1024): the
        partition is paused at the limit and resumed below half of it, and
        every record reaches the function once, in order, and is committed."""
        count = 1500
        self.produce(*({"describe_to": "nm", "id": "h%d" % i} for i in range(count)))
        proc = self.start()
        wait_until(lambda: len(self.endpoint.bodies()) >= count, "every record", seconds=300)
        wait_until(lambda: self.lag() == 0, "all committed", seconds=60)
        err = self.stop(proc)
        got = [json.loads(b) for b in self.endpoint.bodies()]
        self.assertEqual([json.loads(g["data"])["id"] for g in got],
                         ["h%d" % i for i in range(count)])
        self.assertEqual([g["metadata"]["__offset"] for g in got],
                         [str(i) for i in range(count)])
        self.assertIn("kafka: partition paused input=logs topic=%s partition=0 held=1024"
                      % self.topic, err)
        self.assertIn("kafka: partition resumed input=logs topic=%s partition=0" % self.topic,
                      err)
        proc = self.start()
        self.produce({"describe_to": "nm", "id": "new"})
        wait_until(lambda: len(self.endpoint.bodies()) > count, "the new record", seconds=60)
        self.stop(proc)
        self.assertEqual([json.loads(json.loads(b)["data"])["id"]
                          for b in self.endpoint.bodies()[count:]], ["new"])

    def test_split_input_past_its_held_bytes_pauses_and_loses_nothing(self):
        """Four partitions, each holding far less than its own limit, but
        together more than OFCTX_DIRECT_MAX_HELD_BYTES: the input's
        partitions are paused (a line names the bytes the input holds) and
        resumed below half, and every record arrives once, each partition
        in order, all committed."""
        pad = "x" * 4000
        records = [("key-%d" % (i % 8), {"send": ["nm"], "id": "m%d" % i, "pad": pad})
                   for i in range(160)]
        self.produce_keyed(records)
        self.endpoint.delay = 0.01
        proc = self.start(OFCTX_DIRECT_MAX_HELD_BYTES="100000")
        wait_until(lambda: self.ids_seen() == {r["id"] for _, r in records}, "every record",
                   seconds=240)
        wait_until(lambda: all(line.endswith(" 0") for line in self.metrics().splitlines()
                               if line.startswith("ofctx_kafka_consumer_lag{")),
                   "all committed", seconds=60)
        err = self.stop(proc)
        self.assertEqual(len(self.endpoint.bodies()), len(records))  # each once
        paused = re.findall(r"kafka: partition paused input=logs topic=%s partition=\d "
                            r"held=(\d+) input_bytes=(\d+)" % self.topic, err)
        self.assertTrue(paused, err)
        for held, input_bytes in paused:
            self.assertLess(int(held), 1024)  # not the partition's own limit
            self.assertGreaterEqual(int(input_bytes), 100000)
        self.assertIn("kafka: partition resumed input=logs topic=%s" % self.topic, err)
        produced = {}
        for key, r in records:
            produced.setdefault(key, []).append(r["id"])
        got = [json.loads(b)["id"] for b in self.endpoint.bodies()]
        for ids in produced.values():  # a key is one partition: in its order
            self.assertEqual([i for i in got if i in ids], ids)

    def lag(self):
        """The lag of the test's topic, partition 0, on /metrics; None when absent."""
        m = re.search(r'^ofctx_kafka_consumer_lag\{input="[\w-]+",topic="%s",partition="0"\} (\d+)$'
                      % re.escape(self.topic), self.metrics(), re.M)
        return int(m.group(1)) if m else None

    def probe_status(self, path):
        try:
            return http("GET", "http://127.0.0.1:%d%s" % (self.port, path), timeout=5)[0]
        except OSError:
            return None

    def metrics(self):
        try:
            return http("GET", "http://127.0.0.1:%d/metrics" % self.port, timeout=5)[2].decode()
        except OSError:
            return ""

if __name__ == "__main__":
    unittest.main()
