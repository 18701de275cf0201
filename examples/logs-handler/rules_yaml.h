/* A YAML document (JSON is YAML too) as a jansson tree, for the rules file.
 *
 * libyaml parses; this file builds the tree and bounds it: at most
 * LH_YAML_MAX_BYTES of text, LH_YAML_MAX_DEPTH nested collections and
 * LH_YAML_MAX_NODES nodes, one document. Anchors and aliases are refused
 * (no "billion laughs"), and so are duplicate keys, keys that are not
 * scalars, and tags other than !!str, !!map and !!seq. Keys are text as
 * written (404: is the key "404").
 *
 * Plain scalars are typed by YAML 1.2's core schema: "", ~, null (Null,
 * NULL) are null; true and false (True, TRUE, False, FALSE) are booleans;
 * [-+]digits and 0x hex are integers; decimals and exponents are reals;
 * everything else is a string. yes, no, on and off are strings (YAML 1.1's
 * booleans make a namespace called "no" a boolean), and so are .inf and
 * .nan (JSON has no such numbers). Quoted scalars are always strings.
 *
 * Errors: "NAME:LINE:COLUMN: message", lines and columns counted from 1. */
#ifndef LH_RULES_YAML_H
#define LH_RULES_YAML_H

#include <stddef.h>

#include <jansson.h>

#define LH_YAML_MAX_BYTES (1024 * 1024)
#define LH_YAML_MAX_DEPTH 32
#define LH_YAML_MAX_NODES 65536

/* The document of the `len` bytes at `text` into *out (the caller owns it,
 * json_decref); an empty document is JSON null. `name` (a file name) starts
 * every message. 0, or -1 with the message in `err`. */
int lh_yaml_parse(json_t **out, const char *text, size_t len, const char *name, char *err,
                  size_t size);

/* The document of the file at `path`, as lh_yaml_parse; a file longer
 * than LH_YAML_MAX_BYTES, or one that cannot be read, is an error. */
int lh_yaml_load(json_t **out, const char *path, char *err, size_t size);

#endif
