/* The rules as data: the rules file (LOGS_RULES_FILE, YAML or JSON) or the
 * LOGS_* variables → the normalized rules document, a jansson tree that
 * rule.c compiles and `--check-rules` prints. Checked here: every key, its
 * type, range and shape, with the JSON path of a fault; checked at compile
 * (they need PCRE2 or the field list): regexes, `where` conditions,
 * templates, and that group_by names fields the rule has.
 *
 * The normalized document (every key present, in this order, nothing else;
 * durations in seconds, as reals):
 *   {"settings": {"max_keys": 10000, "notify_rate": 1.0, "notify_burst": 3.0,
 *                 "receiver": "logs-handler", "state_store": null},
 *    "rules": [{"name", "severity", "output", "format", "repeat_interval",
 *               "resolve_after", "lease",
 *               "select": {"namespace": [..], "pod": [..], "container": [..],
 *                          "labels": {NAME: [..]}, "self": false},
 *               "match": {"parse": "none", "where": [..], "regex": null},
 *               "group_by": [..], "condition": {"kind": "any", ...},
 *               "labels": {..}, "annotations": {..}, "samples": 3}]}
 *
 * The file's keys and their defaults:
 *   settings: max_keys (integer 1..1000000, 10000), notify_rate (notifications
 *     a second, 0.001..1000, 1), notify_burst (integer 1..1000, 3), receiver
 *     (text, "logs-handler"), state_store (the function context's states
 *     entry that keeps the open incidents, incidents_store.h; null: none).
 *   defaults: any rule key but name. A rule's own key replaces the default,
 *     except select, match, labels and annotations, which are merged key by
 *     key (the rule's keys win; select.labels as one key); a rule's null
 *     drops the default.
 *   rules (required, a non-empty list), each:
 *     name (required, unique, [a-z0-9-]+, at most 63), severity ("warning"),
 *     output (an output of the function context, "notification-manager"),
 *     format ("notification-manager" or "alertmanager"), repeat_interval
 *     (1s..7d, 1h), resolve_after (1s..1d, 5m), lease (1s..8d, longer than
 *     repeat_interval; repeat_interval + resolve_after),
 *     select: namespace, pod, container (a matcher or a list of them: "VALUE",
 *       "=~RE", "!=VALUE", "!~RE"; "*" or [] = any; a negative matcher stands
 *       alone in its list), labels (Kubernetes label → matchers), self (false),
 *     match: parse ("none", "access_log" or "json"), where (a condition or a
 *       list, []), regex (null),
 *     group_by (field names, [namespace, pod, container]; at most 8),
 *     condition (exactly one kind; {any: true} by default):
 *       {count: N (1..1000000), window: W} | {ratio: 0 < R <= 1, window: W,
 *       of: {where: [..]} ({where: []}), min_total: N >= 1 (20)} |
 *       {absent: D, forget_after: F > D (24h, or 2 x absent if longer)};
 *       windows and absent 1s..7d, forget_after at most 30d,
 *     labels, annotations (names [a-zA-Z_][a-zA-Z0-9_]*, not "__..."; values
 *       text; labels.alertname replaces the rule name as the alertname),
 *     samples (integer 0..10, 3).
 *   Durations: a number of seconds, or a number with s, m, h or d ("90",
 *   "30s", "1.5h", "1d"); every one at least 1s. Integers may be written
 *   as integral reals (5.0).
 *
 * Ownership: the documents returned belong to the caller (json_decref). */
#ifndef LH_RULES_DOC_H
#define LH_RULES_DOC_H

#include <stddef.h>

#include <jansson.h>

/* An environment lookup (getenv, or a test's). */
typedef const char *(*lh_getenv_fn)(const char *name);
/* Whether the function context has the output `name`. */
typedef int (*lh_has_output_fn)(void *arg, const char *name);
/* One warning line (without a trailing newline). */
typedef void (*lh_warn_fn)(void *arg, const char *message);

/* A duration, "90", "30s", "5m", "1.5h", "1d" (a number means seconds),
 * into *seconds: 0, or -1 when `s` is none. */
int lh_duration_parse(const char *s, double *seconds);

/* A parsed rules file (any JSON tree) → the normalized document into *out.
 * has_output (may be NULL: no check) tells which outputs exist. 0, or -1
 * with "PATH: message" in err, e.g.
 * rules[2].condition.window: "5 minutes" is not a duration (90, 30s, 5m, 1h, 1d)
 * rules[0].selct: unknown key (did you mean "select"?) */
int lh_rules_doc_normalize(json_t **out, const json_t *file, lh_has_output_fn has_output, void *arg,
                           char *err, size_t size);

/* The YAML (or JSON) file at `path` → the normalized document, as
 * lh_rules_doc_normalize: a syntax error is "FILE:LINE:COL: message", a
 * fault of the document "PATH: message" as above (the caller names the
 * file if it wants). */
int lh_rules_doc_load(json_t **out, const char *path, lh_has_output_fn has_output, void *arg,
                      char *err, size_t size);

/* The LOGS_* variables (through `get`) → the normalized document of one
 * rule, today's alert: logs-404, namespaces LOGS_NAMESPACES, pods
 * LOGS_POD_REGEX, statuses LOGS_STATUSES, and the rest with the defaults
 * of docs/logs-handler.md. Warns through `warn` (may be NULL) about each
 * LOGS_* name of `names` (environ's "NAME=value" strings, NULL-terminated;
 * may be NULL) that is no variable of the logs-handler, with the nearest
 * one. 0, or -1 with a message naming the variable in err. */
int lh_rules_doc_from_env(json_t **out, lh_getenv_fn get, char *const *names, lh_warn_fn warn,
                          void *warn_arg, lh_has_output_fn has_output, void *arg, char *err,
                          size_t size);

/* With a rules file: warns about unknown LOGS_* names (as above) and, in
 * one warning, about the rule-shaping variables that are set and ignored
 * (LOGS_NAMESPACES, LOGS_POD_REGEX, LOGS_STATUSES, LOGS_ALERT_NAME,
 * LOGS_ALERT_SEVERITY, LOGS_OUTPUT, LOGS_ALERT_FORMAT, LOGS_REPEAT_INTERVAL,
 * LOGS_QUIET_PERIOD, LOGS_ALERT_LEASE_SECONDS: the file says all that).
 * The settings variables (LOGS_MAX_KEYS, LOGS_NOTIFY_RATE, LOGS_NOTIFY_BURST,
 * LOGS_ALERT_RECEIVER, LOGS_STATE_STORE) still apply, as a deployment's override: each one
 * set replaces the document's setting. 0, or -1 with a message naming the
 * variable in err. */
int lh_rules_doc_env_settings(json_t *doc, lh_getenv_fn get, char *const *names, lh_warn_fn warn,
                              void *warn_arg, char *err, size_t size);

/* The document the function runs with: with LOGS_RULES_FILE set, that
 * file's (read once) with the settings variables over it
 * (lh_rules_doc_env_settings); else the variables' one rule
 * (lh_rules_doc_from_env). A fault of the file's document is
 * "FILE: PATH: message", a syntax error "FILE:LINE:COL: message". */
int lh_rules_doc_read(json_t **out, lh_getenv_fn get, char *const *names, lh_warn_fn warn,
                      void *warn_arg, lh_has_output_fn has_output, void *arg, char *err,
                      size_t size);

#endif
