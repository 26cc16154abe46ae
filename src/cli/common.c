/* common.c - option parsing shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_parse(int argc, char **argv, const char *const *flags, int *flag_values, struct config *cfg)
{
    const char *env_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--env-file") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cabanas %s: --env-file needs a FILE\n", argv[0]);
                return EXIT_USAGE;
            }
            env_file = argv[++i];
            continue;
        }
        if (strncmp(argv[i], "--env-file=", 11) == 0) {
            env_file = argv[i] + 11;
            continue;
        }
        int known = 0;
        for (int f = 0; flags && flags[f]; f++)
            if (strcmp(argv[i], flags[f]) == 0) {
                flag_values[f] = 1;
                known = 1;
            }
        if (!known) {
            fprintf(stderr, "cabanas %s: unknown option '%s'\nusage: see `cabanas help`\n", argv[0], argv[i]);
            return EXIT_USAGE;
        }
    }
    char err[512];
    if (config_load(cfg, env_file, err, sizeof err) < 0) {
        fprintf(stderr, "cabanas: configuration error: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

/* 1 when argv[*i] is `name` given as "--name VALUE" or "--name=VALUE" (*val set, *i advanced past a
 * separate value), 0 when it is another argument, -1 when the value is missing. */
int cli_take_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

int cli_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int cli_match_opt(int argc, char **argv, int *i, const char *const *names, const char *cmd, const char **name,
                  const char **val)
{
    int t = 0;
    *name = NULL;
    for (int k = 0; names[k] && !*name; k++)
        if ((t = cli_take_opt(argc, argv, i, names[k], val)) != 0)
            *name = names[k];
    if (!*name) {
        fprintf(stderr, "cabanas %s: unknown option '%s'\n", cmd, argv[*i]);
        return -1;
    }
    if (t < 0) {
        fprintf(stderr, "cabanas %s: %s needs a value\n", cmd, *name);
        return -1;
    }
    return 0;
}
