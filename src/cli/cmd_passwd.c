/* cmd_passwd.c - `cronwarden passwd`: the admin UI's credentials.
 *
 * Without options it reads a password and prints its argon2id hash for
 * [admin] password_hash. From a terminal it asks twice with echo (and
 * signal keys) off, so Ctrl-C arrives as a character we refuse instead of
 * killing us with the terminal left silent; from a pipe it reads one line.
 * With --token NAME it prints a new random API token and the
 * `api_token = NAME sha256:HEX` line that lets it in: only the hash goes
 * into the config, the token itself is shown once. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

#define PASSWORD_MAX 4096

static const char passwd_usage[] =
        "Usage: cronwarden passwd [--token NAME]\n"
        "\n"
        "Makes the credentials of the admin web UI and API ([admin] section).\n"
        "\n"
        "Without options: reads a password (from a terminal: asked twice, not\n"
        "shown; from a pipe: the first line) and prints its argon2id hash, the\n"
        "value for [admin] password_hash:\n"
        "    [admin]\n"
        "    user          = admin\n"
        "    password_hash = $argon2id$v=19$m=65536,t=2,p=1$...\n"
        "\n"
        "Options:\n"
        "  --token NAME   print a new random API token (256 bits, URL-safe) on the\n"
        "                 first line and, on the second, the line to add to [admin]:\n"
        "                     api_token = NAME sha256:HEX\n"
        "                 Clients send it as 'Authorization: Bearer TOKEN' to\n"
        "                 /api/v1/ and /metrics. Only the hash is kept in the\n"
        "                 config: store the token where the client needs it.\n"
        "                 NAME: letters, digits, '_', '.', '-' (at most 64).\n"
        "\n"
        "Exit status: 0 printed, 2 empty or mismatched password, bad NAME.\n";

/* Reads one line from f into a new string (no newline); NULL at EOF. */
static char *read_line(FILE *f, bool *too_long)
{
        char *line = NULL;
        size_t cap = 0;
        ssize_t n = getline(&line, &cap, f);

        *too_long = false;
        if (n < 0) {
                free(line);
                return NULL;
        }
        if (n > 0 && line[n - 1] == '\n')
                line[--n] = '\0';
        if (n > 0 && line[n - 1] == '\r')
                line[--n] = '\0';
        if (n > PASSWORD_MAX)
                *too_long = true;
        return line;
}

static void free_secret(char *s)
{
        if (s) {
                sodium_memzero(s, strlen(s));
                free(s);
        }
}

/* A prompt on the terminal with echo off; NULL at EOF or on Ctrl-C. */
static char *ask(cw_cli *cli, const char *prompt, bool *too_long)
{
        struct termios old, quiet;
        bool restore = false;
        char *line;

        fputs(prompt, cli->err);
        fflush(cli->err);
        if (tcgetattr(STDIN_FILENO, &old) == 0) {
                quiet = old;
                quiet.c_lflag &= ~(tcflag_t)(ECHO | ISIG);
                quiet.c_lflag |= ECHONL;
                restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
        }
        line = read_line(stdin, too_long);
        if (restore)
                tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        if (line && (strchr(line, 0x03) || strchr(line, 0x1a))) {
                free_secret(line);
                fputc('\n', cli->err);
                return NULL;
        }
        return line;
}

static int hash_password(cw_cli *cli)
{
        char hash[crypto_pwhash_STRBYTES];
        char *pw = NULL, *again = NULL;
        bool tty = isatty(STDIN_FILENO), too_long = false, too_long2 = false;
        int ret = CW_EXIT_USAGE;

        if (tty) {
                pw = ask(cli, "New admin password: ", &too_long);
                if (pw && pw[0] && !too_long)
                        again = ask(cli, "Again: ", &too_long2);
        } else
                pw = read_line(stdin, &too_long);
        if (!pw) {
                cli_fail(cli, "no password read");
                goto out;
        }
        if (!pw[0]) {
                cli_fail(cli, "the password is empty: nothing to hash");
                goto out;
        }
        if (too_long) {
                cli_fail(cli, "the password is longer than %d bytes", PASSWORD_MAX);
                goto out;
        }
        if (tty && (!again || strcmp(pw, again) != 0)) {
                cli_fail(cli, "the passwords do not match: nothing changed");
                goto out;
        }
        if (crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
                cli_fail(cli, "cannot hash the password: out of memory");
                goto out;
        }
        fprintf(cli->out, "%s\n", hash);
        if (isatty(fileno(cli->err)))
                fprintf(cli->err,
                        "Put it in the config's [admin] section:\n    password_hash = %s\n", hash);
        ret = CW_EXIT_OK;
out:
        free_secret(pw);
        free_secret(again);
        return ret;
}

/* Same rule as the config's api_token names (config_keys.c). */
static bool token_name_ok(const char *s)
{
        size_t n;

        for (n = 0; s[n]; n++)
                if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
                      (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '.' || s[n] == '-'))
                        return false;
        return n > 0 && n <= 64;
}

static int make_token(cw_cli *cli, const char *name)
{
        unsigned char raw[32], h[crypto_hash_sha256_BYTES];
        char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
        char token[sizeof(b64) + 8], hex[2 * crypto_hash_sha256_BYTES + 1];

        if (!token_name_ok(name))
                return cli_fail(
                        cli, "token name '%s': use letters, digits, '_', '.' and '-' (at most 64)",
                        name);
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        /* A recognisable prefix lets secret scanners spot a leaked token. */
        snprintf(token, sizeof(token), "cwt_%s", b64);
        crypto_hash_sha256(h, (const unsigned char *)token, strlen(token));
        sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
        fprintf(cli->out, "%s\napi_token = %s sha256:%s\n", token, name, hex);
        if (isatty(fileno(cli->err)))
                fputs("The first line is the token (shown only now); add the second to [admin].\n",
                      cli->err);
        sodium_memzero(raw, sizeof(raw));
        sodium_memzero(b64, sizeof(b64));
        sodium_memzero(token, sizeof(token));
        return CW_EXIT_OK;
}

static int cmd_passwd(cw_cli *cli, int argc, char **argv)
{
        static const struct option options[] = {
                CLI_COMMON_OPTIONS,
                {"token", required_argument, NULL, CLI_OPT_TOKEN},
                {0},
        };
        const char *token_name = NULL;
        bool help = false;
        int opt;

        optind = 0;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
                if (opt == CLI_OPT_TOKEN)
                        token_name = optarg;
                else if (!cli_common_option(cli, opt, optarg, &help))
                        return cli_usage_error(cli, &cw_cmd_passwd,
                                               "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
        }
        if (help) {
                fputs(passwd_usage, cli->out);
                return CW_EXIT_OK;
        }
        if (optind < argc)
                return cli_usage_error(cli, &cw_cmd_passwd, "unexpected argument '%s'",
                                       argv[optind]);
        if (sodium_init() < 0)
                return cli_fail(cli, "cannot initialise libsodium");
        return token_name ? make_token(cli, token_name) : hash_password(cli);
}

const cw_command cw_cmd_passwd = {
        .name = "passwd",
        .run = cmd_passwd,
        .summary = "hash an admin password, or make an API token",
        .usage = passwd_usage,
};
