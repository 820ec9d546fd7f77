#!/bin/sh
# dns.sh - DNS queries per second of cairn-dnsd beside dnsmasq, same machine,
# same run, same load generator (dnsperf), same names; ratio printed; then
# each one's latency at half its own peak rate.
#
#   bench/dns.sh [seconds]       (default 10 s per measurement)
#
#   NODES=100 SERVICES=50 INSTANCES=3   the data set (INSTANCES 1..3)
#   CLIENTS=4 OUTSTANDING=100    dnsperf -c and -q
#   ROUNDS=3                     peak measurements per side, alternating
#   KINDS=1                      the peak of each query kind alone (0: skip)
#   PERF=1                       after the tables, one more cairn peak run,
#                                3 s of it under perf record (DWARF call
#                                graphs); the top symbols printed, self
#                                time and with callees
#   PIN=1                        servers on the last CPU, dnsperf on the
#                                others (0: wherever the scheduler likes)
#   LOG_LEVEL=warn B=build KEEP=1   agent's log level, build dir, keep logs
#
# The setup: one cairn server (cairn agent -server -bootstrap-expect 1) on
# a loopback address derived from $$, and dnsmasq on the next address, each
# on its own free ports. bench/dns_probe.py gen writes the data set: NODES
# external nodes ext-0.., and SERVICES services svc-0.. of INSTANCES
# instances each (tags primary or secondary, and v1) with a passing check,
# registered on cairn by PUT /v1/catalog/register (curl, one request per
# line); dnsmasq gets the same names from a hosts file (--addn-hosts) and
# SRV records from srv-host= lines (--conf-file), nothing else: --no-resolv,
# --no-hosts, and not /etc/dnsmasq.conf. The query file mixes
#
#   <node>.node.consul A             NODES lines
#   <svc>.service.consul A           SERVICES lines each, interleaved
#   <tag>.<svc>.service.consul A
#   _<svc>._tcp.service.consul SRV
#
# and before anything is measured dig asks both servers every name in it
# (one dig -f batch each): each answer must hold exactly the records the
# data set gives, or the run fails. Since cairn answers a service name
# with its passing instances only, this also checks that every check
# passes.
#
# Measuring, dnsperf -c CLIENTS -q OUTSTANDING over UDP:
#   - warm-up: 2 s unlimited on each, not counted;
#   - peak: unlimited (no -Q) for SECS, ROUNDS times, alternating cairn and
#     dnsmasq so that drift on the machine is shared; the median round is
#     each one's peak. Printed beside each round: the servers' CPU (cairn:
#     dnsd + kvd, utime+stime from /proc, % of one core) and the machine's
#     idle time (/proc/stat): dnsperf runs on the same 2 cores, so a round
#     with ~0% idle is bounded by the machine, not by the server alone;
#   - by kind (KINDS=1): one unlimited run of 3 s (SECS if shorter) per
#     side of each kind's lines alone, to show where the time goes; no
#     target;
#   - half peak: -Q half of each one's own peak for SECS, with -v. The
#     Debian dnsperf (2.10) prints only average/min/max/stddev latency and
#     has no latency histogram (dnsperf -H lists no such -O option), but -v
#     prints every answer's latency ("> NOERROR name type seconds", "> T
#     name type" for a timeout), the most direct source: dns_probe.py
#     latency sorts them for p50/p99/p99.9, a lost query counting as slower
#     than any answer. -v costs dnsperf a line of output per query; at half
#     peak it keeps up (the achieved rate is printed beside the requested
#     one) and its own average latency is the same with and without -v.
#
# Pinning (PIN=1, the default, with 2 or more CPUs): the server under test
# (cairn's agent and all its daemons, or dnsmasq) runs on the last CPU
# and dnsperf on the others, by taskset, the same for both sides. Without
# it, on a 2-core machine the scheduler puts dnsperf's threads on the
# server's core now and then, and the p99 at half peak measures that:
# 1.4 ms for cairn and for dnsmasq alike in the same unpinned run, while
# both stay near 0.15 ms at a third of peak. Pinned, cairn has one core
# for all six daemons, dnsmasq one for its one process.
#
# Targets: cairn's peak at least 1x dnsmasq's; cairn's p99 at half its peak
# under 1 ms. dnsmasq's p99 is printed for comparison, not a target.
#
# Exit 0: ran, targets printed (ok or MISSED); 1: an error (a server did not
# come up, a name answered wrongly, dnsperf saw an rcode other than
# NOERROR). Logs are kept, and their path printed, when anything failed, a
# target was missed, or KEEP=1. dnsperf is installed with apt-get when
# missing, and dnsmasq-base (the binary without the system service that
# the dnsmasq package starts on port 53). Everything stays on 127/8 (the
# data's addresses, 127.10/16, are records only); every process started is
# killed by pid on exit.
set -eu
SECS=${1:-10}
NODES=${NODES:-100}
SERVICES=${SERVICES:-50}
INSTANCES=${INSTANCES:-3}
CLIENTS=${CLIENTS:-4}
OUTSTANDING=${OUTSTANDING:-100}
ROUNDS=${ROUNDS:-3}
KINDS=${KINDS:-1}
PERF=${PERF:-0}
PIN=${PIN:-1}
KEEP=${KEEP:-0}
LOG_LEVEL=${LOG_LEVEL:-warn}
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$top/build}
for v in "$SECS" "$NODES" "$SERVICES" "$INSTANCES" "$CLIENTS" \
    "$OUTSTANDING" "$ROUNDS"; do
	case $v in
	''|*[!0-9]*|0) echo "usage: dns.sh [seconds] (see the top of" \
	    "the script for the variables)" >&2; exit 1 ;;
	esac
