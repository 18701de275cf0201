# SPDX-License-Identifier: Apache-2.0
"""The function contexts of tests/functions/probe.c that more than one
end-to-end suite gives it, kept in one place: PROBE for the Async runtime
over HTTP (test_async_runtime.py) and the local runtime
(test_local_runtime.py), PROBE_GRPC for the Async runtime over gRPC
(test_grpc_runtime.py). A suite copies before it changes one (dict(...))."""

PROBE = {
    "name": "probe",
    "version": "v1",
    "runtime": "Async",
    "inputs": {
        "kafka": {"componentName": "kafka-in", "componentType": "bindings.kafka"},
        "orders": {"uri": "orders", "componentName": "pubsub", "componentType": "pubsub.kafka"},
    },
    "outputs": {
        "out": {"componentName": "kafka-out", "componentType": "bindings.kafka", "operation": "create",
                "metadata": {"partitionKey": "p1"}},
        "nm": {"componentName": "nm", "componentType": "bindings.http", "operation": "post"},
        "pub": {"uri": "alerts", "componentName": "pubsub", "componentType": "pubsub.kafka"},
    },
}

# The same function over gRPC: the pub/sub input's data kept as CloudEvents
# (rawPayload false), and no HTTP binding output.
PROBE_GRPC = dict(PROBE, inputs={
    "kafka": PROBE["inputs"]["kafka"],
    "orders": dict(PROBE["inputs"]["orders"], metadata={"rawPayload": "false"}),
}, outputs={name: out for name, out in PROBE["outputs"].items() if name != "nm"})
