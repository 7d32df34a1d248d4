/* test_detect_api: the detector's API (parser/detect.c) tested in this
 * process: the prefilter (also split across feeds), tool names, shape names,
 * detect_finish() and abandoning a payload, the framer's oversized and many
 * events, and reuse of one detector across payloads. The payload vectors are
 * in test_detect.c and test_detect_generated.c.
 */
#include "detect_vectors.h"


static void test_prefilter(void) {
  static const char *const patterns[] = {"authenticate_meta", "link_token", "\\u"};
  static const char filler[] = "ab_\\c-x_y\\z";
  size_t pi;
  CHECK(detect_prefilter("authenticate_meta", 17) == 1);
  CHECK(detect_prefilter("link_token", 10) == 1);
  CHECK(detect_prefilter("\\u", 2) == 1);
  CHECK(detect_prefilter("{\"a\":\"caf\\u00e9\"}", 17) == 1);
  CHECK(detect_prefilter("authenticate_metadata", 21) == 1);
  CHECK(detect_prefilter("xlink_tokenx", 12) == 1);
  CHECK(detect_prefilter("\\\\u", 3) == 1);
  CHECK(detect_prefilter("", 0) == 0);
  CHECK(detect_prefilter("authenticate_met", 16) == 0);
  CHECK(detect_prefilter("uthenticate_meta", 16) == 0);
  CHECK(detect_prefilter("authenticatemeta", 16) == 0);
  CHECK(detect_prefilter("link_toke", 9) == 0);
  CHECK(detect_prefilter("ink_token", 9) == 0);
  CHECK(detect_prefilter("linktoken", 9) == 0);
  CHECK(detect_prefilter("magic_link_url", 14) == 0);
  CHECK(detect_prefilter("\\", 1) == 0);
  CHECK(detect_prefilter("\\U0041 \\x \\\\n \\\"", 16) == 0);
  CHECK(detect_prefilter("Authenticate_meta LINK_TOKEN link-token authenticate-meta link token",
                         68) == 0);
  CHECK(detect_prefilter("{\"type\":\"text\",\"text\":\"hello\"}", 30) == 0);
  /* len is respected: the pattern's last byte is outside */
  CHECK(detect_prefilter("link_token", 9) == 0);
  CHECK(detect_prefilter("authenticate_meta", 16) == 0);
  CHECK(detect_prefilter("\\u", 1) == 0);
  /* every pattern at every offset 0..40 (across the 16-byte scan blocks),
   * among decoy '_' and '\\' bytes */
  for (pi = 0; pi < 3; pi++) {
    size_t plen = strlen(patterns[pi]);
    size_t off;
    int whole_ok = 1;
    int cut_ok = 1;
    int broken_ok = 1;
    for (off = 0; off <= 40; off++) {
      size_t tail;
      for (tail = 0; tail <= 20; tail++) {
        char buf[128];
        size_t i;
        size_t n = 0;
        for (i = 0; i < off; i++)
          buf[n++] = filler[i % (sizeof filler - 1)];
        memcpy(buf + n, patterns[pi], plen);
        n += plen;
        for (i = 0; i < tail; i++)
          buf[n++] = filler[i % (sizeof filler - 1)];
        if (detect_prefilter(buf, n) != 1)
          whole_ok = 0;
        if (tail == 0 && detect_prefilter(buf, n - 1) != 0)
          cut_ok = 0;
        buf[off + plen - 1] = 'X'; /* break the pattern's last byte */
        if (detect_prefilter(buf, n) != 0)
          broken_ok = 0;
      }
    }
    CHECK(whole_ok);
    CHECK(cut_ok);
    CHECK(broken_ok);
  }
}

/* Feeds p[0, k), then p[0, len) when feed_all, then finishes with p[0, len):
 * a trigger cut at k must still be seen. */
