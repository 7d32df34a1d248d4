/* linkpage: renders the hosted Link page and parses its form. See linkpage.h. */
#include "linkpage.h"

#include <string.h>

#include "http.h"

static const char page_head[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    "<title>Connect an account</title><style>"
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}"
    "input,button{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin:.25rem 0}"
    "button{background:#1f6feb;color:#fff;border:0;border-radius:4px;cursor:pointer}"
    ".muted{color:#666;font-size:.9rem}</style></head><body>\n";
static const char page_tail[] = "</body></html>\n";

static void add(dynbuf *out, const char *s) {
  (void)dynbuf_add(out, s, strlen(s));
}

/* Appends text with the five HTML-special characters escaped. */
static void add_escaped(dynbuf *out, const char *s) {
  for (; *s != '\0'; s++) {
    switch (*s) {
    case '&':
      add(out, "&amp;");
      break;
    case '<':
      add(out, "&lt;");
      break;
    case '>':
      add(out, "&gt;");
      break;
    case '"':
      add(out, "&quot;");
      break;
    case '\'':
      add(out, "&#39;");
      break;
    default:
      (void)dynbuf_add(out, s, 1);
      break;
    }
  }
}

int linkpage_render(dynbuf *out, const linksvc_link_info *info, linksvc_state state, const char *name) {
  add(out, page_head);
  if (state != LINKSVC_STATE_PENDING) {
    add(out, "<h1>This link can no longer be used</h1><p>It was ");
    add(out, state == LINKSVC_STATE_COMPLETED ? "used already"
             : state == LINKSVC_STATE_EXPIRED ? "past its expiry"
                                              : "withdrawn");
    add(out, ". Ask the assistant again for a new link.</p>");
    add(out, page_tail);
    return 410;
  }
  add(out, "<h1>Connect ");
  add_escaped(out, name);
  add(out, "</h1><p>Your assistant needs access to <b>");
  add_escaped(out, name);
  add(out, "</b> to continue. Paste an API key for it; the conversation resumes as soon as it"
           " is saved.</p><form method=\"post\" action=\"");
  add_escaped(out, info->path);
  add(out, "\"><label for=\"api_key\">API key</label>"
           "<input id=\"api_key\" name=\"api_key\" type=\"password\" autocomplete=\"off\" required>"
           "<button type=\"submit\">Connect</button></form><p class=\"muted\">This link works once"
           " and expires at ");
  add_escaped(out, info->expires_at);
  add(out, ".</p>");
  add(out, page_tail);
  return 200;
}

void linkpage_render_unknown(dynbuf *out) {
  add(out, page_head);
  add(out, "<h1>Unknown link</h1><p>This link does not exist. Ask the assistant again for a new"
           " link.</p>");
  add(out, page_tail);
}

void linkpage_render_connected(dynbuf *out, const char *connector) {
  add(out, page_head);
  add(out, "<h1>Connected</h1><p><b>");
  add_escaped(out, connector);
  add(out, "</b> is connected. You can close this page: the assistant goes on.</p>");
  add(out, page_tail);
}

void linkpage_render_refused(dynbuf *out, const char *reason) {
  add(out, page_head);
  add(out, "<h1>Not connected</h1><p>");
  add_escaped(out, reason);
  add(out, "</p>");
  add(out, page_tail);
}

long linkpage_form_field(const char *body, size_t len, const char *name, char *out, size_t cap) {
  size_t name_len = strlen(name);
  size_t i = 0;
  if (cap == 0)
    return -1; /* no room even for the NUL */
  while (i < len) {
    const char *amp = memchr(body + i, '&', len - i);
    size_t end = amp != NULL ? (size_t)(amp - body) : len;
    if (end - i > name_len && memcmp(body + i, name, name_len) == 0 && body[i + name_len] == '=') {
      size_t k = i + name_len + 1;
      size_t n = 0;
      while (k < end) {
        char c = body[k];
        if (c == '%') {
          int hi;
          int lo;
          if (k + 2 >= end)
            return -1;
          hi = http_hex_digit(body[k + 1]);
          lo = http_hex_digit(body[k + 2]);
          if (hi < 0 || lo < 0)
            return -1;
          c = (char)(hi * 16 + lo);
          k += 3;
        } else {
          if (c == '+')
            c = ' ';
          k++;
        }
        if (c == '\0')
          return -1; /* callers read the value as a C string: "a%00b" is not "a" */
        if (n + 1 >= cap)
          return -1;
        out[n++] = c;
      }
      out[n] = '\0';
      return n > 0 ? (long)n : -1;
    }
    i = end + 1;
  }
  return -1;
}
