// SPDX-License-Identifier: Apache-2.0
// The OpenTelemetry peer of tests/integration/test_otel_trace.py. It starts a
// trace with OpenTelemetry JS (a producer span of its own), injects it with
// the W3C propagator into a pub/sub delivery that the Dapr emulator makes to
// the function, receives the function's OTLP/HTTP export, decodes it with
// the code OpenTelemetry generates from the official protos, and checks the
// parentage end to end:
//   - the function's invocation span is a child of the JS span, in its trace;
//   - its sends (the binding and the publish) are children of the invocation,
//     and the traceparent the sidecar received for each names that span;
//   - its hooks' runs are children of the invocation;
//   - the export is gzipped and carries the exporter's header.
// In the mode "knative", the JS span calls a Knative function directly
// (its traceparent a request header): a SERVER span, one send, no hooks.
//
//   node peer.js async|knative OTLP_PORT DAPR_URL APP_URL EXPECTED_HEADER_VALUE
// Exit status 0 when every check holds; each fault is printed.
"use strict";

const http = require("http");
const path = require("path");
const zlib = require("zlib");
const nm = (p) => path.join(__dirname, "node_modules", p);
const api = require(nm("@opentelemetry/api"));
const { BasicTracerProvider } = require(nm("@opentelemetry/sdk-trace-base"));
const { W3CTraceContextPropagator } = require(nm("@opentelemetry/core"));
const root = require(nm("@opentelemetry/otlp-transformer/build/src/generated/root.js"));

const Request = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
const Kind = root.opentelemetry.proto.trace.v1.Span.SpanKind;
const [mode, otlpPort, dapr, app, headerValue] = process.argv.slice(2);
const knative = mode === "knative";

let faults = 0;
function check(ok, text) {
  console.log((ok ? "ok    " : "FAULT ") + text);
  if (!ok) faults++;
}

const hex = (b) => Buffer.from(b || []).toString("hex");
const exports_ = [];
const spans = [];

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body = Buffer.concat(chunks);
    const gzipped = req.headers["content-encoding"] === "gzip";
    exports_.push({ path: req.url, type: req.headers["content-type"], gzipped, header: req.headers["x-peer-token"] });
    if (gzipped) body = zlib.gunzipSync(body);
    const msg = Request.decode(body);
    for (const rs of msg.resourceSpans)
      for (const ss of rs.scopeSpans)
        for (const s of ss.spans) spans.push({ resource: rs.resource, scope: ss.scope, span: s });
    res.writeHead(200, { "Content-Type": "application/x-protobuf" });
    res.end();
  });
});

function attr(list, key) {
  const kv = (list || []).find((a) => a.key === key);
  return kv ? kv.value.stringValue : undefined;
}

