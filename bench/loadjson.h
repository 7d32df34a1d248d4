/* loadjson: the little JSON bench-load (loadgen.c) reads and writes: a
 * number or a string after a key in an event's data, found by searching the
 * text (the agent server's and bench-upstream's events are flat and known),
 * and a string escaped for the JSON report. */
#ifndef AUTHRELAY_BENCH_LOADJSON_H
#define AUTHRELAY_BENCH_LOADJSON_H

#include <stddef.h>

/* The unsigned integer after key (e.g. "\"seq\":") in s[0..n), spaces
 * allowed between; -1 if absent. */
long long loadjson_num(const char *s, size_t n, const char *key);

/* Copies the string after key (which ends with its opening quote) into out,
 * backslash escapes reduced to the escaped byte, cut at outsz - 1 bytes.
 * Returns 0, or -1 when key is absent. */
int loadjson_str(const char *s, size_t n, const char *key, char *out, size_t outsz);

/* Prints s as a JSON string to stdout. */
void loadjson_print_str(const char *s);

#endif
