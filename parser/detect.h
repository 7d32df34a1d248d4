/* detect: finds auth-required tool results in one event's JSON payload.
 *
 * This is the "detector" box of DESIGN.md's data flow. A framer (sse, ndjson,
 * jsonbody) hands it the payload of the event in progress as bytes arrive; it
 * answers, once the event is complete, whether the payload holds
 *   (a) an object whose "type" member is the string "authenticate_meta", or
 *   (b) an object with both a "link_token" and a "magic_link_url" string member,
 * at any depth, or inside a string value that is itself a complete JSON text
 * (up to 2 such levels), with members in any order.
 *
 * Work is incremental and linear: a cheap prefilter looks at each new byte
 * once; only when the payload contains "authenticate_meta", "link_token" or
 * "\u" (so that it might match) does yajl parse it, from where the payload
 * starts, and from then on new bytes follow it in batches. The heavy
 * state (yajl handle, object stack, captured strings) is allocated only for
 * such events and freed by detect_reset(), so an idle stream costs nothing
 * but this struct.
 *
 * Robustness: nesting deeper than DETECT_MAX_DEPTH is parsed but not looked
 * into; numbers of any size are never converted; invalid UTF-8 or any other
 * malformed JSON gives DETECT_MALFORMED, never a match, never a crash.
 * Only the first match of an event is reported.
 */
#ifndef AUTHRELAY_DETECT_H
#define AUTHRELAY_DETECT_H

#include <stddef.h>

#define DETECT_MAX_DEPTH 64        /* containers deeper than this are skipped */
#define DETECT_MAX_STRING_LEVELS 2 /* JSON-in-string levels looked into */
#define DETECT_FIELD_MAX 4096      /* an extracted string longer than this is omitted */

typedef enum detect_shape {
  DETECT_SHAPE_NONE = 0,
  DETECT_SHAPE_AUTHENTICATE_META, /* {"type":"authenticate_meta",...} */
  DETECT_SHAPE_MAGIC_LINK         /* {"link_token":"...","magic_link_url":"..."} */
} detect_shape;

typedef enum detect_status {
  DETECT_SKIPPED = 0, /* prefilter: the payload cannot match, yajl never ran */
  DETECT_NO_MATCH,    /* valid JSON, no auth-required result in it */
  DETECT_MATCH,       /* valid JSON holding an auth-required result */
  DETECT_MALFORMED,   /* the prefilter fired but the payload is not valid JSON */
  DETECT_OVERSIZED    /* detect_abandon() was called: not inspected past a limit */
} detect_status;

/* A string extracted from the payload, unescaped. ptr is NULL when absent. */
typedef struct detect_str {
  const char *ptr; /* owned by the detector; valid until detect_reset() */
  size_t len;
} detect_str;

typedef struct detect_match {
  detect_shape shape;
  detect_str connector;      /* Connector | connector | connector_slug, else from a tool name */
  detect_str link_token;
  detect_str magic_link_url;
  detect_str expires_at;
  detect_str message;
  detect_str tool_call_id;   /* nearest tool_call_id | toolCallId | call_id | tool_use_id */
} detect_match;

struct detect_state; /* private: yajl handle, object stack, captured strings */

typedef struct detect_t {
  size_t scanned;            /* the prefilter has looked at payload[0, scanned) */
  size_t parsed;             /* yajl has been fed payload[0, parsed) */
  int triggered;             /* the prefilter fired: yajl is parsing this payload */
  int abandoned;             /* detect_abandon() was called for this payload */
  struct detect_state *state; /* heap, only while triggered; owned */
} detect_t;

/* Prepares a detector. It allocates nothing until a payload triggers it. */
void detect_init(detect_t *d);

/* Looks at the payload of the event in progress. payload and len describe the
 * whole payload received so far: every call passes the same bytes as the
 * previous one plus any new ones (the buffer may have moved). Only the new
 * bytes are examined, and they are handed to yajl in batches that grow with
 * the payload, so a long token fed a byte at a time still costs linear time.
 * The detector keeps no pointer into payload. */
void detect_feed(detect_t *d, const char *payload, size_t len);

/* The caller has run the prefilter over payload[0, len) of the payload in
 * progress and it found nothing (bytes_find_eol_pf() saw no candidate there,
 * while scanning for the line end): the detector will not look at those
 * bytes again. len may not shrink what an earlier call or detect_feed()
 * covered; the bytes after len are examined as usual. */
void detect_prefilter_done(detect_t *d, size_t len);

/* Stops inspecting the payload in progress (it grew past a limit); its
 * status will be DETECT_OVERSIZED. */
void detect_abandon(detect_t *d);

/* Ends the payload in progress: payload and len are the whole payload (the
 * same bytes detect_feed() saw, plus any not fed yet); what was not parsed
 * yet is parsed now. On DETECT_MATCH, *match (if match is not NULL) points at
 * the result, owned by the detector and valid until detect_reset(). */
detect_status detect_finish(detect_t *d, const char *payload, size_t len,
                            const detect_match **match);

/* Frees the per-payload state; the detector is ready for the next payload. */
void detect_reset(detect_t *d);

/* Frees everything. The detector may be initialised again. */
void detect_close(detect_t *d);

/* The prefilter on its own: 1 when p[0, len) contains "authenticate_meta",
 * "link_token" or "\u" (it might match), else 0. */
int detect_prefilter(const char *p, size_t len);

/* Derives a connector slug from a tool name, "authenticate_<slug>" or
 * "<slug>__<tool>". On success returns 1 and points *slug into name (no copy);
 * returns 0 when the name has neither form. */
int detect_connector_from_tool_name(const char *name, size_t len, detect_str *slug);

const char *detect_shape_name(detect_shape shape);

#endif
