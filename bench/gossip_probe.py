#!/usr/bin/env python3
"""gossip_probe.py - the timing, polling and counting half of bench/gossip.sh.

The shell script starts and stops the agents; this helper does what wants
millisecond clocks, many small requests or a packet socket. An observer is
named by URL: http://ADDR:PORT is a cairn agent's HTTP API (GET
/v1/agent/members, Status 1 alive, 3 left, 4 failed), serf://ADDR:PORT a
serf agent's RPC port (msgpack: handshake, then members).

  ports K ADDR...               K ports free for TCP and UDP on every ADDR
  converge TIMEOUT T0 N OBS...  poll each observer every 200 ms until it
                                sees N members alive; print the ms from T0
                                (epoch ns; "now" for now) to the last one,
                                or "timeout" and exit 2
  detect TIMEOUT GROUP [-- GROUP]
                                GROUP is LABEL SID NAME OBS...: SIGKILL
                                every process of session SID, then poll
                                the observers every 200 ms until all show
                                NAME failed; the groups' kills are made
                                together. Prints "LABEL MS" or
                                "LABEL timeout" per group
  kill SID                      SIGKILL every process of session SID
  bw SECS LABEL EP... [-- LABEL EP...]
                                count the IP bytes sent on lo from or to
                                each gossip endpoint ADDR:PORT for SECS;
                                print "LABEL B/s pkt/s drops other tcp":
                                per agent per second, the bytes and
                                packets, the socket's drops, bytes to or
                                from the agents' addresses on other
                                ports, and the TCP share of B/s. Exit 3
                                without CAP_NET_RAW
  soak SECS LABEL N OBS... [-- LABEL N OBS...]
                                poll every observer every 500 ms for SECS;
                                print a JSON line per group: spells in
                                which an observer saw a member not alive
                                or missing

Only 127/8 addresses are accepted. Every loop ends by a deadline.
Leaves out: serf RPC auth keys, encrypted gossip, IPv6.
"""
import ctypes
import http.client
import json
import os
import random
import signal
import socket
import struct
import sys
import time
import urllib.parse

POLL = 0.2		# seconds between two polls of one observer
SOAK_POLL = 0.5


def die(msg):
    print("gossip_probe: " + msg, file=sys.stderr)
    sys.exit(1)


def loopback(host):
    if not host.startswith("127."):
        die("refusing a non-loopback address: " + host)
    return host


# --- msgpack, as much as serf's RPC needs --------------------------------

