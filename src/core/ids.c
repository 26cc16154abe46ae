/* ids.c - request ids and random bytes. See ids.h. */
#include "ids.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int ids_request_id_valid(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= 64)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return 0;
    }
    return n >= 1;
}

void ids_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            abort();
        }
        p += r;
        n -= (size_t)r;
    }
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ids_request_id_new(char *out)
{
    static __thread uint64_t state;
    static __thread int seeded;
    static const char hex[] = "0123456789abcdef";
    if (!seeded) {
        ids_random_bytes(&state, sizeof state);
        seeded = 1;
    }
    uint64_t a = splitmix64(&state), b = splitmix64(&state);
    for (int i = 0; i < 16; i++) {
        out[i] = hex[(a >> (i * 4)) & 0xf];
        out[16 + i] = hex[(b >> (i * 4)) & 0xf];
    }
    out[REQUEST_ID_LEN] = '\0';
}
