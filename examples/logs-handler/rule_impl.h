/* The compiled rule set's insides, shared by rule.c (compiling it) and
 * rule_eval.c (running it on records); not for other files. Ownership as
 * rule.h says: the rule set owns all of it, strings point into its copy of
 * the document. */
#ifndef LH_RULE_IMPL_H
#define LH_RULE_IMPL_H

#include <stdint.h>

#include "matcher.h"
#include "rule.h"
#include "where.h"

/* Strings one of which a record's raw bytes hold when it may give a hit:
 * indices into the rule set's literals. */
#define LH_NEED_ANY 8
typedef struct {
  size_t lit[LH_NEED_ANY];
  size_t count;
} need_t;

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
  const char *regex_text;
  need_t needs[6]; /* the prefilter's: select's namespace, pod, container, regex, where's */
  size_t need_count;
  const unsigned char *statuses; /* the statuses a hit needs, or NULL */
} rule_t;

/* A literal of the prefilter: its text, owned by the rule set. */
typedef struct {
  char *text;
  size_t len;
} literal_t;

struct lh_ruleset {
  json_t *doc; /* the strings below point into it */
  rule_t *rules;
  size_t count;
  lh_cond_t *conds;
  lh_notify_t *notify;
  size_t max_keys;
  double rate, burst;
  const char *receiver;
  const char *state_store; /* settings.state_store, or NULL */
  char *self_ns, *self_pod;
  pcre2_match_data *md;
  literal_t *lits; /* the prefilter's, each once */
  size_t lit_count;
  /* the prefilter's scratch, record by record: for each literal, the number
   * of the record it was last looked for in, times two, plus 1 when it was
   * there (one more holds the record's number); the rules that may give a
   * hit (lh_ruleset_eval_passed looks at no other) */
  uint32_t *lit_seen;
  unsigned char *may;
  /* with many literals, one pass over the bytes finds them all: the pairs
   * of bytes that start one (a bit each), and the literals by their first
   * byte (those of byte b are by_first[first[b]] to by_first[first[b + 1]]) */
  uint64_t *pairs;
  size_t *by_first, first[257];
  unsigned char lead[256]; /* 1 for a byte that starts a literal */
};

/* The prefilter of rule `i`, compiled (rule_eval.c): 0, or -1 when out of
 * memory. */
int lh_prefilter_compile(lh_ruleset_t *rs, size_t i, lh_cond_kind_t kind);
/* The index of the literals of all the rules, once they are compiled: 0,
 * or -1 when out of memory. */
int lh_prefilter_index(lh_ruleset_t *rs);

#endif
