/* fuzz_linkbase: libFuzzer harness for the link base rule
 * (proxy/link/linkbase.h), which turns a request's Host header, hostile bytes,
 * into the base of links that users open.
 *
 * Input layout:
 *   byte 0   bits 0-1  listen address: 0 0.0.0.0, 1 ::, 2 127.0.0.1, 3 ::1
 *            bit 2     public_url set (https://relay.example.com)
 *            bits 3-7  output capacity: 0 -> LINKBASE_MAX, else 1..31
 *   rest     the Host value
 *
 * Invariants (abort() on violation):
 *   - with LINKBASE_MAX of room linkbase_of() always succeeds; with less it
 *     succeeds with a string that fits, or fails with "" (never a cut URL);
 *   - public_url set: the base is public_url, whatever the Host;
 *   - a Host linkbase_host_ok() accepts gives exactly "http://" + Host, and
 *     holds only authority characters ([A-Za-z0-9._~-], brackets, hex
 *     digits, ":", "."), so nothing of it can escape the URL's authority;
 *   - any other Host gives the listen address, and a wildcard listen
 *     address never appears as a host.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "linkbase.h"

static int authority_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
         ch == '-' || ch == '_' || ch == '~' || ch == ':' || ch == '[' || ch == ']';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const listens[] = {"0.0.0.0", "::", "127.0.0.1", "::1"};
  static const char *const fallbacks[] = {"http://127.0.0.1:8080", "http://[::1]:8080", "http://127.0.0.1:8080",
                                          "http://[::1]:8080"};
  char out[LINKBASE_MAX];
  config_t c;
  const char *host;
  size_t host_len;
  size_t cap;
  size_t i;
  int ok;
  int rc;
  if (size == 0)
    return 0;
  memset(&c, 0, sizeof c);
  c.listen_host = (char *)listens[data[0] & 3];
  c.listen_port = 8080;
  c.public_url = (char *)((data[0] & 4) ? "https://relay.example.com" : "");
  cap = (size_t)(data[0] >> 3);
  if (cap == 0)
    cap = sizeof out;
  host = (const char *)data + 1;
  host_len = size - 1;
  ok = linkbase_host_ok(host, host_len);
  if (ok) {
    REQUIRE(host_len <= LINKBASE_HOST_MAX);
    for (i = 0; i < host_len; i++)
      REQUIRE(authority_char(host[i]));
  }
  memset(out, 'x', sizeof out);
  rc = linkbase_of(&c, host, host_len, out, cap);
  if (rc != 0) {
    REQUIRE(rc == -ENOSPC && cap != sizeof out && out[0] == '\0');
    return 0;
  }
  REQUIRE(strlen(out) < cap);
  if (cap < sizeof out)
    return 0;
  if (c.public_url[0] != '\0')
    REQUIRE(strcmp(out, c.public_url) == 0);
  else if (ok)
    REQUIRE(strncmp(out, "http://", 7) == 0 && strlen(out) == 7 + host_len && memcmp(out + 7, host, host_len) == 0);
  else
    REQUIRE(strcmp(out, fallbacks[data[0] & 3]) == 0);
  return 0;
}
