// SPDX-License-Identifier: Apache-2.0
// A fake daprd for the gRPC tests, built on gRPC's own Node.js implementation
// (@grpc/grpc-js) and the .proto files that Dapr's JavaScript SDK (@dapr/dapr)
// ships, loaded as they are by @grpc/proto-loader.
//
// It plays both of daprd's parts over gRPC: it calls the function's
// AppCallback services (as daprd with --app-protocol grpc does), and it
// serves the Dapr API (Dapr/InvokeBinding, Dapr/PublishEvent,
// Dapr/BulkPublishEvent and its Alpha1 name; Dapr/GetState, SaveState and
// DeleteState on one in-memory store with ETags) that the function sends to,
// checking the API token and failing on command. --no-bulk-v1 leaves
// BulkPublishEvent out (UNIMPLEMENTED), as a sidecar before Dapr 1.17. An HTTP
// control API on loopback lets a test drive it:
//   POST /call      {"method": "OnTopicEvent", "request": {...}, "metadata": {...},
//                    "deadlineMs": n, "noToken": bool}
//                                            → {"code", "details", "response", "at"}
//   POST /load      {"method", "requests": [...], "concurrency": n}
//                                            → {"results": [...]} in request order
//   GET  /received                           → the Dapr API calls so far
//   GET  /states                             → {"store/key": {"value", "etag"}}, live items
//   POST /states/clock {"advance": s}        state TTLs run s seconds ahead
//   DELETE /received
//   POST /faults    [{"method": "PublishEvent", "code": 14, "times": 2}, ...]
//                   ({"method": "BulkPublishEvent", "failEntries": ["b"]}: an OK
//                    answer with those entries in failedEntries;
//                    {"method": "PublishEvent", "h2": "statusThenReset"}: an
//                    answer made by hand on HTTP/2, below gRPC, see h2Fault)
//   GET  /v1.0/healthz/outbound              → 204 (the sidecar probe over HTTP)
// bytes fields travel as base64 strings in the JSON of the control API.
//
//   node fake_daprd.js --app-port P --ready-file F [--app-token T] [--api-token T]
"use strict";

const fs = require("fs");
const http = require("http");
const http2 = require("http2");
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const PROTO_ROOT = path.join(__dirname, "node_modules", "@dapr", "dapr", "proto");

function args() {
  const out = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  return out;
}

