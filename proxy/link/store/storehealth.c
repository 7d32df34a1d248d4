/* storehealth: whether the link store can write. See storehealth.h. */
#include "storehealth.h"

#include <errno.h>
#include <stdio.h>

#include "jsonw.h"
#include "prom.h"

static void on_probe(uv_timer_t *t) {
  storehealth_t *h = t->data;
  if (h->store->cannot_write && h->store->db != NULL)
    (void)linkstore_probe(h->store); /* clears the mark when it commits */
}

int storehealth_init(storehealth_t *h, uv_loop_t *loop, linkstore_t *store) {
  int rc;
  h->store = store;
  (void)linkstore_probe(store);
  rc = uv_timer_init(loop, &h->timer);
  if (rc != 0)
    return rc;
  h->timer.data = h;
  rc = uv_timer_start(&h->timer, on_probe, STOREHEALTH_PROBE_MS, STOREHEALTH_PROBE_MS);
  if (rc == 0)
    uv_unref((uv_handle_t *)&h->timer); /* never what keeps the loop running */
  return rc;
}

void storehealth_close(storehealth_t *h) {
  uv_close((uv_handle_t *)&h->timer, NULL);
}

int storehealth_ready(const linkstore_t *st, dynbuf *body) {
  if (!st->cannot_write)
    return 0;
  /* a body cut short (no room) still comes with the 503 */
  if (jsonw_raw(body, "{\"status\":\"store_cannot_write\",\"error\":") == 0 &&
      jsonw_cstring(body, st->write_error) == 0)
    (void)jsonw_raw(body, ",\"detail\":\"the last write to the link store failed and was rolled back; "
                          "ready again once a write succeeds (tried every second)\"}\n");
  return -EIO;
}

int storehealth_render_metrics(const linkstore_t *st, dynbuf *out) {
  int rc = prom_counter(out, "authrelay_store_write_errors_total",
                        "Link store writes that failed and were rolled back.", st->write_errors);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_store_writable", "1 while the link store can write, 0 after a failed write.",
                    st->cannot_write ? 0 : 1);
  return rc;
}
