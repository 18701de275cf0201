/* The compiled rules on a record (lh_ruleset_eval) and on its raw bytes
 * (lh_ruleset_may_match); see rule.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rule_impl.h"

/* Whether the rule's select of namespace, pod and container holds for
 * these three (NULL: missing). */
static int names_hold(const rule_t *r, const char *const s[3], const size_t n[3],
                      pcre2_match_data *md) {
  return lh_matchers_test(&r->ns, s[0], n[0], md) && lh_matchers_test(&r->pod, s[1], n[1], md) &&
         lh_matchers_test(&r->container, s[2], n[2], md);
}

/* The rule's select on the view; `names_known` when the prefilter read its
 * namespace, pod and container from the bytes and tried them already. */
static int select_holds(const rule_t *r, lh_view_t *v, int names_known, pcre2_match_data *md) {
  static const lh_fref_t ns = {LH_FIELD_NAMESPACE, "namespace", 0}, pod = {LH_FIELD_POD, "pod", 0},
                         container = {LH_FIELD_CONTAINER, "container", 0};
  const char *s, *names[3];
  size_t n, lens[3];

  if (!names_known) {
    names[0] = lh_view_get(v, &ns, &lens[0]);
    names[1] = lh_view_get(v, &pod, &lens[1]);
    names[2] = lh_view_get(v, &container, &lens[2]);
    if (!names_hold(r, names, lens, md))
      return 0;
  }
  for (size_t i = 0; i < r->label_count; i++) {
    lh_fref_t label = {LH_FIELD_LABEL, r->labels[i].name, 0};
    s = lh_view_get(v, &label, &n);
    if (!lh_matchers_test(&r->labels[i].m, s, n, md))
      return 0;
  }
  return 1;
}

/* The hit of rule `i` on the view, to `hit`: 0, or -1 when out of memory. */
static int emit(const lh_ruleset_t *rs, size_t i, lh_view_t *v, int matched,
                void (*hit)(const lh_hit_t *, void *), void *arg) {
  static const lh_fref_t path = {LH_FIELD_PATH, "path", 0};
  const rule_t *r = &rs->rules[i];
  lh_view_mark_t mark = lh_view_mark(v);
  lh_hit_t h = {i, NULL, r->key_count, matched, NULL, NULL, r->field_count, lh_view_time(v)};
  const char **keys;
  lh_field_t *fields;

  if (lh_view_scratch(v, r->key_count, r->field_count, &keys, &fields) != 0)
    return -1;
  for (size_t k = 0; k < r->key_count; k++)
    if (lh_view_text(v, &r->keys[k], &keys[k]) != 0)
      return -1;
    else if (!keys[k])
      keys[k] = "";
  for (size_t f = 0; f < r->field_count; f++) {
    fields[f].name = r->field_names[f];
    if (lh_view_text(v, &r->fields[f], &fields[f].value) != 0)
      return -1;
    if (!fields[f].value)
      fields[f].value = "";
  }
  if (r->parse != LH_PARSE_ACCESS_LOG || !lh_view_status(v) ||
      lh_view_text(v, &path, &h.sample) != 0)
    h.sample = NULL;
  if (!h.sample && lh_view_line(v, &h.sample) != 0)
    return -1;
  h.key = keys;
  h.fields = fields;
  hit(&h, arg);
  lh_view_release(v, mark);
  return 0;
}

/* 1 when the record is the function's own pod's. */
static int own_record(const lh_ruleset_t *rs, lh_view_t *v) {
  static const lh_fref_t ns = {LH_FIELD_NAMESPACE, "namespace", 0}, pod = {LH_FIELD_POD, "pod", 0};
  size_t n;
  const char *s;

  if (!rs->self_pod)
    return 0;
  s = lh_view_get(v, &pod, &n);
  if (!s || strlen(rs->self_pod) != n || memcmp(s, rs->self_pod, n) != 0)
    return 0;
  s = lh_view_get(v, &ns, &n);
  return !rs->self_ns || (s && strlen(rs->self_ns) == n && memcmp(s, rs->self_ns, n) == 0);
}

