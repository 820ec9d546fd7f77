#!/bin/bash
# raft.sh - three cairn servers on loopback: PUT throughput beside a
# three-member etcd cluster, leader failover time, and elections while idle.
#
#   bench/raft.sh                 put, then failover (same cluster)
#   bench/raft.sh put             PUT throughput, cairn vs etcd
#   bench/raft.sh failover [N]    kill -9 the leader N times (default 10)
#   bench/raft.sh soak [SECS]     idle cluster, count elections (default 600)
#   bench/raft.sh all [SECS]      put, failover, then soak on a fresh cluster
#
#   SECS=10 CONNS="10 100" THREADS=2   wrk duration, connections, threads
#   TRIES=10                           failover tries
#   LOG_LEVEL=info B=build             agents' log level, build directory
#
# put: wrk against the leader's HTTP API (cairn: PUT /v1/kv/bench/put/kN;
# etcd 3.4: POST /v3/kv/put through its JSON gateway), 100-byte values over
# 8 keys, both fsyncing every acknowledged write. A Non-2xx answer or a
# socket error in wrk's output fails the run; afterwards every cairn server
# must hold the values. Target: cairn at least 2x etcd at each concurrency.
#
# failover: find the agreed leader, SIGKILL its agent and every daemon of
# it at once (each is a process group of its own, so this kills the agent's
# session, daemons first), then PUT round robin to the two survivors with a
# 1 s timeout until one succeeds: the time printed runs from the kill to
# that answer. The killed server restarts on its data dir and must show the
# leader and a key written after its restart before the next try. Target:
# median under 1 s (elections in 300-600 ms by default).
#
# soak: poll /v1/status/leader on all three every 100 ms; count changes of
# the agreed leader, spells without agreement, and raftd's "leader is" /
# "no leader" log lines (each names the term). Target: none.
#
# Exit 0: ran, targets printed (met or MISSED); 1: an error (a server did not
# come up, wrk saw errors, a write failed). Agents' logs are kept, and their
# path printed, when anything failed or a target was missed. Everything runs
# on 127/8; every process started is killed by pid or session on exit.
set -eu
mode=${1:-bench}
case $mode in
bench|put|failover|soak|all) ;;
*) echo "usage: raft.sh [put|failover [N]|soak [SECS]|all [SECS]]" >&2
   exit 1 ;;
esac
SECS=${SECS:-10}
CONNS=${CONNS:-10 100}
THREADS=${THREADS:-2}
TRIES=${TRIES:-10}
SOAK=${SOAK:-600}
LOG_LEVEL=${LOG_LEVEL:-info}
[ "$mode" = failover ] && TRIES=${2:-$TRIES}
[ "$mode" = soak ] || [ "$mode" = all ] && SOAK=${2:-$SOAK}
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$top/build}
probe() { python3 "$top/bench/raft_probe.py" "$@"; }
# run_probe out args... - a long probe in the background: a signal to us
# then stops it at once (bash runs traps only between foreground commands)
run_probe() {
	local out=$1 rc=0
	shift
	python3 "$top/bench/raft_probe.py" "$@" >"$out" &
	PROBE=$!
	wait "$PROBE" 2>/dev/null || rc=$?
	PROBE=
	return $rc
}
if ! command -v wrk >/dev/null || ! command -v etcd >/dev/null; then
	echo "raft.sh: needs wrk and etcd: scripts/deps.sh test" >&2; exit 1
fi
[ -x "$B/bin/cairn" ] || { echo "raft.sh: build first: make" >&2; exit 1; }

tmp=$(mktemp -d /tmp/cairn-raft.XXXXXX)
net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 2))
keep=0			# 1: keep the logs
missed=0		# targets missed
PROBE=
declare -a A HP DP SP LP WP SID EA EC EP EPID URL JOIN