def mp_pack(v):
    """msgpack bytes of v: dicts, str, bytes, bool, None and ints."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if 0 <= v < 1 << 32:
            return b"\xce" + struct.pack(">I", v)
        if -32 <= v < 0:
            return struct.pack("b", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        n = len(v)
        if n < 32:
            return bytes([0xa0 | n]) + v
        if n < 1 << 16:
            return b"\xda" + struct.pack(">H", n) + v
        return b"\xdb" + struct.pack(">I", n) + v
    if isinstance(v, dict):
        if len(v) >= 16:
            die("mp_pack: map too big")
        out = bytes([0x80 | len(v)])
        for k, x in v.items():
            out += mp_pack(k) + mp_pack(x)
        return out
    die("mp_pack: cannot pack %r" % (v,))


class MPReader:
    """Reads msgpack objects from a buffered binary file (a socket's)."""

    def __init__(self, f):
        self.f = f

    def take(self, n):
        b = self.f.read(n)
        if b is None or len(b) != n:
            raise OSError("serf RPC: connection closed")
        return b

    def raw(self, n):
        b = self.take(n)
        try:
            return b.decode()
        except UnicodeDecodeError:
            return b	# serf's Addr: 4 or 16 bytes

    def seq(self, n, isdict):
        if isdict:
            d = {}
            for _ in range(n):
                k = self.read()
                d[k if not isinstance(k, bytes) else k.decode("latin1")] = \
                    self.read()
            return d
        return [self.read() for _ in range(n)]

    def read(self):
        t = self.take(1)[0]
        if t < 0x80:
            return t
        if t >= 0xe0:
            return t - 0x100
        if t & 0xf0 == 0x80:
            return self.seq(t & 0x0f, True)
        if t & 0xf0 == 0x90:
            return self.seq(t & 0x0f, False)
        if t & 0xe0 == 0xa0:
            return self.raw(t & 0x1f)
        simple = {0xc0: None, 0xc2: False, 0xc3: True}
        if t in simple:
            return simple[t]
        fixed = {0xcc: ">B", 0xcd: ">H", 0xce: ">I", 0xcf: ">Q",
                 0xd0: ">b", 0xd1: ">h", 0xd2: ">i", 0xd3: ">q",
                 0xca: ">f", 0xcb: ">d"}
        if t in fixed:
            fmt = fixed[t]
            return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
        lens = {0xc4: ">B", 0xc5: ">H", 0xc6: ">I",	# bin
                0xd9: ">B", 0xda: ">H", 0xdb: ">I"}	# str
        if t in lens:
            fmt = lens[t]
            n = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
            return self.raw(n)
        if t in (0xdc, 0xdd, 0xde, 0xdf):
            fmt = ">H" if t in (0xdc, 0xde) else ">I"
            n = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
            return self.seq(n, t in (0xde, 0xdf))
        ext = {0xd4: 1, 0xd5: 2, 0xd6: 4, 0xd7: 8, 0xd8: 16}
        if t in ext:
            self.take(1 + ext[t])
            return None
        if t in (0xc7, 0xc8, 0xc9):
            fmt = {0xc7: ">B", 0xc8: ">H", 0xc9: ">I"}[t]
            n = struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]
            self.take(1 + n)
            return None
        raise OSError("serf RPC: msgpack type 0x%02x" % t)


# --- observers ------------------------------------------------------------

CAIRN_STATUS = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}


