/* Unit tests of the SSE framer (parser/sse.c through framer.h), against
 * parser/SEMANTICS.md and WHATWG "event stream interpretation".
 *
 * Every stream test goes through FC_RUN (framer_collect.h): the same input
 * at chunk sizes 1..31 and 4096 (with and without stopping at every event)
 * and split in two at every offset must give exactly the events, retries and
 * on_oversized calls written out here, and the safe offsets listed. Expected
 * values are literal, worked out from the spec by hand. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "framer.h"
#include "framer_collect.h"
#include "unit.h"

#define SSE FRAMER_SSE

/* ---- line ends --------------------------------------------------------- */

static void test_sse_lf(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "a", 0, 9),
      FC_EV(1, NULL, NULL, "b", 9, 18),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {9, 9}, {18, 18}, FC_SAFE_END};
  FC_RUN(SSE, 0, "data: a\n\ndata: b\n\n", exp, safe);
}

static void test_sse_cr(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "a", 0, 9),
      FC_EV(1, NULL, NULL, "b", 9, 18),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {9, 9}, {18, 18}, FC_SAFE_END};
  FC_RUN(SSE, 0, "data: a\r\rdata: b\r\r", exp, safe);
}

/* CRLF: the blank line's span ends after its CR; the LF is flushable on its
 * own and the next event starts after it. */
static void test_sse_crlf(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "a", 0, 10),
      FC_EV(1, NULL, NULL, "b", 11, 21),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {10, 10}, {11, 11}, {21, 21}, {22, 22}, FC_SAFE_END};
  FC_RUN(SSE, 0, "data: a\r\n\r\ndata: b\r\n\r\n", exp, safe);
}

/* A CRLF (also when split between two feeds: the split runs cover every
 * offset) is one line end: the LF must not be taken for a blank line. */
static void test_sse_crlf_is_one_line_end(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a\nb", 0, 19), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {19, 19}, {20, 20}, FC_SAFE_END};
  FC_RUN(SSE, 0, "data: a\r\ndata: b\r\n\r\n", exp, safe);
}

/* Two explicit feeds, the CR at the end of the first, the LF at the start
 * of the second (FC_RUN's split runs do this at every offset; this spells
 * one out). */
typedef struct one_event {
  int calls;
  char data[16];
  size_t data_len;
  uint64_t start, end;
} one_event;

static int keep_event(void *ctx, const framer_event *ev) {
  one_event *o = ctx;
  o->calls++;
  o->data_len = ev->data_len < sizeof o->data ? ev->data_len : sizeof o->data;
  memcpy(o->data, ev->data, o->data_len);
  o->start = ev->start;
  o->end = ev->end;
  return 0;
}

static void test_sse_crlf_split_explicit(void) {
  framer_callbacks cb;
  framer_t f;
  one_event o;
  memset(&cb, 0, sizeof cb);
  memset(&o, 0, sizeof o);
  cb.on_event = keep_event;
  CHECK(framer_init(&f, FRAMER_SSE, NULL, &cb, &o) == 0);
  CHECK_EQ_U64(framer_feed(&f, "data: a\r", 8), 8);
  CHECK_EQ_U64(framer_feed(&f, "\ndata: b\r", 9), 9);
  CHECK(o.calls == 0); /* the LF was not a blank line */
  CHECK_EQ_U64(framer_feed(&f, "\n\r", 2), 2);
  CHECK(o.calls == 1);
  CHECK_MEM(o.data, o.data_len, "a\nb");
  CHECK_EQ_U64(o.start, 0);
  CHECK_EQ_U64(o.end, 19);
  CHECK_EQ_U64(framer_safe_offset(&f), 19);
  CHECK_EQ_U64(framer_feed(&f, "\n", 1), 1);
  CHECK(o.calls == 1); /* the CR's LF is not a second blank line */
  CHECK_EQ_U64(framer_safe_offset(&f), 20);
  framer_finish(&f);
  CHECK(o.calls == 1);
  framer_close(&f);
}

