/* storehealth: whether the link store can write. See storehealth.h. */
#include "storehealth.h"

#include <errno.h>
#include <stdio.h>

#include "jsonw.h"
#include "prom.h"

/* The probe's answer: the store cleared (or kept) its mark itself. */
static void on_probed(void *data, int status) {
  storehealth_t *h = data;
  (void)status;
  h->probing = 0;
}

static void probe(storehealth_t *h) {
  if (h->probing || h->store->ops == NULL)
    return;
  h->probing = h->store->ops->probe(h->store, on_probed, h) == 0;
}

static void on_probe(uv_timer_t *t) {
  storehealth_t *h = t->data;
  if (h->store->health.cannot_write)
    probe(h); /* clears the mark when it commits */
}

int storehealth_init(storehealth_t *h, uv_loop_t *loop, store_t *store) {
  int rc;
  h->store = store;
  h->probing = 0;
  probe(h);
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

int storehealth_ready(const store_t *st, dynbuf *body) {
  if (st->health.unreachable) {
    if (jsonw_raw(body, "{\"status\":\"store_unreachable\",\"error\":") == 0 &&
        jsonw_cstring(body, st->health.reach_error) == 0)
      (void)jsonw_raw(body, ",\"detail\":\"the link store's database cannot be reached; its operations wait "
                            "up to store_timeout_s, then fail; ready again once it is reached\"}\n");
    return -EIO;
  }
  if (!st->health.cannot_write)
    return 0;
  /* a body cut short (no room) still comes with the 503 */
  if (jsonw_raw(body, "{\"status\":\"store_cannot_write\",\"error\":") == 0 &&
      jsonw_cstring(body, st->health.write_error) == 0)
    (void)jsonw_raw(body, ",\"detail\":\"the last write to the link store failed and was rolled back; "
                          "ready again once a write succeeds (tried every second)\"}\n");
  return -EIO;
}

int storehealth_render_metrics(const store_t *st, dynbuf *out) {
  int rc = prom_counter(out, "authrelay_store_write_errors_total",
                        "Link store writes that failed and were rolled back.", st->health.write_errors);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_store_writable", "1 while the link store can write, 0 after a failed write.",
                    st->health.cannot_write ? 0 : 1);
  if (rc == 0)
    rc = prom_gauge(out, "authrelay_store_reachable", "1 unless the link store's database cannot be reached.",
                    st->health.unreachable ? 0 : 1);
  return rc;
}
