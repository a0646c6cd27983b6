#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# budget.sh: the time make check has left.  check sets CHECK_DEADLINE (epoch
# seconds) once, at its start; every stage asks this script for its limit,
# so a slow build or a hung guest shortens what follows instead of pushing
# the run past the deadline, and the summary line always prints.
#
#   budget.sh left          seconds to the deadline, less the summary's
#                           reserve (CHECK_RESERVE, default 60); never < 0
#   budget.sh cap N         min(N, left): a stage's own limit, capped
#   budget.sh share W SUM   left * W / SUM: a stage's share when the stages
#                           after it weigh SUM - W together
#   budget.sh run CMD...    CMD under timeout(1) of `left` seconds; exit 124
#                           when the deadline stopped it
#
# Without CHECK_DEADLINE (a stage run on its own) there is no deadline:
# left is empty, cap N is N, share prints nothing, run just runs CMD.
set -u

reserve=${CHECK_RESERVE:-60}

left() {
	local l
	[ -n "${CHECK_DEADLINE:-}" ] || return 0
	l=$((CHECK_DEADLINE - $(date +%s) - reserve))
	[ "$l" -gt 0 ] || l=0
	echo "$l"
}

case ${1:-} in
left)
	left
	;;
cap)
	l=$(left)
	if [ -z "$l" ] || [ "$2" -lt "$l" ]; then echo "$2"; else echo "$l"; fi
	;;
share)
	l=$(left)
	[ -z "$l" ] || echo $((l * $2 / $3))
	;;
run)
	shift
	l=$(left)
	[ -n "$l" ] || exec "$@"
	if [ "$l" -le 0 ]; then
		echo "budget: no time left for: $*" >&2
		exit 124
	fi
	# Not --foreground: on expiry the whole group goes (make's children,
	# QEMU); -k: whatever ignores SIGTERM goes 10 s later.
	timeout -k 10 "$l" "$@"
	rc=$?
	[ "$rc" = 124 ] && echo "budget: the deadline stopped: $*" >&2
	exit "$rc"
	;;
*)
	echo "usage: $0 left | cap N | share W SUM | run CMD..." >&2
	exit 2
	;;
esac
