/* benchgen: the streams bench-parser (parser_bench.c) measures, generated
 * in memory from fixed seeds (the same bytes on every run and machine):
 * token-delta events as SSE and NDJSON, and SSE events of 2 KiB MCP tool
 * results holding an authenticate_meta result as a JSON string, with the
 * counts and checksums the benchmark checks its runs against. */
#ifndef AUTHRELAY_BENCH_BENCHGEN_H
#define AUTHRELAY_BENCH_BENCHGEN_H

#include <stddef.h>
#include <stdint.h>

#define TOOL_RESULT_BYTES 2048 /* data bytes of each (b) event */

/* A growing byte buffer (owns ptr). */
typedef struct buf {
  char *ptr;
  size_t len;
  size_t cap;
} buf;

/* One generated stream and what it holds. */
typedef struct stream {
  buf bytes;            /* the stream as sent */
  uint64_t events;      /* events it holds */
  uint64_t data_bytes;  /* sum of the events' data lengths */
  uint64_t token_hash;  /* (b): sum of fnv1a(link_token) over events */
  /* (b): every event's data, for the raw yajl baseline */
  buf json;             /* the data of every event, back to back */
  size_t *json_len;     /* length of each */
  uint64_t maps_per_event;       /* (b): objects of each event's JSON */
  uint64_t inner_maps_per_event; /* (b): objects of its JSON-in-string */
  uint64_t inner_bytes; /* (b): bytes of the JSON-in-string text (escaped) */
} stream;

/* Prints "bench-parser: what" and exits 1. */
__attribute__((noreturn)) void bench_die(const char *what);
/* Frees b's storage and empties it. */
void bench_buf_free(buf *b);
/* FNV-1a of p[0..n): the checksum of extracted link tokens. */
uint64_t bench_fnv1a(const char *p, size_t n);

/* (a) and (d): token-delta payloads until sse holds target bytes, the same
 * payloads as SSE in sse and as NDJSON in ndjson. */
void benchgen_token_delta(size_t target, stream *sse, stream *ndjson);
/* (b): tool-result events until s holds target bytes, each event's data
 * also kept in s->json for the raw yajl baselines. */
void benchgen_tool_result(size_t target, stream *s);
/* Frees a stream's buffers and zeroes it. */
void benchgen_stream_free(stream *s);

#endif
