/* store_pg_schema: the PostgreSQL store's tables and their numbered
 * migrations. See store_pg.h.
 *
 * The first connection up takes a session advisory lock (so replicas that
 * start at once migrate one after the other, the later ones finding the
 * work done), makes sure schema_version exists, reads it, and applies each
 * missing migration in a transaction of its own (its statements, then its
 * number into schema_version), one query at a time. A lost connection
 * leaves the work to the next one up (the server dropped the lock and
 * rolled the migration back); an SQL error or a schema newer than this
 * authrelay fails the store: every operation answers -EIO (logged).
 *
 * The tables are the SQLite store's (sqlite/sqldb.c), in PostgreSQL's
 * types: bigint milliseconds, bytea for sealed secrets, text compared byte
 * by byte (COLLATE "C", as SQLite does: keys page and sort the same way on
 * both), and origin_user_id for SQLite's column "user" (a reserved word).
 */
#include "store_pg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define PGSTORE_LOCK_KEY "4150174209" /* pg_advisory_lock's key: authrelay's migrations */
#define T "text COLLATE \"C\""

/* Migration 1: the link service. */
static const char *const m1[] = {
    "CREATE TABLE store_probe (id integer PRIMARY KEY, n integer NOT NULL)",
    "CREATE TABLE registered_users ("
    "  id " T " PRIMARY KEY,"
    "  origin_user_id " T " NOT NULL UNIQUE,"
    "  origin_user_name " T " NOT NULL,"
    "  company_id " T ","                     /* shared_credential_group, NULL: none */
    "  company_name " T ","
    "  user_type " T " NOT NULL DEFAULT 'HUMAN',"
    "  is_test integer NOT NULL DEFAULT 0,"
    "  created_ms bigint NOT NULL)",
    "CREATE TABLE app_credentials ("
    "  id " T " PRIMARY KEY,"
    "  connector_slug " T " NOT NULL,"
    "  client_id " T " NOT NULL,"
    "  client_secret bytea,"                  /* secretbox-sealed; NULL: none */
    "  external_id " T ","
    "  is_global_default integer NOT NULL DEFAULT 0,"
    "  created_ms bigint NOT NULL,"
    "  modified_ms bigint NOT NULL)",
    "CREATE UNIQUE INDEX app_credentials_slug_external"
    "  ON app_credentials (connector_slug, coalesce(external_id, ''))",
    "CREATE UNIQUE INDEX app_credentials_one_default"
    "  ON app_credentials (connector_slug) WHERE is_global_default = 1",
    "CREATE TABLE credentials ("
    "  origin_user_id " T " NOT NULL,"
    "  connector " T " NOT NULL,"
    "  kind " T " NOT NULL,"
    "  secret bytea NOT NULL,"                /* secretbox-sealed */
    "  created_ms bigint NOT NULL,"
    "  PRIMARY KEY (origin_user_id, connector))",
    "CREATE TABLE links ("
    "  token " T " PRIMARY KEY,"
    "  origin_user_id " T " NOT NULL,"
    "  connector " T " NOT NULL,"
    "  callback_url " T " NOT NULL DEFAULT '',"
    "  state " T " NOT NULL DEFAULT '',"
    "  status integer NOT NULL,"
    "  pinned integer NOT NULL,"
    "  created_ms bigint NOT NULL,"
    "  expires_ms bigint NOT NULL,"
    "  ended_ms bigint NOT NULL DEFAULT 0)",
    "CREATE INDEX links_created ON links (created_ms)",
    "CREATE INDEX links_user ON links (origin_user_id)",
    "CREATE TABLE link_app_choice ("          /* the link-token API's external_id */
    "  token " T " PRIMARY KEY,"
    "  external_id " T " NOT NULL)",
    "CREATE TABLE callback_origins ("
    "  origin " T " PRIMARY KEY,"
    "  created_ms bigint NOT NULL)",
    "CREATE TABLE oauth_apps ("
    "  id " T " PRIMARY KEY,"
    "  name " T " NOT NULL UNIQUE,"
    "  description " T " NOT NULL DEFAULT '',"
    "  redirect_uri " T " NOT NULL DEFAULT '',"
    "  scopes " T " NOT NULL,"
    "  client_id " T " NOT NULL UNIQUE,"
    "  secret_hash " T " NOT NULL,"           /* SHA-256 of the client secret */
    "  created_ms bigint NOT NULL)",
    "CREATE TABLE oauth_tokens ("
    "  token_hash " T " PRIMARY KEY,"         /* SHA-256 of the bearer token */
    "  app_id " T " NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,"
    "  scopes " T " NOT NULL,"
    "  expires_ms bigint NOT NULL)",
    NULL,
};

