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
    "button.secondary{background:#eee;color:#222}.logo{max-height:3rem}.app{font-weight:600}"
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

/* The app's logo and name, when configured. */
static void add_brand(dynbuf *out, const linkpage_brand *brand) {
  if (brand == NULL)
    return;
  if (brand->logo_url != NULL && brand->logo_url[0] != '\0') {
    add(out, "<img class=\"logo\" alt=\"\" src=\"");
    add_escaped(out, brand->logo_url);
    add(out, "\">");
  }
  if (brand->app_name != NULL && brand->app_name[0] != '\0') {
    add(out, "<p class=\"app\">");
    add_escaped(out, brand->app_name);
    add(out, "</p>");
  }
}

/* "the app name" or "Your assistant", escaped. */
static void add_asker(dynbuf *out, const linkpage_brand *brand) {
  if (brand != NULL && brand->app_name != NULL && brand->app_name[0] != '\0') {
    add(out, "<b>");
    add_escaped(out, brand->app_name);
    add(out, "</b>");
  } else {
    add(out, "Your assistant");
  }
}

/* The expiry (shown in local time by the script) and "Not now". */
static void add_footer(dynbuf *out, const linksvc_link_info *info) {
  add(out, "<form method=\"post\" action=\"");
  add_escaped(out, info->path);
  add(out, "\"><input type=\"hidden\" name=\"decline\" value=\"1\">"
           "<button class=\"secondary\" type=\"submit\">Not now</button></form>"
           "<p class=\"muted\">This link works once and expires <time datetime=\"");
  add_escaped(out, info->expires_at);
  add(out, "\">");
  add_escaped(out, info->expires_at);
  add(out, "</time>.</p><script>" LINKPAGE_SCRIPT "</script>");
}

void linkpage_render_key_form(dynbuf *out, const linksvc_link_info *info, const char *name, const char *chosen,
                              const linkpage_brand *brand) {
  add(out, page_head);
  add_brand(out, brand);
  add(out, "<h1>Connect ");
  add_escaped(out, name);
  add(out, "</h1><p>");
  add_asker(out, brand);
  add(out, " needs access to <b>");
  add_escaped(out, name);
  add(out, "</b> to continue. Paste an API key for it; the conversation resumes as soon as it"
           " is saved.</p><form method=\"post\" action=\"");
  add_escaped(out, info->path);
  add(out, "\">");
  if (chosen != NULL) {
    add(out, "<input type=\"hidden\" name=\"connector\" value=\"");
    add_escaped(out, chosen);
    add(out, "\">");
  }
  add(out, "<label for=\"api_key\">API key</label>"
           "<input id=\"api_key\" name=\"api_key\" type=\"password\" autocomplete=\"off\" required>"
           "<button type=\"submit\">Connect</button></form>");
  add_footer(out, info);
  add(out, page_tail);
}

int linkpage_render(dynbuf *out, const linksvc_link_info *info, linksvc_state state, const char *name) {
  if (state == LINKSVC_STATE_PENDING) {
    linkpage_render_key_form(out, info, name, NULL, NULL);
    return 200;
  }
  add(out, page_head);
  add(out, "<h1>This link can no longer be used</h1><p>It was ");
  add(out, state == LINKSVC_STATE_COMPLETED ? "used already"
           : state == LINKSVC_STATE_EXPIRED ? "past its expiry"
           : state == LINKSVC_STATE_DECLINED ? "declined"
                                            : "withdrawn");
  add(out, ". Ask the assistant again for a new link.</p>");
  add(out, page_tail);
  return 410;
}

void linkpage_render_picker(dynbuf *out, const linksvc_link_info *info, const linkpage_choice *choices, size_t n,
                            int open, const linkpage_brand *brand) {
  size_t i;
  add(out, page_head);
  add_brand(out, brand);
  add(out, "<h1>Connect an account</h1><p>");
  add_asker(out, brand);
  add(out, " needs access to one of your accounts to continue. ");
  if (open) {
    add(out, "Name the service and paste an API key for it.</p><form method=\"post\" action=\"");
    add_escaped(out, info->path);
    add(out, "\"><label for=\"connector\">Service</label>"
             "<input id=\"connector\" name=\"connector\" pattern=\"[a-z0-9_\\-]{1,64}\" required>"
             "<label for=\"api_key\">API key</label>"
             "<input id=\"api_key\" name=\"api_key\" type=\"password\" autocomplete=\"off\" required>"
             "<button type=\"submit\">Connect</button></form>");
  } else if (n == 0) {
    add(out, "No service can be connected here right now.</p>");
  } else {
    add(out, "Choose the service:</p><ul class=\"choices\">");
    for (i = 0; i < n; i++) {
      add(out, "<li><a href=\"");
      add_escaped(out, info->path);
      add(out, "?connector=");
      add_escaped(out, choices[i].slug); /* a slug: [a-z0-9_-] */
      add(out, "\">");
      add_escaped(out, choices[i].name);
      add(out, "</a> <span class=\"muted\">");
      add_escaped(out, choices[i].slug);
      add(out, "</span></li>");
    }
    add(out, "</ul>");
  }
  add_footer(out, info);
  add(out, page_tail);
}

void linkpage_render_unavailable(dynbuf *out, const linksvc_link_info *info, const char *name,
                                 const linkpage_brand *brand) {
  add(out, page_head);
  add_brand(out, brand);
  add(out, "<h1>");
  add_escaped(out, name);
  add(out, " cannot be connected yet</h1><p>");
  add_asker(out, brand);
  add(out, " is not ready to connect <b>");
  add_escaped(out, name);
  add(out, "</b> accounts yet. Nothing was changed. Choose \"Not now\" to go on without it, or try again"
           " later.</p>");
  add_footer(out, info);
  add(out, page_tail);
}

void linkpage_render_denied(dynbuf *out, const char *path, const char *reason) {
  add(out, page_head);
  add(out, "<h1>Not connected</h1><p>");
  add_escaped(out, reason);
  add(out, "</p><p><a href=\"");
  add_escaped(out, path);
  add(out, "\">Try again</a></p><form method=\"post\" action=\"");
  add_escaped(out, path);
  add(out, "\"><input type=\"hidden\" name=\"decline\" value=\"1\">"
           "<button class=\"secondary\" type=\"submit\">Not now</button></form>");
  add(out, page_tail);
}

void linkpage_render_declined(dynbuf *out, const linkpage_brand *brand) {
  add(out, page_head);
  add_brand(out, brand);
  add(out, "<h1>Not connected</h1><p>No account was connected. You can close this page: the assistant"
           " goes on without it.</p>");
  add(out, page_tail);
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
