/* Unit tests of the NDJSON framer (parser/ndjson.c through framer.h), against
 * parser/SEMANTICS.md "NDJSON framer".
 *
 * Every stream test goes through FC_RUN (framer_collect.h): chunk sizes
 * 1..31 and 4096 (with and without stopping at every event) and every
 * two-piece split must give exactly the events listed and the safe offsets
 * listed. Expected values are literal, worked out from the spec by hand. */
#include <stdint.h>
#include <string.h>

#include "framer.h"
#include "framer_collect.h"
#include "unit.h"

#define ND FRAMER_NDJSON

static void test_ndjson_lf(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "{\"a\":1}", 0, 8),
      FC_EV(1, NULL, NULL, "{\"b\":2}", 8, 16),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {8, 8}, {16, 16}, FC_SAFE_END};
  FC_RUN(ND, 0, "{\"a\":1}\n{\"b\":2}\n", exp, safe);
}

/* The CR before the LF is not data; the span includes both. */
static void test_ndjson_crlf(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "{\"a\":1}", 0, 9),
      FC_EV(1, NULL, NULL, "[2]", 9, 14),
      FC_EV(2, NULL, NULL, "3", 14, 16),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {9, 9}, {14, 14}, {16, 16}, FC_SAFE_END};
  FC_RUN(ND, 0, "{\"a\":1}\r\n[2]\r\n3\n", exp, safe);
}

/* A lone CR is content; only one CR right before the LF is stripped. */
static void test_ndjson_lone_cr_is_content(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "a\rb", 0, 4),
      FC_EV(1, NULL, NULL, "\rx", 4, 7),
      FC_EV(2, NULL, NULL, "x\r", 7, 11),
      FC_EV(3, NULL, NULL, "a\r\rb", 11, 17),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {4, 4}, {7, 7}, {11, 11}, {17, 17}, FC_SAFE_END};
  FC_RUN(ND, 0, "a\rb\n" "\rx\n" "x\r\r\n" "a\r\rb\r\n", exp, safe);
}

/* Empty lines and lines of spaces, tabs and CR only are skipped and
 * flushable; other white space (form feed) is content. */
static void test_ndjson_blank_lines_skipped(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "{}", 12, 15),
      FC_EV(1, NULL, NULL, "\f", 16, 18),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0},   {1, 1},   {2, 2},   {7, 7},   {9, 9},
                                 {12, 12}, {15, 15}, {16, 16}, {18, 18}, {22, 22},
                                 FC_SAFE_END};
  FC_RUN(ND, 0,
         "\n"          /* 0..1 */
         "\n"          /* 1..2 */
         "  \t \n"     /* 2..7 */
         "\r\n"        /* 7..9 */
         " \r\n"       /* 9..12 */
         "{}\n"        /* 12..15 */
         "\n"          /* 15..16 */
         "\f\n"        /* 16..18 */
         " \t\r\r\n",  /* 18..23 */
         exp, NULL);
  /* The same without the last line's second CR, with safe offsets. */
  FC_RUN(ND, 0, "\n\n  \t \n\r\n \r\n{}\n\n\f\n \t\r\n", exp, safe);
}

/* Leading and trailing blanks of a non-blank line are data. */
static void test_ndjson_blanks_inside_line_kept(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "  {} \t", 0, 8), FC_END_EXP};
  FC_RUN(ND, 0, "  {} \t\r\n", exp, NULL);
}

/* A last line without LF is dispatched by framer_finish; its span ends at
 * the end of the stream. Until then it is not flushable. */
static void test_ndjson_last_line_without_lf(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "{}", 0, 3),
      FC_EV(1, NULL, NULL, "[1]", 3, 6),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {3, 3}, FC_SAFE_END};
  FC_RUN(ND, 0, "{}\n[1]", exp, safe);
}

static void test_ndjson_last_line_blank_without_lf(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "{}", 0, 3), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {3, 3}, FC_SAFE_END};
  FC_RUN(ND, 0, "{}\n \t", exp, safe);
}

/* SEMANTICS.md: a CR is stripped only "just before the LF"; "a lone CR is
 * content". A last line "x\r" without LF has no LF: its CR is content. */
static void test_ndjson_last_line_trailing_cr_is_content(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "{}", 0, 3),
      FC_EV(1, NULL, NULL, "x\r", 3, 5),
      FC_END_EXP};
  FC_RUN(ND, 0, "{}\nx\r", exp, NULL);
}

