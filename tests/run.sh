#!/bin/sh
# run.sh - every unit test binary, then the integration tests (pytest with
# Debian's python3, which has python3-consul), and one summary line:
#   tests: N passed, N failed
# A suite that ran nothing counts as a failure, so a broken harness shows.
B=${B:-build}
export CAIRN_BUILD="$(cd "$B" && pwd)"
passed=0
failed=0

count() {	# add up "<n> passed, <m> failed" from the last such line of $1
	line=$(grep -E '[0-9]+ (passed|failed)' "$1" | tail -n 1)
	p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
	f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
	e=$(echo "$line" | grep -oE '[0-9]+ errors?' | grep -oE '[0-9]+')
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0} + ${e:-0}))
	if [ -z "$p" ] && [ -z "$f" ]; then failed=$((failed + 1)); fi
}

log=$(mktemp)
for t in "$B"/tests/test_*; do
	[ -x "$t" ] || continue
	if ! "$t" >"$log" 2>&1; then
		echo "FAILED: $t"; cat "$log"
	fi
	tail -n 1 "$log"
	count "$log"
done

if [ "${CAIRN_UNIT_ONLY:-0}" != 1 ]; then
	/usr/bin/python3 -m pytest -q -p no:cacheprovider \
	    ${PYTEST_ARGS:-} tests/integration 2>&1 | tee "$log"
	count "$log"
fi
rm -f "$log"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
