/* `logs-handler --check-rules FILE`: a rules file checked as the function
 * would run it (the document, its compile, its templates, the outputs of
 * the function context, the states entry of its state_store) and printed normalized, with every
 * default. */
#ifndef LH_CHECK_RULES_H
#define LH_CHECK_RULES_H

#include <stdio.h>

#include <ofctx/ofctx.h>

/* The rules file at `path`, checked against the outputs of `cfg` (NULL:
 * not checked): 0 with the normalized document as indented JSON on `out`,
 * or 2 with the fault on `err`, one line naming the file and the path in
 * it ("rules.yaml: rules[2].condition.window: \"5 minutes\" is not a
 * duration (90, 30s, 5m, 1h, 1d)"). Nothing else is written. */
int lh_check_rules(const ofctx_config_t *cfg, const char *path, FILE *out, FILE *err);

/* The function context `cfg` has the states entry `entry` (the rules'
 * state_store): 0, or -1 with a message naming it and the entries there
 * are in `err`. */
int lh_check_state_store(const ofctx_config_t *cfg, const char *entry, char *err, size_t size);

#endif