static void test_ndjson_empty_stream(void) {
  static const fc_exp exp[] = {FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, FC_SAFE_END};
  FC_RUN(ND, 0, "", exp, safe);
  FC_RUN(ND, 0, "\n\r\n \n", exp, NULL);
}

/* Oversized lines: on_oversized once, data holds the first max bytes, the
 * line is flushable as it arrives, the event is still dispatched at its LF
 * (or at finish). A line of exactly max bytes is not oversized. */
static void test_ndjson_oversized(void) {
  static const fc_exp exp[] = {
      FC_OVS(0),
      FC_EV_BIG(0, NULL, NULL, "abcd", 0, 9),
      FC_EV(1, NULL, NULL, "{}", 9, 12),
      FC_EV(2, NULL, NULL, "abcd", 12, 17),
      FC_OVS(3),
      FC_EV_BIG(3, NULL, NULL, "abcd", 17, 24),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0},  {5, FC_FOLLOW}, {10, 9}, {12, 12},
                                 {17, 17}, {22, FC_FOLLOW}, FC_SAFE_END};
  FC_RUN(ND, 4, "abcdefgh\n{}\nabcd\nabcdefg", exp, safe);
}

/* The data of "abcd\r\n" is "abcd" (the CR before the LF is not data), which
 * is exactly max_event_bytes = 4: not oversized (SEMANTICS.md: oversized
 * when the data "would exceed" max_event_bytes). */
static void test_ndjson_crlf_line_of_exactly_max_bytes(void) {
  static const fc_exp exp[] = {
      FC_EV(0, NULL, NULL, "abcd", 0, 6),
      FC_EV(1, NULL, NULL, "ab", 6, 10),
      FC_END_EXP};
  FC_RUN(ND, 4, "abcd\r\nab\r\n", exp, NULL);
}

static void test_ndjson_oversized_not_inspected(void) {
  static const fc_exp exp[] = {
      FC_OVS(0),
      FC_EV_BIG(0, NULL, NULL, "{\"type\":\"authent", 0, 29),
      FC_END_EXP};
  FC_RUN(ND, 16, "{\"type\":\"authenticate_meta\"}\n", exp, NULL);
}

static void test_ndjson_detection(void) {
  static const fc_exp exp[] = {
      FC_EV_DET(0, NULL, NULL,
                "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"ltk_1\"}", 0,
                71, DETECT_MATCH, "slack"),
      FC_EV_DET(1, NULL, NULL, "{\"x\":1}", 71, 79, DETECT_SKIPPED, NULL),
      FC_EV_DET(2, NULL, NULL, "{\"link_token\":1", 79, 95, DETECT_MALFORMED, NULL),
      FC_EV_DET(3, NULL, NULL, "{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"connector\":\"github\"}",
                95, 155, DETECT_MATCH, "github"),
      FC_END_EXP};
  FC_RUN(ND, 0,
         "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"ltk_1\"}\r\n"
         "{\"x\":1}\n"
         "{\"link_token\":1\n"
         "{\"link_token\":\"t\",\"magic_link_url\":\"u\",\"connector\":\"github\"}",
         exp, NULL);
}

/* Stop semantics, with literal return values. */
static void test_ndjson_stop_returns(void) {
  static const char in[] = "{}\n\n[1]\r\n  \n\"x\"";
  static const fc_stop_step steps[] = {
      {3, 1, 3},
      {6, 2, 9}, /* blank line, then "[1]\r\n" */
      {6, 2, 12}, /* blank, then the unterminated line */
  };
  /* the finish dispatches "x"; its return value is ignored */
  fc_check_stops(FRAMER_NDJSON, in, sizeof in - 1, steps, sizeof steps / sizeof steps[0], 3, 15,
                 3);
}

int main(void) {
  RUN(test_ndjson_lf);
  RUN(test_ndjson_crlf);
  RUN(test_ndjson_lone_cr_is_content);
  RUN(test_ndjson_blank_lines_skipped);
  RUN(test_ndjson_blanks_inside_line_kept);
  RUN(test_ndjson_last_line_without_lf);
  RUN(test_ndjson_last_line_blank_without_lf);
  RUN(test_ndjson_last_line_trailing_cr_is_content);
  RUN(test_ndjson_empty_stream);
  RUN(test_ndjson_oversized);
  RUN(test_ndjson_crlf_line_of_exactly_max_bytes);
  RUN(test_ndjson_oversized_not_inspected);
  RUN(test_ndjson_detection);
  RUN(test_ndjson_stop_returns);
  return unit_report();
}