/* Migration 2: out-of-band notice: the events log and the webhook outbox. */
static const char *const m2[] = {
    "CREATE TABLE events ("
    "  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  id " T " NOT NULL UNIQUE,"             /* evt_...: receivers deduplicate on it */
    "  type " T " NOT NULL,"
    "  origin_user_id " T " NOT NULL,"
    "  body text NOT NULL,"                   /* the JSON sent */
    "  created_ms bigint NOT NULL)",
    "CREATE TABLE deliveries ("              /* one per (event, webhook) not yet accepted */
    "  seq bigint NOT NULL REFERENCES events (seq) ON DELETE CASCADE,"
    "  hook " T " NOT NULL,"                  /* the webhook's url */
    "  attempts integer NOT NULL DEFAULT 0,"
    "  next_ms bigint NOT NULL,"              /* due time; pushed ahead while in flight */
    "  PRIMARY KEY (seq, hook))",
    "CREATE INDEX deliveries_next ON deliveries (next_ms)",
    NULL,
};

/* Migration 3: connections: a credential's state beside its secret. */
static const char *const m3[] = {
    "ALTER TABLE credentials ADD COLUMN broken integer NOT NULL DEFAULT 0",
    "ALTER TABLE credentials ADD COLUMN version bigint NOT NULL DEFAULT 1",
    "ALTER TABLE credentials ADD COLUMN modified_ms bigint NOT NULL DEFAULT 0",
    "ALTER TABLE credentials ADD COLUMN expires_ms bigint NOT NULL DEFAULT 0", /* 0: unknown */
    "UPDATE credentials SET modified_ms = created_ms",
    NULL,
};

/* Migration 4: a credential's refresh lease: one replica refreshes it at a
 * time (store.h credential_lease). */
static const char *const m4[] = {
    "ALTER TABLE credentials ADD COLUMN lease_until_ms bigint NOT NULL DEFAULT 0", /* 0: none */
    NULL,
};

static const char *const *const migrations[] = {m1, m2, m3, m4};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int pg_schema_version(void) {
  return NMIGRATIONS;
}

enum {
  MIG_LOCK,
  MIG_BASE,
  MIG_READ,
  MIG_BEGIN,
  MIG_STMT,
  MIG_BUMP,
  MIG_COMMIT,
  MIG_UNLOCK
};

static void on_mig(void *ctx, int status, const PGresult *res, const char *errmsg);

/* Sends the migrations' next query; phase says what it is. */
static int mig_send(pg_store *s, int phase, const char *sql, const char *const *params, int nparams) {
  s->mig.phase = phase;
  return pgconn_query(&s->mig.slot->pc, sql, params, nparams, PGSTORE_MIGRATE_TIMEOUT_MS, on_mig, s);
}

static void mig_release(pg_store *s) {
  if (s->mig.slot != NULL)
    s->mig.slot->migrating = 0;
  s->mig.slot = NULL;
  pg_store_kick(s);
}

