/* Unit tests of the whole-body JSON framer (parser/jsonbody.c), the RAW
 * format and the format helpers of framer.h, against parser/SEMANTICS.md
 * and DESIGN.md "Framing".
 *
 * Stream tests go through FC_RUN (framer_collect.h): chunk sizes 1..31 and
 * 4096 (with and without stop) and every two-piece split must give exactly
 * the events and safe offsets listed. Expected values are literal. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "framer.h"
#include "framer_collect.h"
#include "unit.h"

#define JS FRAMER_JSON

/* ---- JSON body --------------------------------------------------------- */

/* One event at finish with the whole body; nothing is flushable before. */
static void test_json_one_event_at_finish(void) {
  static const fc_exp exp[] = {
      FC_EV_DET(0, NULL, NULL,
                "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"ltk_1\"}", 0,
                69, DETECT_MATCH, "slack"),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, FC_SAFE_END};
  FC_RUN(JS, 0, "{\"type\":\"authenticate_meta\",\"Connector\":\"slack\",\"link_token\":\"ltk_1\"}",
         exp, safe);
}

/* The data is the whole body, white space and newlines included. */
static void test_json_whole_body_with_whitespace(void) {
  static const fc_exp exp[] = {
      FC_EV_DET(0, NULL, NULL, " \n{\"a\":1}\n\n", 0, 11, DETECT_SKIPPED, NULL), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, FC_SAFE_END};
  FC_RUN(JS, 0, " \n{\"a\":1}\n\n", exp, safe);
}

/* A body that is not JSON is still one event (the detector's verdict is
 * its business); NDJSON-like bodies are not split. */
static void test_json_not_split(void) {
  static const fc_exp exp1[] = {
      FC_EV_DET(0, NULL, NULL, "hello", 0, 5, DETECT_SKIPPED, NULL), FC_END_EXP};
  static const fc_exp exp2[] = {
      FC_EV_DET(0, NULL, NULL, "{\"link_token\":\"a\"}\n{}\n", 0, 22, DETECT_MALFORMED, NULL),
      FC_END_EXP};
  static const fc_exp exp3[] = {
      FC_EV_DET(0, NULL, NULL, "data: {\"x\":1}\n\n", 0, 15, DETECT_SKIPPED, NULL), FC_END_EXP};
  FC_RUN(JS, 0, "hello", exp1, NULL);
  FC_RUN(JS, 0, "{\"link_token\":\"a\"}\n{}\n", exp2, NULL);
  FC_RUN(JS, 0, "data: {\"x\":1}\n\n", exp3, NULL);
}

static void test_json_detection_nested(void) {
  static const fc_exp exp[] = {
      FC_EV_DET(0, NULL, NULL,
                "{\"result\":{\"content\":[{\"text\":\"{\\\"link_token\\\":\\\"t\\\","
                "\\\"magic_link_url\\\":\\\"u\\\",\\\"connector\\\":\\\"notion\\\"}\"}]}}",
                0, 108, DETECT_MATCH, "notion"),
      FC_END_EXP};
  FC_RUN(JS, 0,
         "{\"result\":{\"content\":[{\"text\":\"{\\\"link_token\\\":\\\"t\\\","
         "\\\"magic_link_url\\\":\\\"u\\\",\\\"connector\\\":\\\"notion\\\"}\"}]}}",
         exp, NULL);
}

/* Empty or white-space-only body: no event. */
static void test_json_empty_or_blank_body(void) {
  static const fc_exp exp[] = {FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, FC_SAFE_END};
  FC_RUN(JS, 0, "", exp, safe);
  FC_RUN(JS, 0, " \r\n\t ", exp, safe);
  FC_RUN(JS, 0, "\n", exp, safe);
}

/* Oversized body: on_oversized as soon as it passes the limit, flushable
 * from then on, dispatched at finish with the first max bytes. */
static void test_json_oversized(void) {
  static const fc_exp exp[] = {
      FC_OVS(0),
      FC_EV_BIG(0, NULL, NULL, "{\"a\"", 0, 7),
      FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, {5, FC_FOLLOW}, FC_SAFE_END};
  FC_RUN(JS, 4, "{\"a\":1}", exp, safe);
}

