/* test_catalog: the connector catalog (proxy/catalog.c).
 *
 * Covers: the open catalog (no file) answering every well-formed slug as an
 * API-key connector named after it and refusing malformed ones; a file with
 * one oauth2 and one api_key connector (every field, lookups found and not
 * found, name defaulting to the slug); and refused files, each -EINVAL (or
 * -EIO for a missing file) with a one-line message naming the file and the
 * fault: not JSON, no "connectors" array, an empty one, a bad slug, oauth2
 * without token_url or authorize_url, a duplicate slug, auth outside
 * {api_key, oauth2}, an entry that is not an object.
 *
 * The options real providers need (oauth2_options): token_auth (default
 * client_secret_post, client_secret_basic), authorize_params (kept in
 * order), revocation_url, refresh (default true); and what is refused with
 * a message naming the entry and the key: slugs outside the reference's
 * style (underscores, upper case, leading or trailing hyphen), endpoints
 * that are not https (http only to 127.0.0.0/8, ::1 or localhost; no user
 * info, no fragment), unknown and repeated keys, the oauth2 options on an
 * api_key entry, token_auth and refresh of the wrong value or type,
 * authorize_params that are not an object of strings, more than 8 of them,
 * names authrelay sets itself (client_id, redirect_uri, state,
 * response_type, code_challenge*, client_secret, and scope only when
 * scopes is set), bad names, repeated names, values over 256 bytes or with
 * control characters.
 *
 * Files are written to a mkdtemp() directory. Optional argv[1]: the shipped
 * examples/connectors.json, which must load, in the reference's slug style,
 * with the options the real providers there need (Notion: HTTP Basic and
 * owner=user; Jira: audience, prompt=consent, offline_access; Google:
 * access_type=offline, prompt=consent, its revocation URL); when it does
 * not exist yet that part is skipped with a note.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "unit.h"

static char dir[] = "/tmp/test_catalog.XXXXXX";
static char path[256];
static char err[1024];
static const char *example_path; /* argv[1], or NULL */

/* Writes text to dir/catalog.json; the path is in path. */
static const char *write_file(const char *text) {
  return unit_write_file(path, sizeof path, dir, "catalog.json", text);
}

/* Loads text; returns catalog_load's result. On failure checks that the
 * message is one line naming the file, and that the catalog holds nothing. */
static int load_text(catalog_t *cat, const char *text) {
  int rc;
  err[0] = '\0';
  rc = catalog_load(cat, write_file(text), err, sizeof err);
  if (rc != 0) {
    CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
    CHECK(strstr(err, path) != NULL);
    CHECK(cat->items == NULL && cat->count == 0);
  }
  return rc;
}

static void open_catalog(void) {
  catalog_t cat;
  catalog_connector c;
  char slug[CATALOG_SLUG_MAX + 2];
  CHECK(catalog_load(&cat, NULL, err, sizeof err) == 0);
  CHECK(cat.open == 1 && cat.count == 0);
  memset(&c, 0x55, sizeof c);
  CHECK(catalog_lookup(&cat, "anything-at_all9", &c) == 0);
  CHECK(strcmp(c.slug, "anything-at_all9") == 0);
  CHECK(strcmp(c.name, "anything-at_all9") == 0);
  CHECK(c.auth == CATALOG_API_KEY);
  CHECK(c.authorize_url[0] == '\0' && c.token_url[0] == '\0' && c.scopes[0] == '\0');
  CHECK(catalog_lookup(&cat, "Bad Slug", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "Github", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "git hub", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "../etc", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "", &c) == -ENOENT);
  memset(slug, 'a', sizeof slug);
  slug[CATALOG_SLUG_MAX + 1] = '\0';
  CHECK(catalog_lookup(&cat, slug, &c) == -ENOENT);
  slug[CATALOG_SLUG_MAX] = '\0';
  CHECK(catalog_lookup(&cat, slug, &c) == 0 && strcmp(c.slug, slug) == 0);
  catalog_free(&cat);
  /* "" is no file either */
  CHECK(catalog_load(&cat, "", err, sizeof err) == 0);
  CHECK(cat.open == 1 && catalog_lookup(&cat, "slack", &c) == 0);
  catalog_free(&cat);
}

