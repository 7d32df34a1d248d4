/* jsonbody: the framer for a body that is one JSON text (application/json).
 *
 * The whole body is one event, complete when the stream ends. It is fed to
 * the detector as it arrives, so the verdict is ready at the end without a
 * second pass. A body longer than max_event_bytes is oversized: it is
 * forwarded as it comes and not inspected.
 */
#include "framer_driver.h"

size_t jsonbody_feed(framer_t *f, const char *buf, size_t len) {
  if (len == 0)
    return 0;
  if (!f->in_event)
    framer_event_begin(f, f->offset);
  framer_payload_add(f, buf, len);
  return len;
}

void jsonbody_finish(framer_t *f) {
  if (!f->in_event)
    return;
  if (!f->oversized && framer_payload_is_blank(f))
    framer_drop(f, f->offset);
  else
    (void)framer_dispatch(f, f->offset, NULL, 0, NULL, 0);
}
