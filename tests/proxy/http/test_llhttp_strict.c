/* test_llhttp_strict: the llhttp the proxy links is the strict build.
 *
 * llhttp is compiled from Debian's node-llhttp sources by CMake with
 * LLHTTP_STRICT_MODE=1. These inputs are accepted by llhttp's lenient build
 * and must be refused by ours; a plain valid request must still parse. The
 * proxy relies on this to answer malformed requests with 400 instead of
 * guessing (request smuggling through bare CR, data after "Connection:
 * close", odd bytes in the target).
 */
#include <stdio.h>
#include <string.h>

#include "llhttp.h"
#include "unit.h"

static int messages;

static int on_message_complete(llhttp_t *p) {
  (void)p;
  messages++;
  return 0;
}

/* Parses text as requests; returns llhttp's error code (HPE_OK if all of it
 * parsed). */
static llhttp_errno_t parse_request(const char *text) {
  llhttp_settings_t settings;
  llhttp_t parser;
  llhttp_settings_init(&settings);
  settings.on_message_complete = on_message_complete;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  messages = 0;
  return llhttp_execute(&parser, text, strlen(text));
}

static void accepts_valid_requests(void) {
  CHECK(parse_request("GET /stream?x=1 HTTP/1.1\r\nHost: a\r\n\r\n") == HPE_OK);
  CHECK_EQ_U64(messages, 1);
  CHECK(parse_request("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
                      "GET / HTTP/1.1\r\nHost: a\r\n\r\n") == HPE_OK);
  CHECK_EQ_U64(messages, 2);
  CHECK(parse_request("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n0\r\n\r\n") == HPE_OK);
  CHECK_EQ_U64(messages, 1);
}

static void refuses_bare_cr(void) {
  CHECK(parse_request("GET / HTTP/1.1\rHost: a\r\n\r\n") != HPE_OK);
  CHECK(parse_request("GET / HTTP/1.1\r\nHost: a\r\n\rX") != HPE_OK);
  CHECK_EQ_U64(messages, 0);
}

static void refuses_bad_chunk_framing(void) {
  CHECK(parse_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\rabc\r\n0\r\n\r\n") != HPE_OK);
  CHECK(parse_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabcX0\r\n\r\n") != HPE_OK);
  CHECK_EQ_U64(messages, 0);
}

static void refuses_data_after_connection_close(void) {
  CHECK(parse_request("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
                      "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n") != HPE_OK);
  CHECK_EQ_U64(messages, 1);
}

static void refuses_odd_bytes_in_target(void) {
  CHECK(parse_request("GET /a\x7f" "b HTTP/1.1\r\nHost: a\r\n\r\n") != HPE_OK);
  CHECK(parse_request("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n") != HPE_OK);
  CHECK_EQ_U64(messages, 0);
}

static int status_code;

static int on_headers_complete(llhttp_t *p) {
  status_code = p->status_code;
  return 0;
}

static llhttp_errno_t parse_response(const char *text) {
  llhttp_settings_t settings;
  llhttp_t parser;
  llhttp_settings_init(&settings);
  settings.on_headers_complete = on_headers_complete;
  llhttp_init(&parser, HTTP_RESPONSE, &settings);
  status_code = -1;
  return llhttp_execute(&parser, text, strlen(text));
}

/* What even the strict build lets through, and proxy/proxyhead.c refuses
 * (test_proxyhead checks that it does): if a newer llhttp refuses these
 * itself, this test says so, and proxyhead's check may go. */
static void gaps_proxyhead_covers(void) {
  CHECK(parse_request("GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n") == HPE_OK);
  CHECK(parse_request("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == HPE_OK);
  CHECK(parse_request("POST / HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\n"
                      "Content-Length: 1\r\n\r\nx") == HPE_OK);
  CHECK(parse_request("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == HPE_OK);
  CHECK(parse_request("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == HPE_OK);
  CHECK(parse_response("HTTP/1.1 0200 OK\r\nContent-Length: 0\r\n\r\n") == HPE_OK);
  CHECK_EQ_U64(status_code, 200); /* four digits read as 200 */
  CHECK(parse_response("HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n") == HPE_OK);
  CHECK_EQ_U64(status_code, 20);
  CHECK(parse_response("HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n") == HPE_OK);
  CHECK_EQ_U64(status_code, 0); /* "200 OK" taken as the reason */
}

int main(void) {
  RUN(accepts_valid_requests);
  RUN(refuses_bare_cr);
  RUN(refuses_bad_chunk_framing);
  RUN(refuses_data_after_connection_close);
  RUN(refuses_odd_bytes_in_target);
  RUN(gaps_proxyhead_covers);
  return unit_report();
}