static void test_sse_mixed_line_ends(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "a\nb\nc", 0, 26),
      FC_EV(1, NULL, NULL, "d", 27, 37),
      FC_EV(2, NULL, NULL, "e", 37, 46),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {26, 26}, {27, 27}, {37, 37}, {46, 46}, FC_SAFE_END};
  FC_RUN(SSE, 0,
         "data: a\r\ndata: b\rdata: c\n\r\n" /* 0..27 */
         "data: d\r\n\n"                     /* 27..37 */
         "data: e\n\r",                      /* 37..46, no LF after the CR */
         exp, safe);
}

/* ---- BOM --------------------------------------------------------------- */

static void test_sse_bom_stripped(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a", 3, 12), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {3, 3}, {12, 12}, FC_SAFE_END};
  FC_RUN(SSE, 0, "\xEF\xBB\xBF" "data: a\n\n", exp, safe);
}

static void test_sse_bom_then_comment(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a", 6, 15), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {3, 3}, {6, 6}, {15, 15}, FC_SAFE_END};
  FC_RUN(SSE, 0, "\xEF\xBB\xBF" ":c\n" "data: a\n\n", exp, safe);
}

/* Only one BOM is stripped: a second one belongs to the first line's field
 * name, which is then unknown; that block has no data. */
static void test_sse_second_bom_not_stripped(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "b", 15, 24), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {3, 3}, {15, 15}, {24, 24}, FC_SAFE_END};
  FC_RUN(SSE, 0, "\xEF\xBB\xBF" "\xEF\xBB\xBF" "data: a\n\n" "data: b\n\n", exp, safe);
}

/* A BOM at the start of a later line makes its field name unknown. */
static void test_sse_late_bom_is_ordinary(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "a", 0, 9),
      FC_EV(1, NULL, NULL, "c", 21, 30),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {9, 9}, {21, 21}, {30, 30}, FC_SAFE_END};
  FC_RUN(SSE, 0, "data: a\n\n" "\xEF\xBB\xBF" "data: b\n\n" "data: c\n\n", exp, safe);
}

/* A BOM inside a value is data. */
static void test_sse_bom_in_value(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "\xEF\xBB\xBF" "x", 0, 12), FC_END_EXP};
  FC_RUN(SSE, 0, "data: \xEF\xBB\xBF" "x\n\n", exp, NULL);
}

/* The first bytes of a BOM that does not complete are stream bytes: they
 * are not dropped (the field name "\xEF\xBB" "data" is unknown). */
static void test_sse_partial_bom_kept(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "b", 11, 20), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {11, 11}, {20, 20}, FC_SAFE_END};
  FC_RUN(SSE, 0, "\xEF\xBB" "data: a\n\n" "data: b\n\n", exp, safe);
}

/* "\xEF: x" is a field line (name "\xEF"), not a comment: the event's span
 * starts at 0. If the partial BOM were dropped, the line would be a comment
 * and the span would start at 5. */
static void test_sse_partial_bom_then_colon(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a", 0, 14), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {14, 14}, FC_SAFE_END};
  FC_RUN(SSE, 0, "\xEF" ": x\n" "data: a\n\n", exp, safe);
}

/* ---- comments, field syntax -------------------------------------------- */

static void test_sse_comments(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a\nb", 10, 36), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {8, 8}, {10, 10}, {36, 36}, {44, 44}, FC_SAFE_END};
  FC_RUN(SSE, 0,
         ": hello\n"  /* 0..8, flushable */
         ":\n"        /* 8..10 */
         "data: a\n"  /* 10..18 */
         ": inside\n" /* 18..27, inside the block */
         "data: b\n"  /* 27..35 */
         "\n"         /* 35..36 */
         ": after\n", /* 36..44 */
         exp, safe);
}

static void test_sse_comments_cr_and_unterminated(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a", 7, 16), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {3, 3}, {6, 6}, {7, 7}, {16, 16}, FC_SAFE_END};
  FC_RUN(SSE, 0, ":x\r" ":y\r\n" "data: a\n\n" ":tail", exp, safe);
}

