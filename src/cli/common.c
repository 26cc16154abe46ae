/* common.c - option parsing shared by the subcommands. */
#include "cli.h"

#include <stdio.h>
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