static const char two_connectors[] =
    "{\"connectors\": [\n"
    "  {\"slug\": \"openai\", \"name\": \"OpenAI\", \"auth\": \"api_key\"},\n"
    "  {\"slug\": \"github\", \"name\": \"GitHub\", \"auth\": \"oauth2\",\n"
    "   \"authorize_url\": \"https://github.com/login/oauth/authorize\",\n"
    "   \"token_url\": \"https://github.com/login/oauth/access_token\",\n"
    "   \"scopes\": \"repo read:user\"},\n"
    "  {\"slug\": \"no-name\", \"auth\": \"api_key\"}\n"
    "]}\n";

static void valid_file(void) {
  catalog_t cat;
  catalog_connector c;
  CHECK(load_text(&cat, two_connectors) == 0);
  CHECK(cat.open == 0 && cat.count == 3);

  memset(&c, 0, sizeof c);
  CHECK(catalog_lookup(&cat, "github", &c) == 0);
  CHECK(strcmp(c.slug, "github") == 0 && strcmp(c.name, "GitHub") == 0);
  CHECK(c.auth == CATALOG_OAUTH2);
  CHECK(strcmp(c.authorize_url, "https://github.com/login/oauth/authorize") == 0);
  CHECK(strcmp(c.token_url, "https://github.com/login/oauth/access_token") == 0);
  CHECK(strcmp(c.scopes, "repo read:user") == 0);
  CHECK(strcmp(catalog_auth_name(c.auth), "oauth2") == 0);

  memset(&c, 0x55, sizeof c);
  CHECK(catalog_lookup(&cat, "openai", &c) == 0);
  CHECK(strcmp(c.slug, "openai") == 0 && strcmp(c.name, "OpenAI") == 0);
  CHECK(c.auth == CATALOG_API_KEY);
  CHECK(c.token_url[0] == '\0' && c.authorize_url[0] == '\0');
  CHECK(strcmp(catalog_auth_name(c.auth), "api_key") == 0);

  CHECK(catalog_lookup(&cat, "no-name", &c) == 0);
  CHECK(strcmp(c.name, "no-name") == 0); /* named after its slug */

  /* a file's catalog is closed: other slugs are not connectors */
  CHECK(catalog_lookup(&cat, "slack", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "githu", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "github2", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "GitHub", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "Bad Slug", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "", &c) == -ENOENT);
  catalog_free(&cat);
  CHECK(cat.items == NULL && cat.count == 0);
}

/* Loads text, expecting -EINVAL with a message containing want. */
static int refused_with(const char *text, const char *want) {
  catalog_t cat;
  int rc = load_text(&cat, text);
  if (rc != -EINVAL || strstr(err, want) == NULL) {
    fprintf(stderr, "  rc %d, err \"%s\"; want -EINVAL and \"%s\"\n", rc, err, want);
    if (rc == 0)
      catalog_free(&cat);
    return 0;
  }
  return 1;
}

