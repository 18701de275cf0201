/* The compiled rule set's insides, shared by rule.c (compiling it) and
 * rule_eval.c (running it on records); not for other files. Ownership as
 * rule.h says: the rule set owns all of it, strings point into its copy of
 * the document. */
#ifndef LH_RULE_IMPL_H
#define LH_RULE_IMPL_H

#include "matcher.h"
#include "rule.h"
#include "where.h"

typedef struct {
  const char *name; /* kubernetes.labels.<name> */
  lh_matchers_t m;
} label_select_t;

typedef struct {
  const char *name, *output;
  int self;
  lh_matchers_t ns, pod, container;
  label_select_t *labels;
  size_t label_count;
  lh_parse_t parse;
  pcre2_code *regex;
  lh_where_t *where, *of;
  lh_fref_t *keys; /* group_by, resolved */
  const char **group_by;
  size_t key_count;
  lh_fref_t *fields; /* what the templates need */
  char **field_names;
  size_t field_count;
  lh_field_t *extra_labels, *annotations;
  size_t extra_label_count, annotation_count;
  int ns_literal, pod_literal;   /* the prefilter may look for these values */
  const unsigned char *statuses; /* the statuses a hit needs, or NULL */
} rule_t;

struct lh_ruleset {
  json_t *doc; /* the strings below point into it */
  rule_t *rules;
  size_t count;
  lh_cond_t *conds;
  lh_notify_t *notify;
  size_t max_keys;
  double rate, burst;
  const char *receiver;
  char *self_ns, *self_pod;
  pcre2_match_data *md;
};

#endif
