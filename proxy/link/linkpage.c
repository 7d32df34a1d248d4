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
