/* oauth2_result.h: what the oauth2.h tests (test_oauth2_requests.c against
 * a small in-process server, test_oauth2_standin.c against the Python
 * provider stand-in) keep of a token request's answer, and the wait for it
 * on their loop. Header-only, for those two tests. */
#ifndef AUTHRELAY_TEST_OAUTH2_RESULT_H
#define AUTHRELAY_TEST_OAUTH2_RESULT_H

#include <uv.h>

#include "oauth2.h"

typedef struct oauth2_result {
  int done;         /* answers so far: one is expected */
  int status;
  oauth2_token tok; /* a copy */
} oauth2_result;

/* The oauth2.h callback: ctx is an oauth2_result. */
static inline void oauth2_result_done(void *ctx, int status, oauth2_token *tok) {
  oauth2_result *r = ctx;
  r->done++;
  r->status = status;
  r->tok = *tok;
}

/* Runs loop until r has its answer. */
static inline void oauth2_result_wait(uv_loop_t *loop, oauth2_result *r) {
  while (!r->done)
    uv_run(loop, UV_RUN_ONCE);
}

#endif
