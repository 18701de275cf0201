// SPDX-License-Identifier: Apache-2.0
// Our OTLP subset (libofctx/proto/otlp_trace.proto) against the code that
// OpenTelemetry JS generates from the official protos (the static protobufjs
// module that @opentelemetry/otlp-transformer ships): every message and enum
// we declare must exist there, and every field must be written with the same
// number, wire type and encoding, repeated where ours is. Field numbers are
// the wire contract: a wrong one would pass every test against our own code.
//
//   node check_protos.js LIBOFCTX_PROTO_DIR
"use strict";

const path = require("path");
const protobuf = require(path.join(__dirname, "node_modules", "protobufjs"));
const generated = require(path.join(__dirname, "node_modules", "@opentelemetry", "otlp-transformer",
  "build", "src", "generated", "root.js"));

// Where each of our top-level names lives in the official packages.
const PACKAGES = {
  ExportTraceServiceRequest: "opentelemetry.proto.collector.trace.v1",
  ResourceSpans: "opentelemetry.proto.trace.v1",
  ScopeSpans: "opentelemetry.proto.trace.v1",
  Span: "opentelemetry.proto.trace.v1",
  Status: "opentelemetry.proto.trace.v1",
  Resource: "opentelemetry.proto.resource.v1",
  InstrumentationScope: "opentelemetry.proto.common.v1",
  KeyValue: "opentelemetry.proto.common.v1",
  AnyValue: "opentelemetry.proto.common.v1",
};

const ours = new protobuf.Root();
ours.loadSync(path.join(process.argv[2], "otlp_trace.proto"));
ours.resolveAll();

let faults = 0, checked = 0;
function fault(text) {
  console.log("FAULT " + text);
  faults++;
}

// "ofctx.otlp.Span.Link" → "opentelemetry.proto.trace.v1.Span.Link"
function officialName(fullName) {
  const parts = fullName.replace(/^\.?ofctx\.otlp\./, "").split(".");
  const pkg = PACKAGES[parts[0]];
  return pkg ? pkg + "." + parts.join(".") : null;
}

function lookup(name) {
  return name.split(".").reduce((o, k) => (o == null ? o : o[k]), generated);
}

// How protobufjs writes a scalar of each type.
const WIRE = { string: [2, "string"], bytes: [2, "bytes"], bool: [0, "bool"], int64: [0, "int64"],
  uint32: [0, "uint32"], int32: [0, "int32"], double: [1, "double"], fixed64: [1, "fixed64"],
  fixed32: [5, "fixed32"] };

function checkField(typeName, their, field) {
  const src = their.encode.toString();
  const at = src.indexOf("message." + field.name + " != null");
  checked++;
  if (at < 0) return fault(typeName + "." + field.name + ": not in the official message");
  const rest = src.slice(at);
  const m = /\/\* id (\d+), wireType (\d+) =\*\/ ?\d+\)(?:\.(\w+)\(|\.fork\(\))/.exec(rest);
  const head = rest.slice(0, m ? m.index : 0);
  if (!m) return fault(typeName + "." + field.name + ": cannot read how it is written");
  if (Number(m[1]) !== field.id) fault(typeName + "." + field.name + ": number " + field.id + " here, " + m[1] + " there");
  const repeated = /\.length\)/.test(head);
  if (repeated !== field.repeated) fault(typeName + "." + field.name + ": repeated " + field.repeated + " here, " + repeated + " there");
  let want;
  if (field.resolvedType instanceof protobuf.Type) {
    want = [2, null];
    const callee = /\$root\.([\w.]+)\.encode\(/.exec(head);
    const expected = officialName(field.resolvedType.fullName);
    if (!callee || callee[1] !== expected)
      fault(typeName + "." + field.name + ": message " + expected + " here, " + (callee ? callee[1] : "none") + " there");
  } else if (field.resolvedType instanceof protobuf.Enum) {
    want = WIRE.int32;
  } else {
    want = WIRE[field.type];
  }
  if (!want) return fault(typeName + "." + field.name + ": type " + field.type + " is not checked");
  if (Number(m[2]) !== want[0] || (want[1] && m[3] !== want[1]))
    fault(typeName + "." + field.name + ": " + field.type + " here, written as wire type " + m[2] + " " + (m[3] || "message") + " there");
}

function walk(ns) {
  for (const nested of ns.nestedArray) {
    if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum) {
      const name = officialName(nested.fullName);
      const their = name && lookup(name);
      if (!their) {
        fault(nested.fullName + ": not in the official protos");
      } else if (nested instanceof protobuf.Enum) {
        for (const [k, v] of Object.entries(nested.values)) {
          checked++;
          if (their[k] !== v) fault(name + "." + k + ": " + v + " here, " + their[k] + " there");
        }
      } else {
        for (const field of nested.fieldsArray) checkField(name, their, field);
      }
    }
    if (nested.nestedArray) walk(nested);
  }
}

walk(ours);
if (checked === 0) fault("nothing was checked");
console.log(checked + " fields and values checked, " + faults + " faults");
process.exit(faults ? 1 : 0);
