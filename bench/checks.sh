#!/bin/sh
# checks.sh - one cairn agent running 1,000 services with 3 checks each at
# 10 s intervals: cairn-checkd's CPU and RSS, and the catalog writes per
# minute at rest (only status changes plus anti-entropy), reported.
#
#   bench/checks.sh [seconds]    the window at rest (default 70 s)
#
#   SERVICES=1000      services defined, 3 checks each
#   THIRD=script       the third check of each service: "script" (args
#                      ["/bin/true"] with enable_local_script_checks: a
#                      fork and exec every 10 s per service, so all three
#                      checks run) or "ttl" (ttl 10m, never updated: it
#                      costs nothing to run, so only 2 of 3 checks run)
#   AE_INTERVAL=       the agent's ae_interval (default 60s, Consul's)
#   READY_WAIT=300     seconds to wait for every check to pass
#   LOG_LEVEL=info B=build   the agent's log level, build directory
#   KEEP=1             keep the logs even when all went well
#
# The setup: a small HTTP server (bench/checks_probe.py serve, Python's
# http.server answering 200 to any GET) on one loopback address derived
# from $$, and one `cairn agent -dev` on the same address, free ports,
# with -config-dir holding SERVICES services svc-0.. (Consul's JSON,
# {"services":[...]}), each with an HTTP check of that server's URL, a
# TCP check of its port, and the THIRD check, all at "interval": "10s".
# The agent is ready when /v1/agent/checks lists 3 x SERVICES checks and
# /v1/health/state/passing shows every HTTP and TCP check (and script
# check) passing; the time that took and the Raft entries written until
# then are printed (the startup's cost, not a target).
#
# The window, right after: SECS seconds in which
#   - checkd's CPU: utime+stime from /proc/<pid>/stat of the agent's
#     cairn-checkd child, delta over the window, as % of one core; its
#     reaped children's (cutime+cstime: the script checks) beside it;
#   - checkd's RSS: VmRSS at the end of the window;
#   - Raft entries per minute at rest: the delta of Stats.raft.commit_index
#     in /v1/agent/self over the window, scaled to a minute. It is read
#     every second, and each run of entries (no 3 s gap) is printed with
#     its time in the window: anti-entropy runs a full pass every 60 s
#     (Consul's ae_interval; the agent's ae_interval key sets it), so a
#     window of 60 s or more covers at least one pass. A pass re-registers
#     the node and every service with its checks; kvd ignores a register
#     that changes nothing (the catalog index, X-Consul-Index of
#     /v1/catalog/services, does not move), but whether the register is a
#     Raft entry even so is what this measures: ideally nothing is written
#     at rest, as in Consul, whose anti-entropy compares with the catalog
#     and only writes what differs;
#   - status changes: checks of the svc- services not passing in
#     /v1/health/state/any at the start and at the end, and the checks
#     whose ModifyIndex moved past the start's commit index (a status or
#     output change written during the window). At rest all are 0.
# raftd's, kvd's and httpd's CPU are printed beside checkd's for context
# (httpd's includes answering our once-a-second poll).
#
# No peer is run beside it: Consul itself is not installed here, so there
# are no targets, only the numbers. The agent log's warn and error lines
# until the end of the window are counted by kind, one example each.
#
# Exit 0: ran; 1: an error (the agent or the HTTP server did not come up,
# the checks never all passed). Logs are kept, and their path printed,
# when anything failed (or KEEP=1). Everything stays on 127/8; every
# process started is killed by pid on exit.
set -eu
SECS=${1:-70}
SERVICES=${SERVICES:-1000}
THIRD=${THIRD:-script}
AE_INTERVAL=${AE_INTERVAL:-}
READY_WAIT=${READY_WAIT:-300}
KEEP=${KEEP:-0}
LOG_LEVEL=${LOG_LEVEL:-info}
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$top/build}
case $SECS in
''|*[!0-9]*) echo "usage: checks.sh [seconds]" >&2; exit 1 ;;
esac
case $THIRD in
script|ttl) ;;
*) echo "checks.sh: THIRD: script or ttl" >&2; exit 1 ;;
esac
for t in curl python3 pgrep; do
	command -v $t >/dev/null ||
	    { echo "checks.sh: needs $t: scripts/deps.sh test" >&2; exit 1; }
done
[ -x "$B/bin/cairn" ] || { echo "checks.sh: build first: make" >&2; exit 1; }

