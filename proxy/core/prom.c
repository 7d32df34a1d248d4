/* prom: Prometheus text lines. See prom.h. */
#include "prom.h"

#include <errno.h>
#include <string.h>

#define PROM_TEXT_MAX 512 /* bytes of HELP text or of a label value, escaped */

/* 1 when s is a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*); a label name
 * (colons == 0) has no ':'. */
static int name_ok(const char *s, int colons) {
  size_t i;
  if (s == NULL || s[0] == '\0')
    return 0;
  for (i = 0; s[i] != '\0'; i++) {
    char c = s[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':') ||
             (i > 0 && c >= '0' && c <= '9');
    if (!ok)
      return 0;
  }
  return 1;
}

/* s escaped into out (PROM_TEXT_MAX bytes): '\' and newline always, '"'
 * when quoted. -EINVAL when it does not fit. */
static int escape(const char *s, int quoted, char out[PROM_TEXT_MAX]) {
  size_t n = 0;
  for (; *s != '\0'; s++) {
    const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" : *s == '"' && quoted ? "\\\"" : NULL;
    size_t k = esc != NULL ? 2 : 1;
    if (n + k >= PROM_TEXT_MAX)
      return -EINVAL;
    if (esc != NULL)
      memcpy(out + n, esc, 2);
    else
      out[n] = *s;
    n += k;
  }
  out[n] = '\0';
  return 0;
}

int prom_family(dynbuf *out, const char *name, prom_type type, const char *help) {
  char text[PROM_TEXT_MAX];
  if (!name_ok(name, 1) || escape(help, 0, text) != 0)
    return -EINVAL;
  return dynbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, text, name,
                     type == PROM_COUNTER ? "counter" : "gauge");
}

int prom_sample(dynbuf *out, const char *name, const char *label, const char *label_value, uint64_t value) {
  char text[PROM_TEXT_MAX];
  if (!name_ok(name, 1))
    return -EINVAL;
  if (label == NULL)
    return dynbuf_addf(out, "%s %llu\n", name, (unsigned long long)value);
  if (!name_ok(label, 0) || label_value == NULL || escape(label_value, 1, text) != 0)
    return -EINVAL;
  return dynbuf_addf(out, "%s{%s=\"%s\"} %llu\n", name, label, text, (unsigned long long)value);
}

/* A family of one sample; nothing is appended unless both lines fit. */
static int single(dynbuf *out, const char *name, prom_type type, const char *help, uint64_t value) {
  size_t mark = out->len;
  int rc = prom_family(out, name, type, help);
  if (rc == 0)
    rc = prom_sample(out, name, NULL, NULL, value);
  if (rc != 0)
    out->len = mark;
  return rc;
}

int prom_counter(dynbuf *out, const char *name, const char *help, uint64_t value) {
  return single(out, name, PROM_COUNTER, help, value);
}

int prom_gauge(dynbuf *out, const char *name, const char *help, uint64_t value) {
  return single(out, name, PROM_GAUGE, help, value);
}

int prom_counter_seconds(dynbuf *out, const char *name, const char *help, uint64_t ms) {
  size_t mark = out->len;
  int rc;
  if (!name_ok(name, 1))
    return -EINVAL;
  rc = prom_family(out, name, PROM_COUNTER, help);
  if (rc == 0)
    rc = dynbuf_addf(out, "%s %llu.%03u\n", name, (unsigned long long)(ms / 1000), (unsigned)(ms % 1000));
  if (rc != 0)
    out->len = mark;
  return rc;
}
