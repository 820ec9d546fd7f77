#!/usr/bin/env python3
"""raft_probe.py - the timing and polling half of bench/raft.sh.

The shell script starts and stops the servers; this helper does what wants
millisecond clocks or many small HTTP requests:

  ports ADDR N                  N ports free on ADDR for TCP and UDP
  leader TIMEOUT URL...         wait until every URL's /v1/status/leader
                                agrees on one leader; print it (ip:port)
  etcd-leader TIMEOUT URL...    the etcd member (client URL) that leads
  kill SID                      SIGKILL every process of session SID
  failover SID TIMEOUT URL...   kill session SID, then PUT round robin to
                                the URLs until one succeeds; print ms
  caught-up TIMEOUT URL LEADER OTHER...
                                wait until URL shows LEADER and a key
                                written through OTHER after now
  check-keys N VALFILE URL...   bench/put/k0..k(N-1) hold VALFILE's
                                bytes on every URL (stale reads)
  soak SECS LOG... -- URL...    poll /v1/status/leader every 100 ms on
                                every URL for SECS; count leader changes,
                                and raftd's leader/term lines in the logs

Only 127/8 addresses are accepted. Every loop ends by a deadline.
Leaves out: HTTPS and ACL tokens.
"""
import json
import os
import random
import signal
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def die(msg):
    print("raft_probe: " + msg, file=sys.stderr)
    sys.exit(1)


def loopback(url):
    host = urllib.parse.urlsplit(url).hostname or ""
    if not host.startswith("127."):
        die("refusing a non-loopback address: " + url)
    return url


def req(method, url, body=None, timeout=2.0):
    """(status, body bytes); (0, error text) when no answer came."""
    r = urllib.request.Request(loopback(url), data=body, method=method)
    try:
        with urllib.request.urlopen(r, timeout=timeout) as f:
            return f.status, f.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (OSError, urllib.error.URLError) as e:
        return 0, str(e).encode()


def leader_of(url, timeout=1.0):
    code, body = req("GET", url + "/v1/status/leader", timeout=timeout)
    if code != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


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


def agreed(urls):
    seen = [leader_of(u) for u in urls]
    if seen[0] and all(s == seen[0] for s in seen):
        return seen[0], seen
    return None, seen


def cmd_leader(timeout, *urls):
    deadline = time.monotonic() + float(timeout)
    seen = None
    while time.monotonic() < deadline:
        lead, seen = agreed(urls)
        if lead:
            print(lead)
            return
        time.sleep(0.1)
    die("no agreed leader after %ss: %s" % (timeout, seen))


def cmd_etcd_leader(timeout, *urls):
    deadline = time.monotonic() + float(timeout)
    while time.monotonic() < deadline:
        for u in urls:
            code, body = req("POST", u + "/v3/maintenance/status", b"{}")
            if code != 200:
                continue
            st = json.loads(body)
            if st.get("leader") and st["leader"] == \
                    st.get("header", {}).get("member_id"):
                print(u)
                return
        time.sleep(0.1)
    die("no etcd leader after %ss" % timeout)