probe() { python3 "$top/bench/checks_probe.py" "$@"; }

tmp=$(mktemp -d /tmp/cairn-checksbench.XXXXXX)
addr=127.0.$(( $$ % 200 + 20 )).$(( $$ % 250 + 2 ))
agent=			# the cairn agent's pid
web=			# the HTTP server's

# alive pid - the process runs (a zombie does not)
alive() {
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
}

# stop_all - SIGTERM the agent (it stops its daemons in order); after 15 s
# SIGKILL whatever is left, daemons included. The HTTP server goes last,
# so that no check fails on the way down
stop_all() {
	kids=
	if [ -n "$agent" ]; then
		kids=$(pgrep -P "$agent" || true)
		kill -TERM "$agent" 2>/dev/null || true
	fi
	n=0
	while [ $n -lt 150 ]; do
		up=0
		for p in $agent $kids; do alive "$p" && up=1; done
		[ $up = 0 ] && break
		n=$((n + 1))
		sleep 0.1
	done
	for p in $kids $agent $web; do kill -9 "$p" 2>/dev/null || true; done
	for p in $agent $web; do wait "$p" 2>/dev/null || true; done
	agent='' web=''
}

cleanup() {
	rc=$?
	set +e
	trap - EXIT INT TERM
	stop_all
	if [ "$rc" != 0 ] || [ -e "$tmp/failed" ] || [ "$KEEP" = 1 ]; then
		logs=$(mktemp -d /tmp/cairn-checksbench-logs.XXXXXX)
		cp "$tmp"/*.log "$logs"/ 2>/dev/null
		echo "checks.sh: logs kept in $logs" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { touch "$tmp/failed"; echo "checks.sh: $*" >&2; exit 1; }

# kid name - the pid of the agent's cairn-<name>
kid() {
	pgrep -P "$agent" -x "cairn-$1" || fail "no cairn-$1 under $agent"
}

# val key file - the value of "key value" in a measure output
val() { awk -v k="$1" '$1 == k { print $2; exit }' "$2"; }

# pidval pid field file - a field of a "pid" line of a measure output
pidval() {
	awk -v p="$1" -v f="$2" '$1 == "pid" && $2 == p {
		for (i = 3; i < NF; i += 2) if ($i == f) print $(i + 1) }' "$3"
}

# log_summary - the agent log's warn and error lines: how many, and each
# kind (digits folded) with its count and one example
log_summary() {
	grep -iE '\b(warn|warning|error|fatal|panic)\b' "$tmp/agent.log" \
	    >"$tmp/warn" || true
	echo "agent log: $(wc -l <"$tmp/warn") warn/error line(s)"
	awk '{ k = $0; gsub(/[0-9]+/, "N", k)
		if (!(k in n)) { ex[k] = $0; order[++m] = k }
		n[k]++ }
	    END { for (i = 1; i <= m; i++)
		printf "  %5d x %s\n", n[order[i]], substr(ex[order[i]], 1, 140)
	    }' "$tmp/warn"
}

ports=$(probe ports "$addr" 6) || fail "no free ports"
# shellcheck disable=SC2086
set -- $ports
WEB=$1 HP=$2 DP=$3 SP=$4 LP=$5 WP=$6
mkdir "$tmp/conf"
probe gen "$tmp/conf" "$SERVICES" "$addr" "$WEB" "$THIRD" ||
    fail "cannot write the config"
NCHECKS=$((SERVICES * 3))
if [ "$THIRD" = script ]; then
	kinds="HTTP, TCP and script (/bin/true) checks; all 3 run"
else
	kinds="HTTP, TCP and TTL (10m) checks; 2 of 3 run"
fi
echo "checks.sh: $B/bin/cairn agent -dev on $addr; $SERVICES services," \
    "$NCHECKS checks at 10s ($kinds)"

python3 "$top/bench/checks_probe.py" serve "$addr" "$WEB" \
    >"$tmp/web.log" 2>&1 </dev/null &
web=$!
n=0
until curl -sf -o /dev/null "http://$addr:$WEB/"; do
	n=$((n + 1))
	[ $n -lt 100 ] || fail "the HTTP server did not come up:" \
	    "$(tail -5 "$tmp/web.log")"
	alive "$web" || fail "the HTTP server exited: $(tail -5 "$tmp/web.log")"
	sleep 0.1
done

t0=$(date +%s)
"$B/bin/cairn" agent -dev -data-dir "$tmp/data" -node bench -bind "$addr" \
    -client "$addr" -http-port "$HP" -dns-port "$DP" -server-port "$SP" \
    -serf-lan-port "$LP" -serf-wan-port "$WP" -config-dir "$tmp/conf" \
    -log-level "$LOG_LEVEL" >"$tmp/agent.log" 2>&1 </dev/null &
agent=$!
U=http://$addr:$HP
n=0
until curl -sf -o /dev/null "$U/v1/status/leader" &&
    [ "$(curl -sf "$U/v1/status/leader")" != '""' ]; do
	n=$((n + 1))
	[ $n -lt 600 ] || fail "the agent elected no leader:" \
	    "$(tail -20 "$tmp/agent.log")"
	alive "$agent" || fail "the agent exited: $(tail -20 "$tmp/agent.log")"
	sleep 0.1
done
secs=$(probe ready "$READY_WAIT" "$U" "$NCHECKS" "$THIRD") ||
    fail "the checks did not all pass: $(tail -20 "$tmp/agent.log")"
ci=$(curl -sf "$U/v1/agent/self" | python3 -c 'import json, sys
print(json.load(sys.stdin)["Stats"]["raft"]["commit_index"])') ||
    fail "no Stats.raft.commit_index in /v1/agent/self"
echo "ready: every check passing $secs s after the leader was elected," \
    "$(( $(date +%s) - t0 )) s after the agent started; Raft commit index" \
    "$ci"

ck=$(kid checkd) rf=$(kid raftd) kv=$(kid kvd) hd=$(kid httpd)
echo "window: $SECS s at rest"
probe measure "$SECS" "$U" "$ck" "$rf" "$kv" "$hd" >"$tmp/measure" ||
    fail "the measurement failed"
alive "$agent" || fail "the agent exited: $(tail -20 "$tmp/agent.log")"
[ "$(kid checkd)" = "$ck" ] || echo "  note: cairn-checkd restarted" \
    "during the window"

el=$(val elapsed "$tmp/measure")
c0=$(val commit0 "$tmp/measure")
c1=$(val commit1 "$tmp/measure")
k0=$(val catalog0 "$tmp/measure")
k1=$(val catalog1 "$tmp/measure")
rate=$(awk -v d=$((c1 - c0)) -v e="$el" 'BEGIN { printf "%.1f", d * 60 / e }')
rss=$(awk -v k="$(pidval "$ck" rss_kib "$tmp/measure")" \
    'BEGIN { printf "%.1f", k / 1024 }')

echo
printf '%-34s %s\n' services "$SERVICES"
printf '%-34s %s\n' checks "$NCHECKS ($kinds)"
printf '%-34s %s\n' "window" "$el s"
printf '%-34s %s\n' "checkd CPU (% of one core)" \
    "$(pidval "$ck" cpu_pct "$tmp/measure")"
printf '%-34s %s\n' "checkd children's CPU (scripts)" \
    "$(pidval "$ck" children_cpu_pct "$tmp/measure")"
printf '%-34s %s\n' "checkd RSS (MiB)" "$rss"
printf '%-34s %s\n' "Raft entries per minute at rest" \
    "$rate ($((c1 - c0)) in the window: commit index $c0 -> $c1)"
printf '%-34s %s\n' "catalog index (X-Consul-Index)" "$k0 -> $k1"
ttlnote=
[ "$THIRD" = ttl ] && ttlnote=" (the TTL checks stay critical)"
printf '%-34s %s checks modified; not passing: %s at start, %s at end%s\n' \
    "status changes" "$(val checks_modified "$tmp/measure")" \
    "$(val notpassing0 "$tmp/measure")" "$(val notpassing1 "$tmp/measure")" \
    "$ttlnote"
printf '%-34s raftd %s, kvd %s, httpd %s\n' "other daemons' CPU (%)" \
    "$(pidval "$rf" cpu_pct "$tmp/measure")" \
    "$(pidval "$kv" cpu_pct "$tmp/measure")" \
    "$(pidval "$hd" cpu_pct "$tmp/measure")"
awk '$1 == "burst" { printf "  Raft entries at %s-%s s into the window:" \
    " %s\n", $2, $3, $4 }' "$tmp/measure"
echo
log_summary
