/* query: reading parameters from a request's query string, for the routes of
 * the example agent server (/stream, /big, /status, ...). Values are
 * percent-decoded ('+' is a space) into caller-owned fixed-size buffers; a
 * value that does not fit is an error, never truncated. */
#ifndef AGENT_QUERY_H
#define AGENT_QUERY_H

#include <stddef.h>

/* Finds name in the query string q (no leading '?') and percent-decodes its
 * value into out. Returns 1 when found (and it fit), 0 when absent, -1 when
 * the value is too long. */
int query_get(const char *q, const char *name, char *out, size_t outsz);
/* Integer parameter: def when absent or empty; *ok cleared (and def returned)
 * when present but not an integer in [lo, hi]. */
long long query_ll(const char *q, const char *name, long long def, long long lo, long long hi, int *ok);
/* Flag parameter: 1 when present and not "0", "false" or "no". */
int query_flag(const char *q, const char *name);
/* String parameter restricted to [A-Za-z0-9] plus the characters in extra;
 * def when absent or empty. Returns 0, or -1 when too long or not allowed. */
int query_token(const char *q, const char *name, const char *def, const char *extra, char *out, size_t outsz);
/* Choice parameter: the index in words[0, nwords) of its value, def when
 * absent; *ok cleared (and def returned) when present but none of them. */
int query_choice(const char *q, const char *name, const char *const *words, int nwords, int def, int *ok);

#endif
