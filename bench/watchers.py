#!/usr/bin/python3
"""watchers.py - N blocking KV reads on one dev agent: how soon all of them
wake after one write, and what each costs in memory (the RSS of every
daemon before and after, over N).

    bench/watchers.py [N]        (default 10000; B=build dir, as the rest)

Each watcher is its own TCP connection sending
GET /v1/kv/w?index=<future>&wait=120s, the way a Consul client blocks.
Issue 5's target: all wake within a second of a change, at under 2 KiB
each. The agent runs on 127.7.7.7 with its own data dir and is killed by
its session at the end. Needs RLIMIT_NOFILE above N.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAIRN = os.path.join(os.environ.get("B", os.path.join(TOP, "build")),
                     "bin", "cairn")
ADDR = "127.7.7.7"
URL = "http://%s:28500/v1/kv/w" % ADDR


def rss(data_dir):
    """daemon name -> VmRSS in KiB, for this agent's daemons"""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
            if not argv[0].endswith(tuple("cairn-" + d for d in (
                    "gossipd", "raftd", "kvd", "httpd", "checkd", "dnsd"))) \
                    or data_dir not in argv:
                continue
            with open("/proc/%s/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS"):
                        out[argv[0].split("/")[-1]] = int(line.split()[1])
        except OSError:
            pass
    return out


def put(value):
    req = urllib.request.Request(URL, data=value, method="PUT")
    urllib.request.urlopen(req, timeout=10).read()


def main():
    data = tempfile.mkdtemp(prefix="cairn-watchers.")
    agent = subprocess.Popen(
        [CAIRN, "agent", "-dev", "-data-dir", data, "-node", "w1",
         "-bind", ADDR, "-client", ADDR, "-http-port", "28500",
         "-dns-port", "28600", "-serf-lan-port", "28301",
         "-server-port", "28300", "-serf-wan-port", "28302"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    socks = []
    try:
        for _ in range(300):
            try:
                put(b"1")
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(1)
        before = rss(data)
        for _ in range(N):
            s = socket.create_connection((ADDR, 28500))
            s.sendall(b"GET /v1/kv/w?index=999999999&wait=120s HTTP/1.1\r\n"
                      b"Host: x\r\n\r\n")
            socks.append(s)
        time.sleep(3)
        after = rss(data)
        t = time.time()
        put(b"2")
        woke = 0
        for s in socks:
            s.settimeout(30)
            if b" 200 OK" in s.recv(4096):
                woke += 1
        dt = time.time() - t
        grew = sum(after.values()) - sum(before.values())
        print("watchers: %d blocked; %d woke within %.2f s of one write"
              % (N, woke, dt))
        for name in sorted(after):
            print("  %-14s RSS %6d KiB -> %6d KiB" %
                  (name, before.get(name, 0), after[name]))
        per = grew * 1024.0 / N
        print("watchers: %.0f bytes each (target under 2048): %s" %
              (per, "met" if per < 2048 and woke == N and dt < 1 else
               "MISSED"))
    finally:
        for s in socks:
            s.close()
        os.killpg(agent.pid, signal.SIGKILL)
        agent.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
