// SPDX-License-Identifier: GPL-2.0
/* famfs-bpf: the command line; the commands live in cli*.c (the library). */
#include <stdio.h>

#include "cli.h"

int main(int argc, char **argv)
{
	return famfs_cli_run(argc, argv, stdout);
}
