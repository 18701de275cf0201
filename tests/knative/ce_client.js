// SPDX-License-Identifier: Apache-2.0
// Sends one CloudEvent with the CloudEvents JavaScript SDK's own HTTP emitter
// and prints what came back as one JSON line: the response headers and body,
// and the reply decoded by the SDK when it is a CloudEvent.
//
//   node ce_client.js URL binary|structured '{"type":…,"source":…,"data":…}'
"use strict";

const { CloudEvent, HTTP, Mode, emitterFor, httpTransport } = require("cloudevents");

async function main() {
  const [url, mode, props] = process.argv.slice(2);
  const event = new CloudEvent(JSON.parse(props));
  const emit = emitterFor(httpTransport(url), {
    mode: mode === "structured" ? Mode.STRUCTURED : Mode.BINARY,
  });
  const response = await emit(event);
  let reply = null;
  let replyError = null;
  try {
    if (HTTP.isEvent({ headers: response.headers, body: response.body })) {
      const decoded = HTTP.toEvent({ headers: response.headers, body: response.body });
      reply = JSON.parse(JSON.stringify(decoded));
    }
  } catch (err) {
    replyError = String(err && err.message ? err.message : err);
  }
  process.stdout.write(
    JSON.stringify({
      sent: JSON.parse(JSON.stringify(event)),
      headers: response.headers,
      body: response.body,
      reply,
      replyError,
    }) + "\n",
  );
}

main().catch((err) => {
  process.stderr.write(`ce_client: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
