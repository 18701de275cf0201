#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A Dapr sidecar (daprd) emulator: `ofctx run` starts it beside a function
(it is installed with the tool, in share/libofctx), and the libofctx
integration tests run their functions under it.

It speaks the daprd HTTP API an app with app-protocol http uses (output
bindings, publish, health), and it plays daprd's part toward the app (startup
sequence, OPTIONS probes, input-binding and pub/sub deliveries) when a test
asks it to through the control API under /emulator/.

Every behaviour follows daprd's code; comments cite the areas as "contract
§N", the rows of the table in tests/dapr/README.md (beside its contract
test, tests/dapr/test_daprd_emulator.py), which names the daprd sources of
each.  Standard library only (Python >= 3.11).
"""

import argparse
import base64
import datetime
import decimal
import http.client
import http.server
import json
import math
import os
import re
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import uuid

DEFAULT_MAX_BODY = 4 << 20            # contract §5: DefaultMaxRequestBodySize = 4 << 20
OPTIONS_PROBE_TIMEOUT_MS = 3000       # contract §1.1: DefaultAppBindingOptionsTimeout 3 s
APP_DIAL_INTERVAL = 0.1               # contract §4.2 step 2: TCP dial every 100 ms
APP_DIAL_TIMEOUT = 0.5                # contract §4.2 step 2: 500 ms dial timeout
CONTROL_BODY_CAP = 256 << 20          # the control API reads bodies up to this size
DRAIN_CAP = 256 << 20                 # oversize API bodies are drained up to this, then the connection is closed
USER_AGENT = "Go-http-client/1.1"     # what daprd's Go HTTP client sends

ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
RESOURCE_INFO_TYPE = "type.googleapis.com/google.rpc.ResourceInfo"


# ---------------------------------------------------------------------------
# Go encoding/json emulation (contract §3.1: the payload is json.Marshal(data)
# after decoding into `any`; contract §3.2: the CloudEvent map is marshalled
# the same way, data decoded with UseNumber).
# ---------------------------------------------------------------------------

class GoJSONError(Exception):
    """A decoding error, with Go's error text where practical."""


class GoNumber(str):
    """The literal text of a JSON number, kept until marshalling decides
    between float64 (bindings) and json.Number (CloudEvent data)."""


class GoObject(dict):
    """A decoded JSON object; `pairs` keeps duplicate keys in order (Go
    assigns struct fields key by key, case-insensitively)."""

    pairs = ()


def _object_hook(pairs):
    obj = GoObject(pairs)
    obj.pairs = pairs
    return obj


def _reject_constant(name):
    raise ValueError(name)


_DECODER = json.JSONDecoder(object_pairs_hook=_object_hook, parse_int=GoNumber,
                            parse_float=GoNumber, parse_constant=_reject_constant,
                            strict=True)
_JSON_WS = " \t\n\r"
# Go's encoding/json reads nesting up to 10000 levels; Python's decoder
# recurses once per level.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 12000))


def _go_quote_char(c):
    # encoding/json quoteChar: the offending byte, Go-quoted.
    if c == "'":
        return "'\\''"
    if c == '"':
        return "'\"'"
    o = ord(c)
    if o >= 0x80:
        return "'\\x%02x'" % c.encode("utf-8", "replace")[0]
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f", "\a": "\\a", "\v": "\\v",
             "\\": "\\\\"}
    if c in named:
        return "'" + named[c] + "'"
    if o < 0x20 or o == 0x7F:
        return "'\\x%02x'" % o
    return "'" + c + "'"


def _innermost_container(text, pos):
    stack = []
    in_str = esc = False
    for ch in text[:pos]:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else None


def _go_syntax_message(text, err):
    pos = err.pos
    if pos >= len(text) or err.msg.startswith("Unterminated string"):
        return "unexpected end of JSON input"
    msg = err.msg
    if msg.startswith("Expecting property name"):
        ctx = "looking for beginning of object key string"
    elif msg.startswith("Expecting ':'"):
        ctx = "after object key"
    elif msg.startswith("Expecting ','"):
        ctx = ("after object key:value pair" if _innermost_container(text, pos) == "{"
               else "after array element")
    elif msg.startswith("Invalid control character"):
        ctx = "in string literal"
    elif msg.startswith("Invalid \\"):
        ctx = "in string escape code"
    elif msg.startswith("Extra data"):
        ctx = "after top-level value"
    else:
        for literal in ("null", "true", "false"):
            if text[pos] == literal[0]:
                got = text[pos:pos + len(literal)]
                if literal.startswith(got):
                    return "unexpected end of JSON input"
                n = next(i for i in range(len(got)) if got[i] != literal[i])
                return "invalid character %s in literal %s (expecting %s)" % (
                    _go_quote_char(got[n]), literal, _go_quote_char(literal[n]))
        ctx = "looking for beginning of value"
    return "invalid character %s %s" % (_go_quote_char(text[pos]), ctx)


def go_json_parse(data, first_value_only=False):
    """Decode like Go: json.Unmarshal (whole input, trailing whitespace only)
    or, with first_value_only, like json.Decoder.Decode (first value; the rest
    is ignored).  Invalid UTF-8 becomes U+FFFD as in Go."""
    text = data.decode("utf-8", "replace") if isinstance(data, (bytes, bytearray)) else data
    i = 0
    while i < len(text) and text[i] in _JSON_WS:
        i += 1
    if i == len(text):
        raise GoJSONError("EOF" if first_value_only else "unexpected end of JSON input")
    try:
        value, end = _DECODER.raw_decode(text, i)
    except json.JSONDecodeError as err:
        raise GoJSONError(_go_syntax_message(text, err)) from None
    except ValueError as err:  # NaN / Infinity are not JSON for Go
        name = str(err)
        if name.startswith("-"):
            raise GoJSONError("invalid character 'I' in numeric literal") from None
        raise GoJSONError("invalid character %s looking for beginning of value"
                          % _go_quote_char(name[:1] or "?")) from None
    if not first_value_only:
        j = end
        while j < len(text) and text[j] in _JSON_WS:
            j += 1
        if j != len(text):
            raise GoJSONError("invalid character %s after top-level value" % _go_quote_char(text[j]))
    return value


def is_json_string(v):
    """A decoded JSON string (GoNumber is a str subclass holding a number)."""
    return isinstance(v, str) and not isinstance(v, GoNumber)


def _go_kind(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, GoNumber):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    return "array"


def check_float64(v, where):
    """Decoding into `any` turns numbers into float64; out-of-range literals
    are an UnmarshalTypeError in Go."""
    if isinstance(v, GoNumber):
        if math.isinf(float(v)):
            raise GoJSONError("json: cannot unmarshal number %s into Go %s of type float64" % (v, where))
    elif isinstance(v, dict):
        for item in v.values():
            check_float64(item, where)
    elif isinstance(v, list):
        for item in v:
            check_float64(item, where)


def go_format_float(f):
    """strconv formatting as encoding/json's floatEncoder does for float64:
    shortest round-trip digits, 'f' for 1e-6 <= |f| < 1e21, else 'e' with the
    e-07 -> e-7 clean-up."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError("unsupported value: %r" % f)
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    a = abs(f)
    _, digits, exp = decimal.Decimal(repr(a)).as_tuple()
    digits = list(digits)
    while len(digits) > 1 and digits[-1] == 0:
        digits.pop()
        exp += 1
    s = "".join(str(d) for d in digits)
    point = len(s) + exp
    if 1e-6 <= a < 1e21:
        if exp >= 0:
            body = s + "0" * exp
        elif point > 0:
            body = s[:point] + "." + s[point:]
        else:
            body = "0." + "0" * (-point) + s
    else:
        e10 = point - 1
        mant = s[0] + ("." + s[1:] if len(s) > 1 else "")
        body = mant + ("e-%d" % -e10 if e10 < 0 else "e+%02d" % e10)
    return ("-" if f < 0 else "") + body


_GO_SHORT_ESCAPES = {0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t",
                     0x22: '\\"', 0x5C: "\\\\"}


def go_quote(s):
    """encoding/json string encoding with HTML escaping (the default):
    <, >, & and U+2028/U+2029 as \\u escapes, \\b \\f (Go >= 1.22), other
    control characters as \\u00XX (lower-case hex); lone surrogates (which Go
    decodes as U+FFFD) as U+FFFD."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if o in _GO_SHORT_ESCAPES:
            out.append(_GO_SHORT_ESCAPES[o])
        elif o < 0x20 or ch in "<>&" or o in (0x2028, 0x2029):
            out.append("\\u%04x" % o)
        elif 0xD800 <= o <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _fix_surrogates(s):
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in s)


def go_marshal(value, numbers="float64"):
    """json.Marshal: compact, map keys sorted (byte order), HTML-escaped.
    numbers="float64" re-formats numbers as float64 (bindings, contract §3.1);
    numbers="literal" keeps them as written (json.Number, contract §3.2)."""
    out = []
    _go_encode(value, out, numbers)
    return "".join(out)


def _go_encode(v, out, numbers):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, GoNumber):
        out.append(str(v) if numbers == "literal" else go_format_float(float(v)))
    elif isinstance(v, str):
        out.append(go_quote(v))
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        out.append(go_format_float(v))
    elif isinstance(v, dict):
        items = {}
        for k, item in v.items():
            items[_fix_surrogates(str(k))] = item
        out.append("{")
        for n, k in enumerate(sorted(items, key=lambda key: key.encode("utf-8"))):
            if n:
                out.append(",")
            out.append(go_quote(k))
            out.append(":")
            _go_encode(items[k], out, numbers)
        out.append("}")
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for n, item in enumerate(v):
            if n:
                out.append(",")
            _go_encode(item, out, numbers)
        out.append("]")
    else:
        raise TypeError("cannot marshal %r" % (v,))


def plain_json(value):
    """Turn decoded values (GoNumber, GoObject) into plain Python for the
    control API's own JSON answers."""
    if isinstance(value, GoNumber):
        f = float(value)
        if re.fullmatch(r"-?\d+", value) and abs(f) < 2 ** 63:
            return int(value)
        return f if not math.isinf(f) else str(value)
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    return value


def dumps(obj):
    return json.dumps(plain_json(obj), separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------------------
# Small Go/net-http helpers.
# ---------------------------------------------------------------------------

_TOKEN_CHARS = set("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def go_canonical_header(key):
    """textproto.CanonicalMIMEHeaderKey: returned unchanged if it holds a
    non-token byte; else upper-case first letter and letters after '-'."""
    if not key or any(c not in _TOKEN_CHARS for c in key):
        return key
    out = []
    upper = True
    for c in key:
        out.append(c.upper() if upper else c.lower())
        upper = c == "-"
    return "".join(out)


def valid_header_name(name):
    return bool(name) and all(c in _TOKEN_CHARS for c in name)


def valid_header_value(value):
    return all(not (ord(c) < 0x20 and c != "\t") and ord(c) != 0x7F for c in value)


def go_path_clean(p):
    """path.Clean (contract §3: double slashes cleaned, trailing slash
    stripped; '.' and '..' resolved as Go does)."""
    if p == "":
        return "."
    rooted = p.startswith("/")
    parts = []
    for seg in p.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(seg)
    out = "/".join(parts)
    if rooted:
        out = "/" + out
    return out or "."


def go_parse_bool(s):
    """strconv.ParseBool."""
    if s in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if s in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(s)


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})(.{0,2})", re.S)


