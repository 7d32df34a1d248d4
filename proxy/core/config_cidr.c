/* config_cidr: identity.trusted_cidrs, the peers trusted to name the
 * registered user: parsing one entry (config_cidr_parse), matching a peer
 * address against the list (config_cidr_match, on every request), and
 * setting the list from the config (config_cidrs_set, a JSON array of
 * strings in the file, a comma-separated text elsewhere).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config_int.h"

/* ---- one entry, and matching ---- */

int config_cidr_parse(const char *text, config_cidr *out) {
  const char *slash = strchr(text, '/');
  size_t alen = slash != NULL ? (size_t)(slash - text) : strlen(text);
  unsigned long long prefix;
  unsigned bits;
  unsigned i;
  memset(out, 0, sizeof *out);
  if (config_is_ip(AF_INET, text, alen, out->addr)) {
    out->family = AF_INET;
    bits = 32;
  } else if (config_is_ip(AF_INET6, text, alen, out->addr)) {
    out->family = AF_INET6;
    bits = 128;
  } else {
    return -EINVAL;
  }
  prefix = bits;
  if (slash != NULL && (strlen(slash + 1) > 3 || config_parse_whole(slash + 1, &prefix) != 0))
    return -EINVAL;
  if (prefix > bits)
    return -EINVAL;
  out->prefix = (unsigned)prefix;
  for (i = out->prefix; i < bits; i++) {
    if (out->addr[i / 8] & (0x80u >> (i % 8)))
      return -EINVAL;
  }
  return 0;
}

/* 1 when the first prefix bits of a and b are equal. */
static int prefix_equal(const unsigned char *a, const unsigned char *b, unsigned prefix) {
  unsigned whole = prefix / 8;
  unsigned rest = prefix % 8;
  unsigned char mask;
  if (memcmp(a, b, whole) != 0)
    return 0;
  if (rest == 0)
    return 1;
  mask = (unsigned char)(0xFFu << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

int config_cidr_match(const config_cidr *cidrs, size_t n, const struct sockaddr *sa) {
  static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  unsigned char v4[4];
  unsigned char v6[16];
  int has_v4 = 0;
  int has_v6 = 0;
  size_t i;
  if (sa == NULL)
    return 0;
  if (sa->sa_family == AF_INET) {
    struct sockaddr_in sin;
    memcpy(&sin, sa, sizeof sin);
    memcpy(v4, &sin.sin_addr, 4);
    has_v4 = 1;
  } else if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 sin6;
    memcpy(&sin6, sa, sizeof sin6);
    memcpy(v6, &sin6.sin6_addr, 16);
    has_v6 = 1;
    if (memcmp(v6, v4mapped, 12) == 0) {
      memcpy(v4, v6 + 12, 4);
      has_v4 = 1;
    }
  }
  for (i = 0; i < n; i++) {
    if (cidrs[i].family == AF_INET && has_v4 && prefix_equal(cidrs[i].addr, v4, cidrs[i].prefix))
      return 1;
    if (cidrs[i].family == AF_INET6 && has_v6 && prefix_equal(cidrs[i].addr, v6, cidrs[i].prefix))
      return 1;
  }
  return 0;
}

/* ---- the list in the config ---- */

/* Parses s[0, len) into list[*n]. who names the list in messages. */
static int add_cidr(load_ctx *x, const config_key *k, config_cidr *list, size_t *n,
                    const char *s, size_t len, const char *who) {
  char item[INET6_ADDRSTRLEN + 8];
  cvalue shown = {item, 1, NULL};
  snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), s);
  if (len >= sizeof item || config_cidr_parse(item, &list[*n]) != 0)
    return config_bad_value(x, k, &shown, who, NULL);
  (*n)++;
  return 0;
}

/* Replaces the trusted CIDRs with those of a JSON array of strings or of a
 * comma-separated text (empty items are skipped: "" trusts nobody). */
int config_cidrs_set(load_ctx *x, config_t *c, const config_key *k, const cvalue *v,
                     const char *who) {
  config_cidr *list;
  size_t n = 0;
  size_t cap = 1;
  size_t i;
  int rc = 0;
  if (v->json != NULL && !YAJL_IS_ARRAY(v->json))
    return config_bad_value(x, k, v, who, "must be an array of addresses or CIDRs");
  if (v->json != NULL) {
    cap = v->json->u.array.len;
  } else {
    for (i = 0; v->text[i] != '\0'; i++)
      cap += v->text[i] == ',';
  }
  if (cap > CONFIG_CIDRS_MAX)
    return config_fail(x, "%s: more than %d entries", who, CONFIG_CIDRS_MAX);
  list = calloc(cap > 0 ? cap : 1, sizeof *list);
  if (list == NULL)
    return config_fail_nomem(x);
  if (v->json != NULL) {
    for (i = 0; i < cap && rc == 0; i++) {
      cvalue iv = config_json_value(v->json->u.array.values[i]);
      char iwho[CONFIG_WHO_MAX];
      snprintf(iwho, sizeof iwho, "%s[%zu]", who, i);
      if (!iv.is_string)
        rc = config_bad_value(x, k, &iv, iwho, NULL);
      else
        rc = add_cidr(x, k, list, &n, iv.text, strlen(iv.text), iwho);
    }
  } else {
    const char *p = v->text;
    while (rc == 0) {
      size_t len;
      while (*p == ' ' || *p == '\t')
        p++;
      len = strcspn(p, ",");
      while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
      if (len > 0)
        rc = add_cidr(x, k, list, &n, p, len, who);
      p += strcspn(p, ",");
      if (*p == '\0')
        break;
      p++;
    }
  }
  if (rc != 0) {
    free(list);
    return rc;
  }
  free(c->identity.trusted_cidrs);
  c->identity.trusted_cidrs = list;
  c->identity.ntrusted_cidrs = n;
  return 0;
}