static void test_json_exactly_max(void) {
  static const fc_exp exp[] = {FC_EV(0, NULL, NULL, "[12]", 0, 4), FC_END_EXP};
  static const fc_safe safe[] = {{0, 0}, FC_SAFE_END};
  FC_RUN(JS, 4, "[12]", exp, safe);
}

static void test_json_oversized_not_inspected(void) {
  static const fc_exp exp[] = {
      FC_OVS(0),
      FC_EV_BIG(0, NULL, NULL, "{\"type\":\"authent", 0, 28),
      FC_END_EXP};
  FC_RUN(JS, 16, "{\"type\":\"authenticate_meta\"}", exp, NULL);
}

/* on_event's return value is ignored at finish. */
static int stop_always(void *ctx, const framer_event *ev) {
  (void)ev;
  (*(int *)ctx)++;
  return 1;
}

static void test_json_explicit(void) {
  static const char in[] = "{\"a\":[1,2]}";
  framer_callbacks cb;
  framer_t f;
  int calls = 0;
  memset(&cb, 0, sizeof cb);
  cb.on_event = stop_always;
  CHECK(framer_init(&f, FRAMER_JSON, NULL, &cb, &calls) == 0);
  CHECK_EQ_U64(framer_feed(&f, in, 5), 5);
  CHECK_EQ_U64(framer_safe_offset(&f), 0);
  CHECK_EQ_U64(framer_feed(&f, in + 5, 6), 6);
  CHECK_EQ_U64(framer_safe_offset(&f), 0);
  CHECK(calls == 0);
  framer_finish(&f);
  CHECK(calls == 1);
  CHECK_EQ_U64(framer_safe_offset(&f), 11);
  CHECK_EQ_U64(f.stats.events, 1);
  framer_close(&f);
}

/* ---- RAW --------------------------------------------------------------- */

static void test_raw_no_events(void) {
  static const fc_exp exp[] = {FC_END_EXP};
  static const fc_safe safe[] = {{0, FC_FOLLOW}, FC_SAFE_END};
  FC_RUN(FRAMER_RAW, 0, "data: a\n\n{\"type\":\"authenticate_meta\"}\n", exp, safe);
  /* max_event_bytes means nothing to RAW: no on_oversized. */
  FC_RUN(FRAMER_RAW, 4, "0123456789\n\n0123456789", exp, safe);
  FC_RUN(FRAMER_RAW, 0, "", exp, safe);
}

/* ---- format helpers ---------------------------------------------------- */

static framer_format ct(const char *s) {
  return framer_format_from_content_type(s, strlen(s));
}

static void test_format_from_content_type(void) {
  CHECK(ct("text/event-stream") == FRAMER_SSE);
  CHECK(ct("TEXT/EVENT-STREAM") == FRAMER_SSE);
  CHECK(ct("Text/Event-Stream; charset=utf-8") == FRAMER_SSE);
  CHECK(ct("text/event-stream;charset=UTF-8") == FRAMER_SSE);
  CHECK(ct("application/x-ndjson") == FRAMER_NDJSON);
  CHECK(ct("Application/X-NDJSON; charset=utf-8") == FRAMER_NDJSON);
  CHECK(ct("application/jsonl") == FRAMER_NDJSON);
  CHECK(ct("application/JSONL;charset=utf-8") == FRAMER_NDJSON);
  CHECK(ct("application/stream+json") == FRAMER_NDJSON);
  CHECK(ct("application/Stream+JSON; charset=utf-8") == FRAMER_NDJSON);
  CHECK(ct("application/json") == FRAMER_JSON);
  CHECK(ct("APPLICATION/JSON") == FRAMER_JSON);
  CHECK(ct("application/json; charset=utf-8") == FRAMER_JSON);
  CHECK(ct("application/json;charset=utf-8") == FRAMER_JSON);
  /* RFC 9110: parameters = *( OWS ";" OWS [ parameter ] ) */
  CHECK(ct("application/json ; charset=utf-8") == FRAMER_JSON);
  CHECK(ct("text/event-stream\t;x=y") == FRAMER_SSE);
  CHECK(ct("application/x-ndjson ") == FRAMER_NDJSON);
  /* Anything else is RAW, including near misses. */
  CHECK(ct("") == FRAMER_RAW);
  CHECK(ct("text/plain") == FRAMER_RAW);
  CHECK(ct("text/html; charset=utf-8") == FRAMER_RAW);
  CHECK(ct("application/octet-stream") == FRAMER_RAW);
  CHECK(ct("application/problem+json") == FRAMER_RAW);
  CHECK(ct("application/json-seq") == FRAMER_RAW);
  CHECK(ct("application/jsonx") == FRAMER_RAW);
  CHECK(ct("application/ndjson-x") == FRAMER_RAW);
  CHECK(ct("text/event-streams") == FRAMER_RAW);
  CHECK(ct("text/event") == FRAMER_RAW);
  CHECK(ct("application") == FRAMER_RAW);
  CHECK(ct("x-text/event-stream") == FRAMER_RAW);
  CHECK(ct("application/x-json") == FRAMER_RAW);
  CHECK(framer_format_from_content_type(NULL, 0) == FRAMER_RAW);
  CHECK(framer_format_from_content_type(NULL, 16) == FRAMER_RAW);
  /* Only len bytes count. */
  CHECK(framer_format_from_content_type("application/jsonl", 16) == FRAMER_JSON);
  CHECK(framer_format_from_content_type("application/json", 15) == FRAMER_RAW);
  CHECK(framer_format_from_content_type("text/event-streamXYZ", 17) == FRAMER_SSE);
  CHECK(framer_format_from_content_type("text/event-stream", 0) == FRAMER_RAW);
}

