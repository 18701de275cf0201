/* The rules the function runs: the normalized document (rules_doc.h)
 * compiled (rule.h) and its annotation templates checked (template.h), the
 * one line that says each rule at start, and what a reload keeps. */
#ifndef LH_RULES_LOAD_H
#define LH_RULES_LOAD_H

#include <stddef.h>

#include <jansson.h>

#include "rule.h"

/* `doc` → the compiled rule set, as lh_ruleset_compile (`self_namespace`
 * and `self_pod` name the function's own pod), with every rule's
 * annotations checked: 0 and `*out` (the caller's, lh_ruleset_free), or -1
 * with "rules[1].annotations.summary: unknown name ..." in err. */
int lh_rules_compile(lh_ruleset_t **out, const json_t *doc, const char *self_namespace,
                     const char *self_pod, char *err, size_t size);

/* The annotation templates of every rule: 0, or -1 with the path and the
 * fault in err. The names a rule's templates know: the built-in ones, its
 * group_by names, and first.FIELD / last.FIELD of its fields. */
int lh_rules_check_templates(const lh_ruleset_t *rs, char *err, size_t size);

/* Rule `rule` in one line, for the log at start: its name, what it
 * selects, its condition and its output, e.g.
 * logs-404: namespace demo-project, pod =~wordpress-.*, container *; match
 * access_log where status in [404]; condition any; output
 * notification-manager (notification-manager format). A list of two
 * matchers or more is in brackets: namespace [shop, web]. */
void lh_rules_describe(const lh_ruleset_t *rs, size_t rule, char *out, size_t size);

/* For a reload from `old` to `new`: each old rule's index in `new` (a rule
 * of the same name whose normalized JSON is equal), or LH_RULE_GONE, into
 * old_to_new (lh_ruleset_count(old) of them). The count of rules kept. */
size_t lh_rules_kept(const lh_ruleset_t *old, const lh_ruleset_t *new, size_t *old_to_new);

#endif
