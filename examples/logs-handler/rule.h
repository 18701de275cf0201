/* The compiled rule set: the normalized rules document (rules_doc.h's
 * output, see docs/logs-handler.md) checked and compiled once (PCRE2 with
 * JIT, `where` conditions parsed, fields resolved), then run on every
 * record's view. Selecting by namespace and pod comes first; the access-log
 * and JSON parses of the line are done lazily, once per record, whatever the
 * rule count. The rule set owns a copy of the document and everything it
 * gives (strings, lh_cond_t, lh_notify_t), valid until lh_ruleset_free.
 * Not thread-safe: one rule set per loop (it holds the match data). */
#ifndef LH_RULE_H
#define LH_RULE_H

#include <stddef.h>

#include <jansson.h>

#include "alert.h"
#include "view.h"

typedef struct lh_ruleset lh_ruleset_t;

/* `normalized` → the compiled rules: 0 and `*out`, or -1 with the JSON path
 * and the fault in `err` ("rules[0].match.regex: \"(\": PCRE2 error at
 * offset 1: missing closing parenthesis"). `self_namespace` and `self_pod`
 * (POD_NAMESPACE, POD_NAME; NULL or "" when unknown) name the function's own
 * pod, whose records match only rules with select.self true. */
int lh_ruleset_compile(lh_ruleset_t **out, const json_t *normalized, const char *self_namespace,
                       const char *self_pod, char *err, size_t size);
void lh_ruleset_free(lh_ruleset_t *rs);

size_t lh_ruleset_count(const lh_ruleset_t *rs);
const lh_cond_t *lh_ruleset_conds(const lh_ruleset_t *rs); /* an array, one per rule */
const lh_notify_t *lh_ruleset_notify(const lh_ruleset_t *rs, size_t rule);
const char *lh_ruleset_output(const lh_ruleset_t *rs, size_t rule);
const char *lh_ruleset_name(const lh_ruleset_t *rs, size_t rule);
/* The rule's normalized object, as compiled (the rule set's copy): to log
 * it, and for a reload to tell unchanged rules (json_equal) and keep their
 * groups. */
const json_t *lh_ruleset_rule_json(const lh_ruleset_t *rs, size_t rule);
/* The fields a rule's hits carry (the names of lh_hit_t.fields, in order). */
const char *const *lh_ruleset_fields(const lh_ruleset_t *rs, size_t rule, size_t *count);

/* settings */
size_t lh_ruleset_max_keys(const lh_ruleset_t *rs);
double lh_ruleset_notify_rate(const lh_ruleset_t *rs);
double lh_ruleset_notify_burst(const lh_ruleset_t *rs);
const char *lh_ruleset_receiver(const lh_ruleset_t *rs);
/* The states entry that keeps the open incidents (settings.state_store,
 * LOGS_STATE_STORE), or NULL: none. */
const char *lh_ruleset_state_store(const lh_ruleset_t *rs);

/* Every rule on the record: `hit` is called, in rule order, for each rule
 * whose select (and, for a ratio, `of.where`) the record passes and that it
 * matches (matched 1), or only counts in the ratio's total (matched 0). The
 * hit's strings are the view's, valid during the call. 0, or -1 when out of
 * memory. */
int lh_ruleset_eval(const lh_ruleset_t *rs, lh_view_t *v, void (*hit)(const lh_hit_t *, void *),
                    void *arg);

/* A cheap test on the raw record, rule by rule: a rule may give a hit for
 * it unless a string it needs is not in the bytes (a namespace, pod or
 * container it selects by equality, the prefixes of the regexes that select
 * them and of its match regex, a status its conditions need) and no \u
 * escape could hide one. 0 when no rule may (the record need not be
 * parsed), else 1; lh_ruleset_eval_passed then runs the rules that may. */
int lh_ruleset_may_match(const lh_ruleset_t *rs, const char *data, size_t len);

/* lh_ruleset_eval on the rules that may give a hit for the record, as the
 * last lh_ruleset_may_match found them (on this record's bytes): the same
 * hits. */
int lh_ruleset_eval_passed(const lh_ruleset_t *rs, lh_view_t *v,
                           void (*hit)(const lh_hit_t *, void *), void *arg);

#endif