static void refused_files(void) {
  catalog_t cat;
  CHECK(refused_with("{\"connectors\": [", "not JSON"));
  CHECK(refused_with("connectors: []", "not JSON"));
  CHECK(refused_with("", "not JSON"));
  CHECK(refused_with("{}", "\"connectors\" array"));
  CHECK(refused_with("{\"connector\": [{\"slug\": \"a\", \"auth\": \"api_key\"}]}",
                     "\"connectors\" array"));
  CHECK(refused_with("{\"connectors\": {\"slug\": \"a\", \"auth\": \"api_key\"}}",
                     "\"connectors\" array"));
  CHECK(refused_with("{\"connectors\": []}", "\"connectors\" array"));
  CHECK(refused_with("[{\"slug\": \"a\", \"auth\": \"api_key\"}]", "\"connectors\" array"));

  /* bad slugs, named by entry index */
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"ok\", \"auth\": \"api_key\"},"
                     "{\"slug\": \"Bad Slug\", \"auth\": \"api_key\"}]}",
                     "entry 1"));
  CHECK(strstr(err, "slug") != NULL);
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"\", \"auth\": \"api_key\"}]}", "slug"));
  CHECK(refused_with("{\"connectors\": [{\"auth\": \"api_key\"}]}", "slug"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": 7, \"auth\": \"api_key\"}]}", "slug"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"a.b\", \"auth\": \"api_key\"}]}", "slug"));

  /* oauth2 needs both endpoints, http(s) */
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"gh\", \"auth\": \"oauth2\","
                     "\"authorize_url\": \"https://x.example/authorize\"}]}",
                     "token_url"));
  CHECK(strstr(err, "gh") != NULL && strstr(err, "entry 0") != NULL);
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"gh\", \"auth\": \"oauth2\","
                     "\"authorize_url\": \"https://x.example/authorize\","
                     "\"token_url\": \"ftp://x.example/token\"}]}",
                     "token_url"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"gh\", \"auth\": \"oauth2\","
                     "\"token_url\": \"https://x.example/token\"}]}",
                     "authorize_url"));

  /* a slug twice */
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"dup\", \"auth\": \"api_key\"},"
                     "{\"slug\": \"other\", \"auth\": \"api_key\"},"
                     "{\"slug\": \"dup\", \"auth\": \"oauth2\", \"authorize_url\": \"https://a.example/a\","
                     "\"token_url\": \"https://a.example/t\"}]}",
                     "dup"));
  CHECK(strstr(err, "twice") != NULL);

  /* auth outside the enum, or missing */
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"a\", \"auth\": \"basic\"}]}", "auth"));
  CHECK(strstr(err, "api_key") != NULL && strstr(err, "oauth2") != NULL);
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"a\", \"auth\": \"OAUTH2\"}]}", "auth"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"a\"}]}", "auth"));

  /* an entry that is not an object; a name that is not a string */
  CHECK(refused_with("{\"connectors\": [\"github\"]}", "entry 0"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"a\", \"name\": 5, \"auth\": \"api_key\"}]}",
                     "name"));

  /* a missing file */
  err[0] = '\0';
  snprintf(path, sizeof path, "%s/missing.json", dir);
  CHECK(catalog_load(&cat, path, err, sizeof err) == -EIO);
  CHECK(strstr(err, path) != NULL);
  catalog_free(&cat);
}

/* 1 when c has the authorize parameter name=value. */
static int has_param(const catalog_connector *c, const char *name, const char *value) {
  size_t i;
  for (i = 0; i < c->nauthorize_params; i++)
    if (strcmp(c->authorize_params[i].name, name) == 0)
      return strcmp(c->authorize_params[i].value, value) == 0;
  return 0;
}

#define OAUTH2_HEAD(slug)                                                                  \
  "{\"connectors\": [{\"slug\": \"" slug "\", \"auth\": \"oauth2\","                       \
  "\"authorize_url\": \"https://idp.example/authorize\", \"token_url\": \"https://idp.example/token\""
#define ENTRY(extra) OAUTH2_HEAD("acme") extra "}]}"

