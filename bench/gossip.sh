#!/bin/bash
# gossip.sh - N cairn client agents beside N HashiCorp serf agents on
# loopback, same run: join convergence, failure detection after kill -9,
# bytes sent at rest, and false failures while idle.
#
#   bench/gossip.sh               N=10, then N=50 (fresh clusters)
#   bench/gossip.sh N             one size, 3 to 100 agents of each
#   bench/gossip.sh soak [SECS]   N=10 of each, idle, count false failures
#                                 (default 600 s)
#
#   RUNS=5             kills per cluster for detection (median)
#   QUIET_SECS=30      the bandwidth window
#   LOG_LEVEL=info     agents' log level (cairn and serf alike)
#   B=build            build directory
#
# The clusters: cairn agents without -server (gossipd, checkd, dnsd, httpd)
# on $net.10, .11, ...; serf (Debian package, `serf agent`, lan profile)
# on $net.130, .131, ...; one address per agent, the same ports on each.
# Every agent but the first is started with -retry-join to the first and a
# retry interval of 1 s. Observers: every agent up to N=10; above, five
# (agents 0, N/5, 2N/5, 3N/5, 4N/5). Each observer is polled at most every
# 200 ms (cairn: GET /v1/agent/members; serf: members over its RPC port).
#
# convergence: agent 0 is started alone and waited for (its API shows
# itself alive), so that no join waits out a retry interval by luck; then
# the wall clock is read, the N-1 others are all started at once, and the
# time printed is when the last observer first saw N members alive. cairn
# goes first; serf starts once cairn has converged. Target: cairn at most
# 1x serf's.
#
# bandwidth: 5 s after both have converged, nothing polls for QUIET_SECS
# while a packet socket on lo (AF_PACKET, a cBPF filter on this run's /24)
# counts every IPv4 packet going out from or to an agent's gossip address
# and port, UDP and TCP: this includes push/pull over TCP from the unbound
# ephemeral 127.0.0.1 ports both implementations dial from. Printed: IP
# bytes (headers included) per agent per second, the cluster's total over
# N. Needs root (CAP_NET_RAW); otherwise "n/a". Target: cairn at most 1x.
#
# detection: RUNS times, one non-first agent of each cluster is SIGKILLed
# at the same moment (cairn: every daemon of the agent's session, then the
# agent; serf: its one process), and the time printed is when the last of
# the observers (every survivor up to N=10, else the five) shows it failed;
# after 60 s a run is "not detected within 60 s". The victim is restarted
# (cairn on its data dir) and every observer and the victim must see N
# alive before the next run. A run that timed out counts as slower than
# any other; once more than half of a cluster's runs timed out its median
# is known and its remaining runs are skipped. Target: cairn's median at
# most 0.5x serf's.
#
# soak: both clusters idle for SECS; every agent is polled every 500 ms,
# and a spell is an observer seeing a member not alive (or missing), until
# it sees it alive again. Also counted: log lines that say "suspect" (from
# cairn-gossipd; from serf's memberlist). Target: none for cairn; serf's
# are printed beside it.
#
# Exit 0: ran, targets printed (met or MISSED); 1: an error (an agent did
# not start or rejoin, serf did not converge). Agents' logs are kept, and
# their path printed, when anything failed or a target was missed.
# Everything runs on 127/8; every process started is killed by pid or
# session on exit.
set -eu
mode=${1:-bench}
SOAK=600
case $mode in
bench|soak) ;;
[0-9]*) if ! [ "$mode" -ge 3 ] 2>/dev/null || [ "$mode" -gt 100 ]; then
		echo "gossip.sh: N must be 3 to 100" >&2; exit 1
	fi ;;
*) echo "usage: gossip.sh [N|soak [SECS]]" >&2; exit 1 ;;
esac
[ "$mode" = soak ] && SOAK=${2:-$SOAK}
RUNS=${RUNS:-5}
QUIET_SECS=${QUIET_SECS:-30}
LOG_LEVEL=${LOG_LEVEL:-info}
DETECT_TIMEOUT=60
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$top/build}
PY=/usr/bin/python3
[ -x $PY ] || PY=python3
probe() { "$PY" "$top/bench/gossip_probe.py" "$@"; }
# run_probe out args... - a long probe in the background: a signal to us
# then stops it at once (bash runs traps only between foreground commands)
run_probe() {
	local out=$1 rc=0
	shift
	"$PY" "$top/bench/gossip_probe.py" "$@" >"$out" &
	PROBE=$!
	wait "$PROBE" 2>/dev/null || rc=$?
	PROBE=
	return $rc
}
command -v serf >/dev/null ||
	{ echo "gossip.sh: needs serf: scripts/deps.sh test" >&2; exit 1; }
