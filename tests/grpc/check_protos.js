// SPDX-License-Identifier: Apache-2.0
// Our .proto subset (libofctx/proto) against the .proto files Dapr publishes
// (those of @dapr/dapr, its JavaScript SDK): every message and enum we
// declare must exist there under the same full name, and every field must
// have the same number, type, label and map-ness. Field numbers are the wire
// contract: a wrong one would pass every test against our own code.
//
//   node check_protos.js LIBOFCTX_PROTO_DIR
"use strict";

const path = require("path");
const protobuf = require(path.join(__dirname, "node_modules", "protobufjs"));

const ours = new protobuf.Root();
ours.resolvePath = (origin, target) => path.join(process.argv[2], path.basename(target));
ours.loadSync(["dapr.proto", "struct.proto", "common.proto"].map((f) => path.join(process.argv[2], f)), { keepCase: true });

const daprDir = path.join(__dirname, "node_modules", "@dapr", "dapr", "proto");
const theirs = new protobuf.Root();
theirs.resolvePath = (origin, target) => path.join(daprDir, target);
theirs.loadSync(["dapr/proto/runtime/v1/appcallback.proto", "dapr/proto/runtime/v1/dapr.proto",
  "google/protobuf/struct.proto"], { keepCase: true });

let faults = 0, checked = 0;
function fault(text) {
  console.log("FAULT " + text);
  faults++;
}

function walk(ns, visit) {
  for (const nested of ns.nestedArray) {
    visit(nested);
    if (nested.nestedArray) walk(nested, visit);
  }
}

walk(ours, (ourType) => {
  if (!(ourType instanceof protobuf.Type) && !(ourType instanceof protobuf.Enum)) return;
  const name = ourType.fullName;
  let their;
  try {
    their = theirs.lookup(name);
  } catch (e) {
    their = null;
  }
  if (!their) return fault(name + ": not in Dapr's protos");
  if (ourType instanceof protobuf.Enum) {
    for (const [k, v] of Object.entries(ourType.values)) {
      checked++;
      if (their.values[k] !== v) fault(name + "." + k + ": " + v + " here, " + their.values[k] + " in Dapr's");
    }
    return;
  }
  for (const f of ourType.fieldsArray) {
    checked++;
    // by name (protobufjs' built-in google.protobuf types spell it in camel case)
    const camel = (n) => n.replace(/_([a-z])/g, (m, c) => c.toUpperCase());
    const t = their.fields[f.name] || their.fieldsArray.find((x) => camel(x.name) === camel(f.name));
    if (!t) {
      fault(name + "." + f.name + ": no such field in Dapr's");
      continue;
    }
    f.resolve();
    t.resolve();
    const ourKind = [f.id, f.resolvedType ? f.resolvedType.fullName : f.type, f.repeated, f.map ? f.keyType : ""];
    const theirKind = [t.id, t.resolvedType ? t.resolvedType.fullName : t.type, t.repeated, t.map ? t.keyType : ""];
    if (JSON.stringify(ourKind) !== JSON.stringify(theirKind))
      fault(name + "." + f.name + ": " + JSON.stringify(ourKind) + " here, " + JSON.stringify(theirKind) + " in Dapr's");
  }
});

// The methods we serve and call exist in Dapr's services, with our types.
const methods = [
  ["dapr.proto.runtime.v1.AppCallback", "OnBindingEvent", "BindingEventRequest", "BindingEventResponse"],
  ["dapr.proto.runtime.v1.AppCallback", "OnTopicEvent", "TopicEventRequest", "TopicEventResponse"],
  ["dapr.proto.runtime.v1.AppCallback", "OnBulkTopicEvent", "TopicEventBulkRequest", "TopicEventBulkResponse"],
  ["dapr.proto.runtime.v1.AppCallback", "ListInputBindings", "google.protobuf.Empty", "ListInputBindingsResponse"],
  ["dapr.proto.runtime.v1.AppCallback", "ListTopicSubscriptions", "google.protobuf.Empty", "ListTopicSubscriptionsResponse"],
  ["dapr.proto.runtime.v1.AppCallbackHealthCheck", "HealthCheck", "google.protobuf.Empty", "HealthCheckResponse"],
  ["dapr.proto.runtime.v1.Dapr", "InvokeBinding", "InvokeBindingRequest", "InvokeBindingResponse"],
  ["dapr.proto.runtime.v1.Dapr", "PublishEvent", "PublishEventRequest", "google.protobuf.Empty"],
  ["dapr.proto.runtime.v1.Dapr", "BulkPublishEvent", "BulkPublishRequest", "BulkPublishResponse"],
  ["dapr.proto.runtime.v1.Dapr", "BulkPublishEventAlpha1", "BulkPublishRequest", "BulkPublishResponse"],
];
for (const [service, method, req, res] of methods) {
  checked++;
  const m = theirs.lookupService(service).methods[method];
  if (!m) {
    fault(service + "/" + method + ": no such method in Dapr's");
    continue;
  }
  m.resolve();
  const short = (t) => t.fullName.replace(/^\.dapr\.proto\.runtime\.v1\./, "").replace(/^\./, "");
  if (short(m.resolvedRequestType) !== req || short(m.resolvedResponseType) !== res)
    fault(service + "/" + method + ": takes " + short(m.resolvedRequestType) + ", returns " + short(m.resolvedResponseType));
}

console.log(checked + " fields, values and methods checked against Dapr's protos, " + faults + " faults");
process.exit(faults ? 1 : 0);
