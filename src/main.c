/* main.c - the `cabanas` binary: a table of subcommands. */
#include "cli/cli.h"
#include "core/config.h"
#include "core/version.h"

#include <stdio.h>
#include <string.h>

static int cmd_version(int argc, char **argv);
static int cmd_config_check(int argc, char **argv);
static int cmd_help(int argc, char **argv);

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *usage;
} commands[] = {
    {"serve", cli_serve, "serve [--migrate] [--env-file FILE]   run the HTTP server"},
    {"migrate", cli_migrate, "migrate [--status] [--env-file FILE]  apply pending migrations (or list them)"},
    {"seed", cli_seed, "seed [--env-file FILE]               create the demo accommodations if missing"},
    {"backup", cli_backup, "backup --to FILE [--env-file FILE]   online copy of the SQLite database"},
    {"admin", cli_admin, "admin set-password|token EMAIL       set an admin password (stdin), print a token"},
    {"bench", cli_bench, "bench --base-url URL [options]       latency percentiles, SLO verdicts"},
    {"overlap-test", cli_overlap_test, "overlap-test --base-url URL [...]    race one stay (RUN_MUTATING=1)"},
    {"config-check", cmd_config_check,
     "config-check [--env-file FILE]       print the effective configuration"},
    {"version", cmd_version, "version                              print version and commit"},
    {"help", cmd_help, "help                                 this text"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cabanas <command> [options]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  cabanas %s\n", commands[i].usage);
    fprintf(out, "\nConfiguration comes from the environment; see docs/configuration.md.\n");
}

static int cmd_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "cabanas version: unexpected argument '%s'\n", argv[1]);
        return EXIT_USAGE;
    }
    printf("cabanas %s (commit %s)\n", CABANAS_VERSION, CABANAS_COMMIT);
    return 0;
}

static int cmd_config_check(int argc, char **argv)
{
    struct config cfg;
    int rc = cli_parse(argc, argv, NULL, NULL, &cfg);
    if (rc)
        return rc;
    config_print(&cfg, stdout);
    return 0;
}

static int cmd_help(int argc, char **argv)
{
    (void)argc, (void)argv;
    usage(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return cmd_help(argc - 1, argv + 1);
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cabanas: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