function load() {
  const def = protoLoader.loadSync(
    ["dapr/proto/runtime/v1/appcallback.proto", "dapr/proto/runtime/v1/dapr.proto"],
    { includeDirs: [PROTO_ROOT], keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  return grpc.loadPackageDefinition(def).dapr.proto.runtime.v1;
}

const opts = args();
const pkg = load();
const received = [];
let faults = [];

function takeFault(method) {
  for (const f of faults) {
    if (f.method === method && !f.h2 && f.times > 0) {
      f.times--;
      return f;
    }
  }
  return null;
}

// ---- state: one in-memory store, ETags as Dapr's in-memory store has them ----

const items = new Map(); // "store\0key" -> {value: Buffer, etag: string, expires: ms or null}
let version = 0;
let clockMs = 0; // added to the clock that TTLs are read against

const now = () => Date.now() + clockMs;

// The live item under "store\0key": one whose TTL has run out is gone.
function itemOf(k) {
  const item = items.get(k);
  if (item && item.expires !== null && now() >= item.expires) {
    items.delete(k);
    return undefined;
  }
  return item;
}

// metadata ttlInSeconds as contrib's state/utils.ParseTTL reads it: {ms}
// (null: no expiry, for absent, empty, 0 and -1) or {error}.
function ttlOf(metadata) {
  const text = (metadata || {}).ttlInSeconds;
  if (text === undefined || text === "") return { ms: null };
  const n = /^[+-]?[0-9]+$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(n) || n < -1 || n > 2147483647)
    return { error: "incorrect value for metadata 'ttlInSeconds': " + JSON.stringify(text) };
  return { ms: n > 0 ? n * 1000 : null };
}

// Why a write is refused (Dapr answers ABORTED), or null.
function etagError(item, etag, concurrency) {
  if (etag) return !item ? "item does not exist" : item.etag === etag ? null : "etag does not match";
  return concurrency === "CONCURRENCY_FIRST_WRITE" && item ? "item already exists and no etag was passed" : null;
}

const STATE = {
  GetState(req) {
    const item = itemOf(req.storeName + "\0" + req.key);
    return { response: item ? { data: item.value, etag: item.etag, metadata: {} } : { data: Buffer.alloc(0), etag: "", metadata: {} } };
  },
  SaveState(req) {
    const ttls = req.states.map((s) => ttlOf(s.metadata));
    const bad = ttls.find((t) => t.error);
    if (bad) return { code: grpc.status.INTERNAL, details: "failed saving state in state store " + req.storeName + ": " + bad.error };
    for (const s of req.states) {
      const why = etagError(itemOf(req.storeName + "\0" + s.key), s.etag && s.etag.value, s.options && s.options.concurrency);
      if (why) return { code: grpc.status.ABORTED, details: "failed saving state in state store " + req.storeName + ": " + why };
    }
    req.states.forEach((s, i) => items.set(req.storeName + "\0" + s.key, {
      value: s.value, etag: String(++version), expires: ttls[i].ms === null ? null : now() + ttls[i].ms }));
    return { response: {} };
  },
  DeleteState(req) {
    const k = req.storeName + "\0" + req.key;
    const why = etagError(itemOf(k), req.etag && req.etag.value, req.options && req.options.concurrency);
    if (why) return { code: grpc.status.ABORTED, details: "failed deleting state with key " + req.key + ": " + why };
    items.delete(k);
    return { response: {} };
  },
};

// ---- the Dapr API the function sends to ----

function apiHandler(method) {
  return (call, callback) => {
    const md = call.metadata.getMap();
    const entry = {
      method,
      request: toJson(call.request),
      token: md["dapr-api-token"] || null,
      metadata: md,
      peer: call.getPeer(),
      at: Date.now(),
    };
    received.push(entry);
    if (opts["api-token"] && md["dapr-api-token"] !== opts["api-token"]) {
      entry.refused = "UNAUTHENTICATED";
      return callback({ code: grpc.status.UNAUTHENTICATED, details: "bad dapr-api-token" });
    }
    const f = takeFault(method);
    if (f && f.failEntries)
      return callback(null, { failedEntries: f.failEntries.map((id) => ({ entryId: id, error: "fault injected" })) });
    if (f) {
      entry.refused = f.code;
      const fail = () => callback({ code: f.code, details: f.details || "fault injected" });
      return f.delayMs ? setTimeout(fail, f.delayMs) : fail();
    }
    const answer = () => {
      if (STATE[method]) {
        const out = STATE[method](call.request);
        return out.code ? callback({ code: out.code, details: out.details }) : callback(null, out.response);
      }
      callback(null, method === "InvokeBinding" ? { data: Buffer.from("ok"), metadata: {} }
                     : method.startsWith("BulkPublishEvent") ? { failedEntries: [] } : {});
    };
    const delay = Number(opts["api-delay-ms"] || 0);
    return delay ? setTimeout(answer, delay) : answer();
  };
}

// ---- answers no gRPC server would send, made by hand on HTTP/2 ----
//
// A fault with "h2" takes the stream before grpc-js sees it (the HTTP/2
// server grpc-js makes is the one made here, see below), reads the request,
// then answers as the mode says:
//   statusThenReset  headers that carry grpc-status (default "0") without
//                    ending the stream, then RST_STREAM ("resetCode", default
//                    INTERNAL_ERROR): no trailer, so no status
//   statusThenEnd    the same headers, then the stream ended by an empty DATA
//                    frame: no trailer either
//   trailersOnly     one HEADERS frame that ends the stream with that
//                    grpc-status (any text): a trailers-only answer

function h2Fault(stream, headers) {
  const method = String(headers[":path"] || "").split("/").pop();
  const f = faults.find((x) => x.h2 && x.method === method && x.times > 0);
  if (!f) return false;
  f.times--;
  received.push({ method, request: null, token: headers["dapr-api-token"] || null,
                  metadata: {}, peer: "h2", at: Date.now(), refused: f.h2 });
  const head = { ":status": 200, "content-type": "application/grpc",
                 "grpc-status": f.grpcStatus === undefined ? "0" : String(f.grpcStatus) };
  stream.on("error", () => {});
  stream.resume();
  stream.on("end", () => {
    if (f.h2 === "trailersOnly") return stream.respond(head, { endStream: true });
    if (f.h2 === "statusThenEnd") {
      stream.respond(head);
      return setTimeout(() => stream.end(), 50); // the headers first, on their own
    }
    // close() ends the stream (DATA with END_STREAM) before it resets it,
    // unless the stream waits for trailers: it is reset instead of sending them
    stream.respond(head, { waitForTrailers: true });
    stream.on("wantTrailers", () =>
      stream.close(f.resetCode === undefined ? http2.constants.NGHTTP2_INTERNAL_ERROR : f.resetCode));
    setTimeout(() => stream.end(), 50);
  });
  return true;
}

// grpc-js makes its HTTP/2 server with http2.createServer: the server made
// here hands h2Fault each stream first.
const createServer = http2.createServer;
http2.createServer = function (...rest) {
  const server = createServer.apply(this, rest);
  const emit = server.emit;
  server.emit = function (event, stream, headers, ...more) {
    if (event === "stream" && h2Fault(stream, headers)) return true;
    return emit.call(this, event, stream, headers, ...more);
  };
  return server;
};

// Buffers as base64, everything else as it is.
function toJson(value) {
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toJson(v);
    return out;
  }
  return value;
}

