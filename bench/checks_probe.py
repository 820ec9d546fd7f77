#!/usr/bin/env python3
"""checks_probe.py - the generating, serving and polling half of
bench/checks.sh.

The shell script starts and stops the agent; this helper does the rest:

  ports ADDR N                  N ports free on ADDR for TCP and UDP
  gen DIR N ADDR PORT THIRD     DIR/agent.json and DIR/services.json: N
                                services svc-0..svc-(N-1), each with an
                                HTTP check (http://ADDR:PORT/), a TCP check
                                (ADDR:PORT) and THIRD ("script":
                                args ["/bin/true"]; "ttl": ttl 10m), all
                                at interval 10s
  serve ADDR PORT               answer 200 "ok" to every GET, quietly,
                                until killed
  ready TIMEOUT URL N THIRD     wait until /v1/agent/checks lists N checks
                                of the svc- services and every HTTP and
                                TCP one (and script, if THIRD is script)
                                is passing in /v1/health/state/passing;
                                print the seconds it took
  measure SECS URL PID...       the window: /proc utime+stime (and the
                                reaped children's) of each PID, and Raft's
                                commit index every second; prints
                                "key value" lines (see the end of
                                cmd_measure)

Only 127/8 addresses are accepted. Every loop ends by a deadline.
Leaves out: HTTPS and ACL tokens.
"""
import http.server
import json
import os
import random
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def die(msg):
    print("checks_probe: " + msg, file=sys.stderr)
    sys.exit(1)


def loopback(url):
    host = urllib.parse.urlsplit(url).hostname or ""
    if not host.startswith("127."):
        die("refusing a non-loopback address: " + url)
    return url


def get(url, timeout=10.0):
    """(status, headers, parsed JSON or None); status 0 when no answer."""
    try:
        with urllib.request.urlopen(loopback(url), timeout=timeout) as f:
            body = f.read()
            try:
                return f.status, f.headers, json.loads(body)
            except ValueError:
                return f.status, f.headers, None
    except urllib.error.HTTPError as e:
        return e.code, e.headers, None
    except (OSError, urllib.error.URLError):
        return 0, {}, None


def cmd_ports(addr, n):
    # Below the kernel's ephemeral range, so no outgoing connection takes
    # one between our check and the server's bind.
    out = set()
    for _ in range(1000):
        if len(out) == int(n):
            break
        p = random.randint(20000, 32000)
        ok = True
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind((addr, p))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            out.add(p)
    if len(out) != int(n):
        die("no free ports on " + addr)
    print(" ".join(map(str, sorted(out))))


def cmd_gen(d, n, addr, port, third):
    if not addr.startswith("127."):
        die("refusing a non-loopback address: " + addr)
    if third not in ("script", "ttl"):
        die("THIRD: script or ttl")
    agent = {}
    if third == "script":
        agent["enable_local_script_checks"] = True
    ae = os.environ.get("AE_INTERVAL", "")
    if ae:
        agent["ae_interval"] = ae
    svcs = []
    for i in range(int(n)):
        if third == "script":
            c3 = {"name": "script", "args": ["/bin/true"],
                  "interval": "10s"}
        else:
            c3 = {"name": "ttl", "ttl": "10m"}
        svcs.append({
            "name": "svc-%d" % i,
            "port": int(port),
            "checks": [
                {"name": "http", "http": "http://%s:%s/" % (addr, port),
                 "interval": "10s"},
                {"name": "tcp", "tcp": "%s:%s" % (addr, port),
                 "interval": "10s"},
                c3,
            ],
        })
    with open(os.path.join(d, "agent.json"), "w") as f:
        json.dump(agent, f, indent=1)
    with open(os.path.join(d, "services.json"), "w") as f:
        json.dump({"services": svcs}, f, indent=1)


class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def cmd_serve(addr, port):
    if not addr.startswith("127."):
        die("refusing a non-loopback address: " + addr)
    http.server.ThreadingHTTPServer.daemon_threads = True
    http.server.ThreadingHTTPServer.request_queue_size = 256
    srv = http.server.ThreadingHTTPServer((addr, int(port)), Quiet)
    srv.serve_forever()


def svc_checks(url):
    """This node's checks of the svc- services: {CheckID: check}."""
    code, _, body = get(url + "/v1/agent/checks")
    if code != 200 or not isinstance(body, dict):
        return None
    return {k: v for k, v in body.items()
            if str(v.get("ServiceID", "")).startswith("svc-")}


def kind(c):
    return c.get("Type") or c.get("Name", "")