static void test_format_names(void) {
  framer_format out;
  CHECK_MEM(framer_format_name(FRAMER_RAW), 3, "raw");
  CHECK_MEM(framer_format_name(FRAMER_SSE), 3, "sse");
  CHECK_MEM(framer_format_name(FRAMER_NDJSON), 6, "ndjson");
  CHECK_MEM(framer_format_name(FRAMER_JSON), 4, "json");
  CHECK(strcmp(framer_format_name(FRAMER_NDJSON), "ndjson") == 0);

  out = FRAMER_RAW;
  CHECK(framer_format_parse("sse", &out) == 0);
  CHECK(out == FRAMER_SSE);
  CHECK(framer_format_parse("ndjson", &out) == 0);
  CHECK(out == FRAMER_NDJSON);
  CHECK(framer_format_parse("json", &out) == 0);
  CHECK(out == FRAMER_JSON);
  CHECK(framer_format_parse("raw", &out) == 0);
  CHECK(out == FRAMER_RAW);
  CHECK(framer_format_parse("auto", &out) == -EINVAL);
  CHECK(framer_format_parse("", &out) == -EINVAL);
  CHECK(framer_format_parse("sse ", &out) == -EINVAL);
  CHECK(framer_format_parse("jsonl", &out) == -EINVAL);
  CHECK(framer_format_parse("ss", &out) == -EINVAL);
  CHECK(framer_format_parse("text/event-stream", &out) == -EINVAL);
}

static void test_init(void) {
  framer_t f;
  CHECK(framer_init(&f, (framer_format)4, NULL, NULL, NULL) == -EINVAL);
  CHECK(framer_init(&f, (framer_format)-1, NULL, NULL, NULL) == -EINVAL);
  CHECK(framer_init(&f, FRAMER_JSON, NULL, NULL, NULL) == 0);
  CHECK_EQ_U64(f.max_event_bytes, FRAMER_DEFAULT_MAX_EVENT_BYTES);
  framer_close(&f);
  CHECK(framer_init(&f, FRAMER_RAW, NULL, NULL, NULL) == 0);
  CHECK_EQ_U64(framer_feed(&f, "abc", 3), 3);
  CHECK_EQ_U64(framer_safe_offset(&f), 3);
  framer_finish(&f);
  CHECK_EQ_U64(f.stats.events, 0);
  framer_close(&f);
}

int main(void) {
  RUN(test_json_one_event_at_finish);
  RUN(test_json_whole_body_with_whitespace);
  RUN(test_json_not_split);
  RUN(test_json_detection_nested);
  RUN(test_json_empty_or_blank_body);
  RUN(test_json_oversized);
  RUN(test_json_exactly_max);
  RUN(test_json_oversized_not_inspected);
  RUN(test_json_explicit);
  RUN(test_raw_no_events);
  RUN(test_format_from_content_type);
  RUN(test_format_names);
  RUN(test_init);
  return unit_report();
}
