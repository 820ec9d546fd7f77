#!/bin/sh
# kv.sh - KV throughput of cairn beside etcd, same machine, same run, same
# load generator (wrk), ratio printed; then kvd's memory holding 100,000 keys.
#
#   bench/kv.sh [seconds]        (default 10 s per measurement)
#
#   CONNS="10 100"   wrk -c values, one table each (default both)
#   SERVERS="1 3"    cluster sizes, one setup each (default both)
#   THREADS=2        wrk -t
#   KEYS=100000      keys loaded for the RSS measurement (0: skip it)
#   LOG_LEVEL=warn B=build   agents' log level, build directory
#
# Each setup is N cairn servers (cairn agent -server -bootstrap-expect N)
# beside an N-member etcd cluster (3.4, through its v3 JSON gateway), all on
# one loopback address derived from $$, every port its own. With 3 servers
# wrk aims at the leaders: cairn's is the agent whose server port
# /v1/status/leader names, etcd's the member whose /v3/maintenance/status
# shows itself as leader. Both fsync every acknowledged write. Values are
# 100 bytes. One table per (servers, conns):
#
#   GET default     GET /v1/kv/bench/key           etcd range, linearizable
#   GET stale       GET /v1/kv/bench/key?stale     etcd range, serializable
#   GET consistent  GET /v1/kv/bench/key?consistent  etcd linearizable (the
#                                                  same measurement as above)
#   PUT             PUT /v1/kv/bench/put           etcd put
#   CAS             PUT /v1/kv/<unique>?cas=0      etcd txn: create_revision
#                   (create-only, a new key per    of a new key == 0, then
#                   request)                       put it
#
# Targets: GET and stale GET at least 5x etcd, PUT and CAS at least 2x. CAS
# must succeed on every request: afterwards each side must hold at least as
# many keys under the run's prefix as wrk counted requests, and wrk's Lua
# checks every answer's body. Once per run, on the fresh 1-server setup before
# its tables, KEYS keys of 100 bytes are loaded (bench/kv_rss.py) and counted
# with ?keys, and kvd's VmRSS is read from /proc: target under 64 MiB. (They
# are deleted before the tables; kvd's RSS after the tables is printed too.)
#
# Exit 0: ran, targets printed (ok or MISSED); 1: an error (a server did not
# come up, wrk saw Non-2xx answers or socket errors, a CAS failed). Logs are
# kept, and their path printed, when anything failed or a target was missed.
# Everything stays on 127/8; every process started is killed by pid on exit.
set -eu
SECS=${1:-10}
CONNS=${CONNS:-10 100}
SERVERS=${SERVERS:-1 3}
THREADS=${THREADS:-2}
KEYS=${KEYS:-100000}
LOG_LEVEL=${LOG_LEVEL:-warn}
top=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$top/build}
for s in $SERVERS; do
	case $s in 1|3) ;; *) echo "kv.sh: SERVERS: 1 or 3" >&2; exit 1 ;; esac
done
for t in wrk etcd curl python3 pgrep; do
	command -v $t >/dev/null ||
	    { echo "kv.sh: needs $t: scripts/deps.sh test" >&2; exit 1; }
done
[ -x "$B/bin/cairn" ] || { echo "kv.sh: build first: make" >&2; exit 1; }

probe() { python3 "$top/bench/raft_probe.py" "$@"; }
helper() { python3 "$top/bench/kv_rss.py" "$@"; }

tmp=$(mktemp -d /tmp/cairn-kvbench.XXXXXX)
addr=127.0.$(( $$ % 200 + 20 )).$(( $$ % 250 + 2 ))
agents=			# pids of the running setup's cairn agents
etcds=			# and of its etcd members
missed=0		# targets missed
tno=0			# tables printed

# alive pid - the process runs (a zombie does not)
alive() {
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
}

# stop_all - SIGTERM the agents (they stop their daemons in order) and the
# etcd members; after 12 s SIGKILL whatever is left, daemons included
stop_all() {
	kids=
	for p in $agents; do kids="$kids $(pgrep -P "$p" || true)"; done
	for p in $agents $etcds; do kill -TERM "$p" 2>/dev/null || true; done
	n=0
	while [ $n -lt 120 ]; do
		up=0
		for p in $agents $etcds $kids; do alive "$p" && up=1; done
		[ $up = 0 ] && break
		n=$((n + 1))
		sleep 0.1
	done
	for p in $kids $agents $etcds; do kill -9 "$p" 2>/dev/null || true; done
	for p in $agents $etcds; do wait "$p" 2>/dev/null || true; done
	agents='' etcds=''
}

