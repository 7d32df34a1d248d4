/* jsontext: what the detector (detect.c) and the rewriter (rewrite.c) both
 * need to read a JSON text the same way: the member names of an
 * auth-required result and the members around it (one classifier, so that
 * the rewriter edits exactly the objects the detector matches), and the two
 * checks that decide whether a text or a string value is parsed as JSON.
 * Static inline: the classifier runs on every member name the detector
 * sees, and stays as fast as when it lived in detect.c.
 */
#ifndef AUTHRELAY_JSONTEXT_H
#define AUTHRELAY_JSONTEXT_H

#include <stddef.h>
#include <string.h>

/* Member names the detector cares about (the rewriter reads TYPE and the
 * three it rewrites). */
enum jsontext_member {
  JSONTEXT_MEMBER_OTHER = 0,
  JSONTEXT_MEMBER_TYPE,
  JSONTEXT_MEMBER_CONNECTOR_UPPER, /* "Connector" */
  JSONTEXT_MEMBER_CONNECTOR,
  JSONTEXT_MEMBER_CONNECTOR_SLUG,
  JSONTEXT_MEMBER_LINK_TOKEN,
  JSONTEXT_MEMBER_MAGIC_LINK_URL,
  JSONTEXT_MEMBER_EXPIRES_AT,
  JSONTEXT_MEMBER_MESSAGE,
  JSONTEXT_MEMBER_TOOL_CALL_ID,
  JSONTEXT_MEMBER_TOOLCALLID, /* "toolCallId" */
  JSONTEXT_MEMBER_CALL_ID,
  JSONTEXT_MEMBER_TOOL_USE_ID,
  JSONTEXT_MEMBER_TOOL_NAME /* "name", "toolName", "tool_name" */
};

/* 1 when s[0, len) is the string lit. */
static inline int jsontext_is(const unsigned char *s, size_t len, const char *lit) {
  return strlen(lit) == len && memcmp(s, lit, len) == 0;
}

/* The member a key (yajl's decoded key) names. */
static inline enum jsontext_member jsontext_member_of(const unsigned char *k, size_t len) {
  switch (len) {
  case 4:
    if (jsontext_is(k, len, "type"))
      return JSONTEXT_MEMBER_TYPE;
    if (jsontext_is(k, len, "name"))
      return JSONTEXT_MEMBER_TOOL_NAME;
    break;
  case 7:
    if (jsontext_is(k, len, "message"))
      return JSONTEXT_MEMBER_MESSAGE;
    if (jsontext_is(k, len, "call_id"))
      return JSONTEXT_MEMBER_CALL_ID;
    break;
  case 8:
    if (jsontext_is(k, len, "toolName"))
      return JSONTEXT_MEMBER_TOOL_NAME;
    break;
  case 9:
    if (jsontext_is(k, len, "Connector"))
      return JSONTEXT_MEMBER_CONNECTOR_UPPER;
    if (jsontext_is(k, len, "connector"))
      return JSONTEXT_MEMBER_CONNECTOR;
    if (jsontext_is(k, len, "tool_name"))
      return JSONTEXT_MEMBER_TOOL_NAME;
    break;
  case 10:
    if (jsontext_is(k, len, "link_token"))
      return JSONTEXT_MEMBER_LINK_TOKEN;
    if (jsontext_is(k, len, "expires_at"))
      return JSONTEXT_MEMBER_EXPIRES_AT;
    if (jsontext_is(k, len, "toolCallId"))
      return JSONTEXT_MEMBER_TOOLCALLID;
    break;
  case 11:
    if (jsontext_is(k, len, "tool_use_id"))
      return JSONTEXT_MEMBER_TOOL_USE_ID;
    break;
  case 12:
    if (jsontext_is(k, len, "tool_call_id"))
      return JSONTEXT_MEMBER_TOOL_CALL_ID;
    break;
  case 14:
    if (jsontext_is(k, len, "connector_slug"))
      return JSONTEXT_MEMBER_CONNECTOR_SLUG;
    if (jsontext_is(k, len, "magic_link_url"))
      return JSONTEXT_MEMBER_MAGIC_LINK_URL;
    break;
  default:
    break;
  }
  return JSONTEXT_MEMBER_OTHER;
}

/* yajl's lexer takes vertical tab and form feed for white space as well (RFC
 * 8259 allows only space, tab, LF and CR), and a raw 0x0B or 0x0C byte is
 * valid nowhere else in a JSON text: inside a string yajl rejects control
 * characters itself. So a text handed to yajl that holds either byte is not
 * JSON. memchr is vectorised in libc; this only runs on text yajl parses. */
static inline int jsontext_has_vt_or_ff(const char *text, size_t len) {
  return memchr(text, '\v', len) != NULL || memchr(text, '\f', len) != NULL;
}

/* 1 when s, past leading JSON white space, starts an object or an array:
 * a string value worth parsing as a JSON text of the next level. */
static inline int jsontext_looks_like_container(const char *s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
      continue;
    return c == '{' || c == '[';
  }
  return 0;
}

#endif