static void test_sse_comment_looking_like_data(void) {
  static const fc_exp exp[] = {FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {9, 9}, {10, 10}, FC_SAFE_END};
  FC_RUN(SSE, 0, ":data: x\n\n", exp, safe);
}

/* A line without colon is a field name with an empty value. */
static void test_sse_field_without_colon(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "", 0, 6),
      FC_EV(1, NULL, NULL, "\n", 6, 17),
      FC_EV(2, NULL, NULL, "\nx", 17, 31),
      FC_EV(3, NULL, NULL, "y", 31, 46),
      FC_EV(4, NULL, "", "z", 46, 58),
      FC_EV(5, NULL, NULL, "", 58, 64),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0},   {6, 6},   {17, 17}, {31, 31},
                                 {46, 46}, {58, 58}, {64, 64}, FC_SAFE_END};
  FC_RUN(SSE, 0,
         "data\n\n"
         "data\ndata\n\n"
         "data\ndata: x\n\n"
         "event\ndata: y\n\n"
         "id\ndata: z\n\n"
         "data\r\r",
         exp, safe);
}

/* Exactly one leading space is stripped; tabs and trailing spaces stay. */
static void test_sse_leading_space(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "a", 0, 8),
      FC_EV(1, NULL, NULL, "a", 8, 17),
      FC_EV(2, NULL, NULL, " a", 17, 27),
      FC_EV(3, NULL, NULL, "", 27, 35),
      FC_EV(4, NULL, NULL, "\ta", 35, 44),
      FC_EV(5, NULL, NULL, "a ", 44, 54),
      FC_EV(6, " x", " 5", "b", 54, 80),
      FC_END_EXP};
  FC_RUN(SSE, 0,
         "data:a\n\n"
         "data: a\n\n"
         "data:  a\n\n"
         "data: \n\n"
         "data:\ta\n\n"
         "data: a \n\n"
         "event:  x\nid:  5\ndata: b\n\n",
         exp, NULL);
}

/* Field names are case-sensitive and exact; unknown fields are ignored. A
 * block of unknown fields only is not dispatched. */
static void test_sse_unknown_fields(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a", 0, 90), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {90, 90}, {100, 100}, FC_SAFE_END};
  FC_RUN(SSE, 0,
         "foo: bar\ndata: a\nDATA: b\nData: c\ndata : d\nretryx: 5\n"
         "datadatadata: e\ndataXXXX: f\n data: g\n\n"
         "foo: bar\n\n",
         exp, safe);
}

/* ---- event, id, retry -------------------------------------------------- */

static void test_sse_event_field(void) {
  static const fc_exp exp[] = {
      FC_EV(0, "ping", NULL, "a", 0, 21),
      FC_EV(1, NULL, NULL, "b", 21, 30),   /* not inherited */
      FC_EV(2, NULL, NULL, "c", 30, 46),   /* "event:" empty = absent */
      FC_EV(3, NULL, NULL, "d", 46, 71),   /* the last event line wins */
      FC_EV(4, "y", NULL, "e", 71, 98),
      FC_EV(5, "z", NULL, "f", 98, 116),   /* after the data line */
      FC_EV(6, NULL, NULL, "g", 126, 135), /* a dropped block's type is gone */
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0},     {21, 21},   {30, 30},   {46, 46}, {71, 71},
                                 {98, 98},   {116, 116}, {126, 126}, {135, 135},
                                 FC_SAFE_END};
  FC_RUN(SSE, 0,
         "event: ping\ndata: a\n\n"
         "data: b\n\n"
         "event:\ndata: c\n\n"
         "event: x\nevent:\ndata: d\n\n"
         "event: x\nevent: y\ndata: e\n\n"
         "data: f\nevent: z\n\n"
         "event: q\n\n"
         "data: g\n\n",
         exp, safe);
}

/* id is per event: the last valid id line of the block; an id holding NUL
 * is ignored and does not clear an earlier valid id of the same block; an
 * empty id is valid (""). */