static detect_status feed_split(const char *p, size_t k, int feed_all, int *state_allocated) {
  detect_t d;
  detect_status st;
  size_t len = strlen(p);
  detect_init(&d);
  detect_feed(&d, p, k);
  if (feed_all)
    detect_feed(&d, p, len);
  st = detect_finish(&d, p, len, NULL);
  if (state_allocated != NULL)
    *state_allocated = d.state != NULL;
  detect_close(&d);
  return st;
}

static void test_prefilter_split(void) {
  /* each payload holds exactly one of the three triggers */
  static const char *const only[] = {
      "{\"type\":\"authenticate_meta\"}",
      "{\"magic_link_url\":\"u\",\"link_token\":\"t\"}",
      "{\"type\":\"\\u0061uthenticate_meta\"}",
  };
  const char *near = "{\"type\":\"authenticate_met\",\"x\":\"link_toke\",\"y\":\"\\\\x\"}";
  size_t i;
  size_t k;
  for (i = 0; i < 3; i++) {
    int all = 1;
    for (k = 0; k <= strlen(only[i]); k++) {
      if (feed_split(only[i], k, 1, NULL) != DETECT_MATCH ||
          feed_split(only[i], k, 0, NULL) != DETECT_MATCH)
        all = 0;
    }
    CHECK(all);
  }
  {
    int all = 1;
    int none_allocated = 1;
    for (k = 0; k <= strlen(near); k++) {
      int allocated = 1;
      if (feed_split(near, k, 1, &allocated) != DETECT_SKIPPED)
        all = 0;
      if (allocated)
        none_allocated = 0;
      if (feed_split(near, k, 0, &allocated) != DETECT_SKIPPED)
        all = 0;
      if (allocated)
        none_allocated = 0;
    }
    CHECK(all);
    CHECK(none_allocated); /* nothing allocated until a payload triggers */
  }
}

static void test_tool_name(void) {
  detect_str s = {NULL, 0};
  const char *name;
  static const char unterminated[12] = {'j', 'i', 'r', 'a', '_', '_', 'c', 'r', 'e', 'a', 't', 'e'};
  CHECK(detect_connector_from_tool_name("authenticate_", 13, &s) == 0);
  CHECK(detect_connector_from_tool_name("__tool", 6, &s) == 0);
  CHECK(detect_connector_from_tool_name("", 0, &s) == 0);
  CHECK(detect_connector_from_tool_name("post_message", 12, &s) == 0);
  CHECK(detect_connector_from_tool_name("Slack", 5, &s) == 0);
  CHECK(detect_connector_from_tool_name("authenticate", 12, &s) == 0);
  CHECK(detect_connector_from_tool_name("slack__", 7, &s) == 0);
  CHECK(detect_connector_from_tool_name("a__", 3, &s) == 0);
  CHECK(detect_connector_from_tool_name("my slack__post", 14, &s) == 0);
  CHECK(detect_connector_from_tool_name("authenticate_my slack", 21, &s) == 0);
  /* len is respected: only "authenticate_" of "authenticate_slack" */
  CHECK(detect_connector_from_tool_name("authenticate_slack", 13, &s) == 0);

  name = "a__b__c";
  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name(name, 7, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "a");
  CHECK(s.ptr == name);

  name = "slack__post_message";
  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name(name, 19, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "slack");
  CHECK(s.ptr == name); /* points into name, no copy */

  name = "authenticate_slack";
  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name(name, 18, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "slack");
  CHECK(s.ptr == name + 13);

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name("authenticate_google_drive", 25, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "google_drive");

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name("github-enterprise__create_issue", 31, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "github-enterprise");

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name("x__y", 4, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "x");

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name("a___b", 5, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "a");

  s.ptr = NULL;
  CHECK(detect_connector_from_tool_name(unterminated, sizeof unterminated, &s) == 1);
  CHECK_MEM(s.ptr, s.len, "jira");
}

