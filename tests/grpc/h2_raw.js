// SPDX-License-Identifier: Apache-2.0
// Raw HTTP/2 requests for the gRPC server's hostile-client tests, made with
// Node's own http2 client, so that a test can send what no gRPC library
// would: a wrong content-type, GET, a compressed or cut message, huge
// headers, more streams than allowed, a request that never ends.
//
//   node h2_raw.js PORT < SPEC
// SPEC (JSON, on stdin): {"requests": [{"headers": {...}, "body": base64, "end": true,
//                             "waitMs": n}], "resetFlood": n}
// holdMs keeps the connection open that long after the requests.
// resetFlood opens n streams and cancels each at once (the "rapid reset"
// attack) before the requests are made.
// prints {"remoteSettings": {...}, "results": [{"status", "headers",
//         "trailers", "body", "rstCode", "error"}], "goaway": code|null}
"use strict";

const http2 = require("http2");

const port = Number(process.argv[2]);
const spec = JSON.parse(require("fs").readFileSync(0, "utf8")); // from stdin
const out = { remoteSettings: null, results: [], goaway: null };

const session = http2.connect("http://127.0.0.1:" + port, { settings: { enablePush: false }, maxHeaderListPairs: 100000, maxSendHeaderBlockLength: 1 << 24 });
session.on("error", (e) => { out.sessionError = String(e.code || e.message); });
session.on("goaway", (code) => { out.goaway = code; });
session.on("remoteSettings", (s) => { out.remoteSettings = s; });

function one(r) {
  return new Promise((resolve) => {
    const res = { status: null, headers: null, trailers: null, body: "", rstCode: null, error: null };
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
  if (spec.holdMs) await new Promise((r) => setTimeout(r, spec.holdMs));
  if (!out.remoteSettings) out.remoteSettings = session.remoteSettings;
  session.close();
  setTimeout(() => { process.stdout.write(JSON.stringify(out)); process.exit(0); }, 50);
});
setTimeout(() => { process.stdout.write(JSON.stringify(Object.assign(out, { timeout: true }))); process.exit(0); }, Number(spec.timeoutMs || 30000));
