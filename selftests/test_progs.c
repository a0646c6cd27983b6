// SPDX-License-Identifier: GPL-2.0
/*
 * test_progs: run the in-guest tests and print TAP.
 *
 * Each test runs in a forked child in its own process group, so a crash or a
 * hang in one test (a FUSE server that stops answering, say) is reported as
 * that test's failure and the run goes on.  The child reports one result per
 * subtest to the parent over a pipe; the parent owns the TAP numbering.
 *
 *   test_progs [-l] [-T SECONDS] [-B SECONDS] [-t PATTERN]...
 *
 * -t selects tests by fnmatch(3) pattern on "test" or "test/subtest";
 * -l lists the selected tests; -T sets the per-test timeout (default 600 s,
 * generous because the debug kernel under TCG is slow); -B is the budget of
 * the whole run (make check's deadline, less the guest's boot): no test runs
 * past it, and each selected test that could not start in it is one
 * "not ok ... # not run" line, so a short budget fails the run visibly
 * instead of losing its summary.
 *
 * After each test a comment "# time NAME: 12.3 s" gives its wall-clock time
 * (summary.sh lists the slowest).
 */
#define _GNU_SOURCE
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_progs.h"

struct prog_test {
	const char *name;
	void (*run)(void);
};

#define DEFINE_TEST(name) extern void test_##name(void);
#include "tests.h"
#undef DEFINE_TEST
#define DEFINE_TEST(name) { #name, test_##name },
static const struct prog_test prog_tests[] = {
#include "tests.h"
};
#undef DEFINE_TEST

#define MAX_FILTERS 32

static const char *filters[MAX_FILTERS];
static int nr_filters;

/*
 * State of the child running one test.  A check that fails while no subtest
 * is running (setup before the first one, code between a filtered-out
 * subtest and the next, teardown after them) belongs to the test itself:
 * it goes to top_failed, which no test__start_subtest() clears.
 */
static const char *cur_test;
static char cur_subtest[128];
static bool in_subtest, test_had_subtests;
static bool sub_failed, sub_skipped, top_failed, top_skipped;
static int result_fd = -1;

static bool selected(const char *test, const char *subtest)
{
	char full[256];
	int i;

	if (!nr_filters)
		return true;
	for (i = 0; i < nr_filters; i++) {
		if (!fnmatch(filters[i], test, 0))
			return true;
		if (!subtest) {
			/* "test/sub" selects the test so its subtests can run */
			const char *slash = strchr(filters[i], '/');

			snprintf(full, sizeof(full), "%.*s",
				 slash ? (int)(slash - filters[i]) : 0, filters[i]);
			if (slash && !fnmatch(full, test, 0))
				return true;
			continue;
		}
		snprintf(full, sizeof(full), "%s/%s", test, subtest);
		if (!fnmatch(filters[i], full, 0))
			return true;
	}
	return false;
}

static void report(const char *name, bool failed, bool skipped)
{
	char line[400];
	int n;

	fflush(stdout);
	n = snprintf(line, sizeof(line), "%s\t%s\n",
		     failed ? "fail" : skipped ? "skip" : "ok", name);
	if (write(result_fd, line, n) != n)
		_exit(3);
}

static void end_subtest(void)
{
	char name[300];

	if (!in_subtest)
		return;
	snprintf(name, sizeof(name), "%s/%s", cur_test, cur_subtest);
	report(name, sub_failed, sub_skipped);
	in_subtest = false;
}

bool test__start_subtest(const char *name)
{
	end_subtest();
	test_had_subtests = true;
	if (!selected(cur_test, name))
		return false;
	snprintf(cur_subtest, sizeof(cur_subtest), "%s", name);
	in_subtest = true;
	sub_failed = sub_skipped = false;
	return true;
}

void test__skip(void)
{
	if (in_subtest)
		sub_skipped = true;
	else
		top_skipped = true;
}

void test__fail(void)
{
	if (in_subtest)
		sub_failed = true;
	else
		top_failed = true;
}

static void run_child(const struct prog_test *t)
{
	char name[300];

	cur_test = t->name;
	t->run();
	end_subtest();
	if (!test_had_subtests) {
		report(t->name, top_failed, top_skipped);
	} else if (top_failed) {
		/* the subtests' lines cannot carry it: one line of its own */
		snprintf(name, sizeof(name), "%s # failed outside its subtests",
			 t->name);
		report(name, true, false);
	}
	fflush(stdout);
	_exit(0);
}