static void test_shape_names(void) {
  CHECK(strcmp(detect_shape_name(DETECT_SHAPE_AUTHENTICATE_META), "authenticate_meta") == 0);
  CHECK(strcmp(detect_shape_name(DETECT_SHAPE_MAGIC_LINK), "magic_link") == 0);
  CHECK(strcmp(detect_shape_name(DETECT_SHAPE_NONE), "none") == 0);
}

static const detect_match dummy_match;

static void test_finish_api(void) {
  detect_t d;
  const detect_match *m;
  const char *meta = "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}";
  const char *plain = "{\"a\":1}";
  const char *nomatch = "{\"link_token\":\"t\"}";
  const char *bad = "{\"link_token\":";

  detect_init(&d);
  m = &dummy_match;
  CHECK(detect_finish(&d, "", 0, &m) == DETECT_SKIPPED); /* empty payload */
  CHECK(m == NULL);
  detect_reset(&d);

  detect_feed(&d, plain, strlen(plain));
  CHECK(d.state == NULL);
  CHECK(d.triggered == 0);
  m = &dummy_match;
  CHECK(detect_finish(&d, plain, strlen(plain), &m) == DETECT_SKIPPED);
  CHECK(m == NULL);
  CHECK(d.state == NULL); /* nothing allocated for a skipped payload */
  detect_reset(&d);

  detect_feed(&d, nomatch, strlen(nomatch));
  CHECK(d.state != NULL);
  CHECK(d.triggered == 1);
  m = &dummy_match;
  CHECK(detect_finish(&d, nomatch, strlen(nomatch), &m) == DETECT_NO_MATCH);
  CHECK(m == NULL);
  detect_reset(&d);
  CHECK(d.state == NULL);

  detect_feed(&d, bad, strlen(bad));
  m = &dummy_match;
  CHECK(detect_finish(&d, bad, strlen(bad), &m) == DETECT_MALFORMED);
  CHECK(m == NULL);
  detect_reset(&d);

  detect_feed(&d, meta, strlen(meta));
  CHECK(detect_finish(&d, meta, strlen(meta), NULL) == DETECT_MATCH); /* match may be NULL */
  detect_reset(&d);

  /* bytes never fed are parsed by detect_finish() */
  detect_feed(&d, meta, 5);
  m = NULL;
  CHECK(detect_finish(&d, meta, strlen(meta), &m) == DETECT_MATCH);
  CHECK(m != NULL);
  if (m != NULL)
    CHECK_MEM(m->connector.ptr, m->connector.len, "slack");
  detect_reset(&d);
  m = &dummy_match;
  CHECK(detect_finish(&d, bad, strlen(bad), &m) == DETECT_MALFORMED); /* never fed */
  CHECK(m == NULL);
  detect_reset(&d);

  detect_feed(&d, meta, strlen(meta));
  m = NULL;
  CHECK(detect_finish(&d, meta, strlen(meta), &m) == DETECT_MATCH);
  CHECK(m != NULL);
  if (m != NULL) {
    CHECK(m->shape == DETECT_SHAPE_AUTHENTICATE_META);
    CHECK_MEM(m->connector.ptr, m->connector.len, "slack");
    CHECK(m->link_token.ptr == NULL);
  }
  detect_close(&d);

  /* usable again after detect_close + detect_init */
  detect_init(&d);
  detect_feed(&d, meta, strlen(meta));
  CHECK(detect_finish(&d, meta, strlen(meta), NULL) == DETECT_MATCH);
  detect_close(&d);
}

