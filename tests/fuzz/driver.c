/* driver.c - a stand-in for libFuzzer when clang is not installed: replays every file given on the command
 * line (files or directories), then feeds FUZZ_ITERATIONS (default 20000) mutations of them through the
 * target: byte flips, insertions of iCalendar tokens, deletions and splices, from a fixed seed (FUZZ_SEED)
 * so a failure can be reproduced. Stops early after FUZZ_SECONDS. Prints one line; exits non-zero only
 * through the sanitizers or the target's abort(). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUTS 256
#define MAX_LEN (256 * 1024)

static uint8_t *inputs[MAX_INPUTS];
static size_t lens[MAX_INPUTS];
static int ninputs;

static const char *tokens[] = {"BEGIN:VCALENDAR\r\n",
                               "END:VCALENDAR\r\n",
                               "BEGIN:VEVENT\r\n",
                               "END:VEVENT\r\n",
                               "DTSTART;VALUE=DATE:20270101\r\n",
                               "DTEND;VALUE=DATE:20270105\r\n",
                               "DTSTART;TZID=Europe/Madrid:20270101T100000\r\n",
                               "DTSTART:20270101T020000Z\r\n",
                               "RRULE:FREQ=DAILY;COUNT=3\r\n",
                               "RRULE:FREQ=WEEKLY;BYDAY=MO,TU\r\n",
                               "EXDATE;VALUE=DATE:20270102\r\n",
                               "RECURRENCE-ID;VALUE=DATE:20270102\r\n",
                               "DURATION:P2D\r\n",
                               "STATUS:CANCELLED\r\n",
                               "UID:x\r\n",
                               "\r\n ",
                               ";",
                               ":",
                               ",",
                               "\xC3\xB1",
                               "BEGIN:VALARM\r\n",
                               "BEGIN:VTIMEZONE\r\n"};

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f || ninputs >= MAX_INPUTS) {
        if (f)
            fclose(f);
        return;
    }
    uint8_t *buf = malloc(MAX_LEN);
    size_t n = fread(buf, 1, MAX_LEN, f);
    fclose(f);
    inputs[ninputs] = buf;
    lens[ninputs++] = n;
}

static void add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        add_file(path);
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        add_path(p);
    }
    if (d)
        closedir(d);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-')
            add_path(argv[i]);
    const char *it = getenv("FUZZ_ITERATIONS"), *sec = getenv("FUZZ_SECONDS"), *seed = getenv("FUZZ_SEED");
    long iterations = it ? strtol(it, NULL, 10) : 20000;
    double seconds = sec ? strtod(sec, NULL) : 20;
    rng_state = seed ? strtoull(seed, NULL, 10) : 0x9E3779B97F4A7C15ULL;
    if (!rng_state)
        rng_state = 1;
    for (int i = 0; i < ninputs; i++)
        LLVMFuzzerTestOneInput(inputs[i], lens[i]);
    uint8_t *buf = malloc(MAX_LEN);
    time_t start = time(NULL);
    long done = 0;
    for (; done < iterations && difftime(time(NULL), start) < seconds && ninputs > 0; done++) {
        int k = (int)(rnd() % (uint64_t)ninputs);
        size_t n = lens[k];
        memcpy(buf, inputs[k], n);
        int edits = 1 + (int)(rnd() % 8);
        for (int e = 0; e < edits; e++) {
            switch (rnd() % 4) {
            case 0: /* flip a byte */
                if (n)
                    buf[rnd() % n] = (uint8_t)rnd();
                break;
            case 1: { /* insert a token */
                const char *t = tokens[rnd() % (sizeof tokens / sizeof *tokens)];
                size_t tl = strlen(t), at = n ? rnd() % n : 0;
                if (n + tl < MAX_LEN) {
                    memmove(buf + at + tl, buf + at, n - at);
                    memcpy(buf + at, t, tl);
                    n += tl;
                }
                break;
            }
            case 2: /* delete a run */
                if (n > 1) {
                    size_t at = rnd() % n, len = 1 + rnd() % (n - at);
                    if (len > 64)
                        len = 64;
                    memmove(buf + at, buf + at + len, n - at - len);
                    n -= len;
                }
                break;
            default: { /* splice another input's tail */
                int o = (int)(rnd() % (uint64_t)ninputs);
                size_t at = n ? rnd() % n : 0, from = lens[o] ? rnd() % lens[o] : 0;
                size_t len = lens[o] - from;
                if (at + len < MAX_LEN) {
                    memcpy(buf + at, inputs[o] + from, len);
                    n = at + len;
                }
                break;
            }
            }
        }
        LLVMFuzzerTestOneInput(buf, n);
    }
    printf("fuzz driver: %d corpus input(s), %ld mutation(s) in %.0f s, no failure\n", ninputs, done,
           difftime(time(NULL), start));
    free(buf);
    for (int i = 0; i < ninputs; i++)
        free(inputs[i]);
    return 0;
}
