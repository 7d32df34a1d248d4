/* utf8: the one UTF-8 decoder step the parser library shares.
 *
 * Well-formed UTF-8 as RFC 3629 and the WHATWG Encoding standard define it:
 * no overlong forms, no surrogates, nothing above U+10FFFF. jsonw.c uses it
 * to replace invalid sequences with U+FFFD (one per maximal subpart, as
 * TextDecoder does); detect.c to refuse payloads that are not UTF-8.
 */
#ifndef AUTHRELAY_UTF8_H
#define AUTHRELAY_UTF8_H

#include <stddef.h>

/* Length (1 to 4) of the well-formed sequence at s[0, len), which must start
 * with a byte >= 0x80 and len >= 1; or 0 when it is invalid or cut by len,
 * and then *bad is the length of its maximal subpart (>= 1): a sequence cut
 * by len has s + *bad == s + len. */
size_t utf8_sequence(const unsigned char *s, size_t len, size_t *bad);

#endif
