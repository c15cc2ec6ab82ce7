/* cronwarden.c - the cronwarden program: the command line (main.c) with no
 * function jobs of its own. A program embedding cronwarden has its own
 * main() calling cronwarden_main() (cronwarden.h) instead. */
#include "cli.h"

int main(int argc, char **argv)
{
        return cw_cli_main(NULL, argc, argv);
}