done
for t in curl python3 pgrep dig; do
	command -v $t >/dev/null ||
	    { echo "dns.sh: needs $t: scripts/deps.sh test" >&2; exit 1; }
done
[ -x "$B/bin/cairn" ] || { echo "dns.sh: build first: make" >&2; exit 1; }

# dnsperf and dnsmasq: installed here when missing (scripts/deps.sh test
# brings dnsmasq-base, not dnsperf)
DM=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
missing=
command -v dnsperf >/dev/null || missing=dnsperf
[ -x "$DM" ] || missing="$missing dnsmasq-base"
if [ -n "$missing" ]; then
	echo "dns.sh: installing:$missing" >&2
	SUDO=
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing >/dev/null
	DM=$(command -v dnsmasq || echo /usr/sbin/dnsmasq)
fi
[ "$PERF" = 1 ] && { command -v perf >/dev/null ||
    { echo "dns.sh: PERF=1 needs perf (linux-perf)" >&2; exit 1; }; }

# SRV_ON and LOAD_ON: the taskset prefixes for servers and dnsperf
SRV_ON='' LOAD_ON='' pinning="not pinned (PIN=0)"
ncpu=$(nproc)
if [ "$PIN" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null
then
	SRV_ON="taskset -c $((ncpu - 1))"
	LOAD_ON="taskset -c 0-$((ncpu - 2))"
	pinning="servers on CPU $((ncpu - 1)), dnsperf on CPU 0-$((ncpu - 2))"
elif [ "$PIN" = 1 ]; then
	pinning="not pinned (needs 2 CPUs and taskset)"
fi

probe() { python3 "$top/bench/raft_probe.py" "$@"; }
helper() { python3 "$top/bench/dns_probe.py" "$@"; }

tmp=$(mktemp -d /tmp/cairn-dnsbench.XXXXXX)
addr=127.0.$(( $$ % 200 + 20 )).$(( $$ % 250 + 2 ))
maddr=127.0.$(( $$ % 200 + 20 )).$(( $$ % 250 + 3 ))
agent=			# the cairn agent's pid
dm=			# dnsmasq's
missed=0		# targets missed
CLK=$(getconf CLK_TCK)

# alive pid - the process runs (a zombie does not)
alive() {
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
}

# stop_all - SIGTERM the agent (it stops its daemons in order) and
# dnsmasq; after 12 s SIGKILL whatever is left, daemons included
stop_all() {
	kids=
	for p in $agent $dm; do kids="$kids $(pgrep -P "$p" || true)"; done
	for p in $agent $dm; do kill -TERM "$p" 2>/dev/null || true; done
	n=0
	while [ $n -lt 120 ]; do
		up=0
		for p in $agent $dm $kids; do alive "$p" && up=1; done
		[ $up = 0 ] && break
		n=$((n + 1))
		sleep 0.1
	done
	for p in $kids $agent $dm; do kill -9 "$p" 2>/dev/null || true; done
	for p in $agent $dm; do wait "$p" 2>/dev/null || true; done
	agent='' dm=''
}

cleanup() {
	rc=$?
	set +e
	trap - EXIT INT TERM
	stop_all
	if [ "$rc" != 0 ] || [ -e "$tmp/failed" ] || [ $missed != 0 ] ||
	    [ "$KEEP" = 1 ]; then
		logs=$(mktemp -d /tmp/cairn-dnsbench-logs.XXXXXX)
		cp "$tmp"/*.log "$tmp"/*.out "$tmp"/queries "$tmp"/hosts \
		    "$tmp"/dnsmasq.conf "$logs"/ 2>/dev/null
		echo "dns.sh: logs kept in $logs" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { touch "$tmp/failed"; echo "dns.sh: $*" >&2; exit 1; }

# kid name - the pid of the agent's cairn-<name>
kid() {
	pgrep -P "$agent" -x "cairn-$1" || fail "no cairn-$1 under $agent"
}

# ticks pid... - utime+stime of the pids, summed, in clock ticks
ticks() {
	for p in "$@"; do cat "/proc/$p/stat"; done |
	    awk '{ sub(/^.*\) /, ""); t += $12 + $13 } END { print t + 0 }'
}

# idle_ticks - the machine's idle+iowait time, all CPUs, and its total
idle_ticks() {
	awk '$1 == "cpu" { for (i = 2; i <= NF; i++) t += $i
		print $5 + $6, t; exit }' /proc/stat
}

# idle_pct before after - idle % of the machine between two idle_ticks
idle_pct() {
	awk -v i0="$1" -v i1="$2" 'BEGIN { split(i0, a, " "); split(i1, b, " ")
		d = b[2] - a[2]
		printf "%.0f", (d > 0 ? 100 * (b[1] - a[1]) / d : 0) }'
}

# dperf out server port [dnsperf args] - run dnsperf over the query file
# ($QF) into out; an rcode other than NOERROR or no summary fails the run;
# prints "qps sent lost response_bytes"
dperf() {
	o=$1 s=$2 p=$3
	shift 3
	# shellcheck disable=SC2086
	$LOAD_ON dnsperf -s "$s" -p "$p" -d "$QF" -c "$CLIENTS" \
	    -q "$OUTSTANDING" "$@" >"$o" 2>&1 ||
	    fail "dnsperf failed: $(tail -5 "$o")"
	codes=$(sed -n 's/^ *Response codes: *//p' "$o")
	case $codes in
	"NOERROR "*\(100.00%\)) ;;
	*) fail "dnsperf against $s:$p: response codes: ${codes:-none}" \
	    "($o)" ;;
	esac
	awk '/Queries sent:/ { s = $3 } /Queries lost:/ { l = $3 }
	    /Queries per second:/ { q = $4 }
	    /Average packet size:/ { r = $7 }
	    END { if (q == "") exit 1; printf "%d %d %d %d", q, s, l, r }' \
	    "$o" || fail "no rate in dnsperf's output: $(tail -5 "$o")"
}

