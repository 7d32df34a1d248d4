/* web: the example chat page's files, read once and served from memory. See
 * web.h. */
#include "web.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <llhttp.h>

#include "buf.h"
#include "request.h"
#include "resp.h"

/* One whitelisted file: the URL path it answers, its name in --web-dir, its
 * type, and (after web_load) its bytes. */
typedef struct {
  const char *path;
  const char *file;
  const char *content_type;
  buf_t body;
} web_file;

static web_file files[] = {
    {"/", "index.html", "text/html; charset=utf-8", {0}},
    {"/app.js", "app.js", "text/javascript; charset=utf-8", {0}},
    {"/authrelay-link.js", "authrelay-link.js", "text/javascript; charset=utf-8", {0}},
    {"/style.css", "style.css", "text/css; charset=utf-8", {0}},
    {"/favicon.svg", "favicon.svg", "image/svg+xml", {0}},
};
#define NFILES (sizeof files / sizeof files[0])

static int loaded; /* web_load() succeeded */

/* Reads dir/name into out, at most WEB_MAX_FILE_BYTES. */
static int read_file(const char *dir, const char *name, buf_t *out) {
  char full[4096];
  char chunk[8192];
  int n = snprintf(full, sizeof full, "%s/%s", dir, name);
  if (n < 0 || (size_t)n >= sizeof full)
    return -ENAMETOOLONG;
  FILE *f = fopen(full, "rb");
  if (f == NULL)
    return -errno;
  int rc = 0;
  for (;;) {
    size_t got = fread(chunk, 1, sizeof chunk, f);
    if (got == 0)
      break;
    if (out->len + got > WEB_MAX_FILE_BYTES) {
      rc = -EFBIG;
      break;
    }
    buf_append(out, chunk, got);
  }
  if (rc == 0 && ferror(f))
    rc = -EIO;
  fclose(f);
  return rc;
}

int web_load(const char *dir, const char **failed) {
  web_free();
  for (size_t i = 0; i < NFILES; i++) {
    int rc = read_file(dir, files[i].file, &files[i].body);
    if (rc != 0) {
      *failed = files[i].file;
      web_free();
      return rc;
    }
  }
  loaded = 1;
  return 0;
}

static web_file *web_find(const char *path, size_t plen) {
  for (size_t i = 0; i < NFILES; i++) {
    if (req_path_is(path, plen, files[i].path))
      return &files[i];
  }
  return NULL;
}

int web_has(const char *path, size_t plen) { return loaded && web_find(path, plen) != NULL; }

void web_serve(conn *c, const char *path, size_t plen) {
  web_file *f = web_find(path, plen);
  int m = llhttp_get_method(&c->parser);
  if (f == NULL) {
    resp_text(c, 404, "not found\n");
    return;
  }
  if (m != HTTP_GET && m != HTTP_HEAD) {
    resp_text(c, 405, "use GET\n");
    return;
  }
  buf_t h = {0};
  resp_head_begin(&h, 200);
  buf_printf(&h,
             "Content-Type: %s\r\nContent-Length: %zu\r\nCache-Control: no-cache\r\n"
             "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n"
             "Content-Security-Policy: " WEB_CSP "\r\n",
             f->content_type, f->body.len);
  resp_head_end(c, &h);
  if (!c->is_head)
    buf_append(&h, f->body.p, f->body.len);
  conn_write(c, h.p, h.len);
  buf_free(&h);
  conn_resp_done(c);
}

void web_free(void) {
  for (size_t i = 0; i < NFILES; i++)
    buf_free(&files[i].body);
  loaded = 0;
}