// The control API's request JSON → a gRPC request: every field named in
// `bytes` is base64.
function fromJson(method, request) {
  const out = Object.assign({}, request);
  const bytes = (v) => (typeof v === "string" ? Buffer.from(v, "base64") : v);
  out.data = bytes(out.data);
  if (Array.isArray(out.entries))
    out.entries = out.entries.map((e) => {
      const entry = Object.assign({}, e);
      if (entry.bytes !== undefined) entry.bytes = bytes(entry.bytes);
      if (entry.cloudEvent) entry.cloudEvent = Object.assign({}, entry.cloudEvent, { data: bytes(entry.cloudEvent.data) });
      return entry;
    });
  return out;
}

// ---- the app's AppCallback, called as daprd calls it ----

let appClient, healthClient;

function appCall(method, request, metadata, deadlineMs, noToken) {
  return new Promise((resolve) => {
    const md = new grpc.Metadata();
    if (opts["app-token"] && !noToken) md.set("dapr-api-token", opts["app-token"]);
    for (const [k, v] of Object.entries(metadata || {})) md.set(k, v);
    const client = method === "HealthCheck" ? healthClient : appClient;
    const options = { deadline: Date.now() + (deadlineMs || 20000) };
    client[method](fromJson(method, request || {}), md, options, (err, res) => {
      if (err) resolve({ code: err.code, details: err.details, at: Date.now() });
      else resolve({ code: 0, response: toJson(res), at: Date.now() });
    });
  });
}

async function runLoad(method, requests, concurrency) {
  const results = new Array(requests.length);
  let next = 0;
  async function worker() {
    while (next < requests.length) {
      const i = next++;
      results[i] = await appCall(method, requests[i].request, requests[i].metadata, requests[i].deadlineMs);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, concurrency || 1) }, worker));
  return results;
}

// ---- the control API ----

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

function send(res, status, value) {
  const body = value === undefined ? "" : JSON.stringify(value);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

async function control(req, res) {
  const url = new URL(req.url, "http://127.0.0.1");
  const body = await readBody(req);
  const json = body ? JSON.parse(body) : {};
  if (req.method === "GET" && url.pathname === "/v1.0/healthz/outbound") return send(res, 204);
  if (req.method === "GET" && url.pathname === "/received") return send(res, 200, received);
  if (req.method === "GET" && url.pathname === "/states")
    return send(res, 200, Object.fromEntries([...items.keys()].filter(itemOf).map((k) => {
      const v = items.get(k);
      return [k.replace("\0", "/"), Object.assign({ value: v.value.toString(), etag: v.etag },
                                                   v.expires === null ? {} : { ttl: (v.expires - now()) / 1000 })];
    })));
  if (req.method === "POST" && url.pathname === "/states/clock") {
    if (typeof json.advance !== "number" || !(json.advance >= 0)) return send(res, 400, { error: "advance: seconds >= 0" });
    clockMs += 1000 * json.advance;
    return send(res, 204);
  }
  if (req.method === "DELETE" && url.pathname === "/received") {
    received.length = 0;
    return send(res, 204);
  }
  if (req.method === "POST" && url.pathname === "/faults") {
    faults = json.map((f) => Object.assign({ times: 1 }, f));
    return send(res, 204);
  }
  if (req.method === "POST" && url.pathname === "/call")
    return send(res, 200, await appCall(json.method, json.request, json.metadata, json.deadlineMs, json.noToken));
  if (req.method === "POST" && url.pathname === "/load")
    return send(res, 200, { results: await runLoad(json.method, json.requests, json.concurrency) });
  return send(res, 404, { error: "no such control route" });
}

function main() {
  const server = new grpc.Server();
  server.addService(pkg.Dapr.service, {
    InvokeBinding: apiHandler("InvokeBinding"),
    PublishEvent: apiHandler("PublishEvent"),
    BulkPublishEventAlpha1: apiHandler("BulkPublishEventAlpha1"),
    ...(opts["no-bulk-v1"] ? {} : { BulkPublishEvent: apiHandler("BulkPublishEvent") }),
    GetState: apiHandler("GetState"),
    SaveState: apiHandler("SaveState"),
    DeleteState: apiHandler("DeleteState"),
  });
  server.bindAsync("127.0.0.1:" + (opts["grpc-port"] || 0), grpc.ServerCredentials.createInsecure(), (err, grpcPort) => {
    if (err) throw err;
    const target = "127.0.0.1:" + opts["app-port"];
    const channelOptions = { "grpc.max_receive_message_length": 64 << 20, "grpc.max_send_message_length": 64 << 20 };
    appClient = new pkg.AppCallback(target, grpc.credentials.createInsecure(), channelOptions);
    healthClient = new pkg.AppCallbackHealthCheck(target, grpc.credentials.createInsecure(), channelOptions);
    const httpServer = http.createServer((req, res) => {
      control(req, res).catch((e) => send(res, 500, { error: String(e && e.stack || e) }));
    });
    httpServer.listen(0, "127.0.0.1", () => {
      const ports = { grpc: grpcPort, http: httpServer.address().port };
      fs.writeFileSync(opts["ready-file"] + ".tmp", JSON.stringify(ports));
      fs.renameSync(opts["ready-file"] + ".tmp", opts["ready-file"]);
    });
  });
}

main();