cleanup() {
	local rc=$?
	set +e
	[ $rc = 0 ] && [ ! -e "$tmp/failed" ] || keep=1
	[ -n "${PROBE:-}" ] && kill "$PROBE" 2>/dev/null
	trap - EXIT INT TERM
	for i in 0 1 2; do
		[ -n "${SID[i]:-}" ] && kill -TERM "${SID[i]}" 2>/dev/null
	done
	for p in "${EPID[@]}"; do kill -TERM "$p" 2>/dev/null; done
	# the agents stop their daemons in order; give them 12 s at most
	for _ in $(seq 120); do
		alive=0
		for i in 0 1 2; do
			[ -n "${SID[i]:-}" ] && kill -0 "${SID[i]}" 2>/dev/null &&
			    alive=1
		done
		for p in "${EPID[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for i in 0 1 2; do
		[ -n "${SID[i]:-}" ] && probe kill "${SID[i]}" 2>/dev/null
	done
	for p in "${EPID[@]}"; do kill -9 "$p" 2>/dev/null; done
	if [ $keep = 1 ] || [ $missed != 0 ]; then
		logs=$(mktemp -d /tmp/cairn-raft-logs.XXXXXX)
		cp "$tmp"/*.log "$logs"/ 2>/dev/null
		echo "raft.sh: logs kept in $logs" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { touch "$tmp/failed"; echo "raft.sh: $*" >&2; exit 1; }

# start_agent i - agent i in a session of its own, appending to n$i.log
start_agent() {
	local i=$1
	setsid "$B/bin/cairn" agent -server -bootstrap-expect 3 \
	    -data-dir "$tmp/n$i" -node "n$i" -bind "${A[i]}" \
	    -client "${A[i]}" -http-port "${HP[i]}" -dns-port "${DP[i]}" \
	    -server-port "${SP[i]}" -serf-lan-port "${LP[i]}" \
	    -serf-wan-port "${WP[i]}" ${JOIN[i]:+-retry-join "${JOIN[i]}"} \
	    -retry-interval 1s \
	    -log-level "$LOG_LEVEL" >>"$tmp/n$i.log" 2>&1 </dev/null &
	SID[i]=$!
}

# wait_http i - until agent i's HTTP API answers (30 s)
wait_http() {
	local i=$1 n=0
	until curl -s -o /dev/null -m 1 "${URL[i]}/v1/agent/self"; do
		kill -0 "${SID[i]}" 2>/dev/null ||
		    fail "agent n$i exited: $(tail -20 "$tmp/n$i.log")"
		n=$((n + 1))
		[ $n -lt 300 ] || fail "agent n$i never came up"
		sleep 0.1
	done
}

# cluster - three cairn servers on $net.11-13; prints nothing
cluster() {
	local i p
	for i in 0 1 2; do
		A[i]=$net.$((11 + i))
		p=$(probe ports "${A[i]}" 5) || exit 1
		read -r "HP[i]" "DP[i]" "SP[i]" "LP[i]" "WP[i]" <<<"$p"
		URL[i]=http://${A[i]}:${HP[i]}
		JOIN[i]=${A[0]}:${LP[0]}
	done
	JOIN[0]=
	for i in 0 1 2; do start_agent $i; done
	for i in 0 1 2; do wait_http $i; done
	probe leader 60 "${URL[@]}" >/dev/null || fail "cairn elected no leader"
}

# leader_index - the index of the agreed leader among the URLs given
leader_index() {
	local lead i
	lead=$(probe leader 30 "$@") || fail "no agreed leader"
	for i in 0 1 2; do
		[ "$lead" = "${A[i]}:${SP[i]}" ] && { echo $i; return; }
	done
	fail "leader $lead is none of ours"
}

# etcd_cluster - three etcd members on $net.21-23
etcd_cluster() {
	local i ic='' p
	for i in 0 1 2; do
		EA[i]=$net.$((21 + i))
		p=$(probe ports "${EA[i]}" 2) || exit 1
		read -r "EC[i]" "EP[i]" <<<"$p"
		ic="$ic${ic:+,}e$i=http://${EA[i]}:${EP[i]}"
	done
	for i in 0 1 2; do
		etcd --name "e$i" --data-dir "$tmp/e$i" \
		    --listen-client-urls "http://${EA[i]}:${EC[i]}" \
		    --advertise-client-urls "http://${EA[i]}:${EC[i]}" \
		    --listen-peer-urls "http://${EA[i]}:${EP[i]}" \
		    --initial-advertise-peer-urls "http://${EA[i]}:${EP[i]}" \
		    --initial-cluster "$ic" --initial-cluster-state new \
		    --initial-cluster-token "bench-$$" \
		    --log-level error >"$tmp/e$i.log" 2>&1 </dev/null &
		EPID[i]=$!
	done
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

# putlua file method path-prefix body-maker - a wrk script over 8 keys
val=$(head -c 100 /dev/zero | tr '\0' 'x')
printf %s "$val" >"$tmp/val"
cairn_lua() {
	cat >"$tmp/cairn.lua" <<EOF
local i = 0
local body = "$val"
request = function()
	i = i + 1
	return wrk.format("PUT", "/v1/kv/bench/put/k" .. (i % 8), nil, body)
end
EOF
}
etcd_lua() {
	local k v64 list=
	v64=$(printf %s "$val" | base64 -w0)
	for k in 0 1 2 3 4 5 6 7; do
		list="$list\"{\\\"key\\\":\\\"$(printf %s "bench/put/k$k" |
		    base64 -w0)\\\",\\\"value\\\":\\\"$v64\\\"}\", "
	done
	cat >"$tmp/etcd.lua" <<EOF
local i = 0
local bodies = { $list }
local hdr = { ["Content-Type"] = "application/json" }
request = function()
	i = i + 1
	return wrk.format("POST", "/v3/kv/put", hdr, bodies[i % 8 + 1])
end
EOF
}

# rate conns script url - "requests/s p50 p99"; errors fail the run
rate() {
	local out
	out=$(wrk --latency -t"$THREADS" -c"$1" -d"${SECS}s" -s "$2" "$3") ||
	    fail "wrk failed: wrk -c$1 $3"
	if echo "$out" | grep -qE 'Non-2xx|Socket errors'; then
		echo "$out" >&2
		fail "errors in: wrk -t$THREADS -c$1 -d${SECS}s -s $2 $3"
	fi
	echo "$out" | awk '/Requests\/sec/ { r = $2 }
	    $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
	    END { if (r == "") exit 1; printf "%d %s %s", r, p50, p99 }' ||
	    fail "no rate in wrk's output: $out"
}

bench_put() {
	local li eu c cr er cp50 cp99 ep50 ep99 r out
	li=$(leader_index "${URL[@]}")
	etcd_cluster
	eu=$(probe etcd-leader 60 "http://${EA[0]}:${EC[0]}" \
	    "http://${EA[1]}:${EC[1]}" "http://${EA[2]}:${EC[2]}") ||
	    fail "etcd elected no leader: $(tail -5 "$tmp"/e*.log)"
	cairn_lua
	etcd_lua
	echo "put: cairn leader n$li ${URL[li]}, etcd leader $eu;" \
	    "wrk -t$THREADS -d${SECS}s, 100-byte values, 8 keys"
	printf '%-6s %10s %16s %10s %16s %8s\n' conns cairn/s \
	    "p50/p99" etcd/s "p50/p99" ratio
	for c in $CONNS; do
		out=$(rate "$c" "$tmp/cairn.lua" \
		    "${URL[li]}/v1/kv/bench/put/k0") || exit 1
		read -r cr cp50 cp99 <<<"$out"
		out=$(rate "$c" "$tmp/etcd.lua" "$eu/v3/kv/put") || exit 1
		read -r er ep50 ep99 <<<"$out"
		r=$(ratio "$cr" "$er")
		printf '%-6s %10s %16s %10s %16s %7sx\n' "$c" "$cr" \
		    "$cp50/$cp99" "$er" "$ep50/$ep99" "$r"
		awk -v r="$r" 'BEGIN { exit !(r >= 2) }' ||
		    { missed=$((missed + 1)); echo "  TARGET MISSED at -c$c:" \
		    "cairn ${r}x etcd, wanted 2x"; }
	done
	probe check-keys 8 "$tmp/val" "${URL[@]}" ||
	    fail "a server lacks the values written"
	echo "put: every server holds the 8 keys' values"
}

bench_failover() {
	local t li surv ms new lead2 msl='' slow=0 disrupt=0 i
	echo "failover: $TRIES tries; kill -9 of the leader's agent and daemons"
	for t in $(seq 1 "$TRIES"); do
		li=$(leader_index "${URL[@]}")
		surv=()
		for i in 0 1 2; do
			[ $i = "$li" ] || surv+=("${URL[i]}")
		done
		for i in 0 1 2; do wc -l <"$tmp/n$i.log" >"$tmp/n$i.mark"; done
		run_probe "$tmp/ms" failover "${SID[li]}" 30 "${surv[@]}" ||
		    fail "try $t: no write after killing n$li"
		ms=$(cat "$tmp/ms")
		wait "${SID[li]}" 2>/dev/null || true
		SID[li]=
		new=$(probe leader 30 "${surv[@]}") ||
		    fail "try $t: survivors agree on no leader"
		echo "  try $t: killed n$li (${A[li]}:${SP[li]}); first write" \
		    "after $ms ms; new leader $new"
		msl="$msl $ms"
		if [ "$ms" -ge 1000 ]; then
			slow=$((slow + 1)); keep=1
			for i in 0 1 2; do
				[ $i = "$li" ] && continue
				echo "    n$i's log since the kill:"
				tail -n +$(($(cat "$tmp/n$i.mark") + 1)) \
				    "$tmp/n$i.log" | head -20 | sed 's/^/      /'
			done
		fi
		start_agent "$li"
		wait_http "$li"
		lead2=$(probe leader 60 "${URL[@]}") ||
		    fail "try $t: n$li did not rejoin"
		if [ "$lead2" != "$new" ]; then
			disrupt=$((disrupt + 1)); keep=1
			echo "    leader changed to $lead2 when n$li rejoined"
		fi
		run_probe /dev/null caught-up 60 "${URL[li]}" "$lead2" \
		    "${surv[0]}" ||
		    fail "try $t: n$li did not catch up"
	done
	# shellcheck disable=SC2086
	med=$(printf '%s\n' $msl | sort -n | awk '{ v[NR] = $1 } END {
	    if (NR % 2) print v[(NR + 1) / 2];
	    else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
	echo "failover: ms per try:$msl; median $med ms; $slow at 1 s or" \
	    "more; $disrupt rejoins moved the leader"
	[ "$med" -lt 1000 ] ||
	    { missed=$((missed + 1)); echo "  TARGET MISSED: median ${med} ms," \
	    "wanted under 1000"; }
}

bench_soak() {
	local res ch sp ln
	echo "soak: 3 idle servers for $SOAK s, polling every 100 ms"
	run_probe "$tmp/soak.json" soak "$SOAK" "$tmp"/n0.log "$tmp"/n1.log \
	    "$tmp"/n2.log -- "${URL[@]}" || fail "soak failed"
	res=$(cat "$tmp/soak.json")
	echo "soak: $res"
	read -r ch sp ln <<<"$(echo "$res" | python3 -c 'import json,sys
d = json.load(sys.stdin)
print(d["leader_changes"], d["unsettled_spells"], d["raftd_leader_lines"])')"
	echo "soak: $ch leader changes, $sp spells without an agreed leader," \
	    "$ln raftd leader lines in $SOAK s"
	if [ "$ch" != 0 ] || [ "$sp" != 0 ] || [ "$ln" != 0 ]; then
		missed=$((missed + 1))
		echo "  TARGET MISSED: elections while idle"
	fi
}

# stop_cluster - stop the three agents (soak after put and failover wants
# a fresh cluster); their logs stay
stop_cluster() {
	local i n
	for i in 0 1 2; do kill -TERM "${SID[i]}" 2>/dev/null || true; done
	for i in 0 1 2; do
		for n in $(seq 120); do
			kill -0 "${SID[i]}" 2>/dev/null || break
			sleep 0.1
		done
		probe kill "${SID[i]}" 2>/dev/null || true
		wait "${SID[i]}" 2>/dev/null || true
		SID[i]=
		mv "$tmp/n$i.log" "$tmp/old-n$i.log"
		rm -rf "$tmp/n$i"
	done
}

echo "raft.sh: $B/bin/cairn, servers on $net.11-13, etcd on $net.21-23"
cluster
case $mode in
bench) bench_put; bench_failover ;;
put) bench_put ;;
failover) bench_failover ;;
soak) bench_soak ;;
all) bench_put; bench_failover; stop_cluster; cluster; bench_soak ;;
esac
[ $missed = 0 ] && echo "raft.sh: all targets met" ||
    echo "raft.sh: $missed target(s) MISSED"