def cmd_ready(timeout, url, n, third):
    t0 = time.monotonic()
    deadline = t0 + float(timeout)
    want = ("http", "tcp", "script") if third == "script" else \
        ("http", "tcp")
    last = "no answer"
    while time.monotonic() < deadline:
        cs = svc_checks(url)
        if cs is None:
            last = "/v1/agent/checks: no answer"
        elif len(cs) != int(n):
            last = "/v1/agent/checks lists %d of %s" % (len(cs), n)
        else:
            runs = [k for k, c in cs.items() if kind(c) in want]
            code, _, body = get(url + "/v1/health/state/passing")
            ok = set()
            if code == 200 and isinstance(body, list):
                ok = {c.get("CheckID") for c in body}
            bad = [k for k in runs if k not in ok]
            if runs and not bad:
                print("%.1f" % (time.monotonic() - t0))
                return
            last = "%d of %d %s checks passing in the catalog" % (
                len(runs) - len(bad), len(runs), "/".join(want))
        time.sleep(2)
    die("not ready after %ss: %s" % (timeout, last))


def raft_stats(url):
    code, _, body = get(url + "/v1/agent/self")
    if code != 200 or not isinstance(body, dict):
        return None
    try:
        r = body["Stats"]["raft"]
        return int(r["commit_index"]), int(r["applied_index"])
    except (KeyError, TypeError, ValueError):
        return None


def cpu_ticks(pid):
    """(utime+stime, cutime+cstime) of pid, in clock ticks."""
    with open("/proc/%s/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14
    return int(fields[11]) + int(fields[12]), int(fields[13]) + \
        int(fields[14])


def rss_kib(pid):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def not_passing(url):
    """(svc- checks not passing, {CheckID: ModifyIndex}) from the catalog."""
    code, hdr, body = get(url + "/v1/health/state/any")
    if code != 200 or not isinstance(body, list):
        return None, {}
    mine = [c for c in body
            if str(c.get("ServiceID", "")).startswith("svc-")]
    bad = sum(1 for c in mine if c.get("Status") != "passing")
    return bad, {c.get("CheckID"): c.get("ModifyIndex", 0) for c in mine}


def cmd_measure(secs, url, *pids):
    secs = float(secs)
    hz = os.sysconf("SC_CLK_TCK")
    s0 = raft_stats(url)
    if s0 is None:
        die("no Stats.raft in /v1/agent/self")
    code, hdr, _ = get(url + "/v1/catalog/services")
    cat0 = int(hdr.get("X-Consul-Index", 0) or 0) if code == 200 else -1
    bad0, _ = not_passing(url)
    c0 = [cpu_ticks(p) for p in pids]
    t0 = time.monotonic()
    samples = [(0.0, s0[0])]
    nxt = t0 + 1.0
    while True:
        now = time.monotonic()
        if now >= t0 + secs:
            break
        time.sleep(max(0.0, min(nxt, t0 + secs) - now))
        nxt += 1.0
        s = raft_stats(url)
        if s is not None:
            samples.append((time.monotonic() - t0, s[0]))
    c1 = [cpu_ticks(p) for p in pids]
    el = time.monotonic() - t0
    s1 = raft_stats(url)
    if s1 is None:
        die("no Stats.raft in /v1/agent/self at the end")
    samples.append((el, s1[0]))
    rss = [rss_kib(p) for p in pids]
    code, hdr, _ = get(url + "/v1/catalog/services")
    cat1 = int(hdr.get("X-Consul-Index", 0) or 0) if code == 200 else -1
    bad1, mods = not_passing(url)
    changed = sum(1 for m in mods.values() if m > s0[0])
    # bursts: runs of commits separated by 3 s or more without one
    bursts = []
    prev_t, prev_i = samples[0]
    for t, i in samples[1:]:
        if i > prev_i:
            if bursts and prev_t - bursts[-1][1] < 3.0:
                bursts[-1][1] = t
                bursts[-1][2] += i - prev_i
            else:
                bursts.append([prev_t, t, i - prev_i])
        prev_t, prev_i = t, i
    print("elapsed %.1f" % el)
    print("commit0 %d" % s0[0])
    print("commit1 %d" % s1[0])
    print("catalog0 %d" % cat0)
    print("catalog1 %d" % cat1)
    print("notpassing0 %s" % (-1 if bad0 is None else bad0))
    print("notpassing1 %s" % (-1 if bad1 is None else bad1))
    print("checks_modified %d" % changed)
    for p, a, b, r in zip(pids, c0, c1, rss):
        print("pid %s cpu_pct %.2f children_cpu_pct %.2f rss_kib %d" % (
            p, 100.0 * (b[0] - a[0]) / hz / el,
            100.0 * (b[1] - a[1]) / hz / el, r))
    for b in bursts:
        print("burst %.0f %.0f %d" % (b[0], b[1], b[2]))


def main():
    cmds = {"ports": (cmd_ports, 2), "gen": (cmd_gen, 5),
            "serve": (cmd_serve, 2), "ready": (cmd_ready, 4),
            "measure": (cmd_measure, -3)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: ports|gen|serve|ready|measure ...")
    fn, n = cmds[sys.argv[1]]
    args = sys.argv[2:]
    if (n >= 0 and len(args) != n) or (n < 0 and len(args) < -n):
        die("%s: wrong number of arguments" % sys.argv[1])
    fn(*args)


if __name__ == "__main__":
    main()