static void test_sse_id_field(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, "1", "a", 0, 15),
      FC_EV(1, NULL, NULL, "b", 15, 24),
      FC_EV(2, NULL, "3", "c", 24, 45),
      FC_EV(3, NULL, "4", "d", 45, 68),
      FC_EV(4, NULL, NULL, "e", 68, 84),
      FC_EV(5, NULL, "", "f", 84, 96),
      FC_EV(6, NULL, "7", "g", 96, 111),
      FC_EV(7, NULL, NULL, "h", 118, 127),
      FC_EV(8, NULL, "5", "i", 127, 148),
      FC_EV(9, NULL, "6", "j", 148, 171),
      FC_EV(10, NULL, "", "k", 171, 190),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0},     {15, 15},   {24, 24},   {45, 45},   {68, 68},
                                 {84, 84},   {96, 96},   {111, 111}, {118, 118}, {127, 127},
                                 {148, 148}, {171, 171}, {190, 190}, FC_SAFE_END};
  FC_RUN(SSE, 0,
         "id: 1\ndata: a\n\n"
         "data: b\n\n"
         "id: 2\nid: 3\ndata: c\n\n"
         "id: 4\nid: x\0y\ndata: d\n\n"
         "id: a\0\ndata: e\n\n"
         "id\ndata: f\n\n"
         "data: g\nid: 7\n\n"
         "id: 9\n\n"
         "data: h\n\n"
         "id: 5\nid: \0\ndata: i\n\n"
         "id: x\0y\nid: 6\ndata: j\n\n"
         "id: 8\nid:\ndata: k\n\n",
         exp, safe);
}

/* retry: on_retry when the line completes, value non-empty and all ASCII
 * digits, saturating. Retry lines are field lines: they open a block. */
static void test_sse_retry(void) {
  static const fc_exp exp[] = {
      FC_RETRY(1000),
      FC_RETRY(500),
      FC_RETRY(0),
      FC_RETRY(7),
      FC_RETRY(UINT64_C(18446744073709551615)),
      FC_RETRY(UINT64_MAX),
      FC_RETRY(UINT64_MAX),
      FC_RETRY(1),
      FC_RETRY(2),
      FC_RETRY(10),
      FC_RETRY(20),
      FC_EV(0, NULL, NULL, "a", 232, 261),
      FC_RETRY(40), /* its block is never dispatched, the line completed */
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {232, 232}, {261, 261}, FC_SAFE_END};
  FC_RUN(SSE, 0,
         "retry: 1000\n"
         "retry:500\n"
         "retry: 12a\n"
         "retry:\n"
         "retry\n"
         "retry:  5\n"
         "retry: 0\n"
         "retry: 007\n"
         "retry: -1\n"
         "retry: 5 \n"
         "retry: +5\n"
         "retry: 18446744073709551615\n"
         "retry: 18446744073709551616\n"
         "retry: 99999999999999999999999999999999\n"
         "retry: 1\r"
         "retry: 2\r\n"
         "retry: 3\0\n"
         "\n"
         "retry: 10\ndata: a\nretry: 20\n\n"
         "retry: 40\n"
         "retry: 30", /* never completes: no on_retry */
         exp, safe);
}

/* ---- dispatch ---------------------------------------------------------- */

static void test_sse_no_data_no_dispatch(void) {
  static const fc_exp exp[] = {FC_RETRY(5), FC_EV(0, NULL, NULL, "a", 25, 34), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {25, 25}, {34, 34}, FC_SAFE_END};
  FC_RUN(SSE, 0, "event: x\nid: 1\nretry: 5\n\ndata: a\n\n", exp, safe);
}

static void test_sse_data_join(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "a\n\nb", 0, 23),
      FC_EV(1, NULL, NULL, "a\n", 23, 38),
      FC_END_EXP};
  FC_RUN(SSE, 0, "data: a\ndata:\ndata: b\n\n" "data: a\ndata:\n\n", exp, NULL);
}

static void test_sse_empty_data_dispatches(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "", 0, 6), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {6, 6}, FC_SAFE_END};
  FC_RUN(SSE, 0, "data\n\n", exp, safe);
}

/* An unterminated event is never dispatched; its bytes become flushable at
 * framer_finish (checked by FC_RUN: safe offset == length after finish). */