def go_query_unescape(s):
    """url.QueryUnescape ('+' becomes a space); None if an escape is invalid."""
    bad = _BAD_ESCAPE.search(s)
    if bad:
        return None, "invalid URL escape %s" % json.dumps("%" + bad.group(1))
    return urllib.parse.unquote_plus(s, errors="replace"), None


def status_text(code):
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return ""


def go_transport_error(exc, host, port):
    """A Go-like description of a client-side transport error."""
    if isinstance(exc, ConnectionRefusedError):
        return "dial tcp %s:%d: connect: connection refused" % (host, port)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    if isinstance(exc, ConnectionResetError):
        return "read tcp: connection reset by peer"
    if isinstance(exc, (http.client.RemoteDisconnected, http.client.IncompleteRead)):
        return "EOF"
    if isinstance(exc, BrokenPipeError):
        return "write: broken pipe"
    return "%s: %s" % (type(exc).__name__, exc)


def rfc3339_now(offset_seconds=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_size(text):
    m = re.fullmatch(r"\s*(\d+)\s*(Ki|Mi|Gi|K|M|G|k)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError("not a size in bytes: %r" % text)
    mult = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "k": 1000, "K": 1000,
            "M": 1000 ** 2, "G": 1000 ** 3}[m.group(2)]
    return int(m.group(1)) * mult


# Contract §1.2 (InternalMetadataToHTTPHeader): keys dropped on the way to the app.
_DROPPED_METADATA = {"content-type", "content-length", "connection", "keep-alive", "proxy-connection",
                     "transfer-encoding", "upgrade", "te", "trailer", "proxy-authenticate",
                     "proxy-authorization", "destination-app-id", "grpc-trace-bin"}


def metadata_to_headers(metadata):
    """Contract §1.2: one header per metadata key; key lower-cased, then
    Go-canonicalised on the wire; content-type/content-length, *-bin,
    hop-by-hop and destination-app-id dropped; grpc-* and :pseudo keys get a
    dapr- prefix; traceparent/tracestate re-emitted as such."""
    headers = []
    for key, value in metadata.items():
        k = key.lower()
        if k in _DROPPED_METADATA or k.endswith("-bin"):
            continue
        if k.startswith("grpc-"):
            k = "dapr-" + k
        elif k.startswith(":"):
            k = "dapr-" + k[1:]
        headers.append((go_canonical_header(k), value))
    return headers


# ---------------------------------------------------------------------------
# A tiny subset of CEL for routes.rules[].match (contract §2.1).
# ---------------------------------------------------------------------------

class CelUnsupported(Exception):
    pass


_CEL_TOKEN = re.compile(r"""\s*(?:(?P<op>\|\||&&|==|!=|\(|\))|(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')"""
                        r"""|(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"""
                        r"""|(?P<id>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*))""")
_CEL_MISSING = object()


def _cel_tokens(expr):
    pos, out = 0, []
    expr = expr.rstrip()
    while pos < len(expr):
        m = _CEL_TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise CelUnsupported("cannot parse %r at %d" % (expr, pos))
        pos = m.end()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
    return out


def cel_match(expr, event):
    """Evaluates `event.a.b == "x"`, !=, &&, ||, parentheses, string /
    number / bool / null literals against the CloudEvent.  Anything else is
    CelUnsupported."""
    tokens = _cel_tokens(expr)
    pos = [0]

    def peek():
        return tokens[pos[0]] if pos[0] < len(tokens) else (None, None)

    def take():
        tok = peek()
        pos[0] += 1
        return tok

    def operand():
        kind, text = take()
        if kind == "op" and text == "(":
            v = or_expr()
            if take() != ("op", ")"):
                raise CelUnsupported("missing )")
            return v
        if kind == "str":
            body = text[1:-1]
            return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)), body)
        if kind == "num":
            return float(text)
        if kind == "id":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            parts = text.split(".")
            if parts[0] != "event":
                raise CelUnsupported("unknown identifier %r" % parts[0])
            v = event
            for p in parts[1:]:
                if not isinstance(v, dict) or p not in v:
                    return _CEL_MISSING
                v = v[p]
            return float(v) if isinstance(v, GoNumber) else v
        raise CelUnsupported("unexpected token %r" % (text,))

    def comparison():
        left = operand()
        kind, text = peek()
        if kind == "op" and text in ("==", "!="):
            take()
            right = operand()
            if left is _CEL_MISSING or right is _CEL_MISSING:
                return False  # CEL: no such key -> evaluation error -> no match
            return (left == right) == (text == "==")
        if not isinstance(left, bool):
            raise CelUnsupported("not a boolean expression")
        return left

    def and_expr():
        v = comparison()
        while peek() == ("op", "&&"):
            take()
            v = comparison() and v
        return v

    def or_expr():
        v = and_expr()
        while peek() == ("op", "||"):
            take()
            v = and_expr() or v
        return v

    result = or_expr()
    if pos[0] != len(tokens):
        raise CelUnsupported("trailing tokens in %r" % expr)
    return bool(result)


# ---------------------------------------------------------------------------
# Components.
# ---------------------------------------------------------------------------

# Binding types the emulator knows (contract §6): capabilities and operations.
HTTP_BINDING_OPERATIONS = ["create", "get", "head", "post", "put", "patch", "delete", "options", "trace"]
BINDING_TYPES = {
    "bindings.kafka": {"input": True, "output": True, "operations": ["create"]},   # contract §6.1
    "bindings.http": {"input": False, "output": True, "operations": HTTP_BINDING_OPERATIONS},  # §6.2
}
DEFAULT_BINDING_TYPE = {"input": True, "output": True, "operations": ["create"]}


class ComponentsError(Exception):
    pass


def _component_field(comp, key):
    if key in comp:
        return comp[key]
    md = comp.get("metadata")
    if isinstance(md, dict):
        return md.get(key)
    if isinstance(md, list):  # Kubernetes-style [{"name":..,"value":..}]
        for item in md:
            if isinstance(item, dict) and item.get("name") == key:
                return item.get("value")
    return None


