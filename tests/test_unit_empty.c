/* test_unit_empty: tests/unit.h's rule that a test binary which ran no check
 * fails (a test that asserts nothing proves nothing). This binary runs none;
 * ctest registers it WILL_FAIL, so the suite is green only while
 * unit_report() returns non-zero for it. */
#include "unit.h"

static void checks_nothing(void) {
}

int main(void) {
  RUN(checks_nothing);
  return unit_report();
}