# peak side round server port pids... - one unlimited run of SECS;
# prints "qps lost cpu% idle% response_bytes"
peak() {
	side=$1 round=$2 s=$3 p=$4
	shift 4
	t0=$(ticks "$@") i0=$(idle_ticks)
	res=$(dperf "$tmp/peak-$side-$round.out" "$s" "$p" -l "$SECS")
	t1=$(ticks "$@") i1=$(idle_ticks)
	for pid in "$@"; do
		alive "$pid" || fail "$side: pid $pid exited during the run"
	done
	# shellcheck disable=SC2086
	set -- $res
	awk -v q="$1" -v l="$3" -v rb="$4" -v t0="$t0" -v t1="$t1" \
	    -v idle="$(idle_pct "$i0" "$i1")" -v hz="$CLK" -v secs="$SECS" \
	    'BEGIN { printf "%d %d %.0f %s %d", q, l,
		100 * (t1 - t0) / hz / secs, idle, rb }'
}

median() { tr ' ' '\n' | sed '/^$/d' | sort -n |
    awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

# verdict good - "ok" for 1, "MISSED" otherwise
verdict() {
	if [ "$1" = 1 ]; then
		echo ok
	else
		echo MISSED
	fi
}

# check side server port - dig asks every name of the query file; the
# answers must match the data set; two more tries a second apart
check() {
	n=0
	while :; do
		dig @"$2" -p "$3" +noall +answer +time=2 +tries=2 \
		    -f "$tmp/queries" >"$tmp/dig-$1.out" 2>&1 || true
		if helper check "$tmp/expect.json" "$tmp/dig-$1.out" \
		    >"$tmp/check-$1.out"; then
			echo "  $1: $(cat "$tmp/check-$1.out")"
			return 0
		fi
		n=$((n + 1))
		[ $n -lt 3 ] || break
		sleep 1
	done
	cat "$tmp/check-$1.out" >&2
	fail "$1 ($2:$3) does not answer the query file as the data set" \
	    "says (dig's output: $tmp/dig-$1.out)"
}

# --- setup ---------------------------------------------------------------

ports=$(probe ports "$addr" 5) || fail "no free ports on $addr"
# shellcheck disable=SC2086
set -- $ports
HP=$1 DP=$2 SP=$3 LP=$4 WP=$5
MP=$(probe ports "$maddr" 1) || fail "no free port on $maddr"
U=http://$addr:$HP

QF=$tmp/queries
helper gen "$tmp" "$NODES" "$SERVICES" "$INSTANCES" >"$tmp/gen.out" ||
    fail "cannot write the data set"
echo "dns.sh: $B/bin/cairn on $addr:$DP beside $("$DM" --version |
    head -1 | sed 's/ *Copyright.*//') on $maddr:$MP;" \
    "$(dnsperf -h 2>&1 | sed -n 's/^Version /dnsperf /p')"
