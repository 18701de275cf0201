/* Annotation templates: {{name}} placeholders, checked and rendered. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nearest.h"
#include "template.h"

static const char *const builtins[] = {"count",      "new_count", "total",      "window",
                                       "rule",       "severity",  "first_seen", "last_seen",
                                       "suppressed", "samples"};

typedef enum { TOK_END, TOK_TEXT, TOK_NAME, TOK_UNCLOSED, TOK_BAD } tok_kind_t;

/* One piece of a template: literal text, a placeholder's name, or a
 * placeholder in error (`p`, `len`: its raw text, rendered as is). */
typedef struct {
  tok_kind_t kind;
  const char *p;
  size_t len;
  size_t at;   /* the offset of the piece in the template */
  size_t next; /* the offset after it */
} tok_t;

static int name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

/* The placeholder at `at` (which holds "{{"). */
static tok_t placeholder(const char *t, size_t at) {
  tok_t k = {TOK_BAD, t + at, 0, at, 0};
  const char *close = strstr(t + at + 2, "}}");
  const char *b = t + at + 2, *e;

  if (!close) {
    k.kind = TOK_UNCLOSED;
    k.len = strlen(t + at);
    k.next = at + k.len;
    return k;
  }
  k.len = (size_t)(close + 2 - (t + at));
  k.next = at + k.len;
  while (b < close && (*b == ' ' || *b == '\t'))
    b++;
  for (e = close; e > b && (e[-1] == ' ' || e[-1] == '\t'); e--)
    ;
  if (e == b || (size_t)(e - b) > LH_TEMPLATE_NAME_MAX)
    return k;
  for (const char *c = b; c < e; c++)
    if (!name_char(*c))
      return k;
  k.kind = TOK_NAME;
  k.p = b;
  k.len = (size_t)(e - b);
  return k;
}

/* The piece of `t` at offset `at`. */
static tok_t next_token(const char *t, size_t at) {
  tok_t k = {TOK_TEXT, t + at, 0, at, at};
  const char *open;

  if (!t[at])
    return (tok_t){TOK_END, t + at, 0, at, at};
  if (strncmp(t + at, "{{{{", 4) == 0) {
    k.len = 2;
    k.next = at + 4;
    return k;
  }
  if (strncmp(t + at, "{{", 2) == 0)
    return placeholder(t, at);
  open = strstr(t + at, "{{");
  k.len = open ? (size_t)(open - (t + at)) : strlen(t + at);
  k.next = at + k.len;
  return k;
}

static int is_builtin(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
    if (strlen(builtins[i]) == len && memcmp(builtins[i], name, len) == 0)
      return 1;
  return 0;
}

/* The field of first.FIELD / last.FIELD, or NULL. */
static const char *field_of(const char *name, size_t len, size_t *field_len) {
  size_t skip = len > 6 && memcmp(name, "first.", 6) == 0  ? 6
                : len > 5 && memcmp(name, "last.", 5) == 0 ? 5
                                                           : 0;
  *field_len = len - skip;
  return skip ? name + skip : NULL;
}

/* The known name nearest to `name`, or NULL when none is near. */
static const char *nearest(const lh_template_names_t *names, const char *name, size_t len) {
  lh_near_t near;

  lh_near_init(&near, name, len);
  for (size_t i = 0; i < sizeof builtins / sizeof *builtins; i++)
    lh_near_offer(&near, builtins[i]);
  for (size_t i = 0; names && i < names->key_count; i++)
    lh_near_offer(&near, names->key[i]);
  return near.best && near.distance <= (len < 6 ? 2 : len / 3) ? near.best : NULL;
}

/* 0 when the name of `k` is known, else -1 with the message. */
static int check_name(const lh_template_names_t *names, const tok_t *k, char *err, size_t size) {
  size_t flen;
  const char *field = field_of(k->p, k->len, &flen);
  const char *near;

  if (is_builtin(k->p, k->len))
    return 0;
  for (size_t i = 0; names && i < names->key_count; i++)
    if (strlen(names->key[i]) == k->len && memcmp(names->key[i], k->p, k->len) == 0)
      return 0;
  if (field) {
    if (!names || !names->field || names->field(names->arg, field, flen))
      return 0;
    snprintf(err, size, "unknown field \"%.*s\" in \"%.*s\" at offset %zu", (int)flen, field,
             (int)k->len, k->p, k->at);
    return -1;
  }
  if (names && names->field && names->field(names->arg, k->p, k->len)) {
    snprintf(err, size,
             "unknown name \"%.*s\" at offset %zu (did you mean \"last.%.*s\"? a field is "
             "first.FIELD or last.FIELD unless it is a group_by name)",
             (int)k->len, k->p, k->at, (int)k->len, k->p);
    return -1;
  }
  near = nearest(names, k->p, k->len);
  snprintf(err, size,
           "unknown name \"%.*s\" at offset %zu%s%s%s (known: count, new_count, total, window, "
           "rule, severity, first_seen, last_seen, suppressed, samples, a group_by name, "
           "first.FIELD, last.FIELD)",
           (int)k->len, k->p, k->at, near ? " (did you mean \"" : "", near ? near : "",
           near ? "\"?)" : "");
  return -1;
}