async function main() {
  await new Promise((ok) => server.listen(Number(otlpPort), "127.0.0.1", ok));

  const provider = new BasicTracerProvider();
  const tracer = provider.getTracer("libofctx-otel-peer");
  const propagator = new W3CTraceContextPropagator();
  const jsSpan = tracer.startSpan("publish orders", { kind: api.SpanKind.PRODUCER });
  const carrier = {};
  propagator.inject(api.trace.setSpan(api.ROOT_CONTEXT, jsSpan), carrier, api.defaultTextMapSetter);
  const js = jsSpan.spanContext();
  check(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(carrier.traceparent || ""), "the JS propagator made " + carrier.traceparent);

  await fetch(dapr + "/emulator/received", { method: "DELETE" });
  if (knative) {
    const r = await fetch(app + "/?send=out", {
      method: "POST",
      headers: { "Content-Type": "application/json", traceparent: carrier.traceparent },
      body: JSON.stringify({ id: "otel-k" }),
    });
    check(r.status === 200, "the function answered " + r.status);
  } else {
    const r = await fetch(dapr + "/emulator/deliver/pubsub/pubsub/orders", {
      method: "POST",
      headers: { "Content-Type": "application/json", traceparent: carrier.traceparent },
      body: JSON.stringify({ send: ["out", "pub"], id: "otel-1" }),
    });
    const verdict = await r.json();
    check(verdict.verdict === "SUCCESS", "the function answered " + JSON.stringify(verdict));
  }
  jsSpan.end();
  const received = (await (await fetch(dapr + "/emulator/received")).json())
    .filter((c) => c.path.startsWith("/v1.0/") && !c.path.startsWith("/v1.0/healthz"));

  // Async: the invocation, its two sends and its hook's pre and post runs;
  // Knative: the invocation and its send
  const expected = knative ? 2 : 5;
  const deadline = Date.now() + 20000;
  while (spans.length < expected && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
  check(spans.length === expected, spans.length + " spans exported (" + expected + " expected)");

  check(exports_.length > 0 && exports_.every((e) => e.path === "/v1/traces"), "posted to /v1/traces");
  check(exports_.every((e) => e.type === "application/x-protobuf"), "as application/x-protobuf");
  check(exports_.every((e) => e.gzipped), "gzipped");
  check(exports_.every((e) => e.header === headerValue), "with the exporter's header");

  const invKind = knative ? Kind.SPAN_KIND_SERVER : Kind.SPAN_KIND_CONSUMER;
  const inv = spans.find((s) => s.span.kind === invKind);
  check(!!inv, "an invocation span of kind " + (knative ? "SERVER" : "CONSUMER"));
  if (!inv) return;
  const i = inv.span;
  const fn = knative ? "knative-probe" : "probe";
  check(hex(i.traceId) === js.traceId, "the invocation is in the JS trace " + js.traceId);
  check(hex(i.parentSpanId) === js.spanId, "the invocation's parent is the JS span " + js.spanId);
  check(i.name === (knative ? fn : "process orders"), "the invocation is named " + i.name);
  if (knative) {
    check(attr(i.attributes, "faas.trigger") === "http", "faas.trigger http");
    check(attr(i.attributes, "http.request.method") === "POST", "http.request.method POST");
    check(attr(i.attributes, "url.path") === "/", "url.path /");
  } else {
    check(attr(i.attributes, "faas.trigger") === "pubsub", "faas.trigger pubsub");
    check(attr(i.attributes, "messaging.system") === "kafka", "messaging.system kafka");
    check(attr(i.attributes, "messaging.destination.name") === "orders", "messaging.destination.name orders");
  }
  check(attr(i.attributes, "ofctx.outcome") === "success", "ofctx.outcome success");
  check(attr(i.attributes, "team") === "otel", "the context's tag team=otel");
  check(attr(inv.resource.attributes, "service.name") === fn, "resource service.name " + fn);
  check(attr(inv.resource.attributes, "faas.name") === fn, "resource faas.name " + fn);
  check(inv.scope.name === "libofctx", "scope libofctx");
  const invId = hex(i.spanId);

  const sends = [[Kind.SPAN_KIND_CLIENT, "create kafka-out", "/v1.0/bindings/kafka-out"]];
  if (!knative) sends.push([Kind.SPAN_KIND_PRODUCER, "publish alerts", "/v1.0/publish/pubsub/alerts"]);
  for (const [kind, name, path_] of sends) {
    const s = spans.find((x) => x.span.kind === kind);
    check(!!s && s.span.name === name, "a send span " + name + (s ? " (" + s.span.name + ")" : ""));
    if (!s) continue;
    check(hex(s.span.traceId) === js.traceId && hex(s.span.parentSpanId) === invId,
      name + " is a child of the invocation");
    const call = received.find((c) => c.path === path_);
    const tp = call && Object.entries(call.headers).find(([k]) => k.toLowerCase() === "traceparent");
    check(!!tp && tp[1] === "00-" + js.traceId + "-" + hex(s.span.spanId) + "-01",
      "the sidecar's traceparent for " + path_ + " names the send span (" + (tp && tp[1]) + ")");
  }
  if (knative) return;

  const hooks = spans.filter((x) => x.span.kind === Kind.SPAN_KIND_INTERNAL);
  check(hooks.length === 2 && hooks.every((h) => h.span.name === "probe-gate"), "two hook spans named probe-gate");
  check(hooks.every((h) => hex(h.span.parentSpanId) === invId && hex(h.span.traceId) === js.traceId),
    "the hook spans are children of the invocation");
  check(hooks.map((h) => attr(h.span.attributes, "ofctx.hook.phase")).sort().join() === "post,pre", "one pre, one post");
}

main()
  .catch((e) => {
    console.log("FAULT " + (e && e.stack ? e.stack : e));
    faults++;
  })
  .finally(() => {
    server.close();
    console.log(faults + " faults");
    process.exit(faults ? 1 : 0);
  });