echo "data: $NODES nodes, $SERVICES services x $INSTANCES instances;" \
    "$(cat "$tmp/gen.out")"
echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)" \
    "before the run (other work on it shows in the idle columns);" \
    "$pinning"

# shellcheck disable=SC2086

$SRV_ON "$B/bin/cairn" agent -server -bootstrap-expect 1 -data-dir "$tmp/data" \
    -node bench -bind "$addr" -client "$addr" -http-port "$HP" \
    -dns-port "$DP" -server-port "$SP" -serf-lan-port "$LP" \
    -serf-wan-port "$WP" -log-level "$LOG_LEVEL" \
    >"$tmp/agent.log" 2>&1 </dev/null &
agent=$!

# dnsmasq in the foreground as in production (-k), not --no-daemon, its
# debug mode; as this user (no switch to nobody); logging to stderr
# shellcheck disable=SC2086
$SRV_ON "$DM" --keep-in-foreground --no-resolv --no-hosts \
    --addn-hosts="$tmp/hosts" --conf-file="$tmp/dnsmasq.conf" \
    --port="$MP" --listen-address="$maddr" --bind-interfaces \
    --pid-file= --user="$(id -un)" --group="$(id -gn)" --log-facility=- \
    >"$tmp/dnsmasq.log" 2>&1 </dev/null &
dm=$!