/* The rules (those `may` flags, when not NULL) on the view. */
static int eval(const lh_ruleset_t *rs, const unsigned char *may, lh_view_t *v,
                void (*hit)(const lh_hit_t *, void *), void *arg) {
  static const lh_fref_t line = {LH_FIELD_LINE, "line", 0};
  size_t n;
  int own;

  if (!lh_view_get(v, &line, &n))
    return 0; /* a view of a dropped record: nothing to match */
  own = own_record(rs, v);

  for (size_t i = 0; i < rs->count; i++) {
    const rule_t *r = &rs->rules[i];
    int matched = 1, ratio = rs->conds[i].kind == LH_COND_RATIO;
    if ((may && !may[i]) || (own && !r->self) ||
        !select_holds(r, v, may && rs->select_known, rs->md) ||
        (ratio && !lh_where_test(r->of, v, rs->md)))
      continue;
    if (r->regex)
      matched = lh_view_regex(v, r->regex, rs->md);
    if (matched < 0)
      return -1;
    matched = matched && lh_where_test(r->where, v, rs->md);
    if ((matched || ratio) && emit(rs, i, v, matched, hit, arg) != 0)
      return -1;
  }
  return 0;
}

int lh_ruleset_eval(const lh_ruleset_t *rs, lh_view_t *v, void (*hit)(const lh_hit_t *, void *),
                    void *arg) {
  return eval(rs, NULL, v, hit, arg);
}

int lh_ruleset_eval_passed(const lh_ruleset_t *rs, lh_view_t *v,
                           void (*hit)(const lh_hit_t *, void *), void *arg) {
  return eval(rs, rs->may, v, hit, arg);
}

/* The literal `text` (`len` bytes) in the rule set's table: its index, or
 * -1 when out of memory. */
static long literal(lh_ruleset_t *rs, const char *text, size_t len) {
  literal_t *grown;

  for (size_t i = 0; i < rs->lit_count; i++)
    if (rs->lits[i].len == len && memcmp(rs->lits[i].text, text, len) == 0)
      return (long)i;
  grown = realloc(rs->lits, (rs->lit_count + 1) * sizeof *grown);
  if (!grown)
    return -1;
  rs->lits = grown;
  grown[rs->lit_count].text = strndup(text, len);
  grown[rs->lit_count].len = len;
  return grown[rs->lit_count].text ? (long)rs->lit_count++ : -1;
}

/* The strings one of which a value passing `m` holds (its EQ values, its
 * regexes' prefixes): their count, 0 when a value may hold none of them. */
static size_t matcher_literals(const lh_matchers_t *m, lh_prefix_t *out, size_t max) {
  size_t n = 0;

  for (size_t i = 0; i < m->count; i++) {
    const lh_matcher_t *one = &m->items[i];
    size_t k = one->kind == LH_MATCH_RE ? lh_regex_prefixes(one->text, out + n, max - n) : 0;
    if (one->kind == LH_MATCH_EQ && n < max && one->len && one->len < LH_PREFIX_SIZE) {
      memcpy(out[n].text, one->text, one->len + 1);
      out[n].len = one->len;
      k = 1;
      for (size_t j = 0; j < one->len; j++)
        k &= (unsigned char)one->text[j] >= 0x20 && !strchr("\"\\/", one->text[j]);
    }
    if (!k)
      return 0;
    n += k;
  }
  return n;
}

/* One more need of the rule: one of `k` strings (each at least two bytes,
 * else none is worth a scan): 0, or -1 when out of memory. */