static void test_sse_unterminated_dropped(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a", 0, 9), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {9, 9}, FC_SAFE_END};
  FC_RUN(SSE, 0, "data: a\n\ndata: b\n", exp, safe);
  FC_RUN(SSE, 0, "data: a\n\ndata: b", exp, safe);
  FC_RUN(SSE, 0, "data: a\n\nid: 1\ndata: b\r", exp, safe);
}

static void test_sse_cr_blank_at_end_dispatches(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "a", 0, 9),
      FC_EV(1, NULL, NULL, "b", 9, 18),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {9, 9}, {18, 18}, FC_SAFE_END};
  FC_RUN(SSE, 0, "data: a\n\ndata: b\n\r", exp, safe);
}

static void test_sse_empty_stream(void) {
  static const fc_exp exp[] = {FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, FC_SAFE_END};
  FC_RUN(SSE, 0, "", exp, safe);
  FC_RUN(SSE, 0, "\n\r\n\r", exp, NULL);
}

/* Blank lines before an event are flushable; they are not in its span. */
static void test_sse_blank_lines_before_event(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a", 5, 14), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {14, 14}, FC_SAFE_END};
  FC_RUN(SSE, 0, "\n\r\r\n" "\n" "data: a\n\n", exp, safe);
}

/* ---- oversized --------------------------------------------------------- */

static void test_sse_oversized(void) {
  static const fc_exp exp[] = {
      FC_OVS(0),
      FC_EV_BIG(0, NULL, NULL, "01234567", 0, 18),
      FC_EV(1, NULL, NULL, "ab", 18, 28),
      FC_EV(2, NULL, NULL, "01234567", 28, 44), /* exactly the limit */
      FC_EV(3, NULL, NULL, "0123\n567", 44, 66), /* the joining LF counts */
      FC_OVS(4),
      FC_EV_BIG(4, NULL, NULL, "0123\n567", 66, 89),
      FC_OVS(5),
      FC_EV_BIG(5, NULL, NULL, "01234567", 89, 110),
      FC_OVS(6), /* unterminated: never dispatched */
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0},          {15, FC_FOLLOW}, {19, 18},  {28, 28},
                                 {44, 44},        {66, 66},        {87, FC_FOLLOW},
                                 {90, 89},        {109, FC_FOLLOW}, {111, 110},
                                 {125, FC_FOLLOW}, FC_SAFE_END};
  FC_RUN(SSE, 8,
         "data: 0123456789\n\n"
         "data: ab\n\n"
         "data: 01234567\n\n"
         "data: 0123\ndata: 567\n\n"
         "data: 0123\ndata: 5678\n\n"
         "data: 01234567\ndata\n\n"
         "data: 0123456789abcdef\n",
         exp, safe);
}

/* Past the limit the detector stops: a match beyond it is not reported. */
static void test_sse_oversized_not_inspected(void) {
  static const fc_exp exp[] = {
      FC_OVS(0),
      FC_EV_BIG(0, NULL, NULL, "{\"type\":\"authent", 0, 36),
      FC_EV_DET(1, NULL, NULL, "{\"type\":\"x\"}", 36, 56, DETECT_SKIPPED, NULL),
      FC_END_EXP};
  FC_RUN(SSE, 16, "data: {\"type\":\"authenticate_meta\"}\n\n" "data: {\"type\":\"x\"}\n\n", exp,
         NULL);
}

/* The event and id values count against the limit too (the data lines come
 * first here, so the data is complete either way). What type/id the event
 * then reports is not pinned down by SEMANTICS.md. */
