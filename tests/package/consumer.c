/* consumer: a C program outside authrelay that uses the installed parser
 * library, the way DESIGN.md "Layout" promises ("other C programs can link
 * the stream filter").
 *
 * test_package.py compiles it against an installed tree (a DESTDIR install,
 * or the unpacked .deb) with nothing but `pkg-config --cflags --libs
 * authrelay-parser`, then runs it on an SSE stream: it frames the stream fed
 * in small chunks, and prints one line per event ("event INDEX STATUS") and,
 * for a match, the connector and the link token. It exits 0 when the whole
 * stream was consumed, 1 on a usage or read error.
 */
#include <stdio.h>
#include <string.h>

#include <authrelay/detect.h>
#include <authrelay/dynbuf.h>
#include <authrelay/framer.h>
#include <authrelay/rewrite.h>

#define CONSUMER_MAX_INPUT (1024 * 1024) /* bytes of stream read at most */
#define CONSUMER_CHUNK 7                 /* bytes fed per framer_feed call */

static const char *status_name(detect_status status) {
  switch (status) {
  case DETECT_SKIPPED: return "skipped";
  case DETECT_NO_MATCH: return "no_match";
  case DETECT_MATCH: return "match";
  case DETECT_MALFORMED: return "malformed";
  case DETECT_OVERSIZED: return "oversized";
  }
  return "?";
}

static int on_event(void *ctx, const framer_event *ev) {
  (void)ctx;
  printf("event %llu %s\n", (unsigned long long)ev->index, status_name(ev->status));
  if (ev->match != NULL)
    printf("match %s %.*s %.*s\n", detect_shape_name(ev->match->shape),
           (int)ev->match->connector.len, ev->match->connector.ptr,
           (int)ev->match->link_token.len, ev->match->link_token.ptr);
  return 0;
}

int main(int argc, char **argv) {
  static char input[CONSUMER_MAX_INPUT];
  framer_callbacks cb;
  framer_t framer;
  dynbuf scratch;
  size_t len;
  size_t off;
  FILE *f;

  if (argc != 2) {
    fprintf(stderr, "usage: consumer STREAM.sse\n");
    return 1;
  }
  f = fopen(argv[1], "rb");
  if (f == NULL) {
    perror(argv[1]);
    return 1;
  }
  len = fread(input, 1, sizeof input, f);
  fclose(f);

  /* dynbuf.h is public too: its cap is the one every parser buffer has. */
  dynbuf_init(&scratch, 4);
  if (dynbuf_add(&scratch, "12345", 5) == 0) {
    fprintf(stderr, "dynbuf accepted more than its cap\n");
    return 1;
  }
  dynbuf_free(&scratch);

  memset(&cb, 0, sizeof cb);
  cb.on_event = on_event;
  if (framer_init(&framer, framer_format_from_content_type("text/event-stream", 17), NULL,
                  &cb, NULL) != 0)
    return 1;
  for (off = 0; off < len; off += CONSUMER_CHUNK) {
    size_t n = len - off < CONSUMER_CHUNK ? len - off : CONSUMER_CHUNK;
    if (framer_feed(&framer, input + off, n) != n)
      return 1;
  }
  framer_finish(&framer);
  printf("consumed %llu safe %llu\n", (unsigned long long)len,
         (unsigned long long)framer_safe_offset(&framer));
  framer_close(&framer);
  return 0;
}