[ -x "$B/bin/cairn" ] || { echo "gossip.sh: build first: make" >&2; exit 1; }

tmp=$(mktemp -d /tmp/cairn-gossip.XXXXXX)
net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 2))
keep=0			# 1: keep the logs
missed=0		# targets missed
PROBE=
dir=			# this size's agents' data dirs and logs
N=0
CONV=			# converge's answer
V=			# verdict's
CAIRN_UP=0		# 1: cairn converged at this size
declare -a CA SA CSID SSID OBS

cleanup() {
	local rc=$?
	set +e
	[ $rc = 0 ] && [ ! -e "$tmp/failed" ] || keep=1
	[ -n "${PROBE:-}" ] && kill "$PROBE" 2>/dev/null
	trap - EXIT INT TERM
	stop_all
	if [ $keep = 1 ] || [ $missed != 0 ]; then
		logs=$(mktemp -d /tmp/cairn-gossip-logs.XXXXXX)
		(cd "$tmp" && find . -name '*.log' -exec cp --parents {} \
		    "$logs" \;)
		echo "gossip.sh: logs kept in $logs" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { touch "$tmp/failed"; echo "gossip.sh: $*" >&2; exit 1; }
miss() { missed=$((missed + 1)); }

# stop_all - SIGTERM every agent, wait 15 s at most, then SIGKILL the rest
# (a cairn agent's whole session)
stop_all() {
	local i alive
	for i in "${!CSID[@]}"; do
		kill -TERM "${CSID[i]}" 2>/dev/null || true
	done
	for i in "${!SSID[@]}"; do
		kill -TERM "${SSID[i]}" 2>/dev/null || true
	done
	for _ in $(seq 150); do
		alive=0
		for i in "${!CSID[@]}"; do
			kill -0 "${CSID[i]}" 2>/dev/null && { alive=1; break; }
		done
		for i in "${!SSID[@]}"; do
			kill -0 "${SSID[i]}" 2>/dev/null && { alive=1; break; }
		done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for i in "${!CSID[@]}"; do
		! kill -0 "${CSID[i]}" 2>/dev/null ||
		    probe kill "${CSID[i]}" 2>/dev/null || true
		wait "${CSID[i]}" 2>/dev/null || true
	done
	for i in "${!SSID[@]}"; do
		kill -9 "${SSID[i]}" 2>/dev/null || true
		wait "${SSID[i]}" 2>/dev/null || true
	done
	CSID=() SSID=()
	return 0
}

# start_cairn i - cairn client agent i in a session of its own
start_cairn() {
	local i=$1 join=
	[ "$i" = 0 ] || join=${CA[0]}:$CL
	setsid "$B/bin/cairn" agent -data-dir "$dir/c$i" -node "c$i" \
	    -bind "${CA[i]}" -client "${CA[i]}" -http-port "$CH" \
	    -dns-port "$CD" -server-port "$CS" -serf-lan-port "$CL" \
	    -serf-wan-port "$CW" ${join:+-retry-join "$join"} \
	    -retry-interval 1s -log-level "$LOG_LEVEL" \
	    >>"$dir/c$i.log" 2>&1 </dev/null &
	CSID[i]=$!
}

# start_serf i - serf agent i in a session of its own
start_serf() {
	local i=$1 join=
	[ "$i" = 0 ] || join=${SA[0]}:$SP
	setsid serf agent -node="s$i" -bind="${SA[i]}:$SP" \
	    -rpc-addr="${SA[i]}:$SR" ${join:+-retry-join="$join"} \
	    -retry-interval=1s -log-level="$LOG_LEVEL" \
	    >>"$dir/s$i.log" 2>&1 </dev/null &
	SSID[i]=$!
}

cairn_obs() { echo "http://${CA[$1]}:$CH"; }
serf_obs() { echo "serf://${SA[$1]}:$SR"; }

# check_running - fail naming the first agent that has exited
check_running() {
	local i
	for i in "${!CSID[@]}"; do
		kill -0 "${CSID[i]}" 2>/dev/null ||
		    fail "cairn agent c$i exited: $(tail -20 "$dir/c$i.log")"
	done
	for i in "${!SSID[@]}"; do
		kill -0 "${SSID[i]}" 2>/dev/null ||
		    fail "serf agent s$i exited: $(tail -20 "$dir/s$i.log")"
	done
}

# setup n - addresses, ports and observers for n agents of each
setup() {
	local i p
	N=$1
	dir=$tmp/n$N
	mkdir -p "$dir"
	CA=() SA=() OBS=()
	for i in $(seq 0 $((N - 1))); do
		CA[i]=$net.$((10 + i))
		SA[i]=$net.$((130 + i))
	done
	p=$(probe ports 5 "${CA[@]}") || exit 1
	read -r CH CD CS CL CW <<<"$p"
	p=$(probe ports 2 "${SA[@]}") || exit 1
	read -r SP SR <<<"$p"
	if [ "$N" -le 10 ]; then
		mapfile -t OBS < <(seq 0 $((N - 1)))
		OBSDESC="all $N agents"
	else
		for i in 0 1 2 3 4; do OBS+=($((i * N / 5))); done
		OBSDESC="5 agents (${OBS[*]})"
	fi
}

# victim r - the agent killed in run r: every observer's survivors watch
victim() {
	if [ "$N" -le 10 ]; then
		echo $((1 + ($1 - 1) % (N - 1)))
	else
		echo $(( (($1 - 1) % 5) * N / 5 + N / 10 ))
	fi
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
# verdict ratio max - V: "met" or "MISSED" (counted); not for $(...)
verdict() {
	if awk -v r="$1" -v m="$2" 'BEGIN { exit !(r <= m) }'; then
		V=met
	else
		miss; V=MISSED
	fi
}

# converge label t0 n urls... - CONV: ms until every observer saw n
# alive; empty when it timed out (the probe has said why on stderr). Not
# run in $(...): fail and the traps must act on this shell
converge() {
	local label=$1 t0=$2 n=$3 rc=0
	shift 3
	CONV=
	run_probe "$tmp/conv" converge $((60 + N)) "$t0" "$n" "$@" || rc=$?
	[ $rc = 0 ] || [ $rc = 2 ] || fail "$label: the convergence probe failed"
	[ $rc != 0 ] || CONV=$(cat "$tmp/conv")
}

# start_cluster kind - start agent 0 and wait until it answers; then read
# the clock, start the others at once and set CONV (see converge)
start_cluster() {
	local kind=$1 i t0 urls=()
	"start_$kind" 0
	converge "$kind" now 1 "$("${kind}_obs" 0)"
	[ -n "$CONV" ] || { check_running; fail "$kind agent 0 is not up"; }
	for i in "${OBS[@]}"; do urls+=("$("${kind}_obs" "$i")"); done
	t0=$(date +%s%N)
	for i in $(seq 1 $((N - 1))); do "start_$kind" "$i"; done
	converge "$kind" "$t0" "$N" "${urls[@]}"
}

bench_convergence() {
	local cms sms r
	start_cluster cairn
	cms=$CONV
	[ -n "$cms" ] || check_running
	start_cluster serf
	sms=$CONV
	[ -n "$sms" ] || { check_running; fail "serf did not converge"; }
	CAIRN_UP=1
	if [ -z "$cms" ]; then
		CAIRN_UP=0
		miss
		echo "N=$N convergence ($OBSDESC observe): cairn not converged" \
		    "within $((60 + N)) s, serf $sms ms; target at most 1x:" \
		    "MISSED"
		return
	fi
	r=$(ratio "$cms" "$sms")
	verdict "$r" 1
	echo "N=$N convergence ($OBSDESC observe): cairn $cms ms," \
	    "serf $sms ms; ${r}x serf; target at most 1x: $V"
}

bench_bandwidth() {
	local i ceps=() seps=() rc=0 cb cp sb sp drops co so ct st r
	for i in $(seq 0 $((N - 1))); do
		ceps+=("${CA[i]}:$CL")
		seps+=("${SA[i]}:$SP")
	done
	sleep 5
	if [ $CAIRN_UP = 1 ]; then
		run_probe "$tmp/bw" bw "$QUIET_SECS" cairn "${ceps[@]}" -- \
		    serf "${seps[@]}" || rc=$?
	else
		run_probe "$tmp/bw" bw "$QUIET_SECS" serf "${seps[@]}" || rc=$?
	fi
	if [ $rc = 3 ]; then
		echo "N=$N bandwidth: n/a (needs root)"
		return
	fi
	[ $rc = 0 ] || fail "the bandwidth probe failed"
	read -r _ sb sp drops so st <<<"$(grep '^serf ' "$tmp/bw")"
	if [ $CAIRN_UP = 0 ]; then
		miss
		echo "N=$N bandwidth ($QUIET_SECS s at rest, IP bytes):" \
		    "cairn not measured (not converged), serf $sb B/s" \
		    "($sp pkt/s) per agent; target at most 1x: MISSED"
		return
	fi
	read -r _ cb cp _ co ct <<<"$(grep '^cairn ' "$tmp/bw")"
	r=$(ratio "$cb" "$sb")
	verdict "$r" 1
	echo "N=$N bandwidth ($QUIET_SECS s at rest, IP bytes sent per agent" \
	    "per s): cairn $cb B/s ($cp pkt/s, $ct B/s of it TCP), serf" \
	    "$sb B/s ($sp pkt/s, $st B/s TCP); ${r}x serf; target at most" \
	    "1x: $V"
	[ "$drops" = 0 ] ||
	    echo "  warning: the packet socket dropped $drops packets"
	[ "$co" = 0 ] && [ "$so" = 0 ] || echo "  besides gossip, per agent:" \
	    "cairn $co B/s, serf $so B/s to or from the agents' addresses"
}

# median ms... - the median; "timeout" if it falls on a timed-out run
median() {
	printf '%s\n' "$@" | sed 's/^timeout$/999999999/' | sort -n |
	    awk '{ v[NR] = $1 } END {
		if (NR % 2) m = v[(NR + 1) / 2];
		else m = (v[NR / 2] + v[NR / 2 + 1]) / 2;
		if (m >= 999999999) print "timeout"; else printf "%.0f\n", m }'
}

bench_detection() {
	local r v i cdo=$CAIRN_UP grp=() urls c s cto=0
	local cl=() sl=() half=$((RUNS / 2)) cm sm desc
	if [ "$N" -le 10 ]; then
		desc="every survivor observes"
	else
		desc="$OBSDESC observe"
	fi
	echo "N=$N detection: $RUNS runs; kill -9 of one agent of each at" \
	    "once; $desc; timeout $DETECT_TIMEOUT s"
	for r in $(seq 1 "$RUNS"); do
		v=$(victim "$r")
		grp=()
		if [ $cdo = 1 ]; then
			grp+=(cairn "${CSID[v]}" "c$v")
			for i in "${OBS[@]}"; do
				[ "$i" = "$v" ] || grp+=("$(cairn_obs "$i")")
			done
			grp+=(--)
		fi
		grp+=(serf "${SSID[v]}" "s$v")
		for i in "${OBS[@]}"; do
			[ "$i" = "$v" ] || grp+=("$(serf_obs "$i")")
		done
		for i in $(seq 0 $((N - 1))); do
			wc -l <"$dir/c$i.log" >"$dir/c$i.mark"
		done
		run_probe "$tmp/det" detect "$DETECT_TIMEOUT" "${grp[@]}" ||
		    fail "run $r: the detection probe failed"
		s=$(awk '$1 == "serf" { print $2 }' "$tmp/det")
		sl+=("$s")
		c=skipped
		if [ $cdo = 1 ]; then
			c=$(awk '$1 == "cairn" { print $2 }' "$tmp/det")
			cl+=("$c")
			[ "$c" = timeout ] && cto=$((cto + 1))
			wait "${CSID[v]}" 2>/dev/null || true
			start_cairn "$v"
		fi
		wait "${SSID[v]}" 2>/dev/null || true
		start_serf "$v"
		echo "  run $r: killed c$v and s$v; cairn: $(fmt_ms "$c")," \
		    "serf: $(fmt_ms "$s")"
		if [ "$c" = timeout ]; then
			keep=1
			for i in "${OBS[@]}"; do
				[ "$i" = "$v" ] && continue
				echo "    c$i's gossipd log since the kill" \
				    "(last 5 lines):"
				tail -n +$(($(cat "$dir/c$i.mark") + 1)) \
				    "$dir/c$i.log" | grep gossipd | tail -5 |
				    sed 's/^/      /' | grep . ||
				    echo "      (nothing)"
				break
			done
		fi
		# every observer and the victim see N alive again
		urls=()
		for i in "${OBS[@]}" "$v"; do urls+=("$(serf_obs "$i")"); done
		converge serf now "$N" "${urls[@]}"
		[ -n "$CONV" ] || fail "run $r: s$v did not rejoin"
		if [ $cdo = 1 ]; then
			urls=()
			for i in "${OBS[@]}" "$v"; do
				urls+=("$(cairn_obs "$i")")
			done
			converge cairn now "$N" "${urls[@]}"
			[ -n "$CONV" ] || fail "run $r: c$v did not rejoin"
			if [ $cto -gt $half ]; then
				cdo=0
				[ "$r" = "$RUNS" ] ||
				    echo "  (cairn: $cto of $RUNS runs timed" \
				    "out, its median is decided; its other" \
				    "runs skipped)"
			fi
		fi
	done
	if [ $CAIRN_UP = 0 ]; then
		cm=timeout
		echo "  cairn not measured: it did not converge"
	else
		cm=$(median "${cl[@]}")
	fi
	sm=$(median "${sl[@]}")
	if [ "$sm" = timeout ]; then
		miss
		echo "N=$N detection: median cairn $(fmt_ms "$cm"), serf" \
		    "$(fmt_ms "$sm"); no ratio; target at most 0.5x: MISSED"
	elif [ "$cm" = timeout ]; then
		miss
		echo "N=$N detection: median cairn $(fmt_ms "$cm"), serf" \
		    "$sm ms; target at most 0.5x: MISSED"
	else
		r=$(ratio "$cm" "$sm")
		verdict "$r" 0.5
		echo "N=$N detection: median cairn $cm ms, serf $sm ms;" \
		    "${r}x serf; target at most 0.5x: $V"
	fi
}

fmt_ms() {
	case $1 in
	timeout) echo "not detected within $DETECT_TIMEOUT s" ;;
	skipped) echo skipped ;;
	*) echo "$1 ms" ;;
	esac
}

