/* cli.h - the subcommands of the `cabanas` binary. Each returns the process exit code:
 * 0 success, 1 runtime failure, 2 usage or configuration error. */
#ifndef CABANAS_CLI_H
#define CABANAS_CLI_H

#include "../core/config.h"

#define EXIT_USAGE 2

/* Parses the options every subcommand shares (--env-file FILE) plus the flags in `flags` (NULL-terminated
 * "--name" strings, each setting flag_values[i] = 1). Loads the config. Returns 0 or EXIT_USAGE. */
int cli_parse(int argc, char **argv, const char *const *flags, int *flag_values, struct config *cfg);

/* Option helpers for the client tools: --name VALUE / --name=VALUE (1 taken, 0 not this option, -1 value
 * missing), and a strict integer in [min, max] (0 or -1). */
int cli_take_opt(int argc, char **argv, int *i, const char *name, const char **val);
int cli_parse_long(const char *s, long min, long max, long *out);
/* argv[*i] as one of `names` (options that take a value): 0 with *name and *val set, or -1 after printing
 * "unknown option" / "needs a value" for `cmd`. */
int cli_match_opt(int argc, char **argv, int *i, const char *const *names, const char *cmd, const char **name,
                  const char **val);

int cli_serve(int argc, char **argv);
int cli_migrate(int argc, char **argv);
int cli_seed(int argc, char **argv);
/* admin set-password EMAIL | admin token EMAIL (src/cli/admin.c) */
int cli_admin(int argc, char **argv);
/* backup --to FILE: online copy of the SQLite database (src/cli/backup.c); exit 2 on PostgreSQL */
int cli_backup(int argc, char **argv);
/* bench --base-url URL [...]: HTTP latency percentiles and SLO verdicts of a running server
 * (src/cli/bench.c). 0 every SLO holds, 1 an SLO fails, 2 usage error. */
int cli_bench(int argc, char **argv);
/* overlap-test --base-url URL [...]: N identical holds released at once; exactly one must win
 * (src/cli/overlap_test.c). 0 pass, 1 fail, 2 usage error, 3 RUN_MUTATING not set. */
int cli_overlap_test(int argc, char **argv);

#endif
