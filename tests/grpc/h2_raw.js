// SPDX-License-Identifier: Apache-2.0
// Raw HTTP/2 requests for the gRPC server's hostile-client tests, made with
// Node's own http2 client, so that a test can send what no gRPC library
// would: a wrong content-type, GET, a compressed or cut message, huge
// headers, more streams than allowed, a request that never ends.
//
//   node h2_raw.js PORT < SPEC
// SPEC (JSON, on stdin): {"requests": [{"headers": {...}, "body": base64, "end": true,
//                             "waitMs": n, "startMs": n, "delayMs": n}],
//                         "resetFlood": n,
//                         "settings": {...}, "readyFile": path, "holdMs": n, "pingMs": n,
//                         "flood": [...]}
// startMs waits that long before making the request (its HEADERS), delayMs
// that long after them, before its body.
// settings are our own SETTINGS (e.g. {"initialWindowSize": 0}: the server
// may send no DATA, as from a client that never reads).
// readyFile is written once the requests are answered.
// holdMs keeps the connection open that long after the requests, or until
// the server closes it ("closed": true); pingMs sends a PING that often
// meanwhile (counted in "pings" when acknowledged).
// resetFlood opens n streams and cancels each at once (the "rapid reset"
// attack) before the requests are made.
// prints {"remoteSettings": {...}, "results": [{"status", "headers",
//         "trailers", "body", "rstCode", "error"}], "goaway": code|null}
//
// flood: [{"connections": n, "streams": m, "headers": {...}, "end": bool,
// "settings": {...}}] opens n connections per entry, each making m calls at
// once with those headers (the body, an empty message, ended or not), then
// holds them all for holdMs without reading; prints {"flood": {"streams",
// "statuses": {grpc-status or HTTP status: count}, "resets": {code: count},
// "errors", "goaways"}}.
"use strict";

const http2 = require("http2");

const port = Number(process.argv[2]);
const spec = JSON.parse(require("fs").readFileSync(0, "utf8")); // from stdin
const out = { remoteSettings: null, results: [], goaway: null };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function connect(settings) {
  return http2.connect("http://127.0.0.1:" + port, { settings: Object.assign({ enablePush: false }, settings || {}),
    maxHeaderListPairs: 100000, maxSendHeaderBlockLength: 1 << 24, maxSessionMemory: 1000 });
}

function finish() {
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

if (spec.flood) {
  // many connections, calls never read: the server must hold them within its budget and clocks
  const f = { streams: 0, statuses: {}, resets: {}, errors: 0, goaways: 0 };
  const count = (o, k) => { o[k] = (o[k] || 0) + 1; };
  const sessions = [];
  out.flood = f;
  for (const g of spec.flood) {
    for (let i = 0; i < g.connections; i++) {
      const s = connect(g.settings);
      sessions.push(s);
      s.on("error", () => { f.errors++; });
      s.on("goaway", () => { f.goaways++; });
      s.on("connect", () => {
        for (let j = 0; j < g.streams; j++) {
          let st;
          try {
            st = s.request(Object.assign({ ":method": "POST", ":path": "/dapr.proto.runtime.v1.AppCallbackHealthCheck/HealthCheck",
              "content-type": "application/grpc", te: "trailers" }, g.headers || {}), { endStream: false });
          } catch (e) {
            f.errors++;
            continue;
          }
          f.streams++;
          st.on("response", (h) => { if (h["grpc-status"] !== undefined || h[":status"] !== 200) count(f.statuses, h["grpc-status"] || h[":status"]); });
          st.on("trailers", (t) => count(f.statuses, t["grpc-status"]));
          st.on("error", () => {});
          st.on("close", () => { if (st.rstCode) count(f.resets, st.rstCode); });
          const body = Buffer.from([0, 0, 0, 0, 0]);
          if (g.end === false) st.write(body);
          else st.end(body);
        }
      });
    }
  }
  setTimeout(() => { for (const s of sessions) s.destroy(); setTimeout(finish, 50); }, Number(spec.holdMs || 1000));
  return;
}

const session = connect(spec.settings);
let closed = null;
const sessionClosed = new Promise((r) => { closed = r; });
session.on("error", (e) => { out.sessionError = String(e.code || e.message); });
session.on("goaway", (code) => { out.goaway = code; });
session.on("remoteSettings", (s) => { out.remoteSettings = s; });
session.on("close", () => closed());

function one(r) {
  return new Promise(async (resolve) => {
    const res = { status: null, headers: null, trailers: null, body: "", rstCode: null, error: null };
    if (r.startMs) await sleep(r.startMs);
    const headers = Object.assign({ ":method": "POST", ":path": "/dapr.proto.runtime.v1.AppCallbackHealthCheck/HealthCheck",
      "content-type": "application/grpc", te: "trailers" }, r.headers || {});
    let stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (e) {
      res.error = String(e.code || e.message);
      return resolve(res);
    }
    const chunks = [];
    stream.on("response", (h) => { res.status = h[":status"]; res.headers = h; });
    stream.on("trailers", (t) => { res.trailers = t; });
    stream.on("data", (c) => chunks.push(c));
    stream.on("error", (e) => { res.error = String(e.code || e.message); });
    stream.on("close", () => {
      res.rstCode = stream.rstCode;
      res.body = Buffer.concat(chunks).toString("base64");
      resolve(res);
    });
    if (r.delayMs) await sleep(r.delayMs);
    const body = r.body ? Buffer.from(r.body, "base64") : Buffer.from([0, 0, 0, 0, 0]);
    if (r.end === false) stream.write(body);
    else stream.end(body);
    if (r.waitMs) setTimeout(() => { if (!stream.closed) { res.error = "still open"; stream.close(); } }, r.waitMs);
  });
}

session.on("connect", async () => {
  for (let i = 0; i < (spec.resetFlood || 0) && !session.destroyed && !out.goaway; i++) {
    try {
      const s = session.request({ ":method": "POST", ":path": "/x", "content-type": "application/grpc" });
      s.on("error", () => {});
      s.close(http2.constants.NGHTTP2_CANCEL);
    } catch (e) {
      break;
    }
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  if (spec.resetFlood) await new Promise((r) => setTimeout(r, 200));
  out.results = await Promise.all((spec.requests || []).map(one));
  if (spec.readyFile) require("fs").writeFileSync(spec.readyFile, "ready");
  let pinger = null;
  if (spec.pingMs) {
    out.pings = 0;
    pinger = setInterval(() => {
      if (!session.destroyed && !session.closed) session.ping((err) => { if (!err) out.pings++; });
    }, spec.pingMs);
  }
  if (spec.holdMs) {
    const held = await Promise.race([sleep(spec.holdMs).then(() => false), sessionClosed.then(() => true)]);
    if (held) out.closed = true;
  }
  if (pinger) clearInterval(pinger);
  if (!out.remoteSettings) out.remoteSettings = session.remoteSettings;
  session.close();
  setTimeout(finish, 50);
});
setTimeout(() => { Object.assign(out, { timeout: true }); finish(); }, Number(spec.timeoutMs || 30000));
