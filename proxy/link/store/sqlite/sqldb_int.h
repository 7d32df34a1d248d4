/* sqldb_int: the statement helpers sqldb.c, sqldb_users.c and
 * sqldb_links.c share. Internal to proxy/link/store/sqlite/.
 */
#ifndef AUTHRELAY_SQLDB_INT_H
#define AUTHRELAY_SQLDB_INT_H

#include <sqlite3.h>

#include "sqldb.h"

/* Logs SQLite's error for what; returns -EIO. */
int sqldb_error(sqldb_t *q, const char *what);
/* Runs sql (no rows); 0 or -EIO. */
int sqldb_exec(sqldb_t *q, const char *sql);
/* Nested transactions (SAVEPOINT); tx_end keeps when ok, else undoes. */
int sqldb_tx_begin(sqldb_t *q);
int sqldb_tx_end(sqldb_t *q, int ok);
/* Prepares sql and binds the arguments described by types, one letter each:
 * 's' const char *, 'S' text or NULL when NULL or empty, 'i' int64_t,
 * 'b' blob (const void *, size_t; NULL: SQL NULL). NULL on error (logged). */
sqlite3_stmt *sqldb_prepare(sqldb_t *q, const char *sql, const char *types, ...);
/* Steps a statement that returns no rows (a write) and finalizes it.
 * Returns 0, -EEXIST (constraint) or -EIO (rolled back, counted).
 * *changes: rows changed (may be NULL). */
int sqldb_run(sqldb_t *q, sqlite3_stmt *stmt, int *changes);
/* Column col as text into out (cap bytes, truncated, NUL-terminated). */
void sqldb_col_text(sqlite3_stmt *stmt, int col, char *out, size_t cap);
/* Steps stmt to its end calling row(ctx, stmt) until it returns non-zero;
 * finalizes it. 0 or -EIO (logged as what). */
int sqldb_each_row(sqldb_t *q, sqlite3_stmt *stmt, int (*row)(void *ctx, sqlite3_stmt *stmt), void *ctx,
                   const char *what);
/* Steps stmt once and finalizes it: 0 (read, when not NULL, copied the
 * row into out), -ENOENT (no row) or -EIO. */
int sqldb_one_row(sqldb_t *q, sqlite3_stmt *stmt, void (*read)(sqlite3_stmt *stmt, void *out), void *out,
                  const char *what);

/* one_row readers of a first column: text into a capped buffer, a number. */
typedef struct sqldb_text_out {
  char *p;
  size_t cap;
} sqldb_text_out;
void sqldb_read_text(sqlite3_stmt *stmt, void *out);
void sqldb_read_u64(sqlite3_stmt *stmt, void *out);

#endif