static void test_abandon(void) {
  detect_t d;
  const detect_match *m;
  const char *meta = "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}";
  const char *plain = "{\"a\":1}";
  size_t len = strlen(meta);

  detect_init(&d);
  detect_feed(&d, meta, 20); /* triggered */
  detect_abandon(&d);
  detect_feed(&d, meta, len);
  m = &dummy_match;
  CHECK(detect_finish(&d, meta, len, &m) == DETECT_OVERSIZED);
  CHECK(m == NULL);
  detect_reset(&d);

  detect_abandon(&d); /* before any byte */
  detect_feed(&d, meta, len);
  CHECK(detect_finish(&d, meta, len, NULL) == DETECT_OVERSIZED);
  detect_reset(&d);

  detect_feed(&d, plain, strlen(plain)); /* not triggered */
  detect_abandon(&d);
  CHECK(detect_finish(&d, plain, strlen(plain), NULL) == DETECT_OVERSIZED);
  detect_reset(&d);

  detect_feed(&d, meta, len); /* the whole match, then abandoned */
  detect_abandon(&d);
  m = &dummy_match;
  CHECK(detect_finish(&d, meta, len, &m) == DETECT_OVERSIZED);
  CHECK(m == NULL);
  detect_reset(&d);

  detect_feed(&d, meta, len); /* reset clears the abandon */
  m = NULL;
  CHECK(detect_finish(&d, meta, len, &m) == DETECT_MATCH);
  CHECK(m != NULL && m->shape == DETECT_SHAPE_AUTHENTICATE_META);
  detect_close(&d);
}

typedef struct multi_ctx {
  int n;
  detect_status status[64];
  int oversized[64];
  char connector[64][16];
} multi_ctx;

static int on_multi(void *ctx, const framer_event *ev) {
  multi_ctx *c = ctx;
  if (c->n < 64) {
    c->status[c->n] = ev->status;
    c->oversized[c->n] = ev->oversized;
    c->connector[c->n][0] = '\0';
    if (ev->match != NULL && ev->match->connector.ptr != NULL && ev->match->connector.len < 16) {
      memcpy(c->connector[c->n], ev->match->connector.ptr, ev->match->connector.len);
      c->connector[c->n][ev->match->connector.len] = '\0';
    }
  }
  c->n++;
  return 0;
}

static void test_framer_oversized(void) {
  /* detect_abandon through the framer: an event over max_event_bytes */
  framer_t f;
  framer_options opt = {40, 1};
  framer_callbacks cb = {on_multi, NULL, NULL};
  multi_ctx c;
  const char *s = "data: {\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"pad\":\"xxxxxx\"}\n\n"
                  "data: {\"link_token\":\"t\",\"magic_link_url\":\"u\"}\n\n";
  memset(&c, 0, sizeof c);
  CHECK(framer_init(&f, FRAMER_SSE, &opt, &cb, &c) == 0);
  CHECK(framer_feed(&f, s, strlen(s)) == strlen(s));
  framer_finish(&f);
  framer_close(&f);
  CHECK(c.n == 2);
  CHECK(c.status[0] == DETECT_OVERSIZED);
  CHECK(c.oversized[0] == 1);
  CHECK(c.status[1] == DETECT_MATCH);
  CHECK(c.oversized[1] == 0);
}

static void test_framer_many_events(void) {
  /* the framer's detector, reset between 50 NDJSON events */
  static const char *const lines[5] = {
      "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}",
      "{\"a\":1}",
      "{\"link_token\":\"t\",",
      "{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"connector\":\"jira\"}",
      "{\"link_token\":\"t\"}",
  };
  static const detect_status want[5] = {DETECT_MATCH, DETECT_SKIPPED, DETECT_MALFORMED,
                                        DETECT_MATCH, DETECT_NO_MATCH};
  static const char *const want_conn[5] = {"slack", "", "", "jira", ""};
  sb stream = {NULL, 0, 0};
  size_t chunk;
  int i;
  for (i = 0; i < 50; i++) {
    sb_add(&stream, lines[i % 5]);
    sb_add(&stream, "\n");
  }
  for (chunk = 1; chunk <= 4096; chunk = chunk < 16 ? chunk + 5 : chunk * 16) {
    framer_t f;
    framer_callbacks cb = {on_multi, NULL, NULL};
    multi_ctx c;
    size_t off = 0;
    int seq_ok = 1;
    memset(&c, 0, sizeof c);
    CHECK(framer_init(&f, FRAMER_NDJSON, NULL, &cb, &c) == 0);
    while (off < stream.len) {
      size_t n = stream.len - off < chunk ? stream.len - off : chunk;
      framer_feed(&f, stream.p + off, n);
      off += n;
    }
    framer_finish(&f);
    CHECK(c.n == 50);
    for (i = 0; i < 50 && i < c.n; i++) {
      if (c.status[i] != want[i % 5] || strcmp(c.connector[i], want_conn[i % 5]) != 0)
        seq_ok = 0;
    }
    CHECK(seq_ok);
    CHECK_EQ_U64(f.stats.events, 50);
    CHECK_EQ_U64(f.stats.matches, 20);
    CHECK_EQ_U64(f.stats.malformed, 10);
    framer_close(&f);
  }
  free(stream.p);
}

