/* startcheck: what the configuration needs from the machine, checked before
 * the daemon starts and by --check-config (DESIGN.md "Operations").
 *
 * config_load() checks the configuration's own form; these check what it
 * names: the data directory and the key files in it, and that the listen
 * and control addresses can be bound by this process alone. A port held by
 * another process is an error even when that process set SO_REUSEPORT
 * (which would let the relay's workers join it and take half its traffic):
 * the probe binds and listens without SO_REUSEPORT, which the kernel
 * refuses while any other socket listens on the address. The probe is
 * closed before the workers bind, so a process binding within those few
 * microseconds is not seen; an operator's second instance is.
 *
 * Nothing here writes: a missing data_dir (created at start) only needs a
 * writable parent, missing key files are generated at start.
 */
#ifndef AUTHRELAY_STARTCHECK_H
#define AUTHRELAY_STARTCHECK_H

#include <stddef.h>

#include "config.h"

/* data_dir is a writable directory (or can be created), its secret.key and
 * owner.key, when present and used, are readable by their owner only, and
 * the store file, when present, is readable and writable. Returns 0 or a
 * negative errno with a one-line message in err naming the path. */
int startcheck_files(const config_t *cfg, char *err, size_t errlen);

/* The listen and control addresses (those with port 0 are skipped) can be
 * bound and listened on, now, with nothing else listening there, and are
 * not the same. Returns 0 or a negative errno (-EADDRINUSE: in use) with a
 * one-line message in err naming the key and the address. */
int startcheck_ports(const config_t *cfg, char *err, size_t errlen);

#endif