static void oauth2_options(void) {
  catalog_t cat;
  catalog_connector c;
  CHECK(load_text(&cat, "{\"connectors\": [" 
                        "{\"slug\": \"plain\", \"auth\": \"oauth2\", \"authorize_url\": \"https://a.example/a\","
                        " \"token_url\": \"https://a.example/t\", \"scopes\": \"read\"},"
                        "{\"slug\": \"notion-2\", \"auth\": \"oauth2\", \"authorize_url\": \"https://a.example/a\","
                        " \"token_url\": \"https://a.example/t\", \"token_auth\": \"client_secret_basic\","
                        " \"refresh\": false, \"revocation_url\": \"https://a.example/revoke\","
                        " \"authorize_params\": {\"audience\": \"api.example.com\", \"prompt\": \"consent\","
                        "   \"scope\": \"x y\", \"empty\": \"\", \"utf8\": \"\xc3\xa9 &=?#\"}},"
                        "{\"slug\": \"post\", \"auth\": \"oauth2\", \"authorize_url\": \"http://127.0.0.1:9/a\","
                        " \"token_url\": \"http://[::1]:9/t\", \"revocation_url\": \"http://localhost/r\","
                        " \"token_auth\": \"client_secret_post\", \"refresh\": true, \"authorize_params\": {}},"
                        "{\"slug\": \"0-9\", \"auth\": \"api_key\"}]}") == 0);
  CHECK(cat.count == 4);
  CHECK(catalog_lookup(&cat, "plain", &c) == 0);
  CHECK(c.token_auth == CATALOG_SECRET_POST && c.refresh == 1 && c.nauthorize_params == 0);
  CHECK(c.revocation_url[0] == '\0');
  CHECK(catalog_lookup(&cat, "notion-2", &c) == 0);
  CHECK(c.token_auth == CATALOG_SECRET_BASIC && c.refresh == 0);
  CHECK(strcmp(c.revocation_url, "https://a.example/revoke") == 0);
  CHECK_EQ_U64(c.nauthorize_params, 5);
  CHECK(strcmp(c.authorize_params[0].name, "audience") == 0); /* the file's order */
  CHECK(strcmp(c.authorize_params[0].value, "api.example.com") == 0);
  CHECK(strcmp(c.authorize_params[1].name, "prompt") == 0);
  CHECK(has_param(&c, "scope", "x y")); /* no scopes configured: the provider's scope is the operator's */
  CHECK(has_param(&c, "empty", ""));
  CHECK(has_param(&c, "utf8", "\xc3\xa9 &=?#"));
  CHECK(catalog_lookup(&cat, "post", &c) == 0);
  CHECK(c.token_auth == CATALOG_SECRET_POST && c.refresh == 1);
  CHECK(strcmp(c.token_url, "http://[::1]:9/t") == 0);
  CHECK(catalog_lookup(&cat, "0-9", &c) == 0 && c.auth == CATALOG_API_KEY);
  catalog_free(&cat);
  /* 8 parameters, values of 256 bytes: the limits themselves load */
  {
    char text[4096];
    char value[CATALOG_PARAM_VALUE_MAX + 1];
    memset(value, 'v', CATALOG_PARAM_VALUE_MAX);
    value[CATALOG_PARAM_VALUE_MAX] = '\0';
    snprintf(text, sizeof text,
             ENTRY(", \"authorize_params\": {\"a\": \"%s\", \"b\": \"1\", \"c\": \"1\", \"d\": \"1\","
                   " \"e\": \"1\", \"f\": \"1\", \"g\": \"1\", \"h\": \"1\"}"),
             value);
    CHECK(load_text(&cat, text) == 0);
    CHECK(catalog_lookup(&cat, "acme", &c) == 0 && c.nauthorize_params == CATALOG_PARAMS_MAX);
    CHECK(strlen(c.authorize_params[0].value) == CATALOG_PARAM_VALUE_MAX);
    catalog_free(&cat);
  }
}