static void test_reuse(void) {
  /* one detector, thousands of payloads, detect_reset between them; the
   * sanitized build's LeakSanitizer checks that nothing is left behind */
  static const char *const payloads[8] = {
      "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"l\"}",
      ("{\"jsonrpc\":\"2.0\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"{\\\"link_token\\\":"
       "\\\"t\\\",\\\"magic_link_url\\\":\\\"u\\\",\\\"connector\\\":\\\"gh\\\"}\"}]}}"),
      "{\"a\":[1,2,3]}",
      "{\"link_token\":\"t\"}",
      "{\"type\":\"authenticate_meta\",\"message\":\"x\xff\"}",
      "[[[[[[[[[[[[[[[[[[[[{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"connector\":\"deep\"}",
      "[\"{\\\"type\\\":\\\"authenticate_meta\\\",\\\"connector\\\":\\\"bad\\\"} x\",1]",
      "{\"type\":\"authenticate_meta\",\"connector\":\"z\"} trailing",
  };
  static const detect_status want[8] = {DETECT_MATCH,    DETECT_MATCH,     DETECT_SKIPPED,
                                        DETECT_NO_MATCH, DETECT_MALFORMED, DETECT_MALFORMED,
                                        DETECT_NO_MATCH, DETECT_MALFORMED};
  static const char *const conn[8] = {"slack", "gh", NULL, NULL, NULL, NULL, NULL, NULL};
  detect_t d;
  int i;
  int status_ok = 1;
  int field_ok = 1;
  detect_init(&d);
  for (i = 0; i < 4000; i++) {
    const char *p = payloads[i % 8];
    size_t len = strlen(p);
    size_t step = (size_t)(i % 13) + 1;
    size_t n = 0;
    const detect_match *m = NULL;
    detect_status st;
    while (n < len) {
      n = len - n > step ? n + step : len;
      detect_feed(&d, p, n);
    }
    st = detect_finish(&d, p, len, &m);
    if (st != want[i % 8])
      status_ok = 0;
    if (conn[i % 8] != NULL &&
        (m == NULL || m->connector.ptr == NULL || m->connector.len != strlen(conn[i % 8]) ||
         memcmp(m->connector.ptr, conn[i % 8], m->connector.len) != 0))
      field_ok = 0;
    detect_reset(&d);
    if (i % 100 == 50) {
      /* reset in the middle of a triggered payload, never finished */
      detect_feed(&d, payloads[5], 40);
      detect_reset(&d);
    }
  }
  CHECK(status_ok);
  CHECK(field_ok);
  detect_close(&d);
}

int main(void) {
  RUN(test_prefilter);
  RUN(test_prefilter_split);
  RUN(test_tool_name);
  RUN(test_shape_names);
  RUN(test_finish_api);
  RUN(test_abandon);
  RUN(test_framer_oversized);
  RUN(test_framer_many_events);
  RUN(test_reuse);
  return unit_report();
}
