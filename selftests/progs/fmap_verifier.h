/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by progs/fmap_verifier.bpf.c and prog_tests/fmap_verifier.c */
#ifndef FMAP_VERIFIER_H
#define FMAP_VERIFIER_H

/* entries of the ARRAY map the accessor searches read */
#define FV_BIG		(1U << 17)

#endif
