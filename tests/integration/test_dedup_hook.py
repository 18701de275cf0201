# SPDX-License-Identifier: Apache-2.0
"""examples/dedup-hook (once, behind the dedup hook) through the local
runtime: an event delivered again after it was acknowledged is dropped
before the function, unless it failed; the context turns the hook on;
events without an id pass; the oldest ids go when the capacity is full."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import function_command  # noqa: E402

CONTEXT = {"name": "once", "runtime": "Async",
           "inputs": {"orders": {"uri": "orders", "componentName": "pubsub", "componentType": "pubsub.kafka"}},
           "outputs": {"out": {"componentName": "kafka-out", "componentType": "bindings.kafka",
                               "operation": "create"}}}


def event(data, id_=None, source="s"):
    line = {"data": data}
    if id_:
        line["attributes"] = {"id": id_, "source": source, "type": "t"}
    return json.dumps(line) + "\n"


class DedupHook(unittest.TestCase):
    def run_once(self, lines, hooks=True, env=None):
        """(exit status, what each event did: the output sent to, or its outcome)"""
        context = dict(CONTEXT, prePlugins=["dedup"], postPlugins=["dedup"]) if hooks else CONTEXT
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(context, f)
            f.flush()
            fenv = {k: v for k, v in os.environ.items()
                    if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "PATH", "LD_"))}
            fenv.update(env or {})
            p = subprocess.run(function_command("once", "--context", f.name, "--invoke", "-", "--event-lines",
                                                "--input", "orders", "--keep-going", "--all-outcomes"),
                               input="".join(lines).encode(), env=fenv, capture_output=True, timeout=60)
        out = [json.loads(l) for l in p.stdout.decode().splitlines()]
        return p.returncode, [l.get("output") or l.get("outcome") for l in out], p.stderr.decode()

    def test_an_event_acknowledged_before_is_dropped(self):
        status, did, err = self.run_once([
            event({"n": 1}, "1"), event({"n": 1}, "1"),  # again: dropped
            event({"n": 1}, "1", source="t"),            # another source's id 1
            event("fail", "2"), event({"n": 2}, "2"),    # failed: handled when it comes again
            event({"n": 2}, "2"),
            event({"n": 3}), event({"n": 3})],           # no id: nothing to know it by
            env={"OFCTX_LOG_LEVEL": "debug"})
        self.assertEqual(status, 0, err)
        self.assertEqual(did, ["out", "SUCCESS", "DROP", "out", "SUCCESS", "RETRY", "out", "SUCCESS", "DROP",
                               "out", "SUCCESS", "out", "SUCCESS"])
        self.assertIn("dedup: dropped an event acknowledged before (id 1)", err)
        self.assertIn("8 events: 5 handled, 2 dropped, 1 failed; 5 sends", err)

    def test_only_when_the_context_names_it(self):
        status, did, err = self.run_once([event({"n": 1}, "1"), event({"n": 1}, "1")], hooks=False)
        self.assertEqual((status, did), (0, ["out", "SUCCESS", "out", "SUCCESS"]), err)

    def test_the_oldest_ids_go_when_the_capacity_is_full(self):
        status, did, err = self.run_once([event({"n": 1}, "1"), event({"n": 2}, "2"), event({"n": 1}, "1"),
                                          event({"n": 1}, "1")], env={"DEDUP_CAPACITY": "1"})
        self.assertEqual(status, 0, err)
        self.assertEqual(did, ["out", "SUCCESS", "out", "SUCCESS", "out", "SUCCESS", "DROP"])


if __name__ == "__main__":
    unittest.main()