static void test_sse_oversized_event_and_id_values(void) {
  static const fc_exp exp[] = {
      FC_OVS(0),
      FC_EV_BIG(0, FC_ANY, NULL, "x", 0, 26),
      FC_OVS(1),
      FC_EV_BIG(1, NULL, FC_ANY, "y", 26, 49),
      FC_EV(2, "12345678", "abcdefgh", "z", 49, 87), /* exactly the limit */
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0},  {24, FC_FOLLOW}, {27, 26}, {47, FC_FOLLOW},
                                 {50, 49}, {87, 87},        FC_SAFE_END};
  /* on_oversized fires once per event, however many of its values pass. */
  static const fc_exp exp2[] = {
      FC_OVS(0),
      FC_EV_BIG(0, FC_ANY, FC_ANY, "01234567", 0, 49),
      FC_END_EXP};
  FC_RUN(SSE, 8,
         "data: x\nevent: 123456789\n\n"
         "data: y\nid: 123456789\n\n"
         "event: 12345678\nid: abcdefgh\ndata: z\n\n",
         exp, safe);
  FC_RUN(SSE, 8, "data: 0123456789\nevent: 123456789\nid: 123456789\n\n", exp2, NULL);
}

/* SEMANTICS.md: each of data, event and id may hold max_event_bytes; an
 * oversized event's data "keeps exactly the first max_event_bytes bytes". A
 * 1-byte data line that comes after an oversized event/id line must still be
 * kept (it is when it comes before, see the previous test). */
static void test_sse_oversized_value_keeps_later_data(void) {
  static const fc_exp exp[] = {
      FC_OVS(0),
      FC_EV_BIG(0, FC_ANY, NULL, "x", 0, 26),
      FC_OVS(1),
      FC_EV_BIG(1, NULL, FC_ANY, "y", 26, 49),
      FC_END_EXP};
  FC_RUN(SSE, 8, "event: 123456789\ndata: x\n\n" "id: 123456789\ndata: y\n\n", exp, NULL);
}

/* SEMANTICS.md caps data, event and id at max_event_bytes, not retry: a
 * retry value of all digits fires on_retry (saturating) whatever its
 * length. */
static void test_sse_retry_longer_than_max_event_bytes(void) {
  static const fc_exp exp[] = {
      FC_RETRY(1234567890),
      FC_RETRY(UINT64_MAX),
      FC_EV(0, NULL, NULL, "a", 0, 65),
      FC_END_EXP};
  FC_RUN(SSE, 8, "retry: 1234567890\nretry: 123456789012345678901234567890\ndata: a\n\n", exp,
         NULL);
}

/* framer.h: on_oversized(index) announces that "the event with this index"
 * is oversized, and that event is then dispatched with oversized set. A
 * block without data is no event: an oversized id (or event) value in it
 * must not announce index 0 for the next, unrelated, event "a". */
static void test_sse_oversized_block_without_data(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "a", 15, 24), FC_END_EXP};
  FC_RUN(SSE, 8, "id: 123456789\n\ndata: a\n\n", exp, NULL);
}

/* ---- detection --------------------------------------------------------- */

static void test_sse_detection(void) {
  static const fc_exp exp[] = {
      FC_EV_DET(0, NULL, NULL,
                "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"ltk_1\"}", 0,
                77, DETECT_MATCH, "slack"),
      FC_EV_DET(1, NULL, NULL, "{\"a\":1}", 77, 92, DETECT_SKIPPED, NULL),
      FC_EV_DET(2, NULL, NULL, "{\"link_token\":\"x\"", 92, 117, DETECT_MALFORMED, NULL),
      FC_EV_DET(3, NULL, NULL,
                "{\"link_token\":\"t\",\n\"magic_link_url\":\"u\",\"connector\":\"github\"}", 117,
                192, DETECT_MATCH, "github"),
      FC_EV_DET(4, "x", NULL, "{\"type\":\"authenticate_meta\",\"connector\":\"notion\"}", 192,
                258, DETECT_MATCH, "notion"),
      FC_END_EXP};
  FC_RUN(SSE, 0,
         "data: {\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"ltk_1\"}\n\n"
         "data: {\"a\":1}\n\n"
         "data: {\"link_token\":\"x\"\n\n"
         "data: {\"link_token\":\"t\",\ndata: \"magic_link_url\":\"u\",\"connector\":\"github\"}\n\n"
         "event: x\ndata: {\"type\":\"authenticate_meta\",\"connector\":\"notion\"}\n\n",
         exp, NULL);
}

