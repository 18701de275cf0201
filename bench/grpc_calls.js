// SPDX-License-Identifier: Apache-2.0
// gRPC calls one after another on one HTTP/2 connection, for
// bench/instructions.py: Node's own http2 client (no gRPC library), so that
// each call is the same frames in the same order on every run.
//
//   node grpc_calls.js PORT PATH BODY_FILE
// BODY_FILE holds the request body as sent (the 5-byte gRPC prefix and the
// message). Each line on stdin is a number N: N calls are made, each once
// the one before has ended, then "ok" is printed (or the first failure, and
// the script exits 1). The connection stays open until stdin ends.
"use strict";

const http2 = require("http2");
const fs = require("fs");
const readline = require("readline");

const [port, path, bodyFile] = process.argv.slice(2);
const body = fs.readFileSync(bodyFile);
const session = http2.connect("http://127.0.0.1:" + port, { settings: { enablePush: false } });
session.on("error", (e) => fail("session: " + e.message));

function fail(why) {
  process.stdout.write(why + "\n");
  process.exit(1);
}

function call() {
  return new Promise((resolve) => {
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc",
      te: "trailers" });
    let status;
    req.on("response", (h) => { if (h["grpc-status"] !== undefined) status = h["grpc-status"]; });
    req.on("trailers", (t) => { status = t["grpc-status"]; });
    req.on("data", () => {});
    req.on("error", (e) => fail("call: " + e.message));
    req.on("close", () => (status === "0" ? resolve() : fail("grpc-status " + status)));
    req.end(body);
  });
}

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on("line", (line) => {
  queue = queue.then(async () => {
    for (let i = 0; i < Number(line); i++) await call();
    process.stdout.write("ok\n");
  });
});
lines.on("close", () => queue.then(() => session.close()));