# suspect_lines - "cairn serf": log lines saying suspect, so far
suspect_lines() {
	local c s
	c=$(cat "$dir"/c*.log | grep gossipd | grep -ci suspect || true)
	s=$(cat "$dir"/s*.log | grep -ci suspect || true)
	echo "$c $s"
}

bench_soak() {
	local i curls=() surls=() c0 s0 c1 s1 cs ss
	[ $CAIRN_UP = 1 ] || fail "soak: cairn did not converge"
	for i in "${OBS[@]}"; do
		curls+=("$(cairn_obs "$i")")
		surls+=("$(serf_obs "$i")")
	done
	read -r c0 s0 <<<"$(suspect_lines)"
	echo "soak: both clusters idle for $SOAK s; every agent polled every" \
	    "500 ms"
	run_probe "$tmp/soak" soak "$SOAK" cairn "$N" "${curls[@]}" -- \
	    serf "$N" "${surls[@]}" || fail "the soak probe failed"
	read -r c1 s1 <<<"$(suspect_lines)"
	cs=$(awk '/"label": "cairn"/' "$tmp/soak" |
	    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["spells"])')
	ss=$(awk '/"label": "serf"/' "$tmp/soak" |
	    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["spells"])')
	echo "soak: cairn: $cs spells of a member not alive, $((c1 - c0))" \
	    "suspect log lines; serf: $ss spells, $((s1 - s0)) suspect lines"
	if [ "$cs" != 0 ] || [ $((c1 - c0)) != 0 ]; then
		miss
		echo "soak: target none for cairn: MISSED"
		grep '"label": "cairn"' "$tmp/soak"
	else
		echo "soak: target none for cairn: met"
	fi
	[ "$ss" = 0 ] || grep '"label": "serf"' "$tmp/soak"
}

# one_size n - the three measurements on fresh clusters of n agents each
one_size() {
	setup "$1"
	echo "gossip.sh: N=$N; cairn $B/bin/cairn on $net.10-$((9 + N))," \
	    "serf $(dpkg-query -W -f='${Version}' serf 2>/dev/null ||
	    echo '?') on $net.130-$((129 + N))"
	bench_convergence
	bench_bandwidth
	bench_detection
	stop_all
}

case $mode in
bench) one_size 10; one_size 50 ;;
soak)
	setup 10
	echo "gossip.sh: soak, N=10; cairn on $net.10-19, serf on" \
	    "$net.130-139"
	bench_convergence
	bench_soak ;;
*) one_size "$mode" ;;
esac
[ $missed = 0 ] && echo "gossip.sh: all targets met" ||
    echo "gossip.sh: $missed target(s) MISSED"