static int need(lh_ruleset_t *rs, rule_t *r, const lh_prefix_t *any, size_t k) {
  need_t *nd = &r->needs[r->need_count];

  for (size_t j = 0; j < k; j++)
    if (any[j].len < 2)
      return 0;
  for (size_t j = 0; j < k; j++) {
    long at = literal(rs, any[j].text, any[j].len);
    if (at < 0)
      return -1;
    nd->lit[j] = (size_t)at;
  }
  nd->count = k;
  r->need_count += k > 0;
  return 0;
}

int lh_prefilter_compile(lh_ruleset_t *rs, size_t i, lh_cond_kind_t kind) {
  rule_t *r = &rs->rules[i];
  lh_prefix_t any[LH_NEED_ANY];
  const lh_matchers_t *sel[] = {&r->ns, &r->pod, &r->container};

  r->need_count = 0;
  for (size_t j = 0; j < sizeof sel / sizeof *sel; j++)
    if (need(rs, r, any, matcher_literals(sel[j], any, LH_NEED_ANY)) != 0)
      return -1;
  r->select_needs = r->need_count;
  if (kind == LH_COND_RATIO)
    return 0; /* its total counts the records that do not match */
  if (r->regex_text && need(rs, r, any, lh_regex_prefixes(r->regex_text, any, LH_NEED_ANY)) != 0)
    return -1;
  for (size_t j = 0; j < lh_where_count(r->where); j++)
    if (r->need_count < sizeof r->needs / sizeof *r->needs &&
        need(rs, r, any, lh_where_literals(r->where, j, any, LH_NEED_ANY)) != 0)
      return -1;
  return 0;
}

/* \" NNN : a status where an access log has it, right after the request's
 * closing quote, which JSON text always escapes as \" (or as a \u escape,
 * which the caller looks for apart); the size follows after one space.
 * The statuses found (up to `max`, then -1) into `out`; also 1 when the
 * bytes hold a \u escape. */
static int statuses_in(const char *s, size_t len, int *out, size_t max, size_t *n, int *escape) {
  const char *p = s, *end = s + len;

  *n = 0;
  *escape = 0;
  while ((p = memchr(p, '\\', (size_t)(end - p))) != NULL && p + 1 < end) {
    *escape |= p[1] == 'u';
    if (end - p >= 7 && p[1] == '"' && p[2] == ' ' && p[3] >= '1' && p[3] <= '5' && p[4] >= '0' &&
        p[4] <= '9' && p[5] >= '0' && p[5] <= '9' && p[6] == ' ') {
      if (*n == max)
        return -1;
      out[(*n)++] = (p[3] - '0') * 100 + (p[4] - '0') * 10 + (p[5] - '0');
    }
    p += 2; /* past the escaped character, which may be a backslash */
  }
  return 0;
}

typedef struct {
  const char *data;
  size_t len;
  int status[8];
  size_t status_count; /* SIZE_MAX: more than fit */
} bytes_t;

static int has_status(const unsigned char *statuses, const bytes_t *b) {
  for (size_t i = 0; i < b->status_count && i < sizeof b->status / sizeof *b->status; i++)
    if (statuses[b->status[i]])
      return 1;
  return b->status_count == SIZE_MAX;
}

/* Past this many literals, one pass over the bytes costs less than a
 * search for each. */
#define LH_ONE_PASS 8

