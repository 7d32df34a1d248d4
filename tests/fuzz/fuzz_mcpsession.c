/* fuzz_mcpsession: libFuzzer harness for what MCP URL elicitation reads
 * from hostile peers (proxy/relay/mcpsession.h): a JSON-RPC request body,
 * whose id authrelay echoes in its -32042 answer, and a session id.
 *
 * Input: the whole input is the request body, and also (as is) the
 * Mcp-Session-Id given to the session table.
 *
 * Invariants (abort() on violation):
 *   - mcpsession_parse() returns 0, -EINVAL or -E2BIG (only past
 *     MCPSESSION_BODY_MAX), or -ENOMEM; url_elicitation only in an
 *     initialize; a body is not both initialize and tools/call;
 *   - a kept id is at most MCPSESSION_RPC_ID_MAX bytes, and the answer
 *     built with it is one JSON-RPC object that reads back with the same
 *     id text, no method, and the URL elicitation error; its SSE form is
 *     one "message" event with a single data line;
 *   - the table remembers a session id iff it is 1 to MCPSESSION_SID_MAX
 *     bytes of visible ASCII, and then finds it.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mcpsession.h"

static mcpsession_table *table;

static void check_answer(const mcpsession_rpc *rpc) {
  static const char prefix[] = "event: message\ndata: ";
  mcpsession_rpc back;
  dynbuf out;
  size_t i;
  dynbuf_init(&out, 8192);
  REQUIRE(mcpsession_render_answer(&out, 0, rpc->id, "el_0", "http://h/_authrelay/link/ltk_0", "m") == 0);
  REQUIRE(mcpsession_parse(out.ptr, out.len, &back) == 0);
  REQUIRE_BYTES(strcmp(back.id, rpc->id) == 0, "the answer's id reads back the same", "id", rpc->id,
                strlen(rpc->id));
  REQUIRE(!back.initialize && !back.tools_call);
  REQUIRE(memmem(out.ptr, out.len, "\"code\":-32042", 13) != NULL);
  out.len = 0;
  REQUIRE(mcpsession_render_answer(&out, 1, rpc->id, "el_0", "http://h/l", "m\nn") == 0);
  REQUIRE(out.len > sizeof prefix + 2 && memcmp(out.ptr, prefix, sizeof prefix - 1) == 0);
  REQUIRE(out.ptr[out.len - 2] == '\n' && out.ptr[out.len - 1] == '\n');
  for (i = sizeof prefix - 1; i < out.len - 2; i++)
    REQUIRE(out.ptr[i] != '\n' && out.ptr[i] != '\r');
  dynbuf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data;
  mcpsession_rpc rpc;
  int sid_valid;
  size_t i;
  int rc;
  if (table == NULL) {
    table = mcpsession_table_new(4, 1000, 1);
    REQUIRE(table != NULL);
  }
  rc = mcpsession_parse(p, size, &rpc);
  REQUIRE_CMP(rc == 0 || rc == -EINVAL || rc == -ENOMEM || (rc == -E2BIG && size > MCPSESSION_BODY_MAX),
              "mcpsession_parse's result", rc, size);
  if (rc == 0) {
    REQUIRE(!rpc.url_elicitation || rpc.initialize);
    REQUIRE(!(rpc.initialize && rpc.tools_call));
    REQUIRE(strlen(rpc.id) <= MCPSESSION_RPC_ID_MAX);
    if (rpc.id[0] != '\0')
      check_answer(&rpc);
  }
  sid_valid = size >= 1 && size <= MCPSESSION_SID_MAX;
  for (i = 0; i < size && sid_valid; i++)
    sid_valid = data[i] >= 0x21 && data[i] <= 0x7e;
  rc = mcpsession_remember(table, p, size, 1, 1);
  REQUIRE_CMP(sid_valid ? rc == 0 || rc == -ENOMEM : rc == -EINVAL, "mcpsession_remember's result", rc, size);
  if (rc == 0)
    REQUIRE(mcpsession_declared(table, p, size, 2) == 1);
  REQUIRE(mcpsession_count(table) <= 4);
  return 0;
}