static void refused_options(void) {
  char text[4096];
  char value[CATALOG_PARAM_VALUE_MAX + 2];
  /* slugs in the reference's style */
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"google_drive\", \"auth\": \"api_key\"}]}",
                     "use hyphens, not underscores"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"Google-Drive\", \"auth\": \"api_key\"}]}", "google-drive"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"-drive\", \"auth\": \"api_key\"}]}", "slug"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"drive-\", \"auth\": \"api_key\"}]}", "slug"));
  /* endpoints: https, or http to loopback only */
  CHECK(refused_with(OAUTH2_HEAD("a") ", \"revocation_url\": \"http://idp.example/revoke\"}]}",
                     "revocation_url must be https"));
  CHECK(refused_with(OAUTH2_HEAD("a") ", \"revocation_url\": \"ftp://idp.example/revoke\"}]}", "revocation_url"));
  CHECK(refused_with(OAUTH2_HEAD("a") ", \"revocation_url\": \"https://idp.example/r#x\"}]}", "revocation_url"));
  CHECK(refused_with(OAUTH2_HEAD("a") ", \"revocation_url\": \"https://u:p@idp.example/r\"}]}", "revocation_url"));
  CHECK(refused_with(OAUTH2_HEAD("a") ", \"revocation_url\": \"https://idp .example/r\"}]}", "revocation_url"));
  CHECK(refused_with(OAUTH2_HEAD("a") ", \"revocation_url\": \"/revoke\"}]}", "revocation_url"));
  CHECK(refused_with(OAUTH2_HEAD("a") ", \"revocation_url\": 5}]}", "revocation_url"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"a\", \"auth\": \"oauth2\", \"authorize_url\": "
                     "\"http://idp.example/a\", \"token_url\": \"https://idp.example/t\"}]}",
                     "authorize_url"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"a\", \"auth\": \"oauth2\", \"authorize_url\": "
                     "\"https://idp.example/a\", \"token_url\": \"http://128.0.0.1/t\"}]}",
                     "token_url"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"a\", \"auth\": \"oauth2\", \"authorize_url\": "
                     "\"https://idp.example/a\", \"token_url\": \"http://[::2]/t\"}]}",
                     "token_url"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"a\", \"auth\": \"oauth2\", \"authorize_url\": "
                     "\"https://idp.example/a\", \"token_url\": \"http://localhost.evil.example/t\"}]}",
                     "token_url"));
  /* keys */
  CHECK(refused_with(ENTRY(", \"token_auh\": \"client_secret_basic\""), "\"token_auh\": unknown key"));
  CHECK(refused_with(ENTRY(", \"scopes\": \"a\", \"scopes\": \"b\""), "\"scopes\": appears twice"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"k\", \"auth\": \"api_key\", \"token_auth\": "
                     "\"client_secret_basic\"}]}",
                     "\"token_auth\": is an option of oauth2 connectors only"));
  CHECK(refused_with("{\"connectors\": [{\"slug\": \"k\", \"auth\": \"api_key\", \"refresh\": true}]}",
                     "oauth2 connectors only"));
  /* token_auth and refresh */
  CHECK(refused_with(ENTRY(", \"token_auth\": \"basic\""), "client_secret_basic"));
  CHECK(refused_with(ENTRY(", \"token_auth\": \"CLIENT_SECRET_BASIC\""), "token_auth"));
  CHECK(refused_with(ENTRY(", \"token_auth\": null"), "token_auth"));
  CHECK(refused_with(ENTRY(", \"refresh\": \"yes\""), "refresh must be true or false"));
  CHECK(refused_with(ENTRY(", \"refresh\": 1"), "refresh must be true or false"));
  /* authorize_params */
  CHECK(refused_with(ENTRY(", \"authorize_params\": [\"a\"]"), "authorize_params must be an object"));
  CHECK(refused_with(ENTRY(", \"authorize_params\": \"audience=x\""), "authorize_params must be an object"));
  CHECK(refused_with(ENTRY(", \"authorize_params\": {\"n\": 5}"), "\"n\": authorize_params: a value must be a string"));
  CHECK(refused_with(ENTRY(", \"authorize_params\": {\"n\": null}"), "a value must be a string"));
  CHECK(refused_with(ENTRY(", \"authorize_params\": {\"n\": \"a\\nb\"}"), "control characters"));
  CHECK(refused_with(ENTRY(", \"authorize_params\": {\"a b\": \"1\"}"), "a name must be"));
  CHECK(refused_with(ENTRY(", \"authorize_params\": {\"\": \"1\"}"), "a name must be"));
  CHECK(refused_with(ENTRY(", \"authorize_params\": {\"a\": \"1\", \"a\": \"2\"}"), "appears twice"));
  CHECK(refused_with(ENTRY(", \"authorize_params\": {\"a\": \"1\", \"b\": \"1\", \"c\": \"1\", \"d\": \"1\","
                           " \"e\": \"1\", \"f\": \"1\", \"g\": \"1\", \"h\": \"1\", \"i\": \"1\"}"),
                     "more than 8"));
  memset(value, 'v', CATALOG_PARAM_VALUE_MAX + 1);
  value[CATALOG_PARAM_VALUE_MAX + 1] = '\0';
  snprintf(text, sizeof text, ENTRY(", \"authorize_params\": {\"long\": \"%s\"}"), value);
  CHECK(refused_with(text, "at most 256 bytes"));
  {
    static const char *const reserved[] = {"client_id", "redirect_uri", "state", "response_type",
                                           "code_challenge", "code_challenge_method", "Client_ID",
                                           "client_secret", "code_challenge_x"};
    size_t i;
    for (i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
      snprintf(text, sizeof text, ENTRY(", \"authorize_params\": {\"%s\": \"x\"}"), reserved[i]);
      CHECK(refused_with(text, "authrelay sets this parameter itself"));
      CHECK(strstr(err, reserved[i]) != NULL);
    }
  }
  /* scope: refused only when scopes is set */
  CHECK(refused_with(ENTRY(", \"scopes\": \"read\", \"authorize_params\": {\"scope\": \"x\"}"),
                     "\"scope\": authorize_params: authrelay sets this parameter itself"));
  CHECK(refused_with(ENTRY(", \"authorize_params\": {\"SCOPE\": \"x\"}, \"scopes\": \"read\""),
                     "authrelay sets this parameter itself"));
}