int lh_template_check(const char *tmpl, const lh_template_names_t *names, char *err, size_t size) {
  size_t at = 0;

  for (tok_t k = next_token(tmpl, at); k.kind != TOK_END; k = next_token(tmpl, at)) {
    if (k.kind == TOK_UNCLOSED) {
      snprintf(err, size, "unclosed \"{{\" at offset %zu (write \"{{{{\" for a literal \"{{\")",
               k.at);
      return -1;
    }
    if (k.kind == TOK_BAD) {
      snprintf(err, size,
               "bad placeholder \"%.*s\" at offset %zu: a name is letters, digits, '_', '-' and "
               "'.' (write \"{{{{\" for a literal \"{{\")",
               (int)(k.len > 64 ? 64 : k.len), k.p, k.at);
      return -1;
    }
    if (k.kind == TOK_NAME && check_name(names, &k, err, size) != 0)
      return -1;
    at = k.next;
  }
  return 0;
}

int lh_template_fields(const char *tmpl, void (*each)(void *arg, const char *name, size_t len),
                       void *arg) {
  size_t at = 0;
  int count = 0;

  for (tok_t k = next_token(tmpl, at); k.kind != TOK_END; k = next_token(tmpl, at)) {
    if (k.kind == TOK_UNCLOSED || k.kind == TOK_BAD)
      return -1;
    at = k.next;
  }
  for (tok_t k = next_token(tmpl, 0); k.kind != TOK_END; k = next_token(tmpl, k.next)) {
    size_t flen;
    const char *field;
    if (k.kind != TOK_NAME)
      continue;
    count++;
    field = field_of(k.p, k.len, &flen);
    if (field)
      each(arg, field, flen);
    else if (!is_builtin(k.p, k.len))
      each(arg, k.p, k.len);
  }
  return count;
}

size_t lh_template_render(const char *tmpl, lh_template_value_fn value, void *arg, char *out,
                          size_t size) {
  size_t used = 0;

  if (size == 0)
    return 0;
  out[0] = '\0';
  for (tok_t k = next_token(tmpl, 0); k.kind != TOK_END && used + 1 < size;
       k = next_token(tmpl, k.next)) {
    const char *v = k.p;
    size_t n = k.len;
    if (k.kind == TOK_NAME) {
      v = value(arg, k.p, k.len);
      n = v ? strlen(v) : 0;
    }
    if (n)
      used += lh_utf8_copy(v, n, out + used, size - used);
  }
  return used;
}

/* The length of the valid UTF-8 character at `s` (n bytes left), or 0. */
static size_t utf8_char(const unsigned char *s, size_t n) {
  size_t need;
  unsigned char lo = 0x80, hi = 0xbf;

  if (s[0] >= 0x01 && s[0] <= 0x7f)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    need = 2;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    need = 3;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    need = 4;
  else
    return 0;
  if (n < need)
    return 0;
  if (s[0] == 0xe0)
    lo = 0xa0; /* overlong */
  else if (s[0] == 0xed)
    hi = 0x9f; /* surrogates */
  else if (s[0] == 0xf0)
    lo = 0x90; /* overlong */
  else if (s[0] == 0xf4)
    hi = 0x8f; /* past U+10FFFF */
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < need; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return need;
}

int lh_utf8_valid(const char *in, size_t len) {
  const unsigned char *s = (const unsigned char *)in;

  for (size_t i = 0, n; i < len; i += n)
    if (!(n = utf8_char(s + i, len - i)))
      return 0;
  return 1;
}

size_t lh_utf8_copy(const char *in, size_t len, char *out, size_t size) {
  const unsigned char *s = (const unsigned char *)in;
  size_t used = 0;

  if (size == 0)
    return 0;
  for (size_t i = 0; i < len;) {
    size_t n = utf8_char(s + i, len - i);
    const char *c = n ? in + i : "\xef\xbf\xbd"; /* U+FFFD */
    size_t clen = n ? n : 3;
    if (used + clen + 1 > size)
      break;
    memcpy(out + used, c, clen);
    used += clen;
    i += n ? n : 1;
  }
  out[used] = '\0';
  return used;
}

void lh_duration_format(double seconds, char out[32]) {
  static const struct {
    long long unit;
    char suffix;
  } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}};

  if (!(seconds >= 0 && seconds < 1e15) || seconds != floor(seconds)) {
    snprintf(out, 32, "%gs", isfinite(seconds) ? seconds : 0.0);
    return;
  }
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if ((long long)seconds >= units[i].unit && (long long)seconds % units[i].unit == 0) {
      snprintf(out, 32, "%lld%c", (long long)seconds / units[i].unit, units[i].suffix);
      return;
    }
  snprintf(out, 32, "%llds", (long long)seconds);
}
