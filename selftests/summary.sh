#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# summary.sh RESULTS_DIR: count the TAP results of one check run (host unit
# tests, build steps, guest tests, kernel-log verdicts) and print the one
# line "N passed, N failed, N skipped".  A TAP file whose plan promises more
# results than it holds counts the missing ones as failed.  Before that line,
# the 8 slowest tests of each guest run (guest.tap: "# time NAME: 12.3 s"
# comments of test_progs), so that a CI log shows where the time goes; then,
# right above the count, every failed result with the diagnostics its test
# printed before it, so that a log that keeps only its tail still names them.
# Exits non-zero if anything failed or nothing ran.
set -u
dir=$1
passed=0 failed=0 skipped=0
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT

while IFS= read -r f; do
	p=$(grep -Ec '^ok\b' "$f")
	s=$(grep -Eic '^ok\b.*# *skip' "$f")
	x=$(grep -Ec '^not ok\b' "$f")
	plan=$(grep -Eo '^1\.\.[0-9]+' "$f" | head -1 | cut -d. -f3)
	got=$((p + x))
	if [ -n "$plan" ] && [ "$plan" -gt "$got" ]; then
		echo "# $f: plan says $plan results, found $got" >> "$failures"
		x=$((x + plan - got))
	fi
	passed=$((passed + p - s))
	skipped=$((skipped + s))
	failed=$((failed + x))
	# the "# ..." lines right before a "not ok" are what that test said
	[ "$x" -gt 0 ] && awk -v where="$(basename "$(dirname "$f")")/$(basename "$f")" '
		/^ok( |$)/ { n = 0; next }
		/^# time / { next }
		/^#/ { said[n++ % 6] = $0; next }
		/^not ok( |$)/ {
			for (i = (n > 6 ? n - 6 : 0); i < n; i++)
				print "#   " said[i % 6]
			print "# " where ": " $0
			n = 0
		}' "$f" >> "$failures"
done < <(find "$dir" -name '*.tap' | sort)

while IFS= read -r f; do
	slow=$(sed -n 's/^# time \(.*\): \([0-9.]*\) s$/\2 \1/p' "$f" | sort -k1,1gr | head -8)
	[ -n "$slow" ] || continue
	echo "# slowest guest tests in $(basename "$(dirname "$f")")/$(basename "$f"):"
	while read -r secs name; do
		printf '#   %8.1f s  %s\n' "$secs" "$name"
	done <<< "$slow"
done < <(find "$dir" -name 'guest.tap' | sort)

if [ -s "$failures" ]; then
	echo "# failed:"
	cat "$failures"
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ $((passed + skipped)) -gt 0 ]