/* The shipped catalog, when there is one: it loads, and every oauth2 entry
 * has its endpoints. */
static void shipped_catalog(void) {
  catalog_t cat;
  catalog_connector c;
  size_t i;
  int bad = 0;
  FILE *f = example_path != NULL ? fopen(example_path, "r") : NULL;
  if (f == NULL) {
    fprintf(stderr, "  note: %s not found; the shipped catalog is not checked\n",
            example_path != NULL ? example_path : "(no argv[1])");
    return;
  }
  fclose(f);
  err[0] = '\0';
  CHECK(catalog_load(&cat, example_path, err, sizeof err) == 0);
  if (err[0] != '\0')
    fprintf(stderr, "  %s\n", err);
  CHECK(cat.open == 0 && cat.count > 0);
  for (i = 0; i < cat.count; i++) {
    if (catalog_lookup(&cat, cat.items[i].slug, &c) != 0 || strcmp(c.slug, cat.items[i].slug) != 0 ||
        c.name[0] == '\0')
      bad++;
    if (c.auth == CATALOG_OAUTH2 && (strncmp(c.authorize_url, "https://", 8) != 0 ||
                                     strncmp(c.token_url, "https://", 8) != 0))
      bad++;
  }
  CHECK(bad == 0);
  CHECK(catalog_lookup(&cat, "google_drive", &c) == -ENOENT);
  CHECK(catalog_lookup(&cat, "google-drive", &c) == 0);
  CHECK(strcmp(c.revocation_url, "https://oauth2.googleapis.com/revoke") == 0);
  CHECK(has_param(&c, "access_type", "offline") && has_param(&c, "prompt", "consent"));
  CHECK(c.token_auth == CATALOG_SECRET_POST && c.refresh == 1);
  CHECK(catalog_lookup(&cat, "notion", &c) == 0);
  CHECK(c.token_auth == CATALOG_SECRET_BASIC && has_param(&c, "owner", "user"));
  CHECK(catalog_lookup(&cat, "jira", &c) == 0);
  CHECK(has_param(&c, "audience", "api.atlassian.com") && has_param(&c, "prompt", "consent"));
  CHECK(strstr(c.scopes, "offline_access") != NULL);
  CHECK(catalog_lookup(&cat, "github", &c) == 0 && c.token_auth == CATALOG_SECRET_POST &&
        c.nauthorize_params == 0 && c.revocation_url[0] == '\0');
  catalog_free(&cat);
}

int main(int argc, char **argv) {
  if (argc > 1)
    example_path = argv[1];
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  RUN(open_catalog);
  RUN(valid_file);
  RUN(refused_files);
  RUN(oauth2_options);
  RUN(refused_options);
  RUN(shipped_catalog);
  snprintf(path, sizeof path, "%s/catalog.json", dir);
  (void)unlink(path);
  if (rmdir(dir) != 0)
    perror("rmdir");
  return unit_report();
}