/* Read "status\tname" lines until EOF or timeout; print them as TAP. */
static int collect(int fd, pid_t pid, const char *test, int timeout_s,
		   int *nr, int *nr_fail)
{
	char buf[4096], *line, *tab, *nl;
	size_t used = 0;
	time_t deadline = time(NULL) + timeout_s;
	int results = 0, status;
	bool timed_out = false;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = (int)(deadline - time(NULL));
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left * 1000) == 0) {
			timed_out = true;
			kill(-pid, SIGKILL);
			break;
		}
		n = read(fd, buf + used, sizeof(buf) - 1 - used);
		if (n <= 0)
			break;
		used += n;
		buf[used] = '\0';
		line = buf;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			tab = strchr(line, '\t');
			if (tab) {
				*tab = '\0';
				++*nr;
				++results;
				if (!strcmp(line, "ok")) {
					printf("ok %d %s\n", *nr, tab + 1);
				} else if (!strcmp(line, "skip")) {
					printf("ok %d %s # SKIP\n", *nr, tab + 1);
				} else {
					printf("not ok %d %s\n", *nr, tab + 1);
					++*nr_fail;
				}
				fflush(stdout);
			}
			line = nl + 1;
		}
		used = strlen(line);
		memmove(buf, line, used);
	}
	/* the test is over: take down whatever it left behind */
	kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (timed_out || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    !results) {
		++*nr;
		++*nr_fail;
		if (timed_out)
			printf("not ok %d %s # timeout after %d s\n", *nr,
			       test, timeout_s);
		else if (WIFSIGNALED(status))
			printf("not ok %d %s # killed by signal %d\n", *nr,
			       test, WTERMSIG(status));
		else
			printf("not ok %d %s # exited with status %d, %d results\n",
			       *nr, test, WEXITSTATUS(status), results);
		fflush(stdout);
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-l] [-T SECONDS] [-B SECONDS] [-t PATTERN]...\n",
		prog);
	exit(2);
}

/* Below this many seconds of budget a test is not started at all. */
#define MIN_TEST_BUDGET_S 5

int main(int argc, char **argv)
{
	int timeout_s = 600, budget_s = 0, nr = 0, nr_fail = 0, opt;
	bool list = false;
	double run_end = 0;
	size_t i;

	while ((opt = getopt(argc, argv, "lT:B:t:")) != -1) {
		switch (opt) {
		case 'l':
			list = true;
			break;
		case 'T':
			timeout_s = atoi(optarg);
			if (timeout_s <= 0)
				usage(argv[0]);
			break;
		case 'B':
			budget_s = atoi(optarg);
			if (budget_s <= 0)
				usage(argv[0]);
			break;
		case 't':
			if (nr_filters == MAX_FILTERS)
				usage(argv[0]);
			filters[nr_filters++] = optarg;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (list) {
		for (i = 0; i < sizeof(prog_tests) / sizeof(prog_tests[0]); i++)
			if (selected(prog_tests[i].name, NULL))
				printf("%s\n", prog_tests[i].name);
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	if (budget_s) {
		run_end = now_s() + budget_s;
		printf("# run budget %d s\n", budget_s);
	}

	for (i = 0; i < sizeof(prog_tests) / sizeof(prog_tests[0]); i++) {
		const struct prog_test *t = &prog_tests[i];
		int pipefd[2], limit_s = timeout_s;
		double start;
		pid_t pid;

		if (!selected(t->name, NULL))
			continue;
		if (budget_s) {
			int left = (int)(run_end - now_s());

			if (left < MIN_TEST_BUDGET_S) {
				printf("not ok %d %s # not run: the run's budget of %d s is spent\n",
				       ++nr, t->name, budget_s);
				nr_fail++;
				continue;
			}
			if (left < limit_s)
				limit_s = left;
		}
		if (pipe(pipefd)) {
			perror("pipe");
			return 1;
		}
		printf("# %s\n", t->name);
		fflush(stdout);
		start = now_s();
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			setpgid(0, 0);
			close(pipefd[0]);
			result_fd = pipefd[1];
			run_child(t);
		}
		setpgid(pid, pid);
		close(pipefd[1]);
		collect(pipefd[0], pid, t->name, limit_s, &nr, &nr_fail);
		close(pipefd[0]);
		printf("# time %s: %.1f s\n", t->name, now_s() - start);
		fflush(stdout);
	}
	printf("1..%d\n", nr);
	return nr_fail ? 1 : 0;
}
