/* authrelay-scan: the parser as a command-line filter.
 *
 * Reads a stream on stdin, feeds it to a framer N bytes at a time, and prints
 * what the framer reports, one JSON object per line (see parser/SEMANTICS.md):
 * events, retry fields, oversized events and detections. Used to try the
 * parser on a captured stream, and by the differential test.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "framer.h"
#include "jsonw.h"

#define SCAN_DEFAULT_CHUNK 65536
#define SCAN_OUT_MAX ((size_t)64 * 1024 * 1024) /* one output line, at most */

typedef struct scan_ctx {
  dynbuf line; /* output line being built */
  int failed;  /* an output error happened */
} scan_ctx;

static void usage_error(const char *msg) {
  fprintf(stderr, "authrelay-scan: %s\n", msg);
  fprintf(stderr,
          "usage: authrelay-scan [--format sse|ndjson|json|auto] [--chunk-size N]"
          " [--content-type T] [--max-event-bytes N] < stream\n");
  exit(2);
}

/* Writes the line out, unless one of its sticky appends failed (then the
 * run fails: a cut line is never printed as whole). */
static void emit(scan_ctx *sc) {
  if (dynbuf_error(&sc->line) != 0 || dynbuf_add(&sc->line, "\n", 1) != 0 ||
      fwrite(sc->line.ptr, 1, sc->line.len, stdout) != sc->line.len)
    sc->failed = 1;
  dynbuf_reset(&sc->line, 1024 * 1024);
}

static void member_str(dynbuf *out, const char *name, detect_str value) {
  if (value.ptr == NULL)
    return;
  (void)jsonw_raw(out, ",\"");
  (void)jsonw_raw(out, name);
  (void)jsonw_raw(out, "\":");
  (void)jsonw_string(out, value.ptr, value.len);
}

static int on_event(void *ctx, const framer_event *ev) {
  scan_ctx *sc = ctx;
  dynbuf *out = &sc->line;
  (void)jsonw_raw(out, "{\"type\":\"event\",\"index\":");
  (void)jsonw_u64(out, ev->index);
  if (ev->type != NULL) {
    (void)jsonw_raw(out, ",\"event\":");
    (void)jsonw_string(out, ev->type, ev->type_len);
  }
  if (ev->id != NULL) {
    (void)jsonw_raw(out, ",\"id\":");
    (void)jsonw_string(out, ev->id, ev->id_len);
  }
  (void)jsonw_raw(out, ",\"data\":");
  (void)jsonw_string(out, ev->data, ev->data_len);
  if (ev->oversized)
    (void)jsonw_raw(out, ",\"oversized\":true");
  (void)jsonw_raw(out, ",\"bytes\":[");
  (void)jsonw_u64(out, ev->start);
  (void)jsonw_raw(out, ",");
  (void)jsonw_u64(out, ev->end);
  (void)jsonw_raw(out, "]}");
  emit(sc);
  if (ev->match != NULL) {
    const detect_match *m = ev->match;
    (void)jsonw_raw(out, "{\"type\":\"detection\",\"index\":");
    (void)jsonw_u64(out, ev->index);
    (void)jsonw_raw(out, ",\"shape\":");
    (void)jsonw_cstring(out, detect_shape_name(m->shape));
    member_str(out, "connector", m->connector);
    member_str(out, "link_token", m->link_token);
    member_str(out, "magic_link_url", m->magic_link_url);
    member_str(out, "expires_at", m->expires_at);
    member_str(out, "message", m->message);
    member_str(out, "tool_call_id", m->tool_call_id);
    (void)jsonw_raw(out, "}");
    emit(sc);
  }
  return 0;
}

static void on_retry(void *ctx, uint64_t ms) {
  scan_ctx *sc = ctx;
  (void)jsonw_raw(&sc->line, "{\"type\":\"retry\",\"ms\":");
  (void)jsonw_u64(&sc->line, ms);
  (void)jsonw_raw(&sc->line, "}");
  emit(sc);
}

static void on_oversized(void *ctx, uint64_t index) {
  scan_ctx *sc = ctx;
  (void)jsonw_raw(&sc->line, "{\"type\":\"oversized\",\"index\":");
  (void)jsonw_u64(&sc->line, index);
  (void)jsonw_raw(&sc->line, "}");
  emit(sc);
}

/* Parses a positive decimal size, or exits with a usage error naming opt. */
static size_t parse_size(const char *opt, const char *text) {
  char *end = NULL;
  unsigned long long v;
  char msg[128];
  errno = 0;
  v = strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v == 0 || text[0] == '-' ||
      v > (unsigned long long)INT_MAX) {
    snprintf(msg, sizeof msg, "%s needs a whole number from 1 to %d, not \"%s\"", opt,
             INT_MAX, text);
    usage_error(msg);
  }
  return (size_t)v;
}

int main(int argc, char **argv) {
  const char *format_name = "sse";
  const char *content_type = NULL;
  size_t chunk = SCAN_DEFAULT_CHUNK;
  framer_options options = {0, 1};
  framer_callbacks callbacks = {on_event, on_retry, on_oversized};
  framer_format format;
  framer_t framer;
  scan_ctx sc;
  char *buf;
  int i;

  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      printf("usage: authrelay-scan [--format sse|ndjson|json|auto] [--chunk-size N]"
             " [--content-type T] [--max-event-bytes N] < stream\n");
      return 0;
    }
    if (i + 1 >= argc) {
      char msg[128];
      snprintf(msg, sizeof msg, "unknown option or missing value: %s", arg);
      usage_error(msg);
    }
    if (strcmp(arg, "--format") == 0) {
      format_name = argv[++i];
    } else if (strcmp(arg, "--chunk-size") == 0) {
      chunk = parse_size(arg, argv[++i]);
    } else if (strcmp(arg, "--content-type") == 0) {
      content_type = argv[++i];
    } else if (strcmp(arg, "--max-event-bytes") == 0) {
      options.max_event_bytes = parse_size(arg, argv[++i]);
    } else {
      char msg[128];
      snprintf(msg, sizeof msg, "unknown option: %s", arg);
      usage_error(msg);
    }
  }
  if (strcmp(format_name, "auto") == 0) {
    if (content_type == NULL)
      usage_error("--format auto needs --content-type");
    format = framer_format_from_content_type(content_type, strlen(content_type));
  } else if (framer_format_parse(format_name, &format) != 0 || format == FRAMER_RAW) {
    usage_error("--format must be sse, ndjson, json or auto");
  }

  buf = malloc(chunk);
  if (buf == NULL) {
    fprintf(stderr, "authrelay-scan: out of memory\n");
    return 1;
  }
  dynbuf_init(&sc.line, SCAN_OUT_MAX);
  sc.failed = 0;
  framer_init(&framer, format, &options, &callbacks, &sc);
  for (;;) {
    size_t got = 0;
    ssize_t n = 0;
    /* Fill the chunk completely (unless the input ends), so that the
     * chunking is exactly --chunk-size whatever the pipe delivers. */
    while (got < chunk) {
      n = read(STDIN_FILENO, buf + got, chunk - got);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      got += (size_t)n;
    }
    if (n < 0) {
      fprintf(stderr, "authrelay-scan: read: %s\n", strerror(errno));
      return 1;
    }
    if (got > 0)
      (void)framer_feed(&framer, buf, got);
    if (n == 0)
      break;
  }
  framer_finish(&framer);
  framer_close(&framer);
  dynbuf_free(&sc.line);
  free(buf);
  if (fflush(stdout) != 0 || sc.failed) {
    fprintf(stderr, "authrelay-scan: write error\n");
    return 1;
  }
  return 0;
}
