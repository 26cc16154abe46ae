/* password.c - argon2id hashing behind a small concurrency limit. See password.h.
 *
 * The limit is a mutex + condition variable + counter (statically initialized, so there is nothing to
 * set up before threads start). The dummy hash was made once with the same parameters from 32 random
 * bytes that were then thrown away: verifying against it costs the same as a real verify, and no input
 * can match it (password_verify_dummy() would refuse a match anyway). */
#include "password.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <time.h>

#define OPSLIMIT 2ULL
#define MEMLIMIT (19u * 1024u * 1024u)

static const char dummy_hash[] =
    "$argon2id$v=19$m=19456,t=2,p=1$gne89ruL+iEysAjqURuv4Q$uQdFcvuNZlY2e6ApeGsDSH5b2cXIbwaNJtTtYhY30P4";

_Static_assert(PASSWORD_HASH_MAX == crypto_pwhash_STRBYTES, "the hash buffer is libsodium's string size");

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slots_freed = PTHREAD_COND_INITIALIZER;
static int slots_busy;

static void sodium_start(void)
{
    if (sodium_init() < 0)
        abort();
}

/* Waits up to PASSWORD_WAIT_MS for one of the PASSWORD_CONCURRENCY slots. 0 or PASSWORD_BUSY. */
static int slot_take(void)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline); /* the clock of a statically initialized condvar */
    deadline.tv_sec += PASSWORD_WAIT_MS / 1000;
    deadline.tv_nsec += (PASSWORD_WAIT_MS % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&slots_lock);
    while (slots_busy >= PASSWORD_CONCURRENCY) {
        if (pthread_cond_timedwait(&slots_freed, &slots_lock, &deadline) == ETIMEDOUT) {
            rc = PASSWORD_BUSY;
            break;
        }
    }
    if (rc == 0)
        slots_busy++;
    pthread_mutex_unlock(&slots_lock);
    return rc;
}

static void slot_give(void)
{
    pthread_mutex_lock(&slots_lock);
    slots_busy--;
    pthread_cond_signal(&slots_freed);
    pthread_mutex_unlock(&slots_lock);
}

int password_hash(const char *password, size_t len, char out[PASSWORD_HASH_MAX])
{
    pthread_once(&sodium_once, sodium_start);
    out[0] = '\0';
    if (len < PASSWORD_MIN_LEN || len > PASSWORD_MAX_LEN)
        return PASSWORD_ERR;
    if (slot_take() < 0)
        return PASSWORD_BUSY;
    int rc = crypto_pwhash_str_alg(out, password, len, OPSLIMIT, MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13);
    slot_give();
    return rc == 0 ? PASSWORD_OK : PASSWORD_ERR;
}

int password_verify(const char *hash, const char *password, size_t len)
{
    pthread_once(&sodium_once, sodium_start);
    if (len > PASSWORD_MAX_LEN)
        return PASSWORD_ERR;
    if (slot_take() < 0)
        return PASSWORD_BUSY;
    int rc = crypto_pwhash_str_verify(hash, password, len);
    slot_give();
    return rc == 0 ? PASSWORD_OK : PASSWORD_MISMATCH;
}

int password_verify_dummy(const char *password, size_t len)
{
    int rc = password_verify(dummy_hash, password, len);
    return rc == PASSWORD_BUSY ? PASSWORD_BUSY : PASSWORD_MISMATCH;
}
