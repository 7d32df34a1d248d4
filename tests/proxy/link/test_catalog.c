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
 * Files are written to a mkdtemp() directory. Optional argv[1]: the shipped
 * examples/connectors.json, which must load; when it does not exist yet
 * that part is skipped with a note.
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
  FILE *f;
  snprintf(path, sizeof path, "%s/catalog.json", dir);
  f = fopen(path, "w");
  if (f == NULL) {
    perror(path);
    exit(2);
  }
  fputs(text, f);
  fclose(f);
  return path;
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
  RUN(shipped_catalog);
  snprintf(path, sizeof path, "%s/catalog.json", dir);
  (void)unlink(path);
  if (rmdir(dir) != 0)
    perror("rmdir");
  return unit_report();
}