cleanup() {
	rc=$?
	set +e
	trap - EXIT INT TERM
	stop_all
	if [ "$rc" != 0 ] || [ -e "$tmp/failed" ] || [ $missed != 0 ]; then
		logs=$(mktemp -d /tmp/cairn-kvbench-logs.XXXXXX)
		cp "$tmp"/*.log "$logs"/ 2>/dev/null
		echo "kv.sh: logs kept in $logs" >&2
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { touch "$tmp/failed"; echo "kv.sh: $*" >&2; exit 1; }

# var name i - the value of name_i; set_var name i value
var() { eval "echo \"\${$1_$2}\""; }
set_var() { eval "$1_$2=\$3"; }

# setup n - n cairn servers and n etcd members on $addr, leaders elected;
# sets CU (cairn leader's URL), CL (its agent's pid), EU (etcd leader's URL)
setup() {
	n=$1
	ports=$(probe ports "$addr" $((7 * n))) || fail "no free ports"
	# shellcheck disable=SC2086
	set -- $ports
	i=0 urls='' eurls='' ic=''
	while [ $i -lt "$n" ]; do
		set_var HP $i "$1"; set_var DP $i "$2"; set_var SP $i "$3"
		set_var LP $i "$4"; set_var WP $i "$5"
		set_var EC $i "$6"; set_var EP $i "$7"
		shift 7
		urls="$urls http://$addr:$(var HP $i)"
		eurls="$eurls http://$addr:$(var EC $i)"
		ic="$ic${ic:+,}e$i=http://$addr:$(var EP $i)"
		i=$((i + 1))
	done
	i=0
	while [ $i -lt "$n" ]; do
		join=
		[ $i = 0 ] || join=$addr:$LP_0
		"$B/bin/cairn" agent -server -bootstrap-expect "$n" \
		    -data-dir "$tmp/s$n-n$i" -node "n$i" -bind "$addr" \
		    -client "$addr" -http-port "$(var HP $i)" \
		    -dns-port "$(var DP $i)" -server-port "$(var SP $i)" \
		    -serf-lan-port "$(var LP $i)" -serf-wan-port "$(var WP $i)" \
		    ${join:+-retry-join "$join"} -retry-interval 1s \
		    -log-level "$LOG_LEVEL" >>"$tmp/s$n-n$i.log" 2>&1 </dev/null &
		set_var PID $i $!
		agents="$agents $!"
		etcd --name "e$i" --data-dir "$tmp/s$n-e$i" \
		    --listen-client-urls "http://$addr:$(var EC $i)" \
		    --advertise-client-urls "http://$addr:$(var EC $i)" \
		    --listen-peer-urls "http://$addr:$(var EP $i)" \
		    --initial-advertise-peer-urls "http://$addr:$(var EP $i)" \
		    --initial-cluster "$ic" --initial-cluster-state new \
		    --initial-cluster-token "kvbench-$$-$n" \
		    --log-level error >"$tmp/s$n-e$i.log" 2>&1 </dev/null &
		etcds="$etcds $!"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	lead=$(probe leader 60 $urls) ||
	    fail "cairn elected no leader: $(tail -5 "$tmp"/s$n-n*.log)"
	CU='' CL=''
	i=0
	while [ $i -lt "$n" ]; do
		if [ "$lead" = "$addr:$(var SP $i)" ]; then
			CU=http://$addr:$(var HP $i) CL=$(var PID $i) CN=n$i
		fi
		i=$((i + 1))
	done
	[ -n "$CU" ] || fail "cairn leader $lead is none of ours"
	# shellcheck disable=SC2086
	EU=$(probe etcd-leader 60 $eurls) ||
	    fail "etcd elected no leader: $(tail -5 "$tmp"/s$n-e*.log)"
	curl -sf -o /dev/null -X PUT --data-binary "$val" \
	    "$CU/v1/kv/bench/key" || fail "cairn: PUT bench/key failed"
	curl -sf -o /dev/null -X POST \
	    -d "{\"key\":\"$key64\",\"value\":\"$val64\"}" \
	    "$EU/v3/kv/put" || fail "etcd: put bench/key failed"
}

val=$(head -c 100 /dev/zero | tr '\0' 'v')
val64=$(printf %s "$val" | base64 -w0)
key64=$(printf %s bench/key | base64 -w0)
put64=$(printf %s bench/put | base64 -w0)

lua() {		# name method body: a wrk script of one fixed request
	printf 'wrk.method = "%s"\nwrk.body = [[%s]]\n' "$2" "$3" >"$tmp/$1.lua"
	printf 'wrk.headers["Content-Type"] = "application/json"\n' \
	    >>"$tmp/$1.lua"
	echo "$tmp/$1.lua"
}

# cas_lua prefix: wrk scripts cairn_cas.lua and etcd_cas.lua, each request
# creating a new key under prefix (thread id and a per-thread counter). The
# prefix's length is a multiple of 3, so its base64 can be followed by
# base64 digits of the counter: etcd keys need no encoding in Lua. Every
# answer's body is checked (cairn: true; etcd: "succeeded":true) and the
# misses printed after wrk's summary, for rate() to find.
cas_lua() {
	[ $((${#1} % 3)) = 0 ] || fail "CAS prefix $1: length not 3n"
	cat >"$tmp/cas_common.lua" <<EOF
local threads = {}
function setup(thread)
	table.insert(threads, thread)
	thread:set("tid", #threads)
end
bad = 0
function done(summary, latency, requests)
	local b = 0
	for _, t in ipairs(threads) do b = b + t:get("bad") end
	io.write(string.format("CAS not created: %d\\n", b))
end
local n = 0
EOF
	cat "$tmp/cas_common.lua" - >"$tmp/cairn_cas.lua" <<EOF
local path = "/v1/kv/$1"
local body = "$val"
function request()
	n = n + 1
	return wrk.format("PUT", path .. tid .. "-" .. n .. "?cas=0", nil, body)
end
function response(status, headers, body)
	if body ~= "true" then bad = bad + 1 end
end
EOF
	cat "$tmp/cas_common.lua" - >"$tmp/etcd_cas.lua" <<EOF
local pfx = "$(printf %s "$1" | base64 -w0)"
local val = "$val64"
local digits =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local hdr = { ["Content-Type"] = "application/json" }
function response(status, headers, body)
	if not string.find(body, '"succeeded":true', 1, true) then
		bad = bad + 1
	end
end
local function b64num(x)	-- 8 base64 digits: 6 bytes of key
	local s = ""
	for _ = 1, 8 do
		local d = x % 64
		s = digits:sub(d + 1, d + 1) .. s
		x = math.floor(x / 64)
	end
	return s
end
function request()
	n = n + 1
	local k = pfx .. b64num(tid * 4294967296 + n)
	return wrk.format("POST", "/v3/kv/txn", hdr,
	    '{"compare":[{"key":"' .. k .. '","target":"CREATE",' ..
	    '"result":"EQUAL","create_revision":"0"}],' ..
	    '"success":[{"request_put":{"key":"' .. k ..
	    '","value":"' .. val .. '"}}]}')
end
EOF
}

# rate conns url [wrk args] - "requests/s requests"; Non-2xx answers,
# socket errors and CAS misses fail the run
rate() {
	c=$1 u=$2
	shift 2
	out=$(wrk -t"$THREADS" -c"$c" -d"${SECS}s" "$@" "$u") ||
	    fail "wrk failed: wrk -c$c $* $u"
	if echo "$out" | grep -qE 'Non-2xx|Socket errors|not created: [1-9]'
	then
		echo "$out" >&2
		fail "errors in: wrk -t$THREADS -c$c -d${SECS}s $* $u"
	fi
	echo "$out" | awk '/Requests\/sec/ { r = $2 }
	    / requests in / { n = $1 }
	    END { if (r == "" || n == "") exit 1; printf "%d %d", r, n }' ||
	    fail "no rate in wrk's output: $out"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

# row op cairn etcd target - one line of the table; target "-": none
row() {
	r=$(ratio "$2" "$3")
	if [ "$4" = - ]; then
		res=-
	elif awk -v r="$r" -v t="$4" 'BEGIN { exit !(r >= t) }'; then
		res=ok
	else
		res=MISSED missed=$((missed + 1))
	fi
	printf '%-15s %10s %10s %8s %7s  %s\n' "$1" "$2" "$3" "${r}x" \
	    "$([ "$4" = - ] && echo - || echo "${4}x")" "$res"
}

# check_cas side have sent conns - every CAS created its key
check_cas() {
	[ "$2" -ge "$3" ] ||
	    fail "$1 CAS: $3 requests answered but $2 keys created"
	[ "$2" -le $(($3 + $4)) ] ||
	    echo "  note: $1 holds $2 CAS keys for $3 requests (-c$4)"
}

# table n c - one table for n servers at -c c
table() {
	n=$1 c=$2
	echo
	echo "$n server(s), wrk -t$THREADS -c$c -d${SECS}s;" \
	    "cairn leader $CN $CU, etcd leader $EU"
	printf '%-15s %10s %10s %8s %7s  %s\n' op cairn/s etcd/s ratio \
	    target result
	rng=$(lua range POST "{\"key\":\"$key64\"}")
	ser=$(lua ser POST "{\"key\":\"$key64\",\"serializable\":true}")
	cput=$(lua cput PUT "$val")
	eput=$(lua eput POST "{\"key\":\"$put64\",\"value\":\"$val64\"}")
	# 2 s of reads on each side first, not counted: the first run
	# after a setup otherwise pays for cold caches and connections
	wrk -t"$THREADS" -c"$c" -d2s "$CU/v1/kv/bench/key" >/dev/null
	wrk -t"$THREADS" -c"$c" -d2s -s "$rng" "$EU/v3/kv/range" >/dev/null
	cg=$(rate "$c" "$CU/v1/kv/bench/key")
	eg=$(rate "$c" "$EU/v3/kv/range" -s "$rng")
	row "GET default" "${cg% *}" "${eg% *}" 5
	cs=$(rate "$c" "$CU/v1/kv/bench/key?stale")
	es=$(rate "$c" "$EU/v3/kv/range" -s "$ser")
	row "GET stale" "${cs% *}" "${es% *}" 5
	cc=$(rate "$c" "$CU/v1/kv/bench/key?consistent")
	row "GET consistent" "${cc% *}" "${eg% *}" -
	cp=$(rate "$c" "$CU/v1/kv/bench/put" -s "$cput")
	ep=$(rate "$c" "$EU/v3/kv/put" -s "$eput")
	row PUT "${cp% *}" "${ep% *}" 2
	tno=$((tno + 1))
	pfx=bench/cas/$(printf %02d-%04d "$tno" "$c")/
	cas_lua "$pfx"
	ca=$(rate "$c" "$CU/v1/kv/" -s "$tmp/cairn_cas.lua")
	ea=$(rate "$c" "$EU/v3/kv/txn" -s "$tmp/etcd_cas.lua")
	row CAS "${ca% *}" "${ea% *}" 2
	have=$(helper count "$CU" "$pfx") || fail "cannot count cairn's keys"
	check_cas cairn "$have" "${ca#* }" "$c"
	have=$(helper etcd-count "$EU" "$pfx") ||
	    fail "cannot count etcd's keys"
	check_cas etcd "$have" "${ea#* }" "$c"
	now=$(curl -s "$CU/v1/status/leader" | tr -d '"')
	[ "$now" = "$lead" ] ||
	    echo "  note: cairn's leader moved from $lead to $now during" \
	    "the table"
}

# kvd_rss - VmRSS of the leader's kvd in MiB
kvd_rss() {
	kvd=$(pgrep -P "$CL" -x cairn-kvd) || fail "no cairn-kvd under $CL"
	awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$kvd/status"
}

# rss - on a fresh server: load KEYS keys, count them, read kvd's VmRSS;
# then empty the store again, so that the tables run on a small one as
# etcd's do
rss() {
	before=$(kvd_rss)
	helper load "$CU" "$KEYS" rss/ >/dev/null || fail "loading failed"
	have=$(helper count "$CU" "") || fail "cannot count the keys"
	[ "$have" -ge "$KEYS" ] || fail "loaded $KEYS keys, found $have"
	mib=$(kvd_rss)
	if awk -v m="$mib" 'BEGIN { exit !(m < 64) }'; then
		res=ok
	else
		res=MISSED missed=$((missed + 1))
	fi
	echo
	echo "kvd RSS with $have keys: $mib MiB (target < 64 MiB) $res" \
	    "(fresh: $before MiB)"
	curl -sf -o /dev/null -X DELETE "$CU/v1/kv/rss/?recurse" ||
	    fail "cannot delete the keys loaded"
}

echo "kv.sh: $B/bin/cairn and $(etcd --version | head -1), all on $addr;" \
    "servers: $SERVERS, conns: $CONNS"
for n in $SERVERS; do
	setup "$n"
	[ "$n" = 1 ] && [ "$KEYS" -gt 0 ] && rss
	for c in $CONNS; do table "$n" "$c"; done
	if [ "$n" = 1 ] && [ "$KEYS" -gt 0 ]; then
		echo
		echo "kvd RSS after the tables: $(kvd_rss) MiB with" \
		    "$(helper count "$CU" "") keys (not a target)"
	fi
	stop_all
done
echo
[ $missed = 0 ] && echo "kv.sh: all targets met" ||
    echo "kv.sh: $missed target(s) MISSED"