static void mig_failed(pg_store *s, const char *why) {
  LOG_ERROR("link store migrations failed: every operation fails until a restart", LOG_STR("error", why));
  s->schema_failed = 1;
  if (s->mig.slot->pc.state == PGCONN_READY) {
    (void)pgconn_query(&s->mig.slot->pc, "ROLLBACK", NULL, 0, PGSTORE_MIGRATE_TIMEOUT_MS, on_mig, NULL);
    (void)pgconn_query(&s->mig.slot->pc, "SELECT pg_advisory_unlock_all()", NULL, 0, PGSTORE_MIGRATE_TIMEOUT_MS,
                       on_mig, NULL);
  }
  mig_release(s);
}

/* The next query of the migrations after the one that just succeeded. */
static int mig_next(pg_store *s, int phase, const PGresult *res) {
  pg_migration *m = &s->mig;
  char version[24];
  const char *params[1];
  switch (phase) {
  case MIG_LOCK:
    return mig_send(s, MIG_BASE, "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)", NULL, 0);
  case MIG_BASE:
    return mig_send(s, MIG_READ, "SELECT coalesce(max(version), 0) FROM schema_version", NULL, 0);
  case MIG_READ:
    m->version = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : 0;
    if (m->version > NMIGRATIONS) {
      char why[128];
      snprintf(why, sizeof why, "the database has schema version %d, newer than this authrelay (%d)", m->version,
               NMIGRATIONS);
      mig_failed(s, why);
      return 0;
    }
    m->next = m->version;
    break;
  case MIG_BEGIN:
    m->stmt = 0;
    return mig_send(s, MIG_STMT, migrations[m->next][0], NULL, 0);
  case MIG_STMT:
    m->stmt++;
    if (migrations[m->next][m->stmt] != NULL) {
      return mig_send(s, MIG_STMT, migrations[m->next][m->stmt], NULL, 0);
    }
    snprintf(version, sizeof version, "%d", m->next + 1);
    params[0] = version;
    return mig_send(s, MIG_BUMP, "INSERT INTO schema_version (version) VALUES ($1)", params, 1);
  case MIG_BUMP:
    return mig_send(s, MIG_COMMIT, "COMMIT", NULL, 0);
  case MIG_COMMIT:
    LOG_INFO("link store migrated", LOG_U64("schema_version", (uint64_t)(m->next + 1)));
    m->next++;
    break;
  case MIG_UNLOCK:
    s->schema_ready = 1;
    s->st->schema_version = NMIGRATIONS;
    mig_release(s);
    return 0;
  default:
    return 0;
  }
  /* after MIG_READ or MIG_COMMIT: the next migration, or the end */
  if (m->next < NMIGRATIONS) {
    return mig_send(s, MIG_BEGIN, "BEGIN", NULL, 0);
  }
  return mig_send(s, MIG_UNLOCK, "SELECT pg_advisory_unlock(" PGSTORE_LOCK_KEY ")", NULL, 0);
}

static void on_mig(void *ctx, int status, const PGresult *res, const char *errmsg) {
  pg_store *s = ctx;
  int rc;
  if (s == NULL || s->closing || status == -ECANCELED)
    return; /* a clean-up query's answer, or closing */
  if (status != 0) {
    const char *primary = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (s->mig.slot->pc.state != PGCONN_READY) {
      /* the connection went: the next one up starts again */
      LOG_WARN("link store migrations interrupted", LOG_STR("error", errmsg));
      mig_release(s);
      return;
    }
    mig_failed(s, primary != NULL ? primary : errmsg);
    return;
  }
  rc = mig_next(s, s->mig.phase, res);
  if (rc < 0)
    mig_failed(s, strerror(-rc));
}

void pg_migrate_start(pg_store *s, pg_slot *slot) {
  int rc;
  s->mig.slot = slot;
  slot->migrating = 1;
  rc = mig_send(s, MIG_LOCK, "SELECT pg_advisory_lock(" PGSTORE_LOCK_KEY ")", NULL, 0);
  if (rc < 0)
    mig_release(s);
}
