/* utf8.h - UTF-8 validation, shared by the iCal parser and the JSON writer. */
#ifndef CABANAS_UTF8_H
#define CABANAS_UTF8_H

#include <stddef.h>

/* Length of the UTF-8 sequence at s (n > 0 bytes available), or 0 when it is not valid UTF-8 (overlong
 * forms, surrogates and code points past U+10FFFF included): the rules jansson applies too. */
size_t utf8_len(const unsigned char *s, size_t n);

#endif
