/* test_sqldb_links: the SQLite core's links, events and webhook outbox
 * (proxy/link/store/sqlite/sqldb_links.c), on disk (sqldb_test.h).
 *
 * Covers: links (put, end, each, prune); events and their deliveries.
 */
#include "sqldb_test.h"

static void links(void) {
  store_link l1, l2, l3;
  links_seen s;
  collected c;
  open_store();
  CHECK(exec("DELETE FROM links") == 0);
  l1 = new_link(LT1, "alice", "slack", T0);
  l2 = new_link(LT2, "bob", "github", T0 + 10);
  snprintf(l2.callback_url, sizeof l2.callback_url, "https://app.example.com/cb?x=1");
  snprintf(l2.state, sizeof l2.state, "st-42");
  l2.pinned = 1;
  l2.expires_ms = T0 + 10 + 600000;
  l3 = new_link(LT3, "carol", "slack", T0 + 20);
  /* put in another order than created */
  CHECK(sqldb_link_put(&st.q, &l3) == 0);
  CHECK(sqldb_link_put(&st.q, &l1) == 0);
  CHECK(sqldb_link_put(&st.q, &l2) == 0);

  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 3);
  CHECK(strcmp(s.l[0].token, LT1) == 0 && strcmp(s.l[1].token, LT2) == 0 &&
        strcmp(s.l[2].token, LT3) == 0); /* oldest first */
  CHECK(strcmp(s.l[1].user, "bob") == 0 && strcmp(s.l[1].connector, "github") == 0);
  CHECK(strcmp(s.l[1].callback_url, "https://app.example.com/cb?x=1") == 0);
  CHECK(strcmp(s.l[1].state, "st-42") == 0);
  CHECK(s.l[1].pinned == 1 && s.l[1].status == 0);
  CHECK(s.l[1].created_ms == T0 + 10 && s.l[1].expires_ms == T0 + 10 + 600000 && s.l[1].ended_ms == 0);
  CHECK(s.l[0].pinned == 0 && s.l[0].callback_url[0] == '\0' && s.l[0].state[0] == '\0');

  /* since: only later ones */
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, T0 + 5, keep_link, &s) == 0);
  CHECK(s.n == 2 && strcmp(s.l[0].token, LT2) == 0);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, T0 + 21, keep_link, &s) == 0);
  CHECK(s.n == 0);
  /* the callback stops it */
  memset(&c, 0, sizeof c);
  c.stop_after = 1;
  CHECK(t_link_each(&st, 0, count_link, &c) == 0 && c.n == 1);

  /* end */
  CHECK(sqldb_link_end(&st.q, LT1, 1 /* completed */, T0 + 100) == 0);
  CHECK(sqldb_link_end(&st.q, LT3, 3 /* revoked */, T0 + 300) == 0);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 3 && s.l[0].status == 1 && s.l[0].ended_ms == T0 + 100);
  CHECK(s.l[1].status == 0 && s.l[1].ended_ms == 0);
  CHECK(s.l[2].status == 3 && s.l[2].ended_ms == T0 + 300);
  CHECK(strcmp(s.l[0].user, "alice") == 0 && s.l[0].created_ms == T0); /* the rest unchanged */

  /* put again: replaced by token, not added */
  l2.status = 2;
  l2.ended_ms = T0 + 200;
  CHECK(sqldb_link_put(&st.q, &l2) == 0);
  CHECK(query_int("SELECT COUNT(*) FROM links") == 3);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 3 && s.l[1].status == 2 && s.l[1].ended_ms == T0 + 200);

  /* prune: links that ended before the time; pending ones stay */
  CHECK(sqldb_link_prune(&st.q, T0 + 100) == 0);
  CHECK(query_int("SELECT COUNT(*) FROM links") == 3);
  CHECK(sqldb_link_prune(&st.q, T0 + 101) == 0);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 2 && strcmp(s.l[0].token, LT2) == 0 && strcmp(s.l[1].token, LT3) == 0);
  l1 = new_link(LT1, "alice", "slack", T0 + 1000); /* pending, ended_ms 0 */
  CHECK(sqldb_link_put(&st.q, &l1) == 0);
  CHECK(sqldb_link_prune(&st.q, T0 + 1000000) == 0);
  memset(&s, 0, sizeof s);
  CHECK(t_link_each(&st, 0, keep_link, &s) == 0);
  CHECK(s.n == 1 && strcmp(s.l[0].token, LT1) == 0 && s.l[0].status == 0);
  t_close(&st);
}

