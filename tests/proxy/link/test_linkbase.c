/* test_linkbase: the one rule for a link's base URL (proxy/linkbase.c):
 * public_url first, then the request's Host when it is a well-formed
 * authority, then the listen address, never a wildcard one; the warning
 * given at start and in --check-config; output never cut. */
#include <errno.h>
#include <string.h>

#include "linkbase.h"
#include "unit.h"

static config_t cfg_of(const char *listen_host, int port, const char *public_url) {
  config_t c;
  memset(&c, 0, sizeof c);
  c.listen_host = (char *)listen_host;
  c.listen_port = port;
  c.public_url = (char *)public_url;
  return c;
}

static int base_is(const config_t *c, const char *host, const char *want) {
  char out[LINKBASE_MAX];
  return linkbase_of(c, host, host != NULL ? strlen(host) : 0, out, sizeof out) == 0 && strcmp(out, want) == 0;
}

static void the_rule(void) {
  config_t pub = cfg_of("0.0.0.0", 8080, "https://relay.example.com");
  config_t any4 = cfg_of("0.0.0.0", 8080, "");
  config_t any6 = cfg_of("::", 8080, "");
  config_t any6b = cfg_of("0:0:0:0:0:0:0:0", 8080, "");
  config_t lo4 = cfg_of("127.0.0.1", 8080, "");
  config_t lo6 = cfg_of("::1", 8080, "");
  CHECK(base_is(&pub, "127.0.0.1:8080", "https://relay.example.com"));
  CHECK(base_is(&pub, NULL, "https://relay.example.com"));
  CHECK(base_is(&any4, "127.0.0.1:8080", "http://127.0.0.1:8080"));
  CHECK(base_is(&any4, "chat.example.com", "http://chat.example.com"));
  CHECK(base_is(&any4, "[::1]:8080", "http://[::1]:8080"));
  /* no usable Host: the listen address, a wildcard never */
  CHECK(base_is(&any4, NULL, "http://127.0.0.1:8080"));
  CHECK(base_is(&any6, NULL, "http://[::1]:8080"));
  CHECK(base_is(&any6b, NULL, "http://[::1]:8080"));
  CHECK(base_is(&lo4, NULL, "http://127.0.0.1:8080"));
  CHECK(base_is(&lo6, NULL, "http://[::1]:8080"));
  CHECK(base_is(&any4, "evil.com/x", "http://127.0.0.1:8080"));
  CHECK(base_is(&any4, "a\"b", "http://127.0.0.1:8080"));
  CHECK(base_is(&any4, "", "http://127.0.0.1:8080"));
}

static void hosts(void) {
  static const char *const good[] = {"a", "127.0.0.1", "127.0.0.1:1", "ex-ample.com:65535", "[::1]",
                                     "[fe80::1]:80", "a_b~c.d"};
  static const char *const bad[] = {"", ":80", "a:", "a:123456", "a:8x", "[::1", "[]", "[::1]x", "[::1]:",
                                    "a b", "a/b", "a@b", "a?b", "a#b", "a\\b", "[g::1]", "a:80:80", "\xc3\xa9"};
  char longest[LINKBASE_HOST_MAX + 2];
  size_t i;
  for (i = 0; i < sizeof good / sizeof good[0]; i++)
    CHECK(linkbase_host_ok(good[i], strlen(good[i])));
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK(!linkbase_host_ok(bad[i], strlen(bad[i])));
  CHECK(!linkbase_host_ok(NULL, 0));
  memset(longest, 'a', sizeof longest);
  CHECK(linkbase_host_ok(longest, LINKBASE_HOST_MAX));
  CHECK(!linkbase_host_ok(longest, LINKBASE_HOST_MAX + 1));
  CHECK(linkbase_host_ok("a:80", 1)); /* the length given, not the NUL */
}

static void never_cut(void) {
  config_t any4 = cfg_of("0.0.0.0", 8080, "");
  char small[12];
  CHECK(linkbase_of(&any4, "example.com", 11, small, sizeof small) == -ENOSPC);
  CHECK(small[0] == '\0');
  CHECK(linkbase_of(&any4, "example.com", 11, small, 0) == -ENOSPC);
}

static void warning(void) {
  config_t pub = cfg_of("0.0.0.0", 8080, "https://relay.example.com");
  config_t any4 = cfg_of("0.0.0.0", 0, "");
  config_t any6 = cfg_of("::", 0, "");
  config_t lo4 = cfg_of("127.0.0.1", 0, "");
  char huge[LINKBASE_MAX + 16];
  config_t too_long;
  CHECK(linkbase_warning(&pub) == NULL);
  CHECK(linkbase_warning(&lo4) == NULL);
  CHECK(linkbase_warning(&any4) != NULL && strstr(linkbase_warning(&any4), "set public_url") != NULL);
  CHECK(linkbase_warning(&any6) != NULL);
  memcpy(huge, "https://", 8);
  memset(huge + 8, 'a', sizeof huge - 9);
  huge[sizeof huge - 1] = '\0';
  too_long = cfg_of("127.0.0.1", 0, huge);
  CHECK(linkbase_warning(&too_long) != NULL);
}

int main(void) {
  RUN(the_rule);
  RUN(hosts);
  RUN(never_cut);
  RUN(warning);
  return unit_report();
}
