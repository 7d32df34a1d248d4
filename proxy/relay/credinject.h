/* credinject: the user's credential added to a tool call (DESIGN.md
 * "Connections": injection on tool routes; route key `credentials:
 * {connector?, header, value}`).
 *
 * On a `mode: tool` route with credentials, before a request goes upstream
 * (first send and every retry of the pause):
 *   1. the request is read whole (up to CREDINJECT_BODY_MAX bytes: the tool
 *      name is in its JSON-RPC body, and a held call must be kept whole);
 *   2. the connector is the route's, else the one of the called tool
 *      (JSON-RPC `tools/call` params.name by detect.h's tool-name rules:
 *      `slack__post_message`, `authenticate_slack`); none: no injection;
 *   3. the worker asks the control loop for the registered user's fresh
 *      credential (credserve.h; through the pausehub page queue, answered
 *      in the worker's mailbox: the worker never waits);
 *   4. with one, header: value (the template's {token} filled) goes
 *      upstream; without a usable connection, a POST call (a JSON-RPC
 *      tools/call, or any body that is not JSON-RPC) is answered by
 *      authrelay itself with the auth-required form of its dialect (a
 *      JSON-RPC request: a result whose content[0].text is the
 *      authenticate_meta JSON; else the token API's 409 body), which goes
 *      through the usual detection: the tool-mode pause holds the call,
 *      the user connects through the Link page, and the retry (asking
 *      again) carries the credential.
 * The agent's own header of that name never goes upstream on such a
 * route, with or without a credential: the route owns it, so a client
 * cannot choose the credential a tool server sees (credinject_strip).
 * No trusted registered user, no connector, or (no connection) a request
 * that is not a call (initialize, tools/list, a GET stream): forwarded
 * without a credential (the tool server decides), counted. Remote mode
 * (link_service.url): 501.
 *
 * One of the exchange's files (exchange_int.h). The filled line lives in
 * the exchange until the request ends and is wiped then; the secret is
 * never logged.
 */
#ifndef AUTHRELAY_CREDINJECT_H
#define AUTHRELAY_CREDINJECT_H

#include <stddef.h>

#include "config.h"
#include "dynbuf.h"

#define CREDINJECT_BODY_MAX 65536   /* request body bytes read for the tool name */
#define CREDINJECT_SECRET_MAX 4096  /* bytes of a credential put into a header */
#define CREDINJECT_SLUG_MAX 64      /* bytes of a connector slug */
#define CREDINJECT_ANSWER_MAX 8192  /* bytes of the auth-required answer authrelay gives */
#define CREDINJECT_DEPTH_MAX 32     /* JSON nesting read in a request body */

/* ---- the parts that need no exchange (tests/proxy/relay/test_credinject.c) */

/* "header: value\r\n" with tmpl's {token} replaced by secret[0, len),
 * into *line (heap, *line_len bytes; the caller wipes and frees it).
 * Returns 0, -EINVAL (the secret is empty or holds a byte outside visible
 * ASCII and space: it could split the header), -E2BIG (secret over
 * CREDINJECT_SECRET_MAX) or -ENOMEM. */
int credinject_fill(const char *header, const char *tmpl, const char *secret, size_t len, char **line,
                    size_t *line_len);

/* The connector of a call on a route with credentials, into out: the
 * route's, else (body[0, len) a JSON-RPC "tools/call" request of at most
 * CREDINJECT_BODY_MAX bytes; body may be NULL) the one of params.name.
 * Returns 0, or -ENOENT when there is none. */
int credinject_connector(const config_route *route, const char *body, size_t len,
                         char out[CREDINJECT_SLUG_MAX + 1]);

/* 1 when a call without a credential is answered with auth-required and
 * held: body[0, len) is a JSON-RPC tools/call, or not a JSON-RPC request
 * at all (a plain tool call); 0 for other JSON-RPC methods (initialize,
 * tools/list, notifications: sent on without a credential, the tool
 * server decides). */
int credinject_holdable(const char *body, size_t len);

/* Removes every line of header name (any case) from a request head as
 * proxyhead_build_request wrote it (request line, "Name: value\r\n"
 * lines, blank line). Returns how many were removed. */
size_t credinject_strip(dynbuf *head, const char *name);

/* The auth-required answer for a call to connector: *jsonrpc set to 1 and
 * {"jsonrpc":"2.0","id":ID,"result":{"content":[{"type":"text","text":
 * "<authenticate_meta JSON>"}]}} when body[0, len) is a JSON-RPC request
 * with an id; else *jsonrpc 0 and the authenticate_meta object itself (the
 * token API's 409 body). Its link members are empty: the pause's rewrite
 * puts the trusted link in. Returns 0 or a dynbuf error. */
int credinject_auth_required(dynbuf *out, const char *body, size_t len, const char *connector, int *jsonrpc);

#endif