static void events_and_outbox(void) {
  const char *both[] = {"http://a/hook", "http://b/hook"};
  const char *only_a[] = {"http://a/hook"};
  uint64_t seq1 = 0;
  uint64_t seq2 = 0;
  uint64_t seq3 = 0;
  uint64_t found = 0;
  size_t pending = 0;
  size_t dropped = 0;
  seen sn;
  open_store();
  CHECK(t_event_add(&st, "evt_1", "link_token", "u1", "{\"id\":\"evt_1\"}", T0, both, 2, &seq1) == 0);
  CHECK(t_event_add(&st, "evt_2", "auth_complete", "u2", "{\"id\":\"evt_2\"}", T0 + 1, only_a, 1,
                            &seq2) == 0);
  CHECK(t_event_add(&st, "evt_3", "link_expired", "u1", "{}", T0 + 2, NULL, 0, &seq3) == 0);
  CHECK(seq1 < seq2 && seq2 < seq3);
  CHECK(t_event_add(&st, "evt_1", "link_token", "u1", "{}", T0, NULL, 0, &found) == -EEXIST);
  CHECK(sqldb_event_seq(&st.q, "evt_2", &found) == 0 && found == seq2);
  CHECK(sqldb_event_seq(&st.q, "evt_none", &found) == -ENOENT);
  /* the log, in order, filtered by user */
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_events_after(&st.q, 0, NULL, 10, collect, &sn) == 0 && sn.n == 3);
  CHECK(strcmp(sn.ids[0], "evt_1") == 0 && strcmp(sn.ids[2], "evt_3") == 0);
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_events_after(&st.q, seq1, "u1", 10, collect, &sn) == 0 && sn.n == 1 &&
        strcmp(sn.ids[0], "evt_3") == 0);
  CHECK(sqldb_event_last(&st.q, &found) == 0 && found == seq3);
  /* the outbox: 3 deliveries due, leased while in flight; only those owed
   * to the hooks asked for (another replica's configuration may have more) */
  CHECK(sqldb_deliveries_pending(&st.q, both, 2, &pending) == 0 && pending == 3);
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 10, T0 + 60000, only_a, 1, 10, collect, &sn) == 0 && sn.n == 2);
  CHECK(strcmp(sn.hooks[0], "http://a/hook") == 0 && strcmp(sn.hooks[1], "http://a/hook") == 0);
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 10, T0 + 60000, both, 2, 10, collect, &sn) == 0 && sn.n == 1 &&
        strcmp(sn.hooks[0], "http://b/hook") == 0);
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 20, T0 + 60000, both, 2, 10, collect, &sn) == 0 && sn.n == 0); /* leased */
  CHECK(sqldb_delivery_done(&st.q, seq1, "http://a/hook") == 0);
  CHECK(sqldb_delivery_retry(&st.q, seq1, "http://b/hook", 3, T0 + 1000) == 0);
  memset(&sn, 0, sizeof sn);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 999, T0 + 60000, both, 2, 10, collect, &sn) == 0 && sn.n == 0);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 1000, T0 + 60000, only_a, 1, 10, collect, &sn) == 0 && sn.n == 0);
  CHECK(sqldb_deliveries_due(&st.q, T0 + 1000, T0 + 60000, both, 2, 10, collect, &sn) == 0 && sn.n == 1);
  CHECK(strcmp(sn.hooks[0], "http://b/hook") == 0 && sn.attempts[0] == 3 && strcmp(sn.ids[0], "evt_1") == 0);
  CHECK(sqldb_deliveries_pending(&st.q, both, 2, &pending) == 0 && pending == 2);
  /* a webhook no longer configured: its deliveries go */
  CHECK(sqldb_deliveries_keep_hooks(&st.q, only_a, 1, &dropped) == 0 && dropped == 1);
  CHECK(sqldb_deliveries_pending(&st.q, both, 2, &pending) == 0 && pending == 1);
  /* pruning takes the events past the retention, with what is still owed
   * of them (one transaction) */
  CHECK(sqldb_events_prune(&st.q, T0 + 100) == 0);
  CHECK(sqldb_event_seq(&st.q, "evt_1", &found) == -ENOENT);
  CHECK(sqldb_event_seq(&st.q, "evt_2", &found) == -ENOENT); /* was owed to http://a/hook */
  CHECK(sqldb_event_seq(&st.q, "evt_3", &found) == -ENOENT);
  CHECK(sqldb_deliveries_pending(&st.q, both, 2, &pending) == 0 && pending == 0);
  t_close(&st);
}

int main(void) {
  int rc = sqldb_test_setup();
  if (rc != 0)
    return rc;
  RUN(links);
  RUN(events_and_outbox);
  sqldb_test_cleanup();
  return unit_report();
}
