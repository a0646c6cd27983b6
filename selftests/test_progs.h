/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-guest test runner API, after tools/testing/selftests/bpf/test_progs.h.
 *
 * A test is a file selftests/prog_tests/<name>.c defining
 * "void test_<name>(void)".  The runner discovers them at build time, runs
 * each in its own forked child under a timeout and prints TAP: one line per
 * subtest, or one per test without subtests.  A check counts for the
 * subtest started last, until the next one starts or the test returns; one
 * that fails while no subtest runs (setup before the first, code after a
 * filtered-out one) fails the test itself, on a "not ok" line of its own.
 *
 * Every ASSERT_*() returns true when the check held, so a failed setup step
 * can jump to cleanup:  if (!ASSERT_OK(err, "mount")) goto out;
 */
#ifndef FAMFS_BPF_TEST_PROGS_H
#define FAMFS_BPF_TEST_PROGS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>

/* Start subtest @name; false when the command line filters it out. */
bool test__start_subtest(const char *name);
/* Mark the current subtest (or test) skipped. */
void test__skip(void);
/* Record a failed check; used by the ASSERT_*() macros. */
void test__fail(void);

#define _CHECK(cond, name, fmt, ...) ({					\
	bool ___ok = !(cond);						\
	if (!___ok) {							\
		test__fail();						\
		printf("# %s:%d: FAIL %s: " fmt "\n",			\
		       __func__, __LINE__, name, ##__VA_ARGS__);	\
	}								\
	___ok;								\
})

#define ASSERT_TRUE(a, name) _CHECK(!(a), name, "got false")
#define ASSERT_FALSE(a, name) _CHECK((a), name, "got true")

#define _ASSERT_CMP(a, b, op, name) ({					\
	long long ___a = (long long)(a), ___b = (long long)(b);		\
	_CHECK(!(___a op ___b), name,					\
	       "expected %s %s %s: %lld vs %lld",			\
	       #a, #op, #b, ___a, ___b);				\
})

#define ASSERT_EQ(a, b, name) _ASSERT_CMP(a, b, ==, name)
#define ASSERT_NEQ(a, b, name) _ASSERT_CMP(a, b, !=, name)
#define ASSERT_LT(a, b, name) _ASSERT_CMP(a, b, <, name)
#define ASSERT_LE(a, b, name) _ASSERT_CMP(a, b, <=, name)
#define ASSERT_GT(a, b, name) _ASSERT_CMP(a, b, >, name)
#define ASSERT_GE(a, b, name) _ASSERT_CMP(a, b, >=, name)

/* @a is 0 on success; errno is shown because most callers are syscalls */
#define ASSERT_OK(a, name) ({						\
	long long ___r = (long long)(a);				\
	_CHECK(___r != 0, name, "unexpected error %lld (errno %d: %s)",	\
	       ___r, errno, strerror(errno));				\
})

#define ASSERT_ERR(a, name) ({						\
	long long ___r = (long long)(a);				\
	_CHECK(___r >= 0, name, "unexpected success: %lld", ___r);	\
})

#define ASSERT_OK_FD(fd, name) ({					\
	long long ___fd = (long long)(fd);				\
	_CHECK(___fd < 0, name, "bad fd %lld (errno %d: %s)",		\
	       ___fd, errno, strerror(errno));				\
})

#define ASSERT_STREQ(a, b, name) ({					\
	const char *___a = (a), *___b = (b);				\
	_CHECK(strcmp(___a, ___b), name, "\"%s\" vs \"%s\"", ___a, ___b); \
})

#define ASSERT_MEMEQ(a, b, len, name) ({				\
	const unsigned char *___a = (const void *)(a);			\
	const unsigned char *___b = (const void *)(b);			\
	size_t ___len = (len), ___i = 0;				\
	while (___i < ___len && ___a[___i] == ___b[___i])		\
		___i++;							\
	_CHECK(___i != ___len, name,					\
	       "differ at byte %zu of %zu: 0x%02x vs 0x%02x", ___i,	\
	       ___len, ___i < ___len ? ___a[___i] : 0,			\
	       ___i < ___len ? ___b[___i] : 0);				\
})

#endif /* FAMFS_BPF_TEST_PROGS_H */
