/* test_store_sqlite: the SQLite-only cases of test_store.c, which
 * includes this file once (they use its loop, callbacks and CALL): a write
 * on a full file system (RLIMIT_FSIZE) is reported (-EIO,
 * health.cannot_write, write_errors) and not acknowledged: a batch of links
 * is all lost, nothing is left open, the probe brings the store back, and
 * only what was acknowledged is there after reopening.
 */
/* Every write to a file past its first byte fails (EFBIG: SIGXFSZ is
 * ignored), as on a full disk; full 0 lifts that. */
static void disk_full(int full) {
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
  rl.rlim_cur = full ? 1 : rl.rlim_max;
  CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

static void failed_writes(void) {
  store_link batch[2];
  store_link kept = a_link("ltk_kept", "fw", T0);
  store_user u = a_user(UID(4), "fw", T0);
  batch[0] = a_link("ltk_lost_1", "fw", T0);
  batch[1] = a_link("ltk_lost_2", "fw", T0);
  signal(SIGXFSZ, SIG_IGN);
  open_store();
  CALL(st.ops->probe(&st, on_done, NULL));
  CHECK(r.status == 0 && st.health.cannot_write == 0);
  disk_full(1);
  CALL(st.ops->link_put(&st, batch, 2, on_done, NULL));
  CHECK(r.status == -EIO); /* not acknowledged */
  CHECK(st.health.cannot_write == 1 && st.health.write_errors >= 1 && st.health.write_error[0] != '\0');
  CHECK(sqlite3_get_autocommit(store_sqlite_db(&st)->db) != 0); /* nothing left open */
  CALL(st.ops->user_create(&st, &u, on_user, NULL));
  CHECK(r.status == -EIO);
  CALL(st.ops->probe(&st, on_done, NULL));
  CHECK(r.status == -EIO && st.health.cannot_write == 1);
  /* reads still answer, and reading the outbox (for webhooks) is no
   * write: the store is still known not to write */
  CALL(st.ops->link_get(&st, "ltk_lost_1", on_link, NULL));
  CHECK(r.status == -ENOENT);
  {
    const char *hooks[] = {"http://a/hook", "http://b/hook"};
    CALL(st.ops->deliveries_pending(&st, hooks, 2, on_count, NULL));
    CHECK(r.status == 0 && r.count == 0);
    CHECK(st.health.cannot_write == 1);
  }
  disk_full(0);
  CALL(st.ops->probe(&st, on_done, NULL));
  CHECK(r.status == 0 && st.health.cannot_write == 0);
  CALL(st.ops->link_put(&st, &kept, 1, on_done, NULL));
  CHECK(r.status == 0);
  close_store();
  /* after a restart: what was acknowledged is there, nothing else */
  open_store();
  CALL(st.ops->link_get(&st, "ltk_kept", on_link, NULL));
  CHECK(r.status == 0);
  CALL(st.ops->link_get(&st, "ltk_lost_1", on_link, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->link_get(&st, "ltk_lost_2", on_link, NULL));
  CHECK(r.status == -ENOENT);
  CALL(st.ops->user_by_origin(&st, "fw", on_user, NULL));
  CHECK(r.status == -ENOENT);
  close_store();
}