probe leader 60 "$U" >/dev/null ||
    fail "cairn elected no leader: $(tail -20 "$tmp/agent.log")"
n=0
while IFS= read -r body; do
	out=$(curl -sS -X PUT --data-binary "$body" \
	    "$U/v1/catalog/register" 2>&1) || fail "register: $out"
	[ "$out" = true ] || fail "register answered \"$out\" to $body"
	n=$((n + 1))
done <"$tmp/register"
alive "$dm" || fail "dnsmasq exited: $(tail -5 "$tmp/dnsmasq.log")"
echo "registered $n nodes and instances on cairn; dig asks both every name:"
check cairn "$addr" "$DP"
check dnsmasq "$maddr" "$MP"

# --- peak ------------------------------------------------------------------

dperf "$tmp/warm-cairn.out" "$addr" "$DP" -l 2 >/dev/null
dperf "$tmp/warm-dnsmasq.out" "$maddr" "$MP" -l 2 >/dev/null

echo
echo "peak: dnsperf -c $CLIENTS -q $OUTSTANDING, unlimited, ${SECS}s a" \
    "round, alternating; cpu: the server's (cairn: dnsd+kvd) % of one core;" \
    "idle: the machine's"
printf '%-7s %11s %5s %5s %6s   %11s %5s %5s %6s\n' round cairn/s cpu% \
    idle% lost dnsmasq/s cpu% idle% lost
cq='' mq='' i=1
while [ $i -le "$ROUNDS" ]; do
	dnsd=$(kid dnsd)
	kvd=$(kid kvd)
	c=$(peak cairn "$i" "$addr" "$DP" "$dnsd" "$kvd")
	m=$(peak dnsmasq "$i" "$maddr" "$MP" "$dm")
	# shellcheck disable=SC2086
	set -- $c $m
	printf '%-7s %11s %5s %5s %6s   %11s %5s %5s %6s\n' "$i" "$1" "$3" \
	    "$4" "$2" "$6" "$8" "$9" "$7"
	cq="$cq $1" mq="$mq $6" c_rb=$5 m_rb=${10}
	i=$((i + 1))
done
CPEAK=$(echo "$cq" | median)
MPEAK=$(echo "$mq" | median)
rt=$(ratio "$CPEAK" "$MPEAK")
ok=$(awk -v r="$rt" 'BEGIN { print (r >= 1) ? 1 : 0 }')
res=$(verdict "$ok")
[ "$ok" = 1 ] || missed=$((missed + 1))
echo
printf '%-22s %10s %10s %8s %7s  %s\n' "" cairn dnsmasq ratio target result
printf '%-22s %10s %10s %8s %7s  %s\n' "peak q/s (median)" "$CPEAK" \
    "$MPEAK" "${rt}x" 1x "$res"
printf '%-22s %10s %10s\n' "answer bytes (avg)" "$c_rb" "$m_rb"

# --- by kind ---------------------------------------------------------------

if [ "$KINDS" = 1 ]; then
	ks=3
	[ "$SECS" -lt 3 ] && ks=$SECS
	echo
	echo "peak by query kind: each kind's lines alone, unlimited, ${ks}s," \
	    "one round (not a target)"
	printf '%-10s %11s %5s   %11s %5s %8s\n' kind cairn/s cpu% \
	    dnsmasq/s cpu% ratio
	for k in node service tag srv; do
		QF=$tmp/queries-$k
		dnsd=$(kid dnsd)
		kvd=$(kid kvd)
		c=$(SECS=$ks peak cairn "$k" "$addr" "$DP" "$dnsd" "$kvd")
		m=$(SECS=$ks peak dnsmasq "$k" "$maddr" "$MP" "$dm")
		# shellcheck disable=SC2086
		set -- $c $m
		printf '%-10s %11s %5s   %11s %5s %8s\n' "$k" "$1" "$3" "$6" \
		    "$8" "$(ratio "$1" "$6")x"
	done
	QF=$tmp/queries
fi