/* The index of the literals `in` flags: 0, or -1 when out of memory. */
static int index_literals(lit_index_t *x, const literal_t *lits, size_t count,
                          const unsigned char *in) {
  size_t at = 0;

  for (size_t k = 0; k < count; k++)
    x->count += in[k];
  if (x->count < LH_ONE_PASS)
    return 0;
  x->pairs = calloc(65536 / 64, sizeof *x->pairs);
  x->skip = malloc(65536);
  x->by_first = malloc(x->count * sizeof *x->by_first);
  if (!x->pairs || !x->skip || !x->by_first)
    return -1;
  x->shortest = SIZE_MAX;
  for (size_t k = 0; k < count; k++)
    if (in[k] && lits[k].len < x->shortest)
      x->shortest = lits[k].len; /* at least 2 (need() takes no shorter) */
  if (x->shortest > 255)
    x->shortest = 255;
  memset(x->skip, (int)(x->shortest - 1), 65536);
  for (size_t k = 0; k < count; k++)
    for (size_t q = 0; in[k] && q + 1 < x->shortest; q++) {
      unsigned pair = (unsigned char)lits[k].text[q] | (unsigned char)lits[k].text[q + 1] << 8;
      if (x->skip[pair] > x->shortest - 2 - q)
        x->skip[pair] = (unsigned char)(x->shortest - 2 - q);
    }
  for (size_t b = 0; b < 256; b++) {
    x->first[b] = at;
    for (size_t k = 0; k < count; k++)
      if (in[k] && (unsigned char)lits[k].text[0] == b)
        x->by_first[at++] = k;
  }
  x->first[256] = at;
  for (size_t k = 0; k < count; k++) {
    unsigned pair = (unsigned char)lits[k].text[0] | (unsigned char)lits[k].text[1] << 8;
    if (!in[k])
      continue;
    x->pairs[pair / 64] |= (uint64_t)1 << (pair % 64);
  }
  return 0;
}

int lh_prefilter_index(lh_ruleset_t *rs) {
  unsigned char *in = calloc(rs->lit_count + 1, 1);
  int rc;

  rs->slots = calloc(LH_SELECT_SLOTS, sizeof *rs->slots);
  rs->selected = malloc(LH_SELECT_SLOTS * (rs->count ? rs->count : 1));
  if (!in || !rs->slots || !rs->selected) {
    free(in);
    return -1;
  }
  rs->status_gate = 1;
  for (size_t i = 0; i < rs->count; i++)
    rs->status_gate &= rs->rules[i].statuses != NULL;
  memset(in, 1, rs->lit_count);
  rc = index_literals(&rs->all, rs->lits, rs->lit_count, in);
  memset(in, 0, rs->lit_count);
  for (size_t i = 0; i < rs->count; i++)
    for (size_t j = rs->rules[i].select_needs; j < rs->rules[i].need_count; j++)
      for (size_t k = 0; k < rs->rules[i].needs[j].count; k++)
        in[rs->rules[i].needs[j].lit[k]] = 1;
  if (rc == 0)
    rc = index_literals(&rs->line, rs->lits, rs->lit_count, in);
  free(in);
  return rc;
}

/* Each literal of the index looked for in the bytes, in one pass. */
static void find_all(const lh_ruleset_t *rs, const lit_index_t *x, const char *data, size_t len,
                     uint32_t now) {
  const unsigned char *d = (const unsigned char *)data;

  for (size_t j = 0; j < x->count; j++)
    rs->lit_seen[x->by_first[j]] = now;
  /* a window of the shortest literal's length from d[i]; it ends with the
   * pair at d[end - 2] */
  for (size_t i = 0, end = x->shortest; end <= len;) {
    unsigned pair = d[end - 2] | (unsigned)d[end - 1] << 8, skip = x->skip[pair];
    if (skip) {
      i += skip;
      end += skip;
      continue;
    }
    pair = d[i] | (unsigned)d[i + 1] << 8;
    for (size_t j = x->first[d[i]];
         (x->pairs[pair / 64] >> (pair % 64) & 1) && j < x->first[d[i] + 1]; j++) {
      const literal_t *l = &rs->lits[x->by_first[j]];
      if (l->len <= len - i && memcmp(d + i, l->text, l->len) == 0)
        rs->lit_seen[x->by_first[j]] = now | 1;
    }
    i++;
    end++;
  }
}

static int need_met(const lh_ruleset_t *rs, const need_t *nd, const bytes_t *b) {
  uint32_t now = rs->lit_seen[rs->lit_count] << 1;

  for (size_t j = 0; j < nd->count; j++) {
    uint32_t *seen = &rs->lit_seen[nd->lit[j]];
    const literal_t *l = &rs->lits[nd->lit[j]];
    if ((*seen & ~1u) != now)
      *seen = now | (memmem(b->data, b->len, l->text, l->len) != NULL);
    if (*seen & 1)
      return 1;
  }
  return 0;
}