static void test_sse_no_inspect(void) {
  static const fc_exp exp[] = {
      FC_EV_DET(0, NULL, NULL, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}", 0, 56,
                DETECT_SKIPPED, NULL),
      FC_END_EXP};
  FC_RUN_NOINSPECT(SSE, 0, "data: {\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}\n\n", exp,
                   NULL);
}

/* ---- stop semantics, explicit ------------------------------------------ */

static void test_sse_stop_returns(void) {
  static const char in[] = "data: a\n\ndata: b\r\r: c\ndata: c\n\n: tail\n";
  static const fc_stop_step steps[] = {{9, 1, 9}, {9, 2, 18}, {13, 3, 31}, {7, 3, 38}};
  fc_check_stops(FRAMER_SSE, in, sizeof in - 1, steps, sizeof steps / sizeof steps[0], 3,
                 UINT64_MAX, 3);
}

/* Without callbacks or options the framer still frames and counts. */
static void test_sse_null_callbacks(void) {
  static const char in[] =
      "data: {\"type\":\"authenticate_meta\",\"Connector\":\"slack\"}\n\nretry: 5\ndata: x\n\n";
  framer_t f;
  CHECK(framer_init(&f, FRAMER_SSE, NULL, NULL, NULL) == 0);
  CHECK_EQ_U64(framer_feed(&f, in, sizeof in - 1), sizeof in - 1);
  framer_finish(&f);
  CHECK_EQ_U64(f.stats.events, 2);
  CHECK_EQ_U64(f.stats.matches, 1);
  framer_close(&f);
  /* Re-initialised after close, it starts a new stream. */
  CHECK(framer_init(&f, FRAMER_SSE, NULL, NULL, NULL) == 0);
  CHECK_EQ_U64(framer_safe_offset(&f), 0);
  CHECK_EQ_U64(f.stats.events, 0);
  framer_close(&f);
}

static void test_init_rejects_unknown_format(void) {
  framer_t f;
  CHECK(framer_init(&f, (framer_format)42, NULL, NULL, NULL) == -EINVAL);
}

int main(void) {
  RUN(test_sse_lf);
  RUN(test_sse_cr);
  RUN(test_sse_crlf);
  RUN(test_sse_crlf_is_one_line_end);
  RUN(test_sse_crlf_split_explicit);
  RUN(test_sse_mixed_line_ends);
  RUN(test_sse_bom_stripped);
  RUN(test_sse_bom_then_comment);
  RUN(test_sse_second_bom_not_stripped);
  RUN(test_sse_late_bom_is_ordinary);
  RUN(test_sse_bom_in_value);
  RUN(test_sse_partial_bom_kept);
  RUN(test_sse_partial_bom_then_colon);
  RUN(test_sse_comments);
  RUN(test_sse_comments_cr_and_unterminated);
  RUN(test_sse_comment_looking_like_data);
  RUN(test_sse_field_without_colon);
  RUN(test_sse_leading_space);
  RUN(test_sse_unknown_fields);
  RUN(test_sse_event_field);
  RUN(test_sse_id_field);
  RUN(test_sse_retry);
  RUN(test_sse_no_data_no_dispatch);
  RUN(test_sse_data_join);
  RUN(test_sse_empty_data_dispatches);
  RUN(test_sse_unterminated_dropped);
  RUN(test_sse_cr_blank_at_end_dispatches);
  RUN(test_sse_empty_stream);
  RUN(test_sse_blank_lines_before_event);
  RUN(test_sse_oversized);
  RUN(test_sse_oversized_not_inspected);
  RUN(test_sse_oversized_event_and_id_values);
  RUN(test_sse_oversized_value_keeps_later_data);
  RUN(test_sse_retry_longer_than_max_event_bytes);
  RUN(test_sse_oversized_block_without_data);
  RUN(test_sse_detection);
  RUN(test_sse_no_inspect);
  RUN(test_sse_stop_returns);
  RUN(test_sse_null_callbacks);
  RUN(test_init_rejects_unknown_format);
  return unit_report();
}
