/* prom: the one writer of the Prometheus text exposition format (0.0.4)
 * behind GET /metrics. Every producer (the relay's counters in metrics.c,
 * the link service, notify, the remote link service, the store's health)
 * appends its families to the same dynbuf through these calls, so names,
 * HELP/TYPE lines and label escaping are written one way.
 *
 *   prom_counter(out, "authrelay_requests_total", "Requests answered.", n);
 *   prom_family(out, "authrelay_bytes_total", PROM_COUNTER, "Bytes relayed, by direction.");
 *   prom_sample(out, "authrelay_bytes_total", "direction", "to_client", n);
 *
 * Strings are borrowed. Returns 0, -EINVAL (a name that is not a metric or
 * label name) or dynbuf_addf's error (-E2BIG: out's cap; nothing of the
 * failed line is appended).
 */
#ifndef AUTHRELAY_PROM_H
#define AUTHRELAY_PROM_H

#include <stdint.h>

#include "dynbuf.h"

typedef enum prom_type { PROM_COUNTER, PROM_GAUGE } prom_type;

/* "# HELP name help" and "# TYPE name type". help: one line of text
 * ('\' and newlines escaped). */
int prom_family(dynbuf *out, const char *name, prom_type type, const char *help);

/* "name value", or with label (not NULL) 'name{label="label_value"} value'
 * (the value escaped: '\', '"', newline). */
int prom_sample(dynbuf *out, const char *name, const char *label, const char *label_value, uint64_t value);

/* A family of one unlabelled sample. */
int prom_counter(dynbuf *out, const char *name, const char *help, uint64_t value);
int prom_gauge(dynbuf *out, const char *name, const char *help, uint64_t value);

/* A counter of one unlabelled sample in seconds, the Prometheus base unit
 * (name ends in _seconds_total), from a count of milliseconds: written
 * exactly as seconds with three decimals ("12.345"). */
int prom_counter_seconds(dynbuf *out, const char *name, const char *help, uint64_t ms);

#endif
