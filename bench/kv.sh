#!/bin/sh
# kv.sh - KV GET and PUT throughput of a cairn dev agent beside one etcd,
# same machine, same run, same load generator (wrk), ratio printed.
#
#   bench/kv.sh [seconds]        (default 10 s per measurement)
#   CONNS=100 bench/kv.sh        (wrk -c; default 10, threads 2)
#
# cairn:  GET /v1/kv/bench/key (default consistency), PUT /v1/kv/bench/key
# etcd:   POST /v3/kv/range (linearizable, and serializable), POST
#         /v3/kv/put, through etcd's v3 JSON gateway
# Both fsync every acknowledged write. Values are 100 bytes.
set -eu
SECS=${1:-10}
CONNS=${CONNS:-10}
THREADS=${THREADS:-2}
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$top/build}
command -v wrk >/dev/null && command -v etcd >/dev/null ||
	{ echo "kv.sh: needs wrk and etcd: scripts/deps.sh test" >&2; exit 1; }
[ -x "$B/bin/cairn" ] || { echo "kv.sh: build first: make" >&2; exit 1; }

tmp=$(mktemp -d /tmp/cairn-bench.XXXXXX)
addr=127.0.$(( $$ % 200 + 20 )).$(( $$ % 250 + 2 ))
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

port() {	# a free TCP port on $addr
	python3 -c 'import socket,sys
s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$addr"
}

wait_http() {	# url: wait until it answers
	i=0
	until curl -s -o /dev/null -m 1 "$@"; do
		i=$((i + 1)); [ $i -lt 200 ] || { echo "kv.sh: $1 never came up" >&2; exit 1; }
		sleep 0.1
	done
}

# cairn
hp=$(port); dp=$(port); sp=$(port); lp=$(port); wp=$(port)
"$B/bin/cairn" agent -dev -data-dir "$tmp/cairn" -node bench -bind "$addr" \
    -client "$addr" -http-port "$hp" -dns-port "$dp" -server-port "$sp" \
    -serf-lan-port "$lp" -serf-wan-port "$wp" -log-level warn \
    >"$tmp/cairn.log" 2>&1 &
pids="$pids $!"
wait_http -X PUT -d x "http://$addr:$hp/v1/kv/bench/ready"

# etcd
ec=$(port); ep=$(port)
etcd --name bench --data-dir "$tmp/etcd" \
    --listen-client-urls "http://$addr:$ec" \
    --advertise-client-urls "http://$addr:$ec" \
    --listen-peer-urls "http://$addr:$ep" \
    --initial-advertise-peer-urls "http://$addr:$ep" \
    --initial-cluster "bench=http://$addr:$ep" \
    --log-level error >"$tmp/etcd.log" 2>&1 &
pids="$pids $!"
wait_http "http://$addr:$ec/health"

val=$(head -c 100 /dev/zero | tr '\0' 'x')
val64=$(printf %s "$val" | base64 -w0)
key64=$(printf %s bench/key | base64 -w0)
curl -s -X PUT -d "$val" "http://$addr:$hp/v1/kv/bench/key" >/dev/null
curl -s -X POST -d "{\"key\":\"$key64\",\"value\":\"$val64\"}" \
    "http://$addr:$ec/v3/kv/put" >/dev/null

lua() {		# method body -> a wrk script file
	f="$tmp/$1.$$.lua"
	printf 'wrk.method = "%s"\nwrk.body = [[%s]]\n' "$1" "$2" > "$f"
	printf 'wrk.headers["Content-Type"] = "application/json"\n' >> "$f"
	echo "$f"
}

rate() {	# wrk args -> requests/s; non-2xx answers fail the run
	out=$(wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" "$@")
	if echo "$out" | grep -q 'Non-2xx'; then
		echo "kv.sh: errors in: wrk $*" >&2; echo "$out" >&2; exit 1
	fi
	echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

echo "kv.sh: wrk -t$THREADS -c$CONNS -d${SECS}s, cairn $addr:$hp, etcd $addr:$ec"
cg=$(rate "http://$addr:$hp/v1/kv/bench/key")
eg=$(rate -s "$(lua POST "{\"key\":\"$key64\"}")" "http://$addr:$ec/v3/kv/range")
es=$(rate -s "$(lua POST "{\"key\":\"$key64\",\"serializable\":true}")" \
    "http://$addr:$ec/v3/kv/range")
cp=$(rate -s "$(lua PUT "$val")" "http://$addr:$hp/v1/kv/bench/key")
ep_=$(rate -s "$(lua POST "{\"key\":\"$key64\",\"value\":\"$val64\"}")" \
    "http://$addr:$ec/v3/kv/put")
printf '%-6s %12s %12s %12s\n' op cairn etcd ratio
printf '%-6s %12s %12s %12s\n' GET "$cg" "$eg" "$(ratio "$cg" "$eg")x"
printf '%-6s %12s %12s %12s   (etcd serializable range)\n' GET "$cg" "$es" \
    "$(ratio "$cg" "$es")x"
printf '%-6s %12s %12s %12s\n' PUT "$cp" "$ep_" "$(ratio "$cp" "$ep_")x"
