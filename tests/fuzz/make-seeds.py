#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the fuzz targets from the test data: function
contexts, CloudEvent cases, log records, and a set of raw HTTP requests.
Run it again after the test data changes; it only adds files."""

import glob
import hashlib
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def put(target, content):
    if isinstance(content, str):
        content = content.encode()
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + hashlib.sha1(content).hexdigest()[:16]), "wb") as f:
        f.write(content)


for path in glob.glob(os.path.join(DATA, "context", "*", "*", "context*.json")):
    with open(path, "rb") as f:
        put("context", f.read())

for path in glob.glob(os.path.join(DATA, "cloudevents", "*", "*.json")):
    with open(path) as f:
        case = json.load(f)
    head = "".join("%s: %s\n" % (k, v) for k, v in case["headers"])
    body = case.get("body", "")
    put("cloudevent", head + "\n" + body)

with open(os.path.join(DATA, "logs", "cases.jsonl")) as f:
    for line in f:
        record = json.loads(line)["record"]
        put("logs", record if isinstance(record, str) else json.dumps(record))
with open(os.path.join(HERE, "..", "..", "examples", "logs-handler", "testdata", "records.jsonl")) as f:
    for line in list(f)[:30]:
        put("logs", line.rstrip("\n"))
        put("json_get", line.rstrip("\n"))
for doc in ['{"a":1,"a":{"b":2}}', '{"a":{"b":1},"a":{"c":[2]}}', '{"k\\u002e1":"\\ud83d\\ude00","k":{"":null}}',
            '{"n":-1.5e3,"i":9223372036854775807,"s":"a\\"\\\\b","o":{"x":true,"y":false}}', '[{"a":1}]']:
    put("json_get", doc)

# envelope: the first byte picks the type (0 the caller's CloudEvent, 1 JSON,
# 2 text, 3 bytes) and, by its bits 4, 8 and 16, a trace, an override and a ttl
for first, doc in [(0, '{"id":"a","type":"t","data":{"n":1},"id":"b"}'), (16, '{"time":null,"expiration":"2020-01-01T00:00:00Z"}'),
                   (0, '[1]'), (28, ' {"\\u00e9":1} x'), (1, '{"a":[1,2e400]}'), (17, '{"a"'), (2, 'h\u00e9llo'),
                   (3, '\x00\xff'), (1, '{"id":"e","expiration":"2026-01-02T03:04:04.5+00:00"}')]:
    put("envelope", bytes([first]) + doc.encode("latin-1"))

REQUESTS = [
    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /a/b?c=d&e HTTP/1.0\r\n\r\n",
    "POST /in HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
    "POST /in HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "POST /in HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nPOST /3 HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
    "POST /in HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nab",
    "HEAD /h HTTP/1.1\r\nConnection: close\r\n\r\n",
    "OPTIONS /in HTTP/1.1\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "BREW / HTTP/1.1\r\n\r\n",
    "GET /" + "a" * 600 + " HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nX-Big: " + "b" * 3000 + "\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 99999\r\n\r\nshort",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffff\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n",
]
for r in REQUESTS:
    put("http", r)

for tmpl in ["{{count}} 5xx from {{pod}} in {{window}}, last {{last.path}}",
             "{{ first.error.kind }} / {{last.status}} {{{{literal}} {{samples}}",
             "{{cont}} {{count", "{{suppressed}} held; {{total}} {{rule}} {{severity}}"]:
    put("template", tmpl + "\0shop\0checkout-\xc3\xa9\0app\0/a\"b\0503\0summary\0team")
for path in glob.glob(os.path.join(DATA, "rules", "*.yaml")) + glob.glob(os.path.join(DATA, "rules", "issue.json")) + [
        os.path.join(HERE, "..", "..", "examples", "logs-handler", "rules.yaml")]:
    with open(path, "rb") as f:
        put("rules", f.read())
RULES = [
    "rules:\n  - name: a\n    condition: {ratio: 0.05, of: {where: [\"status >= 100\"]}, min_total: 20, window: 5m}\n",
    "rules:\n  - name: a\n    condition: {absent: 10m, forget_after: 24h}\n    group_by: [namespace, pod]\n",
    "defaults: {select: {namespace: shop}, labels: {team: a}}\nrules: [{name: a, select: {pod: \"!~x-.*\"}}, {name: b}]\n",
    "settings: {max_keys: 5, notify_rate: 0.5, notify_burst: 2, receiver: r}\nrules: [{name: a}]\n",
    "a: &x [1]\nb: *x\n",
    "rules: [{name: a}]\n---\nrules: []\n",
    "rules: [{name: a, samples: 0x0a, severity: 'yes', labels: {k: ~}}]\n",
]
for r in RULES:
    put("rules", r)