/* 1 when the rule may give a hit for these bytes, by its needs from
 * `from` on. */
static int rule_may_hit(const lh_ruleset_t *rs, const rule_t *r, const bytes_t *b, size_t from) {
  if (r->statuses && !has_status(r->statuses, b))
    return 0;
  for (size_t j = from; j < r->need_count; j++)
    if (!need_met(rs, &r->needs[j], b))
      return 0;
  return 1;
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* The string value after the member name that ends at `p` (its closing
 * quote passed): 1 and `*value` (`*len` bytes) set when a colon and a
 * string without a backslash follow, else -1. */
static int raw_value(const char *p, const char *end, const char **value, size_t *len) {
  const char *q;

  while (p < end && is_ws(*p))
    p++;
  if (p == end || *p++ != ':')
    return -1;
  while (p < end && is_ws(*p))
    p++;
  if (p == end || *p++ != '"' || !(q = memchr(p, '"', (size_t)(end - p))) ||
      memchr(p, '\\', (size_t)(q - p)))
    return -1;
  *value = p;
  *len = (size_t)(q - p);
  return 0;
}

/* The namespace, pod and container of a record read from its bytes: the
 * values after the name tokens "namespace_name", "pod_name" and
 * "container_name" (quotes included), found by their underscore, which
 * few other bytes of a record are. 0 and `s`, `n` set (a missing container
 * left as it is) when the bytes hold each token at most once, the first
 * two once, each followed by a colon and a string without a backslash;
 * else -1. A token once in the bytes is the member's if the record has
 * that member (a string cannot hold its closing quote unescaped), so the
 * values are the ones the record's parse finds. */
static int raw_names(const char *data, size_t len, const char *s[3], size_t n[3]) {
  static const char *const before[3] = {"\"namespace", "\"pod", "\"container"};
  static const size_t lens[3] = {10, 4, 10};
  const char *p = data, *end = data + len, *at[3] = {NULL, NULL, NULL};

  while (p < end && (p = memchr(p, '_', (size_t)(end - p))) != NULL) {
    size_t from = (size_t)(p - data);
    p++;
    if (end - p < 5 || memcmp(p, "name\"", 5) != 0)
      continue;
    for (int k = 0; k < 3; k++) {
      if (from < lens[k] || memcmp(p - 1 - lens[k], before[k], lens[k]) != 0)
        continue;
      if (at[k])
        return -1;
      at[k] = p + 5;
    }
  }
  if (!at[0] || !at[1])
    return -1;
  for (size_t k = 0; k < 3; k++)
    if (at[k] && raw_value(at[k], end, &s[k], &n[k]) != 0)
      return -1;
  return 0;
}

/* Up to 8 bytes of `s` as a number, for a hash. */
static uint64_t word(const char *s, size_t n) {
  uint64_t w = 0;

  memcpy(&w, s, n < 8 ? n : 8);
  return w;
}

/* The select results of every rule on the namespace, pod and container
 * `s` (`n` bytes each; NULL: missing): a slot's, computed when its three
 * are others. */
static const unsigned char *selects(const lh_ruleset_t *rs, const char *const s[3],
                                    const size_t n[3]) {
  uint64_t h = 0;
  size_t total = 0;
  select_slot_t *slot;
  unsigned char *row;

  for (size_t k = 0; k < 3; k++) {
    h = (h ^ n[k]) * 0x100000001b3ull;
    h = (h ^ word(s[k], n[k])) * 0x100000001b3ull;
    h = (h ^ word(s[k] + (n[k] > 8 ? n[k] - 8 : 0), n[k])) * 0x100000001b3ull;
    total += n[k];
  }
  h ^= h >> 29;
  slot = &rs->slots[h % LH_SELECT_SLOTS];
  row = &rs->selected[h % LH_SELECT_SLOTS * rs->count];
  if (slot->used && slot->len[0] == n[0] && slot->len[1] == n[1] && slot->len[2] == n[2] &&
      memcmp(slot->key, s[0], n[0]) == 0 && memcmp(slot->key + n[0], s[1], n[1]) == 0 &&
      memcmp(slot->key + n[0] + n[1], s[2], n[2]) == 0)
    return row;
  for (size_t i = 0; i < rs->count; i++)
    row[i] = (unsigned char)names_hold(&rs->rules[i], s, n, rs->md);
  slot->used = total <= LH_SELECT_KEY;
  for (size_t k = 0, at = 0; slot->used && k < 3; at += n[k++]) {
    slot->len[k] = n[k];
    memcpy(slot->key + at, s[k], n[k]);
  }
  return row;
}

/* Of the rules that `may` flags (their statuses found), those that may
 * give a hit for a record whose namespace, pod and container were read
 * from its bytes: their selects (kept for the next records of the three),
 * then their other needs, found in one pass over the bytes when some rule
 * has them. */
static int by_names(const lh_ruleset_t *rs, const bytes_t *b, const char *const s[3],
                    const size_t n[3]) {
  const unsigned char *sel = selects(rs, s, n);
  int any = 0, scanned = !rs->line.pairs;

  for (size_t i = 0; i < rs->count; i++) {
    const rule_t *r = &rs->rules[i];
    if (!rs->may[i] || !sel[i]) {
      rs->may[i] = 0;
      continue;
    }
    if (!scanned && r->need_count > r->select_needs) {
      find_all(rs, &rs->line, b->data, b->len, rs->lit_seen[rs->lit_count] << 1);
      scanned = 1;
    }
    any |= rs->may[i] = (unsigned char)rule_may_hit(rs, r, b, r->select_needs);
  }
  return any;
}

int lh_ruleset_may_match(const lh_ruleset_t *rs, const char *data, size_t len) {
  lh_ruleset_t *w = (lh_ruleset_t *)rs; /* its scratch */
  bytes_t b = {data, len, {0}, 0};
  const char *s[3] = {"", "", ""}; /* a missing container is the empty string */
  size_t n[3] = {0, 0, 0};
  int escape, any = 0;

  w->select_known = 0;
  if (statuses_in(data, len, b.status, sizeof b.status / sizeof *b.status, &b.status_count,
                  &escape) != 0)
    b.status_count = SIZE_MAX;
  if (escape) { /* it could spell a name, a status or a literal: every rule may */
    memset(rs->may, 1, rs->count);
    return 1;
  }
  /* a new record's number (from 1, 2^31 records before it comes round) */
  if (++rs->lit_seen[rs->lit_count] == 1u << 31) {
    memset(rs->lit_seen, 0, rs->lit_count * sizeof *rs->lit_seen);
    rs->lit_seen[rs->lit_count] = 1;
  }
  /* first what costs least, when every rule needs a status: the statuses */
  for (size_t i = 0; rs->status_gate && i < rs->count; i++)
    any |= rs->may[i] = (unsigned char)has_status(rs->rules[i].statuses, &b);
  if (!rs->status_gate)
    memset(rs->may, 1, rs->count);
  else if (!any)
    return 0;
  /* a Fluent Bit record names its namespace, pod and container once: the
   * rules are then those that select them */
  if (raw_names(data, len, s, n) == 0) {
    w->select_known = 1;
    return by_names(rs, &b, s, n);
  }
  if (rs->all.pairs)
    find_all(rs, &rs->all, data, len, rs->lit_seen[rs->lit_count] << 1);
  any = 0;
  for (size_t i = 0; i < rs->count; i++)
    any |= rs->may[i] = rs->may[i] && rule_may_hit(rs, &rs->rules[i], &b, 0);
  return any;
}
