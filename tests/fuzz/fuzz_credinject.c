/* fuzz_credinject: credential injection's readers of hostile bytes
 * (proxy/relay/credinject.c): the request body read for the tool name, the
 * agent's header stripped from a request head, the template filled with a
 * secret, and the auth-required answer built from the body.
 *
 * Input: the whole input is a request body; its first line (up to '\n') is
 * also taken as a secret, and a request head is made of the input's lines.
 * Invariants:
 *   - a connector found is a slug of [a-z0-9_-], 1 to 64 bytes, and comes
 *     only with a tools/call (credinject_holdable then says 1);
 *   - a filled line is "X-Key: pre " + secret + " post\r\n" exactly, with
 *     no CR or LF inside; a refused secret holds a byte outside 0x20-0x7e,
 *     is empty or over the cap;
 *   - after stripping, no header line of that name is left, the request
 *     line and every other line are kept in order, nothing else changes;
 *   - the auth-required answer is valid JSON that the detector matches,
 *     naming the connector.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "credinject.h"
#include "detect.h"
#include "dynbuf.h"
#include "fuzz.h"
#include "json.h"

static void check_connector(const char *p, size_t n) {
  config_route route;
  char out[CREDINJECT_SLUG_MAX + 1];
  size_t i;
  size_t len;
  memset(&route, 0, sizeof route);
  if (credinject_connector(&route, p, n, out) != 0)
    return;
  len = strlen(out);
  REQUIRE(len >= 1 && len <= CREDINJECT_SLUG_MAX);
  for (i = 0; i < len; i++)
    REQUIRE((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= '0' && out[i] <= '9') || out[i] == '-' || out[i] == '_');
  REQUIRE(credinject_holdable(p, n) == 1);
}

static void check_fill(const char *p, size_t n) {
  char *line = NULL;
  size_t len = 0;
  size_t i;
  int ok = n > 0 && n <= CREDINJECT_SECRET_MAX;
  int rc = credinject_fill("X-Key", "pre {token} post", p, n, &line, &len);
  for (i = 0; i < n && ok; i++)
    ok = (unsigned char)p[i] >= 0x20 && (unsigned char)p[i] <= 0x7e;
  REQUIRE_MSG((rc == 0) == ok, "fill returned %d for a secret that is %s", rc, ok ? "fine" : "not");
  if (rc != 0) {
    REQUIRE(line == NULL);
    return;
  }
  REQUIRE(len == 7 + 4 + n + 5 + 2);
  REQUIRE(memcmp(line, "X-Key: pre ", 11) == 0 && memcmp(line + 11, p, n) == 0 &&
          memcmp(line + 11 + n, " post\r\n", 7) == 0);
  REQUIRE(memchr(line, '\r', len - 2) == NULL && memchr(line, '\n', len - 1) == NULL);
  free(line);
}

/* 1 when the line [p, p + n) (without its "\r\n") is a header named name. */
static int is_named(const char *p, size_t n, const char *name) {
  size_t k = strlen(name);
  return n > k && p[k] == ':' && strncasecmp(p, name, k) == 0;
}

static void check_strip(const uint8_t *data, size_t size) {
  dynbuf head;
  dynbuf want;
  size_t i = 0;
  int first = 1;
  dynbuf_init(&head, 1 << 20);
  dynbuf_init(&want, 1 << 20);
  /* a head: the input's lines (without CR, LF; empty ones dropped) as
   * CRLF lines, then the blank line; want: the same without Authorization */
  while (i < size) {
    const uint8_t *nl = memchr(data + i, '\n', size - i);
    size_t end = nl != NULL ? (size_t)(nl - data) : size;
    size_t j;
    size_t start = head.len;
    for (j = i; j < end; j++) {
      if (data[j] != '\r')
        (void)dynbuf_add(&head, (const char *)data + j, 1);
    }
    if (head.len > start) {
      int named = !first && is_named(head.ptr + start, head.len - start, "authorization");
      if (!named)
        (void)dynbuf_add(&want, head.ptr + start, head.len - start);
      (void)dynbuf_add(&head, "\r\n", 2);
      if (!named)
        (void)dynbuf_add(&want, "\r\n", 2);
      first = 0;
    }
    i = end + 1;
  }
  (void)dynbuf_add(&head, "\r\n", 2);
  (void)dynbuf_add(&want, "\r\n", 2);
  if (head.len >= 4) {
    (void)credinject_strip(&head, "Authorization");
    REQUIRE_BYTES(head.len == want.len && memcmp(head.ptr, want.ptr, want.len) == 0,
                  "strip removed something else, or left the header", "head", head.ptr, head.len);
  }
  dynbuf_free(&head);
  dynbuf_free(&want);
}

static void check_answer(const char *p, size_t n) {
  dynbuf out;
  yajl_val root = NULL;
  detect_t d;
  const detect_match *m = NULL;
  char *text;
  int jsonrpc = -1;
  dynbuf_init(&out, CREDINJECT_ANSWER_MAX);
  REQUIRE(credinject_auth_required(&out, p, n, "some-conn", &jsonrpc) == 0);
  REQUIRE(jsonrpc == 0 || jsonrpc == 1);
  text = malloc(out.len + 1);
  REQUIRE(text != NULL);
  memcpy(text, out.ptr, out.len);
  text[out.len] = '\0';
  REQUIRE_BYTES(json_parse(text, out.len, 0, 0, &root, NULL) == 0, "the answer is not JSON", "answer", out.ptr,
                out.len);
  yajl_tree_free(root);
  free(text);
  detect_init(&d);
  detect_feed(&d, out.ptr, out.len);
  REQUIRE(detect_finish(&d, out.ptr, out.len, &m) == DETECT_MATCH);
  REQUIRE(m->connector.len == 9 && memcmp(m->connector.ptr, "some-conn", 9) == 0);
  detect_close(&d);
  dynbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data;
  const uint8_t *nl = memchr(data, '\n', size);
  check_connector(p, size);
  (void)credinject_holdable(p, size);
  check_fill(p, nl != NULL ? (size_t)(nl - data) : size);
  check_strip(data, size);
  check_answer(p, size);
  return 0;
}