class Observer:
    """One agent asked for its member list over one kept-open connection."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "serf") or not u.port:
            die("bad observer %s: want http:// or serf://ADDR:PORT" % url)
        self.url = url
        self.kind = u.scheme
        self.host = loopback(u.hostname)
        self.port = u.port
        self.conn = None	# http.client connection, or (sock, reader)
        self.seq = 0
        self.error = ""

    def close(self):
        if self.conn is not None:
            try:
                (self.conn if self.kind == "http" else self.conn[0]).close()
            except OSError:
                pass
        self.conn = None

    def members(self):
        """{name: status}, or None (and self.error) when no answer came."""
        try:
            if self.kind == "http":
                return self.cairn_members()
            return self.serf_members()
        except (OSError, ValueError, KeyError, TypeError,
                http.client.HTTPException) as e:
            self.error = str(e) or type(e).__name__
            self.close()
            return None

    def cairn_members(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port,
                                                   timeout=1.0)
        self.conn.request("GET", "/v1/agent/members")
        r = self.conn.getresponse()
        body = r.read()
        if r.status != 200:
            raise OSError("HTTP %d %r" % (r.status, body[:80]))
        return {m["Name"]: CAIRN_STATUS.get(m["Status"], str(m["Status"]))
                for m in json.loads(body)}

    def serf_call(self, cmd, body=None):
        sock, rd = self.conn
        self.seq += 1
        msg = mp_pack({"Command": cmd, "Seq": self.seq})
        if body is not None:
            msg += mp_pack(body)
        sock.sendall(msg)
        hdr = rd.read()
        if not isinstance(hdr, dict) or hdr.get("Seq") != self.seq:
            raise OSError("serf RPC: unexpected header %r" % (hdr,))
        if hdr.get("Error"):
            raise OSError("serf RPC %s: %s" % (cmd, hdr["Error"]))

    def serf_members(self):
        if self.conn is None:
            sock = socket.create_connection((self.host, self.port), 1.0)
            self.conn = (sock, MPReader(sock.makefile("rb")))
            self.serf_call("handshake", {"Version": 1})
        self.serf_call("members")
        body = self.conn[1].read()
        return {m["Name"]: m["Status"] for m in body["Members"]}


def observers(urls):
    if not urls:
        die("no observers")
    return [Observer(u) for u in dict.fromkeys(urls)]	# once each


def nap(start, period):
    time.sleep(max(0.0, period - (time.monotonic() - start)))


# --- commands -------------------------------------------------------------

def cmd_ports(k, *addrs):
    # Below the kernel's ephemeral range, so no outgoing connection takes
    # one between our check and the agents' bind.
    out = set()
    for a in addrs:
        loopback(a)
    for _ in range(2000):
        if len(out) == int(k):
            break
        p = random.randint(20000, 32000)
        ok = True
        for a in addrs:
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(socket.AF_INET, kind)
                try:
                    s.bind((a, p))
                except OSError:
                    ok = False
                finally:
                    s.close()
                if not ok:
                    break
            if not ok:
                break
        if ok:
            out.add(p)
    if len(out) != int(k):
        die("no %s free ports on %s..." % (k, addrs[0]))
    print(" ".join(map(str, sorted(out))))


def n_alive(ms):
    return sum(1 for s in ms.values() if s == "alive")


def cmd_converge(timeout, t0, n, *urls):
    n = int(n)
    obs = observers(urls)
    start = time.monotonic()
    # T0 is the wall clock the shell read just before it started agents
    base = time.time_ns() if t0 == "now" else int(t0)
    deadline = start + float(timeout)
    seen = {}			# observer url -> ms at which it saw n alive
    last = {}
    while time.monotonic() < deadline:
        r = time.monotonic()
        for o in obs:
            if o.url in seen:
                continue
            ms = o.members()
            last[o.url] = ms if ms is not None else o.error
            if ms is not None and n_alive(ms) == n:
                seen[o.url] = (time.time_ns() - base) / 1e6
                o.close()
        if len(seen) == len(obs):
            print("%.0f" % max(seen.values()))
            return
        nap(r, POLL)
    for o in obs:
        o.close()
    for u in urls:
        if u not in seen:
            v = last.get(u)
            print("gossip_probe: %s sees %s" % (
                u, "%d alive of %d: %s" % (n_alive(v), len(v), sorted(
                    k for k, s in v.items() if s != "alive"))
                if isinstance(v, dict) else v), file=sys.stderr)
    print("timeout")
    sys.exit(2)


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
    """SIGKILL the daemons, then the session leader (the agent).

    cairn agent puts each daemon in a process group of its own, so killing
    the agent's group would reach the agent alone and its daemons would get
    the SIGTERM of PR_SET_PDEATHSIG: a clean stop, not a crash. The agent
    goes last so it restarts nothing. A serf agent is a session of one.
    """
    pids = session_pids(sid)
    if sid not in pids:
        die("no session %d" % sid)
    for p in pids:
        if p != sid:
            os.kill(p, signal.SIGKILL)
    os.kill(sid, signal.SIGKILL)


def cmd_kill(sid):
    kill_session(int(sid))


def split_groups(args):
    groups, cur = [], []
    for a in args:
        if a == "--":
            groups.append(cur)
            cur = []
        else:
            cur.append(a)
    groups.append(cur)
    return groups


def cmd_detect(timeout, *rest):
    groups = []
    for g in split_groups(rest):
        if len(g) < 4:
            die("detect TIMEOUT LABEL SID NAME OBS... [-- ...]")
        groups.append({"label": g[0], "sid": int(g[1]), "name": g[2],
                       "obs": observers(g[3:]), "t0": None, "seen": {},
                       "done": None})
    # every observer must show the victim alive first: a stale "failed"
    # from an earlier run would time nothing
    for g in groups:
        for o in g["obs"]:
            ms = o.members()
            if ms is None or ms.get(g["name"]) != "alive":
                die("%s: %s shows %s as %s before the kill" % (
                    g["label"], o.url, g["name"],
                    o.error if ms is None else ms.get(g["name"])))
    for g in groups:
        kill_session(g["sid"])
        g["t0"] = time.monotonic()
    deadline = time.monotonic() + float(timeout)
    while time.monotonic() < deadline:
        r = time.monotonic()
        for g in groups:
            if g["done"] is not None:
                continue
            for o in g["obs"]:
                if o.url in g["seen"]:
                    continue
                ms = o.members()
                if ms is not None and ms.get(g["name"]) == "failed":
                    g["seen"][o.url] = (time.monotonic() - g["t0"]) * 1000
                    o.close()
            if len(g["seen"]) == len(g["obs"]):
                g["done"] = max(g["seen"].values())
                for o in g["obs"]:
                    o.close()
        if all(g["done"] is not None for g in groups):
            break
        nap(r, POLL)
    for g in groups:
        for o in g["obs"]:
            o.close()
        if g["done"] is None:
            print("%s timeout" % g["label"])
            if g["seen"]:
                print("gossip_probe: %s: %d of %d observers saw %s failed"
                      % (g["label"], len(g["seen"]), len(g["obs"]),
                         g["name"]), file=sys.stderr)
        else:
            print("%s %.0f" % (g["label"], g["done"]))


# cBPF: keep IPv4 frames whose source or destination is in one /24
def bpf_prog(net24):
    ins = [
        (0x28, 0, 0, 12),		# ldh [12]	ethertype
        (0x15, 0, 7, 0x0800),		# jne IPv4 -> drop
        (0x20, 0, 0, 26),		# ld [26]	source
        (0x54, 0, 0, 0xffffff00),	# and /24
        (0x15, 3, 0, net24),		# jeq net -> keep
        (0x20, 0, 0, 30),		# ld [30]	destination
        (0x54, 0, 0, 0xffffff00),
        (0x15, 0, 1, net24),		# jne net -> drop
        (0x06, 0, 0, 0x40000),		# keep
        (0x06, 0, 0, 0),		# drop
    ]

    class Ins(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8),
                    ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort),
                    ("filter", ctypes.POINTER(Ins))]

    arr = (Ins * len(ins))(*[Ins(*i) for i in ins])
    return arr, Prog(len(ins), ctypes.cast(arr, ctypes.POINTER(Ins)))


def cmd_bw(secs, *rest):
    secs = float(secs)
    groups = []
    eps = {}			# (ip bytes, port) -> group index
    for g in split_groups(rest):
        if len(g) < 2:
            die("bw SECS LABEL EP... [-- LABEL EP...]")
        for ep in g[1:]:
            a, p = ep.rsplit(":", 1)
            eps[(socket.inet_aton(loopback(a)), int(p))] = len(groups)
        groups.append({"label": g[0], "n": len(g) - 1, "bytes": 0,
                       "pkts": 0, "tcp": 0, "other": 0, "ips": set(
                           socket.inet_aton(e.rsplit(":", 1)[0])
                           for e in g[1:])})
    nets = set(k[0][:3] for k in eps)
    if len(nets) != 1:
        die("bw: endpoints must share one /24")
    net24 = struct.unpack(">I", nets.pop() + b"\0")[0]
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                          socket.htons(0x0003))
    except PermissionError:
        print("gossip_probe: bw needs CAP_NET_RAW", file=sys.stderr)
        sys.exit(3)
    arr, prog = bpf_prog(net24)
    s.setsockopt(socket.SOL_SOCKET, 26, bytes(prog))	# SO_ATTACH_FILTER
    del arr
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)	# SO_RCVBUFFORCE
    except OSError:
        pass
    s.bind(("lo", 0))
    s.setblocking(False)
    try:				# what came before the filter was on
        while True:
            s.recv(64)
    except BlockingIOError:
        pass
    s.getsockopt(263, 6, 8)		# PACKET_STATISTICS: reset
    outgoing = socket.PACKET_OUTGOING
    end = time.monotonic() + secs
    s.settimeout(0.5)
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        s.settimeout(min(left, 0.5))
        try:
            pkt, addr = s.recvfrom(64)
        except socket.timeout:
            continue
        # lo shows each packet twice: going out, and coming in
        if addr[2] != outgoing or len(pkt) < 34:
            continue
        ip = pkt[14:]
        ihl = (ip[0] & 0x0f) * 4
        tot = struct.unpack(">H", ip[2:4])[0]
        src, dst = ip[12:16], ip[16:20]
        sport = dport = -1
        if ip[9] in (6, 17) and len(ip) >= ihl + 4:
            sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
        gi = eps.get((src, sport), eps.get((dst, dport)))
        if gi is not None:
            groups[gi]["bytes"] += tot
            groups[gi]["pkts"] += 1
            if ip[9] == 6:
                groups[gi]["tcp"] += tot
            continue
        for g in groups:
            if src in g["ips"] or dst in g["ips"]:
                g["other"] += tot
                break
    _, drops = struct.unpack("II", s.getsockopt(263, 6, 8))
    s.close()
    for g in groups:
        print("%s %.0f %.2f %d %.0f %.0f" % (
            g["label"], g["bytes"] / g["n"] / secs,
            g["pkts"] / g["n"] / secs, drops, g["other"] / g["n"] / secs,
            g["tcp"] / g["n"] / secs))


def cmd_soak(secs, *rest):
    groups = []
    for g in split_groups(rest):
        if len(g) < 3:
            die("soak SECS LABEL N OBS... [-- ...]")
        groups.append({"label": g[0], "n": int(g[1]),
                       "obs": observers(g[2:]), "bad": {}, "spells": 0,
                       "errors": 0, "names": set(), "history": []})
    start = time.monotonic()
    end = start + float(secs)
    polls, last_report = 0, start
    # every observer must see everyone alive when the soak starts
    for g in groups:
        for o in g["obs"]:
            ms = o.members()
            if ms is None or n_alive(ms) != g["n"]:
                die("%s: %s does not see %d alive at the start: %s" % (
                    g["label"], o.url, g["n"], o.error if ms is None
                    else ms))
            g["names"] |= set(ms)
    limit = int(float(secs) / SOAK_POLL) + 100
    while time.monotonic() < end and polls < limit:
        r = time.monotonic()
        polls += 1
        for g in groups:
            for o in g["obs"]:
                ms = o.members()
                if ms is None:
                    g["errors"] += 1
                    continue
                # a member not alive, or gone, opens a spell for this
                # observer and member; alive again closes it
                for name in g["names"]:
                    st = ms.get(name, "missing")
                    key = (o.url, name)
                    if st != "alive" and key not in g["bad"]:
                        g["bad"][key] = st
                        g["spells"] += 1
                        g["history"].append("%.1f %s saw %s %s" % (
                            r - start, o.url, name, st))
                    elif st == "alive" and key in g["bad"]:
                        del g["bad"][key]
                        g["history"].append("%.1f %s saw %s alive" % (
                            r - start, o.url, name))
        if r - last_report >= 60:
            print("  soak: %.0f s, %s" % (r - start, ", ".join(
                "%s %d spells" % (g["label"], g["spells"])
                for g in groups)), file=sys.stderr)
            last_report = r
        nap(r, SOAK_POLL)
    for g in groups:
        for o in g["obs"]:
            o.close()
        print(json.dumps({"label": g["label"], "seconds": round(
            time.monotonic() - start, 1), "polls": polls,
            "spells": g["spells"], "errors": g["errors"],
            "history": g["history"][:20]}))


def main():
    cmds = {"ports": cmd_ports, "converge": cmd_converge,
            "detect": cmd_detect, "kill": cmd_kill, "bw": cmd_bw,
            "soak": cmd_soak}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        die("usage: gossip_probe.py %s ..." % "|".join(cmds))
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