def load_components(path):
    try:
        with open(path, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as err:
        raise ComponentsError("cannot read components file %s: %s" % (path, err))
    if not isinstance(doc, dict):
        raise ComponentsError("components file must hold a JSON object")
    bindings, pubsubs, names = [], [], set()
    for comp in doc.get("bindings") or []:
        if not isinstance(comp, dict) or not isinstance(comp.get("name"), str) or not comp["name"]:
            raise ComponentsError("every binding needs a non-empty string \"name\"")
        if not isinstance(comp.get("type"), str):
            raise ComponentsError("binding %s needs a string \"type\"" % comp["name"])
        if comp["name"] in names:
            raise ComponentsError("duplicate binding name %s" % comp["name"])
        names.add(comp["name"])
        caps = BINDING_TYPES.get(comp["type"], DEFAULT_BINDING_TYPE)
        direction = _component_field(comp, "direction")
        # Contract §1.1: direction is comma separated, trimmed, case-insensitive.
        dirs = None if direction is None else [d.strip().lower() for d in str(direction).split(",")]
        route = _component_field(comp, "route")
        ops = comp.get("operations")
        if ops is not None and (not isinstance(ops, list) or not all(isinstance(o, str) for o in ops)):
            raise ComponentsError("binding %s: \"operations\" must be a list of strings" % comp["name"])
        response = comp.get("response") or {}
        if not isinstance(response, dict):
            raise ComponentsError("binding %s: \"response\" must be an object" % comp["name"])
        err2xx = _component_field(comp, "errorIfNot2XX")
        bindings.append({
            "name": comp["name"],
            "type": comp["type"],
            # Contract §1.1: route defaults to the component name, `route` metadata overrides it.
            "route": str(route) if route not in (None, "") else comp["name"],
            "explicit_input": dirs is not None and "input" in dirs,
            "is_input": caps["input"] and (dirs is None or "input" in dirs),
            "is_output": caps["output"] and (dirs is None or "output" in dirs),
            "operations": list(ops) if ops is not None else list(caps["operations"]),
            "http": comp["type"] == "bindings.http",
            "response": response,
            "url": _component_field(comp, "url"),
            "error_if_not_2xx": True if err2xx is None else _truthy(err2xx),
        })
    names = set()
    for comp in doc.get("pubsubs") or []:
        if not isinstance(comp, dict) or not isinstance(comp.get("name"), str) or not comp["name"]:
            raise ComponentsError("every pubsub needs a non-empty string \"name\"")
        if comp["name"] in names:
            raise ComponentsError("duplicate pubsub name %s" % comp["name"])
        names.add(comp["name"])
        pubsubs.append({"name": comp["name"], "type": str(comp.get("type", "pubsub.in-memory"))})
    return bindings, pubsubs


def load_states(path):
    """The "states" of the components file: [{"name": .., "type": ..}], each
    an in-memory store (contract §3.3)."""
    with open(path, "rb") as f:  # load_components has read it already
        doc = json.loads(f.read().decode("utf-8"))
    states, names = [], set()
    for comp in doc.get("states") or []:
        if not isinstance(comp, dict) or not isinstance(comp.get("name"), str) or not comp["name"]:
            raise ComponentsError("every state store needs a non-empty string \"name\"")
        if comp["name"] in names:
            raise ComponentsError("duplicate state store name %s" % comp["name"])
        names.add(comp["name"])
        states.append({"name": comp["name"], "type": str(comp.get("type", "state.in-memory"))})
    return states


def _truthy(v):
    if isinstance(v, bool):
        return v
    try:
        return go_parse_bool(str(v))
    except ValueError:
        return False


# ---------------------------------------------------------------------------
# Calls toward the app (daprd -> app).
# ---------------------------------------------------------------------------

class AppCallError(Exception):
    pass


class AppResponse:
    def __init__(self, status, reason, headers, body, too_large=False):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.too_large = too_large

    def headers_dict(self):
        out = {}
        for k, v in self.headers:
            out[k] = out[k] + ", " + v if k in out else v
        return out


# ---------------------------------------------------------------------------
# The emulator state and behaviour.
# ---------------------------------------------------------------------------

class Reply:
    def __init__(self, status, body=b"", headers=(), content_type=None):
        self.status = status
        self.body = body
        self.headers = list(headers)
        if content_type:
            self.headers.insert(0, ("Content-Type", content_type))


def json_reply(status, obj, headers=()):
    return Reply(status, dumps(obj), headers, "application/json")


def api_error(status, code, message, headers=()):
    # Contract §3.1: legacy APIError JSON is exactly {"errorCode","message"}.
    return json_reply(status, {"errorCode": code, "message": message}, headers)


def kit_error(status, code, message, reason, metadata=None, resource=None):
    # Contract §3.2: kit-error JSON {"errorCode","message","details":[ErrorInfo, ...]}.
    info = {"@type": ERROR_INFO_TYPE, "reason": reason, "domain": "dapr.io"}
    if metadata:
        info["metadata"] = dict(metadata)
    details = [info]
    if resource is not None:
        details.append({"@type": RESOURCE_INFO_TYPE, "resource_type": resource[0],
                        "resource_name": resource[1], "description": message})
    return json_reply(status, {"errorCode": code, "message": message, "details": details})


class Emulator:
    def __init__(self, args, env):
        self.args = args
        self.app_id = args.app_id
        self.bulk_v1 = not args.no_bulk_publish_v1
        self.app_host = args.app_host
        self.app_port = args.app_port
        self.max_body = args.max_body_size
        self.bindings, self.pubsubs = load_components(args.components)
        self.states = load_states(args.components)
        self.state_items = {st["name"]: {} for st in self.states}  # key -> (bytes, etag, expires)
        self.state_version = 0
        self.state_clock = 0.0  # seconds added to the clock that state TTLs are read against
        self.start_time = time.monotonic()
        self.outbound_ready_at = self.start_time + args.outbound_ready_after_ms / 1000.0
        # Contract §5: tokens come from daprd's environment; empty means unset.
        self.dapr_token = env.get("DAPR_API_TOKEN") or None
        self.app_token = env.get("APP_API_TOKEN") or None
        self.lock = threading.RLock()
        self.startup_lock = threading.Lock()
        self.stop_event = threading.Event()
        self.exit_code = 0
        self.received = []
        self.faults = []
        self.startup_result = None
        self.startup_done = False
        self.binding_state = {}
        self.subscriptions = []
        self.verbose = args.verbose

    def log(self, fmt, *a):
        if self.verbose:
            sys.stderr.write("daprd-emulator: " + (fmt % a) + "\n")
            sys.stderr.flush()

    # -- lookups ---------------------------------------------------------

    def binding(self, name):
        for b in self.bindings:
            if b["name"] == name:
                return b
        return None

    def pubsub(self, name):
        for p in self.pubsubs:
            if p["name"] == name:
                return p
        return None

    def outbound_ready(self):
        return time.monotonic() >= self.outbound_ready_at

    def runtime_ready(self):
        # Contract §4.1/§4.2 step 5.  By default /v1.0/healthz follows the
        # outbound readiness (what the tests want); --healthz-after-startup adds the
        # real daprd's wait for the startup sequence toward the app.
        if not self.outbound_ready():
            return False
        return self.startup_done or not self.args.healthz_after_startup

    # -- app client (contract §1.2, §2.2, §4.2) --------------------------

    def app_call(self, method, path, headers, body=None, timeout=None, chunked=False,
                 with_token=True):
        if not path.startswith("/"):
            path = "/" + path  # daprd joins base address and method with one '/'
        all_headers = []
        if with_token and self.app_token:
            # Contract §5: APP_API_TOKEN -> dapr-api-token on every app-channel
            # request except the app health probe.
            all_headers.append(("Dapr-Api-Token", self.app_token))
        all_headers.extend(headers)
        for name, value in all_headers:
            if not valid_header_name(name):
                raise AppCallError("net/http: invalid header field name %s" % json.dumps(name))
            if not valid_header_value(value):
                raise AppCallError("net/http: invalid header field value for %s" % json.dumps(name))
        all_headers.sort(key=lambda kv: kv[0])  # Go writes headers sorted by key
        conn = http.client.HTTPConnection(self.app_host, self.app_port, timeout=timeout)
        try:
            conn.connect()
            # head and body are separate writes: no Nagle delay between them
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.putrequest(method, path, skip_accept_encoding=True)
            conn.putheader("User-Agent", USER_AGENT)
            for name, value in all_headers:
                conn.putheader(name, value.encode("utf-8"))
            if body is not None:
                if chunked:
                    conn.putheader("Transfer-Encoding", "chunked")
                else:
                    conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            if body is not None:
                if chunked:
                    if body:
                        conn.send(b"%x\r\n" % len(body) + bytes(body) + b"\r\n")
                    conn.send(b"0\r\n\r\n")
                elif body:
                    conn.send(bytes(body))
            resp = conn.getresponse()
            # Contract §5: app response bodies are limited by --max-body-size.
            data = resp.read(self.max_body + 1) if method != "HEAD" else b""
            too_large = len(data) > self.max_body
            return AppResponse(resp.status, resp.reason, resp.getheaders(), data[: self.max_body],
                               too_large)
        except (OSError, http.client.HTTPException) as exc:
            raise AppCallError(go_transport_error(exc, self.app_host, self.app_port)) from None
        finally:
            conn.close()

    # -- received log -------------------------------------------------------

    def record(self, entry):
        with self.lock:
            self.received.append(entry)

    # -- faults -------------------------------------------------------------

    def take_fault(self, method, raw_path, route_path):
        with self.lock:
            for fault in self.faults:
                if fault["remaining"] == 0:
                    continue
                pattern = fault["path"]
                if pattern.endswith("*"):
                    hit = raw_path.startswith(pattern[:-1]) or route_path.startswith(pattern[:-1])
                else:
                    hit = pattern in (raw_path, route_path)
                if not hit or (fault.get("method") and fault["method"].upper() != method):
                    continue
                if fault["remaining"] > 0:
                    fault["remaining"] -= 1
                return dict(fault)
        return None

    def fault_reply(self, fault, route_path):
        status = fault["status"]
        parts = route_path.split("/")
        if fault.get("errorCode") or fault.get("message"):
            code = fault.get("errorCode", "ERR_EMULATED_FAULT")
            msg = fault.get("message", "emulated fault")
        elif len(parts) >= 4 and parts[1] == "v1.0" and parts[2] == "bindings":
            code = "ERR_INVOKE_OUTPUT_BINDING"
            msg = "error invoking output binding %s: emulated fault (status %d)" % (parts[3], status)
        elif len(parts) >= 5 and parts[1] == "v1.0" and parts[2] == "publish":
            code = "ERR_PUBSUB_PUBLISH_MESSAGE"
            msg = "error when publishing to topic %s in pubsub %s: emulated fault (status %d)" % (
                "/".join(parts[4:]), parts[3], status)
        else:
            code, msg = "ERR_EMULATED_FAULT", "emulated fault (status %d)" % status
        extra = [("Retry-After", str(fault["retryAfter"]))] if "retryAfter" in fault else []
        if "failEntries" in fault:  # a bulk publish that published the others
            return json_reply(status, {"failedEntries": [{"entryId": i, "error": msg} for i in fault["failEntries"]],
                                       "errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"}, extra)
        return api_error(status, code, msg, extra)

    # -- sidecar API (app -> daprd) -----------------------------------------

    def sidecar(self, method, raw_path, query, headers, body, too_large):
        """Returns (Reply, entry).  Reply None means reset the connection."""
        decoded_path = urllib.parse.unquote(raw_path, errors="replace")
        # Contract §3: trailing slashes stripped, double slashes cleaned (path.Clean).
        route_path = go_path_clean(raw_path)
        entry = {
            "time": time.time(),
            "method": method,
            "path": raw_path,
            "route": route_path,
            "query": query,
            "headers": headers.dict,
            "body": body.decode("utf-8", "replace"),
            "token": headers.get("dapr-api-token"),
            "status": None,
            "payload": None,
            "cloudevent": None,
        }
        if too_large:
            entry["bodyTooLarge"] = True  # body holds only the first --max-body-size + 1 bytes
        self.record(entry)
        fault = self.take_fault(method, raw_path, route_path)
        if fault:
            entry["fault"] = fault["action"]
            if fault["action"] == "reset":
                return None, entry
            if fault["action"] == "status":
                time.sleep(fault.get("ms", 0) / 1000.0)  # a slow failure
                reply = self.fault_reply(fault, route_path)
                entry["status"] = reply.status
                return reply, entry
            time.sleep(fault["ms"] / 1000.0)  # delay, then handle normally
        reply = self._sidecar_route(method, decoded_path, route_path, query, headers, body,
                                    too_large, entry)
        entry["status"] = reply.status
        return reply, entry

    def _sidecar_route(self, method, decoded_path, route_path, query, headers, body, too_large,
                       entry):
        if self.dapr_token is not None:
            # Contract §5 (APITokenAuthMiddleware): missing/wrong token -> 401
            # text/plain "invalid api token" via http.Error, except
            # GET /v1.0/healthz and GET /v1.0/healthz/outbound.
            trimmed = decoded_path.strip("/")
            exempt = method == "GET" and trimmed in ("v1.0/healthz", "v1.0/healthz/outbound")
            if headers.get("dapr-api-token") != self.dapr_token and not exempt:
                return Reply(401, b"invalid api token\n",
                             [("X-Content-Type-Options", "nosniff")], "text/plain; charset=utf-8")
        segs = route_path.split("/")[1:] if route_path.startswith("/") else []
        if (len(segs) >= 3 and segs[1:3] == ["publish", "bulk"] and method in ("POST", "PUT") and
                (segs[0] == "v1.0-alpha1" or (segs[0] == "v1.0" and self.bulk_v1))):
            return self.bulk_publish(segs[3:], query, headers, body, too_large, entry)
        if len(segs) >= 1 and segs[0] == "v1.0":
            rest = segs[1:]
            if len(rest) == 2 and rest[0] == "bindings" and rest[1] and method in ("POST", "PUT"):
                name, err = go_query_unescape(rest[1])
                if err:
                    return self._unescape_error("name", err)
                return self.output_binding(name, body, too_large, entry)
            if rest and rest[0] == "state" and (
                    (len(rest) == 2 and method in ("POST", "PUT")) or
                    (len(rest) == 3 and method in ("GET", "DELETE"))):
                return self.state_api(method, rest[1:], query, headers, body, too_large, entry)
            if rest and rest[0] == "publish" and method in ("POST", "PUT"):
                return self.publish(rest[1:], query, headers, body, too_large, entry)
            if rest == ["healthz"] and method == "GET":
                return self.healthz(query)
            if rest == ["healthz", "outbound"] and method == "GET":
                if not self.outbound_ready():
                    # Contract §4.1.
                    return api_error(500, "ERR_OUTBOUND_HEALTH_NOT_READY", "dapr outbound is not ready")
                return Reply(204)
            if rest == ["metadata"] and method == "GET":
                return json_reply(200, self.metadata_doc())
            if rest == ["shutdown"] and method == "POST":
                # Contract §4.1: 204, asynchronous shutdown; dapr-force-shutdown -> exit 1.
                force = (headers.get("dapr-force-shutdown") or "").lower() == "true"
                self.request_stop(1 if force else 0, delay=0.1)
                return Reply(204)
        # Everything else reaches daprd's fallback route, service invocation
        # (contract §3.4), which is not emulated.
        app_id = headers.get("dapr-app-id")
        if len(segs) >= 4 and segs[0] == "v1.0" and segs[1] == "invoke" and "method" in segs[3:]:
            app_id = urllib.parse.unquote(segs[2])
        if app_id:
            return api_error(500, "ERR_DIRECT_INVOKE",
                             "failed to invoke, id: %s, err: service invocation is not emulated" % app_id)
        return api_error(404, "ERR_DIRECT_INVOKE",
                         "failed getting app id either from the URL path or the header dapr-app-id")

    @staticmethod
    def _unescape_error(param, err):
        return Reply(400, ("failed to unescape request parameter %s. Error: %s\n"
                           % (json.dumps(param), err)).encode("utf-8"),
                     [("X-Content-Type-Options", "nosniff")], "text/plain; charset=utf-8")

    def healthz(self, query):
        # Contract §4.1.
        if not self.runtime_ready():
            return api_error(500, "ERR_HEALTH_NOT_READY", "dapr is not ready: [runtime]")
        qs = urllib.parse.parse_qs(query, keep_blank_values=True)
        if "appid" in qs and qs["appid"][0] != self.app_id:
            return api_error(500, "ERR_HEALTH_APPID_NOT_MATCH", "dapr app-id does not match")
        return Reply(204)

    def metadata_doc(self):
        comps = [{"name": b["name"], "type": b["type"], "version": "v1", "capabilities": []}
                 for b in self.bindings]
        comps += [{"name": p["name"], "type": p["type"], "version": "v1", "capabilities": []}
                  for p in self.pubsubs]
        comps += [{"name": st["name"], "type": st["type"], "version": "v1",
                   "capabilities": ["ETAG", "TRANSACTIONAL", "TTL"]} for st in self.states]
        with self.lock:
            subs = [{"pubsubname": s["pubsubname"], "topic": s["topic"], "metadata": s["metadata"],
                     "rules": [{"match": r["match"] or "", "path": r["path"]} for r in s["rules"]],
                     "deadLetterTopic": s["deadLetterTopic"], "type": "PROGRAMMATIC"}
                    for s in self.subscriptions]
        return {"id": self.app_id, "runtimeVersion": "daprd-emulator", "enabledFeatures": [],
                "actors": [], "components": comps, "extended": {}, "subscriptions": subs,
                "httpEndpoints": [],
                "appConnectionProperties": {"port": self.app_port, "protocol": "http",
                                            "channelAddress": self.app_host}}

    # Contract §3.3 ------------------------------------------------------------

    def state_api(self, method, parts, query, headers, body, too_large, entry):
        store = urllib.parse.unquote(parts[0], errors="replace")
        entry["state"] = store
        if not self.states:
            # Contract §3.3: the code answers 500 here (the doc says 400).
            return kit_error(500, "ERR_STATE_STORE_NOT_CONFIGURED", "state store is not configured",
                             "DAPR_STATE_NOT_CONFIGURED")
        if store not in self.state_items:
            return kit_error(400, "ERR_STATE_STORE_NOT_FOUND", "state store %s is not found" % store,
                             "DAPR_STATE_NOT_FOUND")
        if method in ("POST", "PUT"):
            return self.state_save(store, query, body, too_large, entry)
        key = urllib.parse.unquote(parts[1], errors="replace")
        entry["key"] = key
        if method == "GET":
            with self.lock:
                item = self._state_item(store, key)
            if item is None:
                return Reply(204)  # contract §3.3: a missing key is 204 (an expired one too)
            return Reply(200, item[0], [("ETag", item[1])])
        return self.state_delete(store, key, query, headers)

    def state_now(self):
        return time.monotonic() + self.state_clock

    def _state_item(self, store, key):
        """The item under `key`, or None when there is none or it has expired (then
        it is gone, as the in-memory store drops it on a read). Under self.lock."""
        data = self.state_items[store]
        item = data.get(key)
        if item is not None and item[2] is not None and self.state_now() >= item[2]:
            del data[key]
            return None
        return item

    @staticmethod
    def _ttl(metadata):
        """The seconds an item lives by its metadata's ttlInSeconds as contrib's
        state/utils.ParseTTL reads it: None for no expiry (absent, empty, 0, -1),
        or an error text for a save to fail with."""
        text = metadata.get("ttlInSeconds", "")
        if text == "":
            return None, None
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            return None, ("incorrect value for metadata 'ttlInSeconds': strconv.ParseInt: "
                          "parsing %s: invalid syntax" % json.dumps(text))
        ttl = int(text)
        if ttl < -1 or ttl > 2 ** 31 - 1:
            return None, "incorrect value for metadata 'ttlInSeconds': must be -1 or greater"
        return (ttl if ttl > 0 else None), None

    @staticmethod
    def _etag_error(item, etag, first_write):
        """The in-memory store's ETag check: why a write is refused, or None."""
        if etag:
            if item is None:
                return "item does not exist"
            return None if item[1] == etag else "etag does not match"
        if first_write and item is not None:
            return "item already exists and no etag was passed"
        return None

    def state_save(self, store, query, body, too_large, entry):
        def malformed(msg):
            return api_error(400, "ERR_MALFORMED_REQUEST", msg)

        if too_large:
            return malformed("failed deserializing HTTP body: stream too large")
        try:
            doc = go_json_parse(body)
        except GoJSONError as err:
            return malformed("failed deserializing HTTP body: %s" % err)
        if doc is None:
            doc = []
        if not isinstance(doc, list) or not all(isinstance(i, dict) for i in doc):
            return malformed("failed deserializing HTTP body: json: cannot unmarshal %s into Go value "
                             "of type []state.SetRequest" % _go_kind(doc))
        items = []
        for item in doc:
            key = item.get("key")
            if not is_json_string(key) or key == "":
                return malformed("\"key\" is a required field")
            options = item.get("options") if isinstance(item.get("options"), dict) else {}
            etag = item.get("etag") if is_json_string(item.get("etag")) else ""
            # the item's metadata, the request's ?metadata.k=v over it (onPostState)
            metadata = {k: v for k, v in (item.get("metadata") or {}).items() if is_json_string(v)} \
                if isinstance(item.get("metadata"), dict) else {}
            metadata.update(self.request_metadata(query))
            ttl, why = self._ttl(metadata)
            if why:
                return api_error(500, "ERR_STATE_SAVE",
                                 "failed saving state in state store %s: %s" % (store, why))
            items.append((key, go_marshal(item.get("value")).encode("utf-8"), etag,
                          options.get("concurrency") == "first-write", ttl))
        entry["keys"] = [i[0] for i in items]
        with self.lock:
            for key, _, etag, first_write, _ in items:
                why = self._etag_error(self._state_item(store, key), etag, first_write)
                if why:
                    return api_error(409, "ERR_STATE_SAVE",
                                     "failed saving state in state store %s: possible etag mismatch. "
                                     "error from state store: %s" % (store, why))
            data = self.state_items[store]
            for key, value, _, _, ttl in items:
                self.state_version += 1
                data[key] = (value, str(self.state_version), None if ttl is None else self.state_now() + ttl)
        return Reply(204)

    def state_delete(self, store, key, query, headers):
        qs = urllib.parse.parse_qs(query, keep_blank_values=True)
        first_write = qs.get("concurrency", [""])[0] == "first-write"
        etag = headers.get("If-Match") or ""
        with self.lock:
            data = self.state_items[store]
            why = self._etag_error(self._state_item(store, key), etag, first_write)
            if why:
                return api_error(409, "ERR_STATE_DELETE",
                                 "failed deleting state with key %s: possible etag mismatch. "
                                 "error from state store: %s" % (key, why))
            data.pop(key, None)
        return Reply(204)

    # Contract §3.1 ------------------------------------------------------------

    def output_binding(self, name, body, too_large, entry):
        entry["binding"] = name

        def malformed(msg):
            return api_error(400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: " + msg)

        def invoke_error(msg, headers=()):
            return api_error(500, "ERR_INVOKE_OUTPUT_BINDING",
                             "error invoking output binding %s: %s" % (name, msg), headers)

        if too_large:
            return malformed("stream too large")  # dapr/kit LimitReadCloser
        try:
            doc = go_json_parse(body)
        except GoJSONError as err:
            return malformed(str(err))
        data, operation, metadata = None, "", None
        if doc is not None:
            if not isinstance(doc, dict):
                return malformed("json: cannot unmarshal %s into Go value of type http.OutputBindingRequest"
                                 % _go_kind(doc))
            type_error = None
            # Go matches struct fields case-insensitively, key by key, last wins.
            for key, value in doc.pairs:
                lk = key.lower()
                if lk == "data":
                    data = value
                elif lk == "operation":
                    if is_json_string(value):
                        operation = value
                    elif value is not None and type_error is None:
                        type_error = ("json: cannot unmarshal %s into Go struct field "
                                      "OutputBindingRequest.operation of type string" % _go_kind(value))
                elif lk == "metadata":
                    if value is None:
                        metadata = None
                    elif isinstance(value, dict):
                        metadata = {} if metadata is None else metadata
                        for mk, mv in value.pairs:
                            if is_json_string(mv):
                                metadata[mk] = mv
                            elif mv is None:
                                metadata.setdefault(mk, "")
                            elif type_error is None:
                                type_error = ("json: cannot unmarshal %s into Go struct field "
                                              "OutputBindingRequest.metadata of type string" % _go_kind(mv))
                    elif type_error is None:
                        type_error = ("json: cannot unmarshal %s into Go struct field "
                                      "OutputBindingRequest.metadata of type map[string]string"
                                      % _go_kind(value))
            if type_error:
                return malformed(type_error)
            try:
                check_float64(data, "struct field OutputBindingRequest.data")
            except GoJSONError as err:
                return malformed(str(err))
        entry["operation"] = operation
        entry["metadata"] = metadata
        # json.Marshal(req.Data): strings keep their quotes, keys sorted, <>& escaped.
        payload = go_marshal(data, "float64")
        # SendToOutputBinding: operation checked first, then the binding, then the operation list.
        if operation == "":
            return invoke_error("operation field is missing from request")
        b = self.binding(name)
        if b is None or not b["is_output"]:
            return invoke_error("couldn't find output binding %s" % name)
        if operation not in b["operations"]:
            return invoke_error("binding %s does not support operation %s. supported operations:%s"
                                % (name, operation, " ".join(b["operations"])))
        entry["payload"] = payload
        if not b["http"]:
            return Reply(204)  # Kafka's Invoke returns nil -> 204 empty (contract §3.1, §6.1)
        return self._http_binding(b, operation, payload, metadata or {}, invoke_error)

    @staticmethod
    def _forward(url, operation, payload, metadata):
        """Contract §6.2: the real request of Dapr's HTTP binding to `url`
        (+ "/" + metadata path): the method of the operation, the payload as
        the body of PUT/POST/PATCH, JSON content type and accept headers, and
        each metadata key that starts with A-Z as a header. Returns the
        remote answer as a `response` entry whose body is the bytes as read
        ("raw")."""
        method = "POST" if operation == "create" else operation.upper()
        target = str(url)
        if metadata.get("path"):
            target = target.rstrip("/") + "/" + str(metadata["path"]).strip("/")
        body = payload.encode("utf-8") if method in ("PUT", "POST", "PATCH") else None
        headers = {"Accept": "application/json; charset=utf-8"}
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        for k, v in metadata.items():
            if k[:1].isupper() and k[:1].isascii():
                headers[k] = str(v)
        req = urllib.request.Request(target, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, answer, rheaders = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, answer, rheaders = e.code, e.read(), e.headers
        except OSError as e:
            return {"status": 502, "body": "forwarding to %s failed: %s" % (target, e)}
        return {"status": status, "raw": answer, "headers": {k: v for k, v in rheaders.items()}}

    def _http_binding(self, b, operation, payload, metadata, invoke_error):
        # Contract §6.2: response Data = body; Metadata statusCode/status + headers.
        if b.get("url"):
            resp = self._forward(b["url"], operation, payload, metadata)
        else:
            with self.lock:
                resp = dict(b["response"])
        status = int(resp.get("status", 200))
        if "raw" in resp:
            body = resp["raw"]
        elif resp.get("echo"):
            body = payload.encode("utf-8") if operation in ("create", "post", "put", "patch") else b""
        elif "bodyBase64" in resp:
            body = base64.b64decode(resp["bodyBase64"])
        elif "json" in resp:
            body = dumps(resp["json"])
        else:
            body = str(resp.get("body", "")).encode("utf-8")
        meta = {"statusCode": str(status), "status": ("%d %s" % (status, status_text(status))).strip()}
        for hk, hv in (resp.get("headers") or {}).items():
            meta[go_canonical_header(hk)] = ", ".join(hv) if isinstance(hv, list) else str(hv)
        # Contract §3.1: each resp.Metadata[k] as header metadata.<k>, Go-canonicalised.
        headers = [(go_canonical_header("metadata." + k), v) for k, v in meta.items()]
        err2xx = b["error_if_not_2xx"]
        if "errorIfNot2XX" in metadata:
            err2xx = _truthy(metadata["errorIfNot2XX"])
        if not 200 <= status <= 299 and err2xx:
            # Contract §6.2: error + metadata headers (>= 1.13).
            return invoke_error("received status code %d" % status, headers)
        return Reply(200, body, headers, "application/json")

    # Contract §3.2 ------------------------------------------------------------

    def publish(self, parts, query, headers, body, too_large, entry):
        pubsub_name = ""
        topic = ""
        if parts:
            pubsub_name, err = go_query_unescape(parts[0])
            if err:
                return self._unescape_error("pubsubname", err)
            topic, err = go_query_unescape("/".join(parts[1:]))
            if err:
                return self._unescape_error("*", err)
        entry["pubsub"] = pubsub_name
        entry["topic"] = topic
        metadata = self.request_metadata(query)
        entry["metadata"] = metadata
        if not self.pubsubs:
            return kit_error(400, "ERR_PUBSUB_NOT_CONFIGURED", "pubsub is not configured",
                             "DAPR_PUBSUB_NOT_CONFIGURED", metadata, ("pubsub", pubsub_name))
        if pubsub_name == "":
            return kit_error(404, "ERR_PUBSUB_EMPTY", "pubsub name is empty",
                             "DAPR_PUBSUB_NAME_EMPTY", metadata, ("pubsub", pubsub_name))
        if self.pubsub(pubsub_name) is None:
            return kit_error(404, "ERR_PUBSUB_NOT_FOUND", "pubsub %s is not found" % pubsub_name,
                             "DAPR_PUBSUB_NOT_FOUND", metadata)
        if topic == "":
            return kit_error(404, "ERR_TOPIC_NAME_EMPTY", "topic is empty in pubsub %s" % pubsub_name,
                             "DAPR_PUBSUB_TOPIC_NAME_EMPTY", metadata, ("pubsub", pubsub_name))
        raw = False
        if metadata.get("rawPayload", "") != "":
            try:
                raw = go_parse_bool(metadata["rawPayload"])
            except ValueError:
                msg = ("failed deserializing metadata. Error: rawPayload value must be a valid boolean: "
                       "actual is '%s'" % metadata["rawPayload"])
                return kit_error(400, "ERR_PUBSUB_REQUEST_METADATA", msg,
                                 "DAPR_PUBSUB_METADATA_DESERIALIZATION", metadata, ("pubsub", pubsub_name))
        if too_large:
            msg = "error when publishing to topic %s in pubsub %s: stream too large" % (topic, pubsub_name)
            return kit_error(500, "ERR_PUBSUB_PUBLISH_MESSAGE", msg, "DAPR_PUBSUB_PUBLISH_MESSAGE",
                             {"topic": topic, "error": "stream too large"}, ("pubsub", pubsub_name))
        if raw:
            entry["payload"] = body.decode("utf-8", "replace")  # published unmodified
            return Reply(204)
        try:
            ce = self.build_cloudevent(pubsub_name, topic, headers.get("content-type") or "", body,
                                       metadata, headers.get("traceparent") or "",
                                       headers.get("tracestate") or "")
        except GoJSONError as err:
            return kit_error(500, "ERR_PUBSUB_CLOUD_EVENTS_SER", "cannot create cloudevent",
                             "DAPR_PUBSUB_CLOUD_EVENT_CREATION",
                             {"appID": self.app_id, "error": str(err)}, ("pubsub", pubsub_name))
        payload = go_marshal(ce, "literal")
        entry["cloudevent"] = json.loads(payload)
        entry["payload"] = payload
        return Reply(204)

    def bulk_publish(self, parts, query, headers, body, too_large, entry):
        """Contract §3.2, bulk: [{"entryId", "event", "contentType", "metadata"}] -> 204, or 500
        with failedEntries. Each entry is published as a single publish of its event would be
        (its bytes: the JSON text of a JSON event, a string's characters)."""
        if len(parts) < 2 or not parts[0] or not "/".join(parts[1:]):
            return kit_error(404, "ERR_PUBSUB_NOT_FOUND", "pubsub or topic is missing",
                             "DAPR_PUBSUB_NOT_FOUND", {})
        pubsub_name, topic = parts[0], "/".join(parts[1:])
        entry["pubsub"], entry["topic"] = pubsub_name, topic
        metadata = self.request_metadata(query)
        entry["metadata"] = metadata
        if self.pubsub(pubsub_name) is None:
            return kit_error(400, "ERR_PUBSUB_NOT_FOUND", "pubsub %s is not found" % pubsub_name,
                             "DAPR_PUBSUB_NOT_FOUND", metadata)
        try:
            entries = json.loads(body)
        except ValueError:
            entries = None
        if too_large or not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return api_error(400, "ERR_PUBSUB_EVENTS_SER",
                             "error when unmarshaling the request for topic %s pubsub %s" % (topic, pubsub_name))
        ids = [e.get("entryId") for e in entries]
        if any(not isinstance(i, str) or not i for i in ids) or len(set(ids)) != len(ids):
            return api_error(400, "ERR_PUBSUB_EVENTS_SER",
                             "error: entryId is duplicated or not present for entry")
        published = []
        for e in entries:
            event = e.get("event")
            data = event.encode() if isinstance(event, str) else json.dumps(event).encode()
            ce = self.build_cloudevent(pubsub_name, topic, e.get("contentType") or "", data,
                                       dict(metadata, **(e.get("metadata") or {})),
                                       headers.get("traceparent") or "", headers.get("tracestate") or "")
            published.append({"entryId": e["entryId"], "cloudevent": json.loads(go_marshal(ce, "literal")),
                              "metadata": e.get("metadata") or {}})
        entry["bulk"] = published
        return Reply(204)

    @staticmethod
    def request_metadata(query):
        # Contract §3.2: query params prefixed metadata. -> metadata (prefix stripped, first value).
        md = {}
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            if len(key) > 9 and key[:9].lower() == "metadata." and key[9:] not in md:
                md[key[9:]] = value
        return md

    def build_cloudevent(self, pubsub_name, topic, content_type, body, metadata, traceparent,
                         tracestate):
        """Contract §3.2 (NewCloudEvent / NewCloudEventsEnvelope / FromCloudEvent
        / ApplyMetadata).  Raises GoJSONError when a cloudevents+json body is
        not a JSON object."""
        lower_md = {k.lower(): v for k, v in metadata.items()}
        base_ct = content_type.lower().split(";", 1)[0]
        if base_ct == "application/cloudevents+json":
            ce = go_json_parse(body, first_value_only=True)
            if not isinstance(ce, dict):
                raise GoJSONError("json: cannot unmarshal %s into Go value of type map[string]interface {}"
                                  % _go_kind(ce))
            ce = dict(ce)
            ce["traceid"] = traceparent
            ce["traceparent"] = traceparent
            ce["tracestate"] = tracestate
            ce["topic"] = topic
            ce["pubsubname"] = pubsub_name
            for key, default in (("source", "Dapr"), ("type", "com.dapr.event.sent"),
                                 ("specversion", "1.0"), ("time", None)):
                if ce.get(key) is None:
                    ce[key] = default if default is not None else rfc3339_now()
        else:
            ident = lower_md.get("cloudevent.id") or str(uuid.uuid4())
            source = lower_md.get("cloudevent.source") or self.app_id
            ev_type = lower_md.get("cloudevent.type") or "com.dapr.event.sent"
            subject = lower_md.get("cloudevent.subject") or ""
            trace = lower_md.get("cloudevent.traceparent") or lower_md.get("cloudevent.traceid") or traceparent
            tstate = lower_md.get("cloudevent.tracestate") or tracestate
            dct = content_type or "text/plain"
            ce = {"id": ident, "specversion": "1.0", "datacontenttype": dct, "source": source,
                  "type": ev_type, "topic": topic, "pubsubname": pubsub_name, "traceid": trace,
                  "traceparent": trace, "tracestate": tstate, "time": rfc3339_now()}
            dct_base = dct.lower().split(";", 1)[0]
            if dct_base == "application/json":
                try:
                    ce["data"] = go_json_parse(body, first_value_only=True)
                except GoJSONError:
                    ce["data"] = body.decode("utf-8", "replace")
            elif dct_base in ("application/octet-stream", "application/x-protobuf", "application/protobuf"):
                ce["data_base64"] = base64.b64encode(body).decode("ascii")
            else:
                ce["data"] = body.decode("utf-8", "replace")
            if subject:
                ce["subject"] = subject
        ttl = metadata.get("ttlInSeconds") or metadata.get("ttl")
        if ttl:
            try:
                seconds = int(ttl, 10)
            except ValueError:
                seconds = 0  # ApplyMetadata ignores TTL errors
            if seconds > 0:
                ce["expiration"] = rfc3339_now(seconds)
        return ce

    # -- startup sequence (contract §4.2, §1.1, §2.1) ------------------------------

    def run_startup(self, opts):
        with self.startup_lock:
            status, result = self._startup(opts)
            with self.lock:
                self.startup_result = result
            return status, result

    def _startup(self, opts):
        timeout_ms = opts.get("timeoutMs", 5000)
        deadline = None if timeout_ms is None else time.monotonic() + float(timeout_ms) / 1000.0
        probe_timeout = float(opts.get("optionsTimeoutMs", self.args.app_binding_options_timeout_ms)) / 1000.0
        health = opts.get("appHealthCheck", self.args.enable_app_health_check)
        with self.lock:
            self.startup_done = False
            self.binding_state = {}
            self.subscriptions = []
        result = {"connect": None, "health": None, "config": None, "subscribe": None,
                  "subscriptions": [], "bindings": {}}
        # Step 2: plain TCP dial every 100 ms (500 ms dial timeout).
        attempts = 0
        while True:
            attempts += 1
            try:
                socket.create_connection((self.app_host, self.app_port), timeout=APP_DIAL_TIMEOUT).close()
                break
            except OSError as exc:
                if self.stop_event.is_set() or (deadline is not None and time.monotonic() >= deadline):
                    result["connect"] = {"attempts": attempts, "error": go_transport_error(
                        exc, self.app_host, self.app_port)}
                    result["error"] = "app port %s:%d not reachable within %s ms" % (
                        self.app_host, self.app_port, timeout_ms)
                    return 504, result
                time.sleep(APP_DIAL_INTERVAL)
        result["connect"] = {"attempts": attempts}
        # Step 3: app health probes (no token), until the first 2xx.
        if health:
            probes = 0
            interval = float(opts.get("healthProbeIntervalMs", self.args.app_health_probe_interval_ms)) / 1000.0
            while True:
                probes += 1
                probe = self.health_probe()
                if probe["healthy"]:
                    result["health"] = dict(probe, probes=probes)
                    break
                if self.stop_event.is_set() or (deadline is not None and time.monotonic() + interval > deadline):
                    result["health"] = dict(probe, probes=probes)
                    result["error"] = "app did not become healthy within %s ms" % timeout_ms
                    return 504, result
                time.sleep(interval)
        # Step 4: GET /dapr/config (non-200 ignored).
        app_headers = [("Content-Type", "application/json"), ("Dapr-App-Id", self.app_id)]
        try:
            resp = self.app_call("GET", "/dapr/config", app_headers, timeout=5.0)
            result["config"] = {"status": resp.status, "body": resp.body.decode("utf-8", "replace")}
        except AppCallError as err:
            result["config"] = {"status": None, "error": str(err)}
        # Contract §2.1: GET /dapr/subscribe only with >= 1 pubsub component.
        if self.pubsubs:
            subs, info = self.discover_subscriptions(app_headers)
            result["subscribe"] = info
            result["subscriptions"] = subs
        else:
            result["subscribe"] = "skipped"
        with self.lock:
            self.subscriptions = result["subscriptions"]
        # Contract §1.1: OPTIONS /<route> per input binding; a transport error
        # returns from StartReadingFromBindings, so later bindings never start.
        # (Go iterates a map; the emulator uses the components file order.)
        states = {}
        stopped = None
        for b in self.bindings:
            if not b["is_input"]:
                continue
            route = b["route"] if b["route"].startswith("/") else "/" + b["route"]
            if stopped is not None:
                states[b["name"]] = {"probe": "not started", "subscribed": False, "started": False,
                                     "route": route}
                continue
            if b["explicit_input"]:
                states[b["name"]] = {"probe": "skipped", "subscribed": True, "started": True, "route": route}
                continue
            try:
                resp = self.app_call("OPTIONS", route, [("Content-Type", "application/json")],
                                     timeout=probe_timeout)
                code = resp.status
                subscribed = code // 100 == 2 or code == 405
                states[b["name"]] = {"probe": code, "subscribed": subscribed, "started": subscribed,
                                     "route": route}
            except AppCallError as err:
                msg = "could not invoke OPTIONS method on input binding subscription endpoint %s: %s" % (
                    json.dumps(route.lstrip("/")), err)
                states[b["name"]] = {"probe": "error: " + msg, "subscribed": False, "started": False,
                                     "route": route}
                stopped = b["name"]
        result["bindings"] = states
        if stopped is not None:
            result["bindingsStoppedAt"] = stopped
        with self.lock:
            self.binding_state = states
            self.startup_done = True
        return 200, result

    def health_probe(self):
        # Contract §4.2 step 3 / §5: GET <app-health-check-path>, 500 ms, no token; 2xx = healthy.
        try:
            resp = self.app_call("GET", self.args.app_health_check_path, [],
                                 timeout=self.args.app_health_probe_timeout_ms / 1000.0, with_token=False)
            return {"status": resp.status, "healthy": 200 <= resp.status <= 299}
        except AppCallError as err:
            return {"status": None, "healthy": False, "error": str(err)}

    def discover_subscriptions(self, app_headers):
        """Contract §2.1: 200 -> JSON array (empty body OK, malformed ->
        error); 404 -> none; other codes -> error, none."""
        try:
            resp = self.app_call("GET", "/dapr/subscribe", app_headers, timeout=5.0)
        except AppCallError as err:
            return [], {"status": None, "error": str(err)}
        info = {"status": resp.status, "body": resp.body.decode("utf-8", "replace")}
        if resp.status == 404:
            info["note"] = "user app did not subscribe to any topic"
            return [], info
        if resp.status != 200:
            info["error"] = "unexpected status %d" % resp.status
            return [], info
        try:
            doc = go_json_parse(resp.body, first_value_only=True)
        except GoJSONError as err:
            if str(err) == "EOF":
                return [], info
            info["error"] = str(err)
            return [], info
        if doc is None:
            return [], info
        if not isinstance(doc, list):
            info["error"] = "json: cannot unmarshal %s into Go value of type []runtime.SubscriptionJSON" % _go_kind(doc)
            return [], info
        subs = []
        for item in doc:
            if not isinstance(item, dict):
                info["error"] = "subscription entry is not an object"
                return [], info
            subs.append(self._normalise_subscription(item))
        return subs, info

    @staticmethod
    def _normalise_subscription(item):
        # Go decodes SubscriptionJSON fields case-insensitively.
        fields = {}
        for key, value in item.pairs:
            fields[key.lower()] = value

        def text(v):
            return v if is_json_string(v) else ""

        routes = fields.get("routes") if isinstance(fields.get("routes"), dict) else {}
        rfields = {k.lower(): v for k, v in routes.items()}
        rules = []
        for rule in rfields.get("rules") or []:
            if isinstance(rule, dict):
                r = {k.lower(): v for k, v in rule.items()}
                rules.append({"match": text(r.get("match")) or None, "path": text(r.get("path"))})
        default = text(rfields.get("default"))
        route = text(fields.get("route"))
        # routes.default wins over route; either becomes a final catch-all rule.
        effective = default or route
        if effective:
            rules.append({"match": None, "path": effective})
        metadata = fields.get("metadata") if isinstance(fields.get("metadata"), dict) else {}
        return {
            "pubsubname": text(fields.get("pubsubname")),
            "topic": text(fields.get("topic")),
            "route": route or None,
            "routes": {"default": default or None,
                       "rules": [r for r in rules if r["match"] is not None]},
            "path": effective or None,
            "rules": rules,
            "metadata": {k: v if is_json_string(v) else go_marshal(v, "literal") for k, v in metadata.items()},
            "deadLetterTopic": text(fields.get("deadlettertopic")) or None,
            "bulkSubscribe": plain_json(fields.get("bulksubscribe")),
        }

    # -- deliveries -----------------------------------------------------------

    def deliver_binding(self, name, query, headers, body):
        b = self.binding(name)
        if b is None or not b["is_input"]:
            return json_reply(404, {"error": "no input binding named %s" % name})
        with self.lock:
            state = self.binding_state.get(name)
        if state is None or not self.startup_done:
            return json_reply(409, {"error": "not started (run POST /emulator/startup first)"})
        if not state["subscribed"]:
            return json_reply(409, {"error": "not subscribed"})
        if not state["started"]:
            return json_reply(409, {"error": "not started"})
        metadata, err = self._emulator_metadata(headers)
        if err:
            return json_reply(400, {"error": err})
        qs = urllib.parse.parse_qs(query)
        chunked = qs.get("chunked", ["0"])[0] not in ("0", "", "false")
        strict = qs.get("strict", ["0"])[0] not in ("0", "", "false")
        timeout = float(qs.get("timeoutMs", ["30000"])[0]) / 1000.0
        # Contract §1.2: POST /<route>, Content-Type application/json always,
        # one header per metadata key, raw body, token.
        app_headers = [("Content-Type", "application/json")] + metadata_to_headers(metadata)
        try:
            resp = self.app_call("POST", state["route"], app_headers, body=body, timeout=timeout,
                                 chunked=chunked)
        except AppCallError as err:
            return json_reply(200, {"status": None, "error": str(err), "acked": False})
        if resp.too_large:
            return json_reply(200, {"status": resp.status, "error": "stream too large", "acked": False})
        # Contract §1.3: any 2xx acks (>= 1.9); strict=1 mimics "== 200".
        acked = resp.status == 200 if strict else 200 <= resp.status <= 299
        return json_reply(200, {"status": resp.status, "headers": resp.headers_dict(),
                                "body": resp.body.decode("utf-8", "replace"), "acked": acked})

    @staticmethod
    def _emulator_metadata(headers):
        raw = headers.get("x-emulator-metadata")
        if not raw:
            return {}, None
        try:
            md = json.loads(raw)
        except ValueError as err:
            return None, "X-Emulator-Metadata is not JSON: %s" % err
        if not isinstance(md, dict) or not all(isinstance(v, str) for v in md.values()):
            return None, "X-Emulator-Metadata must be a JSON object of strings"
        return md, None

    def deliver_pubsub(self, pubsub_name, topic, query, headers, body):
        if self.pubsub(pubsub_name) is None:
            return json_reply(404, {"error": "no pubsub named %s" % pubsub_name})
        with self.lock:
            if not self.startup_done:
                return json_reply(409, {"error": "not started (run POST /emulator/startup first)"})
            sub = next((s for s in self.subscriptions
                        if s["pubsubname"] == pubsub_name and s["topic"] == topic), None)
        if sub is None:
            return json_reply(409, {"error": "no subscription for pubsub %s topic %s" % (pubsub_name, topic)})
        metadata, err = self._emulator_metadata(headers)
        if err:
            return json_reply(400, {"error": err})
        qs = urllib.parse.parse_qs(query, keep_blank_values=True)
        want_raw = qs.get("raw", ["0"])[0] not in ("0", "", "false")
        timeout = float(qs.get("timeoutMs", ["30000"])[0]) / 1000.0
        if _truthy(sub["metadata"].get("rawPayload", "false")):
            want_raw = True
        if want_raw:
            # Contract §2.2: FromRawPayload on the subscriber side.
            ce = {"data_base64": base64.b64encode(body).decode("ascii"),
                  "datacontenttype": "application/octet-stream", "id": str(uuid.uuid4()),
                  "pubsubname": pubsub_name, "source": "Dapr", "specversion": "1.0",
                  "topic": topic, "type": "com.dapr.event.sent"}
        else:
            try:
                ce = self.build_cloudevent(pubsub_name, topic, headers.get("content-type") or "", body,
                                           self.request_metadata(query), headers.get("traceparent") or "",
                                           headers.get("tracestate") or "")
            except GoJSONError as err:
                return json_reply(400, {"error": "cannot create cloudevent: %s" % err})
        payload = go_marshal(ce, "literal")
        result = {"cloudevent": json.loads(payload), "status": None, "body": None, "path": None}
        # Contract §2.2: expired events are dropped before delivery.
        exp = ce.get("expiration")
        if isinstance(exp, str) and exp:
            try:
                when = datetime.datetime.strptime(exp, "%Y-%m-%dT%H:%M:%SZ").replace(
                    tzinfo=datetime.timezone.utc)
                if when < datetime.datetime.now(datetime.timezone.utc):
                    result.update(verdict="DROP", delivered=False, note="expired")
                    return json_reply(200, result)
            except ValueError:
                pass
        path, notes = None, []
        for rule in sub["rules"]:
            if rule["match"] is None:
                path = rule["path"]
                break
            try:
                if cel_match(rule["match"], ce):
                    path = rule["path"]
                    break
            except CelUnsupported as err:
                notes.append("rule %r not evaluated: %s" % (rule["match"], err))
        if notes:
            result["notes"] = notes
        if not path:
            # Contract §2.1: no rule matches and no default -> dropped as success.
            result.update(verdict="SUCCESS", delivered=False, note="no route matched")
            return json_reply(200, result)
        result["path"] = path
        md = {"pubsubName": pubsub_name}
        md.update(metadata)
        app_headers = [("Content-Type", "application/cloudevents+json")] + metadata_to_headers(md)
        if isinstance(ce.get("traceparent"), str) and ce["traceparent"]:
            app_headers.append(("Traceparent", ce["traceparent"]))
        result["delivered"] = True
        try:
            resp = self.app_call("POST", path, app_headers, body=payload.encode("utf-8"), timeout=timeout)
        except AppCallError as err:
            result.update(error=str(err), verdict="RETRY")
            return json_reply(200, result)
        result["status"] = resp.status
        result["headers"] = resp.headers_dict()
        result["body"] = resp.body.decode("utf-8", "replace")
        result["verdict"] = pubsub_verdict(resp.status, resp.body)
        return json_reply(200, result)

    def deliver_bulk(self, pubsub_name, topic, query, headers, body):
        """Contract §2.3: the entries of one bulk delivery, each a CloudEvent
        built as for a single message, posted at once to the subscription's
        route; the answer's statuses read per entry."""
        if self.pubsub(pubsub_name) is None:
            return json_reply(404, {"error": "no pubsub named %s" % pubsub_name})
        with self.lock:
            sub = next((s for s in self.subscriptions
                        if s["pubsubname"] == pubsub_name and s["topic"] == topic), None)
        if sub is None:
            return json_reply(409, {"error": "no subscription for pubsub %s topic %s" % (pubsub_name, topic)})
        bulk = sub.get("bulkSubscribe")
        if not isinstance(bulk, dict) or bulk.get("enabled") is not True:
            return json_reply(409, {"error": "the subscription has no bulkSubscribe enabled"})
        try:
            messages = json.loads(body or b"[]")
        except ValueError:
            return json_reply(400, {"error": "the body is not a JSON list of messages"})
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return json_reply(400, {"error": "the body is not a JSON list of messages"})
        raw = _truthy(sub["metadata"].get("rawPayload", "false"))
        entries = []
        for m in messages:
            data = m.get("data")
            payload = data.encode() if isinstance(data, str) else json.dumps(data, separators=(",", ":")).encode()
            entry_id = m.get("entryId") or str(uuid.uuid4())
            if raw:
                entries.append({"entryId": entry_id, "event": base64.b64encode(payload).decode("ascii"),
                                "metadata": m.get("metadata") or {}, "contentType": "application/octet-stream"})
                continue
            ce = self.build_cloudevent(pubsub_name, topic, m.get("contentType") or "application/json", payload,
                                       {}, "", "")
            entries.append({"entryId": entry_id, "event": json.loads(go_marshal(ce, "literal")),
                            "metadata": m.get("metadata") or {}, "contentType": "application/cloudevents+json"})
        envelope = {"id": str(uuid.uuid4()), "type": "com.dapr.event.sent.bulk", "topic": topic,
                    "pubsubname": pubsub_name, "metadata": {}, "entries": entries}
        ids = [e["entryId"] for e in entries]
        result = {"path": sub["path"], "entries": ids, "status": None, "body": None}
        try:
            resp = self.app_call("POST", sub["path"], [("Content-Type", "application/json")],
                                 body=json.dumps(envelope).encode("utf-8"))
        except AppCallError as err:
            result.update(error=str(err), verdicts=dict.fromkeys(ids, "RETRY"))
            return json_reply(200, result)
        result["status"] = resp.status
        result["body"] = resp.body.decode("utf-8", "replace")
        result["verdicts"] = bulk_verdicts(resp.status, resp.body, ids)
        return json_reply(200, result)

    # -- control API -----------------------------------------------------------

    def control(self, method, raw_path, query, headers, body):
        parts = [urllib.parse.unquote(p) for p in raw_path.split("/")[2:]]
        while parts and parts[-1] == "":
            parts.pop()

        def body_json(default):
            if not body.strip():
                return default, None
            try:
                return json.loads(body.decode("utf-8")), None
            except ValueError as err:
                return None, json_reply(400, {"error": "body is not JSON: %s" % err})

        if parts == ["startup"] and method == "POST":
            opts, err = body_json({})
            if err:
                return err
            if not isinstance(opts, dict):
                return json_reply(400, {"error": "startup options must be a JSON object"})
            status, result = self.run_startup(opts)
            return json_reply(status, result)
        if parts == ["state"] and method == "GET":
            with self.lock:
                return json_reply(200, {
                    "appId": self.app_id, "outboundReady": self.outbound_ready(),
                    "ready": self.runtime_ready(), "startupDone": self.startup_done,
                    "startup": self.startup_result, "bindings": self.binding_state,
                    "subscriptions": self.subscriptions,
                    "components": {"bindings": [{k: b[k] for k in ("name", "type", "route", "is_input",
                                                                   "is_output", "operations")}
                                                for b in self.bindings],
                                   "pubsubs": self.pubsubs, "states": self.states}})
        if len(parts) == 2 and parts[0] == "states" and method == "GET":
            with self.lock:
                if parts[1] not in self.state_items:
                    return json_reply(404, {"error": "no state store named %s" % parts[1]})
                items = {k: self._state_item(parts[1], k) for k in list(self.state_items[parts[1]])}
                now = self.state_now()
                return json_reply(200, {k: dict({"value": v[0].decode("utf-8", "replace"), "etag": v[1]},
                                                **({"ttl": round(v[2] - now, 3)} if v[2] is not None else {}))
                                        for k, v in items.items() if v is not None})
        if parts == ["states", "clock"] and method == "POST":
            opts, err = body_json({})
            if err:
                return err
            advance = opts.get("advance") if isinstance(opts, dict) else None
            if isinstance(advance, bool) or not isinstance(advance, (int, float)) or \
                    not math.isfinite(advance) or advance < 0:
                return json_reply(400, {"error": "body must be {\"advance\": seconds >= 0}"})
            with self.lock:
                self.state_clock += advance
            return Reply(204)
        if parts == ["health-probe"] and method == "POST":
            return json_reply(200, self.health_probe())
        if len(parts) == 3 and parts[:2] == ["deliver", "binding"] and method == "POST":
            return self.deliver_binding(parts[2], query, headers, body)
        if len(parts) >= 4 and parts[:2] == ["deliver", "pubsub"] and method == "POST":
            return self.deliver_pubsub(parts[2], "/".join(parts[3:]), query, headers, body)
        if len(parts) >= 4 and parts[:2] == ["deliver", "bulk"] and method == "POST":
            return self.deliver_bulk(parts[2], "/".join(parts[3:]), query, headers, body)
        if parts == ["faults"]:
            if method == "DELETE":
                with self.lock:
                    self.faults = []
                return Reply(204)
            if method == "GET":
                with self.lock:
                    return json_reply(200, self.faults)
            if method == "POST":
                specs, err = body_json(None)
                if err:
                    return err
                try:
                    faults = [validate_fault(s) for s in (specs if isinstance(specs, list) else [specs])]
                except ValueError as exc:
                    return json_reply(400, {"error": str(exc)})
                with self.lock:
                    self.faults.extend(faults)
                return json_reply(200, {"added": len(faults)})
        if parts == ["received"]:
            if method == "GET":
                with self.lock:
                    return json_reply(200, list(self.received))
            if method == "DELETE":
                with self.lock:
                    self.received = []
                return Reply(204)
        if len(parts) == 3 and parts[0] == "bindings" and parts[2] == "response" and method in ("PUT", "POST"):
            b = self.binding(parts[1])
            if b is None:
                return json_reply(404, {"error": "no binding named %s" % parts[1]})
            spec, err = body_json({})
            if err:
                return err
            if not isinstance(spec, dict):
                return json_reply(400, {"error": "response must be a JSON object"})
            with self.lock:
                b["response"] = spec
            return Reply(204)
        if parts == ["shutdown"] and method == "POST":
            self.request_stop(0, delay=0.05)
            return json_reply(200, {"shutdown": True})
        return json_reply(404, {"error": "unknown control endpoint %s %s" % (method, raw_path)})

    def request_stop(self, code, delay=0.0):
        def stop():
            if delay:
                time.sleep(delay)
            self.exit_code = code
            self.stop_event.set()
        threading.Thread(target=stop, daemon=True).start()


def pubsub_verdict(status, body):
    """Contract §2.2 response table."""
    if 200 <= status <= 299:
        try:
            doc = go_json_parse(body, first_value_only=True)  # json.NewDecoder(...).Decode
        except GoJSONError:
            return "SUCCESS"  # empty (EOF) or non-JSON body
        if doc is None:
            return "SUCCESS"
        if not isinstance(doc, dict):
            return "SUCCESS"  # decode error into AppResponse -> treated as success
        st = ""
        for key, value in doc.pairs:
            if key.lower() == "status":
                if value is None:
                    continue
                if not is_json_string(value):
                    return "SUCCESS"  # type error -> decode error -> success
                st = value
        if st in ("", "SUCCESS"):
            return "SUCCESS"
        if st == "DROP":
            return "DROP"
        return "RETRY"  # "RETRY" and unknown statuses
    if status == 404:
        return "DROP"
    return "RETRY"


def bulk_verdicts(status, body, entry_ids):
    """Contract §2.3 response table, per entry: a 2xx body's statuses (an
    entry missing from them, or with "" or an unknown status, is RETRY; a
    body that does not parse makes all RETRY); 404 drops all; any other
    status retries all."""
    if status == 404:
        return dict.fromkeys(entry_ids, "DROP")
    if not 200 <= status <= 299:
        return dict.fromkeys(entry_ids, "RETRY")
    try:
        doc = json.loads(body)
    except ValueError:
        return dict.fromkeys(entry_ids, "RETRY")
    given = {}
    statuses = doc.get("statuses") if isinstance(doc, dict) else None
    for item in statuses if isinstance(statuses, list) else []:
        if isinstance(item, dict) and isinstance(item.get("entryId"), str):
            given[item["entryId"]] = item.get("status")
    return {i: given.get(i) if given.get(i) in ("SUCCESS", "DROP", "RETRY") else "RETRY"
            for i in entry_ids}


def validate_fault(spec):
    if not isinstance(spec, dict):
        raise ValueError("a fault must be a JSON object")
    path = spec.get("path")
    if not isinstance(path, str) or not path:
        raise ValueError("a fault needs a \"path\"")
    if path.startswith("/emulator"):
        raise ValueError("faults apply to sidecar API paths only")
    action = spec.get("action")
    count = spec.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or (count < 1 and count != -1):
        raise ValueError("\"count\" must be >= 1, or -1 for unlimited")
    fault = {"path": path, "action": action, "remaining": count}
    if spec.get("method"):
        fault["method"] = str(spec["method"]).upper()
    if action == "status":
        status = spec.get("status")
        if not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError("a status fault needs \"status\" between 200 and 599")
        fault["status"] = status
        for key in ("errorCode", "message"):
            if key in spec:
                fault[key] = str(spec[key])
        if "failEntries" in spec:
            if not isinstance(spec["failEntries"], list) or not all(isinstance(i, str) for i in spec["failEntries"]):
                raise ValueError("\"failEntries\" must be a list of entry ids")
            fault["failEntries"] = spec["failEntries"]
        if "ms" in spec:
            if not isinstance(spec["ms"], (int, float)) or spec["ms"] < 0:
                raise ValueError("\"ms\" must be >= 0")
            fault["ms"] = spec["ms"]
        if "retryAfter" in spec:
            after = spec["retryAfter"]
            if not isinstance(after, int) or isinstance(after, bool) or after < 0:
                raise ValueError("\"retryAfter\" must be whole seconds >= 0")
            fault["retryAfter"] = after
    elif action == "delay":
        ms = spec.get("ms")
        if not isinstance(ms, (int, float)) or ms < 0:
            raise ValueError("a delay fault needs \"ms\" >= 0")
        fault["ms"] = ms
    elif action != "reset":
        raise ValueError("\"action\" must be status, delay or reset")
    return fault


# ---------------------------------------------------------------------------
# HTTP server.
# ---------------------------------------------------------------------------

class Headers:
    """Request headers: case-insensitive get, and a dict in arrival order
    (duplicates joined with ", ") for the received log."""

    def __init__(self, message):
        self.dict = {}
        self._lower = {}
        for name, value in message.items():
            key = self._lower.get(name.lower(), name)
            self._lower[name.lower()] = key
            self.dict[key] = self.dict[key] + ", " + value if key in self.dict else value

    def get(self, name):
        key = self._lower.get(name.lower())
        return None if key is None else self.dict[key]


class BadRequestBody(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "daprd-emulator"
    # the head and the body go out in two writes: without this, Nagle holds
    # the body back until the peer's delayed ACK (40 ms on Linux)
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        self.server.emu.log("%s " + fmt, self.address_string(), *args)

    def send_response(self, code, message=None):
        # Like Go's server: Date but no Server header.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_TRACE = do_GET

    def read_body(self, keep):
        """Reads the whole request body (Content-Length or chunked); keeps at
        most keep+1 bytes so callers can tell an oversize body."""
        kept = bytearray()
        total = 0

        def take(n):
            nonlocal total
            while n > 0:
                chunk = self.rfile.read(min(n, 65536))
                if not chunk:
                    raise BadRequestBody("unexpected EOF in body")
                n -= len(chunk)
                total += len(chunk)
                if len(kept) <= keep:
                    kept.extend(chunk[: keep + 1 - len(kept)])
                if total > max(keep, DRAIN_CAP):
                    raise BadRequestBody("body too large to drain")

        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise BadRequestBody("unexpected EOF in chunked body")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise BadRequestBody("malformed chunk size") from None
                if size == 0:
                    while True:
                        trailer = self.rfile.readline(65537)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    break
                take(size)
                self.rfile.readline(3)
        else:
            length = self.headers.get("Content-Length")
            if length:
                try:
                    n = int(length)
                except ValueError:
                    raise BadRequestBody("bad Content-Length") from None
                if n < 0:
                    raise BadRequestBody("bad Content-Length")
                take(n)
        return bytes(kept), len(kept) > keep

    def write_reply(self, reply):
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        no_body = reply.status in (204, 304) or reply.status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if not no_body and self.command != "HEAD" and reply.body:
            self.wfile.write(reply.body)

    def reset_connection(self):
        # SO_LINGER {on, 0}: close() sends an RST instead of a FIN.
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            fd = sock.detach()
            os.close(fd)
        except OSError:
            pass
        self.close_connection = True

    def dispatch(self):
        emu = self.server.emu
        target = self.path
        if "://" in target.split("?", 1)[0]:
            target = urllib.parse.urlsplit(target)._replace(scheme="", netloc="").geturl() or "/"
        raw_path, _, query = target.partition("?")
        control = raw_path == "/emulator" or raw_path.startswith("/emulator/")
        try:
            body, too_large = self.read_body(CONTROL_BODY_CAP if control else emu.max_body)
        except BadRequestBody as err:
            self.close_connection = True
            self.write_reply(Reply(400, ("bad request body: %s\n" % err).encode(), (), "text/plain"))
            return
        headers = Headers(self.headers)
        try:
            if control:
                reply = emu.control(self.command, raw_path, query, headers, body)
            else:
                reply, _ = emu.sidecar(self.command, raw_path, query, headers, body, too_large)
                if reply is None:
                    self.reset_connection()
                    return
        except Exception as err:  # a bug in the emulator: say so instead of dropping the connection
            traceback.print_exc()
            reply = json_reply(500, {"error": "internal emulator error: %s: %s" % (type(err).__name__, err)})
        self.write_reply(reply)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True


def write_ready_file(path, port):
    # Temp file + rename so a reader never sees a partial file.
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".daprd-emulator-", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


CONTROL_HELP = """\
control API (same port, never token-checked):
  POST   /emulator/startup                   run the daprd startup sequence toward the app
  GET    /emulator/state                     components, startup result, binding states, subscriptions
  POST   /emulator/health-probe              one app health probe (GET --app-health-check-path, no token)
  POST   /emulator/deliver/binding/<name>    deliver an input-binding event (?chunked=1, ?strict=1)
  POST   /emulator/deliver/pubsub/<ps>/<t>   deliver a pub/sub message (?raw=1, ?metadata.k=v)
  POST   /emulator/deliver/bulk/<ps>/<t>     deliver messages in one bulk request (a bulkSubscribe
                                             subscription): body [{"data", "contentType", "metadata"}]
  POST|GET|DELETE /emulator/faults           inject / list / clear sidecar faults
  GET|DELETE /emulator/received              sidecar API calls received / clear them
  GET    /emulator/states/<store>            a state store's live items {key: {value, etag[, ttl]}}
  POST   /emulator/states/clock              {"advance": s}: state TTLs run s seconds ahead
  PUT    /emulator/bindings/<name>/response  set what an http output binding answers
  POST   /emulator/shutdown                  exit 0 after answering
See tests/dapr/README.md for details."""


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="daprd_emulator.py",
        description="Emulates the Dapr sidecar (daprd) HTTP API for an app using app-protocol http. "
                    "Environment: DAPR_API_TOKEN (required on app->daprd calls), APP_API_TOKEN "
                    "(sent on daprd->app calls).",
        epilog=CONTROL_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--app-port", type=int, required=True, help="the app's HTTP port")
    p.add_argument("--app-host", default="127.0.0.1", help="the app channel address (default 127.0.0.1)")
    p.add_argument("--dapr-http-port", type=int, required=True, help="port to listen on; 0 picks a free one")
    p.add_argument("--components", required=True, metavar="FILE.json", help="components file (JSON)")
    p.add_argument("--app-id", default="app", help="app id (default: app)")
    p.add_argument("--max-body-size", type=parse_size, default=DEFAULT_MAX_BODY, metavar="BYTES",
                   help="request/app-response body limit (default 4 MiB; 16Mi style suffixes accepted)")
    p.add_argument("--outbound-ready-after-ms", type=int, default=0, metavar="N",
                   help="/v1.0/healthz/outbound answers 500 until N ms after start (default 0)")
    p.add_argument("--ready-file", metavar="PATH", help="write the listening port here (atomically)")
    p.add_argument("--healthz-after-startup", action="store_true",
                   help="/v1.0/healthz stays 500 until a startup sequence completed (real daprd)")
    p.add_argument("--enable-app-health-check", action="store_true",
                   help="probe the app's health endpoint during startup")
    p.add_argument("--app-health-check-path", default="/healthz")
    p.add_argument("--app-health-probe-interval-ms", type=int, default=5000)
    p.add_argument("--app-health-probe-timeout-ms", type=int, default=500)
    p.add_argument("--app-binding-options-timeout-ms", type=int, default=OPTIONS_PROBE_TIMEOUT_MS)
    p.add_argument("--auto-startup", action="store_true",
                   help="run the startup sequence on start, waiting for the app port like daprd")
    p.add_argument("--no-bulk-publish-v1", action="store_true",
                   help="bulk publish only under /v1.0-alpha1/, as before Dapr 1.17")
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        emu = Emulator(args, os.environ)
    except ComponentsError as err:
        sys.stderr.write("daprd-emulator: %s\n" % err)
        return 2
    try:
        server = Server(("127.0.0.1", args.dapr_http_port), Handler)
    except OSError as err:
        sys.stderr.write("daprd-emulator: cannot listen on 127.0.0.1:%d: %s\n" % (args.dapr_http_port, err))
        return 1
    server.emu = emu
    port = server.server_address[1]

    def on_signal(signum, frame):
        emu.stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    serve = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    serve.start()
    if args.ready_file:
        write_ready_file(args.ready_file, port)
    sys.stdout.write("daprd-emulator listening on 127.0.0.1:%d\n" % port)
    sys.stdout.flush()
    if args.auto_startup:
        threading.Thread(target=emu.run_startup, args=({"timeoutMs": None},), daemon=True).start()
    while not emu.stop_event.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    return emu.exit_code


if __name__ == "__main__":
    sys.exit(main())