# --- half peak ---------------------------------------------------------------

# latv key side - a value of dns_probe.py latency's output for side
latv() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/lat-$2.out"; }

# half side server port peak - -Q peak/2 with -v; prints the table's row
half() {
	q=$(( $4 / 2 ))
	[ "$q" -gt 0 ] || fail "$1: peak of $4 q/s"
	i0=$(idle_ticks)
	got=$(dperf "$tmp/half-$1.out" "$2" "$3" -l "$SECS" -Q "$q" -v)
	i1=$(idle_ticks)
	helper latency "$tmp/half-$1.out" >"$tmp/lat-$1.out" ||
	    fail "cannot read $1's latencies"
	[ "$(latv rcodes "$1")" = "NOERROR:$(latv answered "$1")" ] ||
	    fail "$1: rcodes at half peak: $(latv rcodes "$1")"
	# shellcheck disable=SC2086
	set -- "$1" "$q" $got
	printf '%-10s %9s %9s %5s %7s %7s %7s %8s %7s %5s' "$1" "$2" "$3" \
	    "$(idle_pct "$i0" "$i1")" \
	    "$(latv p50 "$1")" "$(latv p90 "$1")" "$(latv p99 "$1")" \
	    "$(latv p999 "$1")" "$(latv max "$1")" "$(latv lost "$1")"
	if awk -v a="$3" -v w="$2" 'BEGIN { exit !(a < 0.95 * w) }'; then
		printf '  (dnsperf fell short of -Q)'
	fi
}

echo
echo "half peak: dnsperf -c $CLIENTS -q $OUTSTANDING -Q <half the" \
    "median peak> -v, ${SECS}s; latency in ms (a lost query counts as" \
    "the slowest); idle: the machine's"
printf '%-10s %9s %9s %5s %7s %7s %7s %8s %7s %5s  %s\n' "" "-Q q/s" \
    got/s idle% p50 p90 p99 p99.9 max lost "target"
row=$(half cairn "$addr" "$DP" "$CPEAK")
p99=$(latv p99 cairn)
ok=$(awk -v p="$p99" 'BEGIN { print (p < 1) ? 1 : 0 }')
[ "$ok" = 1 ] || missed=$((missed + 1))
echo "$row  p99 < 1 ms $(verdict "$ok")"
row=$(half dnsmasq "$maddr" "$MP" "$MPEAK")
echo "$row  -"

alive "$agent" || fail "the agent exited: $(tail -20 "$tmp/agent.log")"
alive "$dm" || fail "dnsmasq exited: $(tail -5 "$tmp/dnsmasq.log")"

# --- profile (PERF=1) --------------------------------------------------------

if [ "$PERF" = 1 ]; then
	dnsd=$(kid dnsd)
	kvd=$(kid kvd)
	dperf "$tmp/perf-cairn.out" "$addr" "$DP" -l "$SECS" >/dev/null &
	dp=$!
	sleep 1
	perf record -q --call-graph dwarf,16384 -F 499 -p "$dnsd,$kvd" \
	    -o "$tmp/perf.data" -- sleep 3 >"$tmp/perf.log" 2>&1 ||
	    fail "perf record failed: $(tail -3 "$tmp/perf.log")"
	wait "$dp" || fail "dnsperf failed during perf record"
	rep() {
		perf report -i "$tmp/perf.data" --stdio --sort comm,dso,symbol \
		    -g none "$@" 2>/dev/null | grep -v '^#' | sed '/^$/d'
	}
	echo
	echo "perf: cairn-dnsd and cairn-kvd, 3 s of one more peak run;" \
	    "self time >= 2%:"
	rep --no-children --percent-limit 2 | head -25
	echo
	echo "with callees >= 10% (cairn's own functions):"
	rep --children --percent-limit 10 | grep -v ' \[k\] \| libdb\| libc\| libev' |
	    head -30
fi

echo
[ $missed = 0 ] && echo "dns.sh: all targets met" ||
    echo "dns.sh: $missed target(s) MISSED"