def session_pids(sid):
    """Every live process whose session is sid."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the command: state ppid pgrp session
        if int(st[3]) == sid and st[0] != "Z":
            out.append(int(p))
    return out


def kill_session(sid):
    """SIGKILL the daemons, then the agent (the session leader).

    cairn agent puts each daemon in a process group of its own, so killing
    the agent's group would reach the agent alone and its daemons would get
    the SIGTERM of PR_SET_PDEATHSIG: a clean stop, not a crash. The agent
    goes last so it restarts nothing.
    """
    pids = session_pids(sid)
    if sid not in pids:
        die("no session %d" % sid)
    for p in pids:
        if p != sid:
            os.kill(p, signal.SIGKILL)
    os.kill(sid, signal.SIGKILL)
    return len(pids)


def cmd_kill(sid):
    kill_session(int(sid))


def brief(lines):
    """The first 5 and last 10 lines, and how many were left out."""
    if len(lines) <= 15:
        return "\n".join(lines)
    return "\n".join(lines[:5] + ["    ... %d more" % (len(lines) - 15)]
                     + lines[-10:])


def cmd_failover(sid, timeout, *urls):
    body = b"v" * 100
    timeline = []
    t0 = time.monotonic()
    n = kill_session(int(sid))
    deadline = t0 + float(timeout)
    i = 0
    while time.monotonic() < deadline and i < 100000:
        u = urls[i % len(urls)]
        ts = time.monotonic()
        # a short timeout: a server that holds the write until there is
        # a leader answers within it; one that hangs is left for the next
        code, out = req("PUT", u + "/v1/kv/bench/failover/%d" % i, body,
                        timeout=1.0)
        te = time.monotonic()
        timeline.append("%7.1f %7.1f %s %s %s" % (
            (ts - t0) * 1000, (te - t0) * 1000, u, code, out[:80]))
        if code == 200 and out == b"true":
            ms = (te - t0) * 1000
            print("%.0f" % ms)
            if ms >= 1000:
                print("raft_probe: slow failover (%d processes killed); "
                      "ms from kill: start end url status body" % n,
                      file=sys.stderr)
                print(brief(timeline), file=sys.stderr)
            return
        if code == 0 or code >= 500:
            time.sleep(0.01)
        i += 1
    print(brief(timeline), file=sys.stderr)
    die("no write succeeded within %ss of the kill" % timeout)


def cmd_caught_up(timeout, url, leader, other):
    deadline = time.monotonic() + float(timeout)
    while leader_of(url) != leader:
        if time.monotonic() > deadline:
            die("%s never showed leader %s (shows %s)" %
                (url, leader, leader_of(url)))
        time.sleep(0.1)
    val = b"after-%d" % random.randint(0, 1 << 30)
    code, out = req("PUT", other + "/v1/kv/bench/caughtup", val, timeout=10)
    if (code, out) != (200, b"true"):
        die("PUT through %s: %s %r" % (other, code, out))
    while True:
        code, out = req("GET", url + "/v1/kv/bench/caughtup?stale&raw")
        if code == 200 and out == val:
            return
        if time.monotonic() > deadline:
            die("%s never caught up (has %s %r)" % (url, code, out[:80]))
        time.sleep(0.05)


def cmd_check_keys(n, valfile, *urls):
    with open(valfile, "rb") as f:
        val = f.read()
    for u in urls:
        for k in range(int(n)):
            deadline = time.monotonic() + 10
            while True:
                code, out = req("GET", u + "/v1/kv/bench/put/k%d?stale&raw"
                                % k)
                if code == 200 and out == val:
                    break
                if time.monotonic() > deadline:
                    die("%s: bench/put/k%d is %s %r" % (u, k, code, out[:80]))
                time.sleep(0.05)


def log_events(paths):
    """raftd's "leader is"/"no leader" lines and the terms they name."""
    lines, terms = 0, set()
    for p in paths:
        try:
            with open(p, errors="replace") as f:
                for line in f:
                    if "cairn-raftd" not in line and "raftd" not in line:
                        continue
                    if "leader is " in line or "no leader" in line:
                        lines += 1
                        if "(term " in line:
                            terms.add(line.rsplit("(term ", 1)[1]
                                      .split(")")[0])
        except OSError:
            pass
    return lines, terms


def cmd_soak(secs, *rest):
    if "--" not in rest:
        die("soak SECS LOG... -- URL...")
    logs = rest[:rest.index("--")]
    urls = rest[rest.index("--") + 1:]
    lines0, terms0 = log_events(logs)
    start = time.monotonic()
    end = start + float(secs)
    lead, seen = agreed(urls)
    if not lead:
        die("no agreed leader at the start: %s" % seen)
    changes, disagree, polls, last_report = 0, 0, 0, start
    history = []
    while time.monotonic() < end and polls < 10 * int(float(secs)) + 100:
        t = time.monotonic()
        now, seen = agreed(urls)
        polls += 1
        if now is None:
            # a server without a leader or with another one: count each
            # such spell once, and the new leader if it differs
            if not history or history[-1][1] != "split":
                disagree += 1
                history.append(("%.1f" % (t - start), "split", seen))
        elif now != lead:
            changes += 1
            history.append(("%.1f" % (t - start), "leader", now))
            lead = now
        elif history and history[-1][1] == "split":
            history.append(("%.1f" % (t - start), "agreed", now))
        if t - last_report >= 60:
            print("  soak: %.0f s, %d leader changes, %d unsettled spells"
                  % (t - start, changes, disagree), file=sys.stderr)
            last_report = t
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t)))
    lines1, terms1 = log_events(logs)
    print(json.dumps({"seconds": round(time.monotonic() - start, 1),
                      "polls": polls, "leader_changes": changes,
                      "unsettled_spells": disagree,
                      "raftd_leader_lines": lines1 - lines0,
                      "new_terms": sorted(terms1 - terms0, key=int),
                      "leader": lead, "history": history[:20]}))


def main():
    cmds = {"ports": cmd_ports, "leader": cmd_leader,
            "etcd-leader": cmd_etcd_leader, "kill": cmd_kill,
            "failover": cmd_failover, "caught-up": cmd_caught_up,
            "check-keys": cmd_check_keys, "soak": cmd_soak}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: raft_probe.py %s ..." % "|".join(cmds))
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
