"""cairn-dnsd end to end (COMPAT.md section 2): every name form, the
answer rules (health, limits, truncation, TTLs, host names), prepared
queries, recursors (dnsmasq upstream), dnsmasq and glibc's resolver in
front, answers from the cache while no server answers, and hostile
packets over UDP and TCP.

Answers are read with a small DNS parser of our own (each message must
parse to its last byte) and, where a real client's view matters, with
dig, dnsmasq and getent. Two dev agents are shared by most tests:
  main    recursors [a dead port, dnsmasq], alt_domain cairn.test,
          udp_answer_limit 3, node_ttl 10s, service_ttl {*: 5s, web: 30s}
  strict  no recursors, only_passing, enable_truncate (and DNS on port
          53 when we are root, for glibc)
Both hold the same catalog (CATALOG below), registered as external nodes.
"""
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, Agent, free_port, get_json, loopback_addr, \
    serf, wait_for

DNSMASQ = "/usr/sbin/dnsmasq"
DC = "dc1"

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "TXT": 16,
         "AAAA": 28, "SRV": 33, "OPT": 41, "AXFR": 252, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED", 16: "BADVERS"}

# The catalog: external nodes, one of them named by a host name, one
# with IPv6 only; web has instances passing, warning and critical.
NODES = {
    "n1": "10.1.0.1", "n2": "10.1.0.2", "n3": "10.1.0.3",
    "n4": "10.1.0.4", "n5": "10.1.0.5", "n6": "10.1.0.6",
    "v6node": "fd00::6", "hostnode": "db.example.com",
}
N1_META = {"env": "prod", "rfc1035-spf": "v=spf1 -all"}


def _svc(node, sid, name, port, tags=(), addr="", status=("passing",)):
    return {"Node": node, "Address": NODES[node],
            "NodeMeta": N1_META if node == "n1" else {},
            "Service": {"ID": sid, "Service": name, "Tags": list(tags),
                        "Port": port, "Address": addr},
            "Checks": [{"CheckID": "%s:%d" % (sid, i), "Name": "check %d" % i,
                        "Status": st, "ServiceID": sid}
                       for i, st in enumerate(status)]}


CATALOG = [
    _svc("n1", "web1", "web", 80, ("v1", "primary")),
    _svc("n2", "web2", "web", 81, ("v1",)),
    _svc("n3", "web3", "web", 82, ("v2",)),
    _svc("n4", "web4", "web", 83, ("v1",), status=("passing", "warning")),
    _svc("n5", "web5", "web", 84, ("v1",), status=("passing", "critical")),
    _svc("n6", "web6", "web", 85, ("v2",), addr="10.2.0.6"),
    _svc("n2", "api", "api", 9000),
    _svc("n3", "webadmin", "webadmin", 8080),
    _svc("n2", "dead", "dead", 7000, status=("critical",)),
    _svc("v6node", "v6svc", "v6svc", 443),
    _svc("hostnode", "db", "db", 5432),
]

# web's instances by health (n6's has an address of its own)
WEB_OK = {"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4", "10.2.0.6"}
WEB_PASSING = {"10.1.0.1", "10.1.0.2", "10.1.0.3", "10.2.0.6"}


def web_srv(domain="consul"):
    """web's healthy instances: node -> (SRV target, port, glue A)."""
    tgt = {"n1": ("n1.node.%s.%s." % (DC, domain), 80, "10.1.0.1"),
           "n2": ("n2.node.%s.%s." % (DC, domain), 81, "10.1.0.2"),
           "n3": ("n3.node.%s.%s." % (DC, domain), 82, "10.1.0.3"),
           "n4": ("n4.node.%s.%s." % (DC, domain), 83, "10.1.0.4"),
           "n6": ("0a020006.addr.%s.%s." % (DC, domain), 85, "10.2.0.6")}
    return tgt


def soa_rr(domain="consul"):
    """The zone's SOA, the serial left out (see strip_serial)."""
    return ("%s." % domain, 0, "SOA",
            ("ns.%s." % domain, "hostmaster.%s." % domain, "SERIAL",
             3600, 600, 86400, 0))




# --- a DNS client: queries out, messages parsed to the last byte ---

def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def make_query(name, qtype, qid=0x1234, rd=True, edns=None, opcode=0):
    flags = (opcode << 11) | (0x0100 if rd else 0)
    t = TYPES[qtype] if isinstance(qtype, str) else qtype
    pkt = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    pkt += wire_name(name) + struct.pack(">HH", t, 1)
    if edns:
        pkt += b"\0" + struct.pack(">HHIH", 41, edns, 0, 0)
    return pkt


def read_name(msg, off):
    """A possibly compressed name at off: (text, offset after it)."""
    labels, end, hops = [], None, 0
    while True:
        n = msg[off]
        if n & 0xC0 == 0xC0:
            if end is None:
                end = off + 2
            off = (n & 0x3F) << 8 | msg[off + 1]
            hops += 1
            assert hops < 64, "pointer loop in an answer"
            continue
        assert n < 64, "label type %#x in an answer" % n
        off += 1
        if n == 0:
            break
        labels.append(msg[off:off + n].decode("latin-1"))
        off += n
    return ".".join(labels) + ".", end if end is not None else off


def rdata(msg, t, off, n):
    rd = msg[off:off + n]
    if t == 1:
        assert n == 4
        return str(ipaddress.IPv4Address(rd))
    if t == 28:
        assert n == 16
        return str(ipaddress.IPv6Address(rd))
    if t in (2, 5, 12):
        name, end = read_name(msg, off)
        assert end == off + n
        return name
    if t == 33:
        prio, weight, port = struct.unpack(">HHH", rd[:6])
        name, end = read_name(msg, off + 6)
        assert end == off + n
        return (prio, weight, port, name)
    if t == 6:
        mname, o = read_name(msg, off)
        rname, o = read_name(msg, o)
        assert o + 20 == off + n
        return (mname, rname) + struct.unpack(">IIIII", msg[o:o + 20])
    if t == 16:
        strs, i = [], 0
        while i < n:
            strs.append(rd[i + 1:i + 1 + rd[i]].decode())
            i += 1 + rd[i]
        assert i == n
        return tuple(strs)
    return rd


class Msg:
    """A DNS message; RRs as (name, ttl, type, rdata); OPT kept apart."""

    def __init__(self, raw):
        self.raw = raw
        self.id, flags, qd, an, ns, ar = struct.unpack(">6H", raw[:12])
        self.qr = bool(flags & 0x8000)
        self.opcode = (flags >> 11) & 0xF
        self.aa = bool(flags & 0x0400)
        self.tc = bool(flags & 0x0200)
        self.rd = bool(flags & 0x0100)
        self.ra = bool(flags & 0x0080)
        off = 12
        self.question = []
        for _ in range(qd):
            name, off = read_name(raw, off)
            qt, qc = struct.unpack(">HH", raw[off:off + 4])
            off += 4
            self.question.append((name, TYPE_NAMES.get(qt, qt), qc))
        self.opt = None
        secs = []
        for count in (an, ns, ar):
            sec = []
            for _ in range(count):
                name, off = read_name(raw, off)
                t, c, ttl, n = struct.unpack(">HHIH", raw[off:off + 10])
                off += 10
                assert off + n <= len(raw), "rdata runs past the end"
                if t == 41:
                    assert self.opt is None and name == "."
                    self.opt = (c, ttl)
                else:
                    assert c == 1, "class %d" % c
                    sec.append((name, ttl, TYPE_NAMES.get(t, t),
                                rdata(raw, t, off, n)))
                off += n
            secs.append(sec)
        assert off == len(raw), "%d bytes after the last record" % (
            len(raw) - off)
        self.an, self.ns, self.ar = secs
        self.rcode = flags & 0xF
        if self.opt is not None:
            self.rcode |= (self.opt[1] >> 24) << 4
        self.status = RCODES.get(self.rcode, str(self.rcode))

    @property
    def flags(self):
        return {f for f in ("qr", "aa", "tc", "rd", "ra") if getattr(self, f)}

    def addrs(self):
        return sorted(r[3] for r in self.an if r[2] in ("A", "AAAA"))

    def __repr__(self):
        return "<%s %s an=%r ns=%r ar=%r>" % (self.status,
                                              sorted(self.flags), self.an,
                                              self.ns, self.ar)


def recv_exact(s, n):
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            return None
        out += chunk
    return out


def exchange(addr, port, pkt, tcp=False, timeout=5.0):
    """One query, its raw answer or None (silence, or a close)."""
    if tcp:
        with socket.create_connection((addr, port), timeout) as s:
            s.sendall(struct.pack(">H", len(pkt)) + pkt)
            try:
                hdr = recv_exact(s, 2)
                if hdr is None:
                    return None
                return recv_exact(s, struct.unpack(">H", hdr)[0])
            except socket.timeout:
                return None
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(pkt, (addr, port))
        while True:
            data = s.recv(65535)
            if data[:2] == pkt[:2]:
                return data
    except socket.timeout:
        return None
    finally:
        s.close()


def query(addr, port, name, qtype="A", tcp=False, edns=None, timeout=5.0,
          rd=True):
    qid = random.randint(1, 65535)
    raw = exchange(addr, port, make_query(name, qtype, qid, rd=rd,
                                          edns=edns), tcp, timeout)
    assert raw is not None, "no answer from %s:%d to %s %s" % (
        addr, port, name, qtype)
    m = Msg(raw)
    fq = name if name.endswith(".") else name + "."
    assert (m.id, m.qr, m.opcode) == (qid, True, 0), m
    assert m.question == [(fq, qtype, 1)], m.question
    return m


def ask(agent, name, qtype="A", **kw):
    return query(agent.addr, agent.dns, name, qtype, **kw)


def strip_serial(rrs):
    """SOA serials are the time: check them, then blank them out."""
    out = []
    for name, ttl, t, rd in rrs:
        if t == "SOA":
            assert abs(rd[2] - time.time()) <= 10, rd
            rd = rd[:2] + ("SERIAL",) + rd[3:]
        out.append((name, ttl, t, rd))
    return out


def dig(agent, *args):
    r = subprocess.run(["dig", "@" + agent.addr, "-p", str(agent.dns),
                        "+time=3", "+tries=1"] + list(args),
                       capture_output=True, text=True, timeout=30)
    return r.stdout


def dig_header(out):
    """status, flags and the answer count from dig's full output."""
    status = re.search(r"status: (\w+)", out).group(1)
    flags = set(re.search(r";; flags: ([a-z ]*);", out).group(1).split())
    count = int(re.search(r"ANSWER: (\d+)", out).group(1))
    return status, flags, count


# --- dnsmasq, as the recursor and as a forwarder in front of dnsd ---

class Dnsmasq:
    def __init__(self, *args):
        self.addr = loopback_addr()
        self.port = free_port(self.addr)
        self.dir = tempfile.mkdtemp(prefix="cairn-dnsmasq.")
        self.hosts = os.path.join(self.dir, "hosts")
        with open(self.hosts, "w") as f:
            f.write("10.9.9.9 ext.example\n10.9.9.10 db.example.com\n")
        cmd = [DNSMASQ, "--keep-in-foreground", "--no-resolv", "--no-hosts",
               "--conf-file=/dev/null", "--pid-file=", "--local-ttl=60",
               "--addn-hosts=" + self.hosts, "--port=%d" % self.port,
               "--listen-address=" + self.addr, "--bind-interfaces",
               "--log-facility=" + os.path.join(self.dir, "log")]
        if os.geteuid() == 0:
            cmd += ["--user=root", "--group=root"]
        self.proc = subprocess.Popen(cmd + list(args),
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        # up when it answers anything at all
        try:
            wait_for(lambda: exchange(self.addr, self.port,
                                      make_query("ext.example", "A"),
                                      False, 0.2),
                     "dnsmasq on %s:%d" % (self.addr, self.port),
                     timeout=10)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the shared agents ---

def dns_config(**kw):
    c = {"udp_answer_limit": 3, "node_ttl": "10s",
         "service_ttl": {"*": "5s", "web": "30s"},
         "allow_stale": True, "max_stale": "87600h"}
    c.update(kw)
    return c


def register(agent, n_web):
    for body in CATALOG:
        code, resp = agent.request("PUT", "/v1/catalog/register",
                                   json.dumps(body).encode())
        assert (code, resp) == (200, b"true"), (body, code, resp)
    # the dev agent's own node and "consul" service come from checkd
    wait_for(lambda: get_json(agent, "/v1/health/service/consul"),
             "the consul service")
    wait_for(lambda: len(ask(agent, "web.service.consul", tcp=True).an)
             == n_web, "web in DNS")


def port_free(addr, port):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def run_agent(a, n_web):
    try:
        a.start()
        register(a, n_web)
        yield a
    finally:
        a.stop()
        reports = a.sanitizer_reports()
        a.cleanup()
    assert not reports, "sanitizer reports: %r" % reports


@pytest.fixture(scope="module")
def upstream():
    """The recursor: ext.example and db.example.com from a hosts file
    (TTL 60); the rest of example and example.com local (NXDOMAIN, or
    NOERROR without AAAA); anything else refused (it has no upstream)."""
    dm = Dnsmasq("--local=/example/", "--local=/example.com/")
    yield dm
    dm.stop()


@pytest.fixture(scope="module")
def dead_recursor():
    addr = loopback_addr()
    return addr, free_port(addr)


@pytest.fixture(scope="module")
def main(upstream, dead_recursor):
    cfg = {"alt_domain": "cairn.test",
           "recursors": ["%s:%d" % dead_recursor,
                         "%s:%d" % (upstream.addr, upstream.port)],
           "dns_config": dns_config(enable_truncate=False,
                                    only_passing=False,
                                    recursor_timeout="1s")}
    yield from run_agent(Agent(config={"dns.json": json.dumps(cfg)}),
                         len(WEB_OK))


@pytest.fixture(scope="module")
def strict():
    cfg = {"domain": "consul.",
           "dns_config": dns_config(enable_truncate=True, only_passing=True)}
    a = Agent(config={})
    if os.geteuid() == 0 and port_free(a.addr, 53):
        # glibc asks port 53 only: ports.dns from the config file
        i = a.args.index("-dns-port")
        del a.args[i:i + 2]
        a.dns = 53
        cfg["ports"] = {"dns": 53}
    with open(os.path.join(a.confdir, "dns.json"), "w") as f:
        f.write(json.dumps(cfg))
    yield from run_agent(a, len(WEB_PASSING))


@pytest.fixture(autouse=True)
def _agent_logs(request):
    """A failing test shows the shared agents' logs."""
    agents = [request.getfixturevalue(n) for n in ("main", "strict")
              if n in request.fixturenames]
    if agents:
        request.node._cairn_agents = agents
    yield


# --- name forms ---

def test_node_names(main):
    want = [("n1.node.consul.", 10, "A", "10.1.0.1")]
    assert ask(main, "n1.node.consul").an == want
    m = ask(main, "n1.node.dc1.consul", tcp=True)
    assert m.an == [("n1.node.dc1.consul.", 10, "A", "10.1.0.1")]
    assert (m.status, m.flags, m.ns, m.ar) == \
        ("NOERROR", {"qr", "aa", "rd", "ra"}, [], [])
    # case: the owner is the name as asked
    m = ask(main, "N1.Node.CONSUL")
    assert m.an == [("N1.Node.CONSUL.", 10, "A", "10.1.0.1")]
    # TXT: node meta as k=v, an rfc1035- key gives the value alone
    m = ask(main, "n1.node.consul", "TXT")
    assert sorted(m.an) == [("n1.node.consul.", 10, "TXT", ("env=prod",)),
                            ("n1.node.consul.", 10, "TXT",
                             ("v=spf1 -all",))]
    m = ask(main, "n1.node.consul", "ANY", tcp=True)
    assert sorted(m.an) == [("n1.node.consul.", 10, "A", "10.1.0.1"),
                            ("n1.node.consul.", 10, "TXT", ("env=prod",)),
                            ("n1.node.consul.", 10, "TXT",
                             ("v=spf1 -all",))]
    # no meta, no AAAA: NOERROR, empty, the SOA in authority
    for name, qtype in (("n2.node.consul", "TXT"),
                        ("n1.node.consul", "AAAA"),
                        ("v6node.node.consul", "A")):
        m = ask(main, name, qtype)
        assert (m.status, m.an, strip_serial(m.ns)) == \
            ("NOERROR", [], [soa_rr()]), (name, qtype, m)
    m = ask(main, "v6node.node.consul", "AAAA")
    assert m.an == [("v6node.node.consul.", 10, "AAAA", "fd00::6")]
    # dig's view
    assert dig(main, "+short", "n1.node.consul").split() == ["10.1.0.1"]
    assert dig(main, "+short", "+tcp", "TXT", "n1.node.consul") \
        .splitlines() in (['"env=prod"', '"v=spf1 -all"'],
                          ['"v=spf1 -all"', '"env=prod"'])


def test_unknown_node_nxdomain(main):
    m = ask(main, "nosuch.node.consul")
    assert (m.status, m.an, strip_serial(m.ns), m.ar) == \
        ("NXDOMAIN", [], [soa_rr()], [])
    assert "aa" in m.flags


def test_service_names(main):
    # A over TCP: every instance that is not critical, TTL 30
    for name in ("web.service.consul", "web.service.dc1.consul",
                 "WEB.Service.Consul"):
        m = ask(main, name, tcp=True)
        assert sorted(m.an) == sorted((name + ".", 30, "A", a)
                                      for a in WEB_OK), m
        assert (m.status, m.ns, m.ar) == ("NOERROR", [], [])
    # tags
    m = ask(main, "v1.web.service.consul", tcp=True)
    assert m.addrs() == ["10.1.0.1", "10.1.0.2", "10.1.0.4"]
    m = ask(main, "v2.web.service.dc1.consul", tcp=True)
    assert m.addrs() == ["10.1.0.3", "10.2.0.6"]
    m = ask(main, "PRIMARY.web.service.consul", tcp=True)
    assert m.an == [("PRIMARY.web.service.consul.", 30, "A", "10.1.0.1")]
    m = ask(main, "nosuchtag.web.service.consul")
    assert (m.status, m.an, strip_serial(m.ns)) == \
        ("NXDOMAIN", [], [soa_rr()])


def srv_expect(owner, nodes, domain="consul", ttl=30):
    tgt = web_srv(domain)
    an = sorted((owner, ttl, "SRV", (1, 1, tgt[n][1], tgt[n][0]))
                for n in nodes)
    ar = sorted((tgt[n][0], ttl, "A", tgt[n][2]) for n in nodes)
    return an, ar


def test_service_srv(main):
    every = ["n1", "n2", "n3", "n4", "n6"]
    for name, nodes in (("web.service.consul", every),
                        ("web.service.dc1.consul", every),
                        ("_web._tcp.service.consul", every),
                        ("_web._tcp.service.dc1.consul", every),
                        ("_web._tcp.consul", every),
                        ("_web._v2.service.consul", ["n3", "n6"]),
                        ("_web._v1.consul", ["n1", "n2", "n4"]),
                        ("v2.web.service.consul", ["n3", "n6"])):
        m = ask(main, name, "SRV", tcp=True)
        an, ar = srv_expect(name + ".", nodes)
        assert (m.status, sorted(m.an), sorted(m.ar), m.ns) == \
            ("NOERROR", an, ar, []), (name, m)
    # over UDP without EDNS: three, each with its glue
    m = ask(main, "web.service.consul", "SRV")
    assert len(m.an) == 3 and not m.tc, m
    tgt = {v[0]: v for v in web_srv().values()}
    assert sorted(m.ar) == sorted((r[3][3], 30, "A", tgt[r[3][3]][2])
                                  for r in m.an)
    for r in m.an:
        assert r[:3] == ("web.service.consul.", 30, "SRV")
        assert r[3][:3] == (1, 1, tgt[r[3][3]][1])
    # dig shows the same
    lines = dig(main, "+short", "+tcp", "SRV", "_web._v2.service.consul") \
        .splitlines()
    assert sorted(lines) == ["1 1 82 n3.node.dc1.consul.",
                             "1 1 85 0a020006.addr.dc1.consul."]


def test_addr_names(main):
    m = ask(main, "0a010001.addr.dc1.consul")
    assert m.an == [("0a010001.addr.dc1.consul.", 10, "A", "10.1.0.1")]
    name = "fd000000000000000000000000000006.addr.dc1.consul"
    m = ask(main, name, "AAAA")
    assert m.an == [(name + ".", 10, "AAAA", "fd00::6")]
    # an IPv4 name has no AAAA
    m = ask(main, "0a010001.addr.dc1.consul", "AAAA")
    assert (m.status, m.an, strip_serial(m.ns)) == \
        ("NOERROR", [], [soa_rr()])
    for bad in ("0a01000.addr.dc1.consul", "0a01000g.addr.dc1.consul",
                "x.0a010001.addr.dc1.consul"):
        assert ask(main, bad).status == "NXDOMAIN", bad


def test_ptr(main):
    m = ask(main, "1.0.1.10.in-addr.arpa", "PTR")
    assert (m.status, m.an) == ("NOERROR", [("1.0.1.10.in-addr.arpa.", 10,
                                             "PTR", "n1.node.dc1.consul.")])
    # no node has 10.2.0.6, web's instance on n6 does
    m = ask(main, "6.0.2.10.in-addr.arpa", "PTR")
    assert m.an == [("6.0.2.10.in-addr.arpa.", 10, "PTR",
                     "web.service.consul.")]
    v6 = ipaddress.IPv6Address("fd00::6").reverse_pointer
    m = ask(main, v6, "PTR")
    assert m.an == [(v6 + ".", 10, "PTR", "v6node.node.dc1.consul.")]
    assert dig(main, "+short", "-x", "10.1.0.3").split() == \
        ["n3.node.dc1.consul."]


def test_ptr_outside(main, strict):
    # a reverse name no node or service has goes to the recursors
    m = ask(main, "9.9.9.10.in-addr.arpa", "PTR")
    assert (m.status, m.an, "ra" in m.flags) == \
        ("NOERROR", [("9.9.9.10.in-addr.arpa.", 60, "PTR", "ext.example.")],
         True)
    # with none: NXDOMAIN and the SOA
    m = ask(strict, "9.9.9.10.in-addr.arpa", "PTR")
    assert (m.status, m.an, strip_serial(m.ns)) == \
        ("NXDOMAIN", [], [soa_rr()])


def test_soa_ns_axfr(main):
    ns_name = "%s.node.%s.consul." % (main.node, DC)
    m = ask(main, "consul", "SOA")
    assert strip_serial(m.an) == [soa_rr()]
    assert m.ns == [("consul.", 10, "NS", ns_name)]
    assert m.ar == [(ns_name, 10, "A", main.addr)]
    m = ask(main, "consul", "NS")
    assert (m.status, m.an, m.ns, m.ar) == \
        ("NOERROR", [("consul.", 10, "NS", ns_name)], [],
         [(ns_name, 10, "A", main.addr)])
    # any name under the domain: the zone's SOA
    m = ask(main, "web.service.consul", "SOA")
    assert strip_serial(m.an) == [soa_rr()]
    m = ask(main, "consul", "AXFR", tcp=True)
    assert (m.status, m.an, m.ns, m.ar) == ("NOTIMP", [], [], [])
    out = dig(main, "AXFR", "consul")
    assert "Transfer failed" in out, out


def test_alt_domain(main):
    m = ask(main, "n1.node.cairn.test")
    assert m.an == [("n1.node.cairn.test.", 10, "A", "10.1.0.1")]
    m = ask(main, "N1.NODE.DC1.CAIRN.TEST")
    assert m.an == [("N1.NODE.DC1.CAIRN.TEST.", 10, "A", "10.1.0.1")]
    m = ask(main, "web.service.cairn.test", "SRV", tcp=True)
    an, ar = srv_expect("web.service.cairn.test.",
                        ["n1", "n2", "n3", "n4", "n6"], "cairn.test")
    assert (sorted(m.an), sorted(m.ar)) == (an, ar)
    m = ask(main, "_web._v2.cairn.test", "SRV", tcp=True)
    an, ar = srv_expect("_web._v2.cairn.test.", ["n3", "n6"], "cairn.test")
    assert (sorted(m.an), sorted(m.ar)) == (an, ar)
    m = ask(main, "nosuch.node.cairn.test")
    assert (m.status, strip_serial(m.ns)) == \
        ("NXDOMAIN", [soa_rr("cairn.test")])
    m = ask(main, "cairn.test", "NS")
    ns_name = "%s.node.%s.cairn.test." % (main.node, DC)
    assert (m.an, m.ar) == ([("cairn.test.", 10, "NS", ns_name)],
                            [(ns_name, 10, "A", main.addr)])


def test_bad_names_nxdomain(main):
    for name in ("consul", "foo.bar.consul", "web.service.dc2.consul",
                 "n1.node.extra.dc1.consul", "service.consul",
                 "node.consul", "web.nosuchkind.consul"):
        m = ask(main, name)
        assert (m.status, m.an, strip_serial(m.ns)) == \
            ("NXDOMAIN", [], [soa_rr()]), (name, m)


# --- answer rules ---

def test_health_filtering(main, strict):
    # critical left out (n5), warning kept (n4)
    m = ask(main, "web.service.consul", tcp=True)
    assert set(m.addrs()) == WEB_OK and "10.1.0.5" not in m.addrs()
    # only_passing: warning left out too
    m = ask(strict, "web.service.consul", tcp=True)
    assert m.addrs() == sorted(WEB_PASSING)
    m = ask(strict, "v1.web.service.consul", tcp=True)
    assert m.addrs() == ["10.1.0.1", "10.1.0.2"]
    m = ask(strict, "web.service.consul", "SRV", tcp=True)
    an, ar = srv_expect("web.service.consul.", ["n1", "n2", "n3", "n6"])
    assert (sorted(m.an), sorted(m.ar)) == (an, ar)
    # only critical instances: NXDOMAIN with SOA; the same for none
    for a in (main, strict):
        for name in ("dead.service.consul", "nosuch.service.consul"):
            for qtype in ("A", "SRV"):
                m = ask(a, name, qtype)
                assert (m.status, m.an, strip_serial(m.ns), m.ar) == \
                    ("NXDOMAIN", [], [soa_rr()], []), (name, m)
    # instances exist, no record of the type: NOERROR, SOA
    m = ask(main, "v6svc.service.consul", "A")
    assert (m.status, m.an, strip_serial(m.ns)) == \
        ("NOERROR", [], [soa_rr()])
    m = ask(main, "v6svc.service.consul", "AAAA")
    assert m.an == [("v6svc.service.consul.", 5, "AAAA", "fd00::6")]


def test_udp_limit_and_truncation(main, strict):
    for a, every, tc in ((main, WEB_OK, False), (strict, WEB_PASSING, True)):
        # UDP without EDNS: udp_answer_limit (3); TC only with
        # enable_truncate
        m = ask(a, "web.service.consul")
        assert len(m.an) == 3 and set(m.addrs()) <= every, m
        assert (m.tc, m.opt) == (tc, None), m
        # over TCP and with EDNS: all of them, no TC
        m = ask(a, "web.service.consul", tcp=True)
        assert (m.addrs(), m.tc) == (sorted(every), False)
        m = ask(a, "web.service.consul", edns=4096)
        assert (m.addrs(), m.tc) == (sorted(every), False)
        assert m.opt == (4096, 0)                  # OPT echoed
        m = ask(a, "web.service.consul", edns=1232)
        assert (len(m.an), m.opt) == (len(every), (1232, 0))
        # a tag with no more than the limit: no TC
        m = ask(a, "v2.web.service.consul")
        assert (m.addrs(), m.tc) == (["10.1.0.3", "10.2.0.6"], False)
    # dig: +ignore keeps the truncated answer; without it dig retries
    # over TCP when TC is set, and only then
    st, flags, n = dig_header(dig(main, "+noedns", "web.service.consul"))
    assert (st, n, "tc" in flags) == ("NOERROR", 3, False)
    st, flags, n = dig_header(dig(strict, "+noedns", "+ignore",
                                  "web.service.consul"))
    assert (st, n, "tc" in flags) == ("NOERROR", 3, True)
    out = dig(strict, "+noedns", "web.service.consul")
    assert "Truncated, retrying in TCP mode" in out
    assert dig_header(out)[2] == 4
    assert len(dig(main, "+tcp", "+short", "web.service.consul").split()) \
        == 5
    out = dig(main, "+bufsize=4096", "web.service.consul")
    assert dig_header(out)[2] == 5 and "udp: 4096" in out


def test_ttls(main):
    # node_ttl 10s; service_ttl web exactly 30s, every other 5s
    assert {r[1] for r in ask(main, "n1.node.consul", "ANY").an} == {10}
    for name, ttl in (("web.service.consul", 30), ("api.service.consul", 5),
                      ("webadmin.service.consul", 5)):
        m = ask(main, name, tcp=True)
        assert m.an and {r[1] for r in m.an} == {ttl}, (name, m)
        m = ask(main, name, "SRV", tcp=True)
        assert {r[1] for r in m.an + m.ar} == {ttl}, (name, m)
    m = ask(main, "api.service.consul", "SRV")
    assert (m.an, m.ar) == (
        [("api.service.consul.", 5, "SRV", (1, 1, 9000,
                                             "n2.node.dc1.consul."))],
        [("n2.node.dc1.consul.", 5, "A", "10.1.0.2")])


def test_hostname_answered_as_cname(main, strict):
    # with recursors, the host's own address follows the CNAME (as in
    # Consul), with the recursor's TTL
    m = ask(main, "hostnode.node.consul")
    assert (m.status, m.an, m.ns) == ("NOERROR", [
        ("hostnode.node.consul.", 10, "CNAME", "db.example.com."),
        ("db.example.com.", 60, "A", "10.9.9.10")], [])
    m = ask(main, "db.service.consul", tcp=True)
    assert m.an == [("db.service.consul.", 5, "CNAME", "db.example.com."),
                    ("db.example.com.", 60, "A", "10.9.9.10")]
    # the host has no AAAA; a CNAME question: the CNAME alone
    m = ask(main, "db.service.consul", "AAAA")
    assert m.an == [("db.service.consul.", 5, "CNAME", "db.example.com.")]
    m = ask(main, "hostnode.node.consul", "CNAME")
    assert m.an == [("hostnode.node.consul.", 10, "CNAME",
                     "db.example.com.")]
    # without recursors: the CNAME alone
    m = ask(strict, "hostnode.node.consul")
    assert (m.status, m.an) == ("NOERROR", [("hostnode.node.consul.", 10,
                                             "CNAME", "db.example.com.")])
    m = ask(strict, "db.service.consul")
    assert m.an == [("db.service.consul.", 5, "CNAME", "db.example.com.")]
    # SRV: the node's name as target, and no glue for a host name
    m = ask(main, "db.service.consul", "SRV")
    assert (m.an, m.ar) == ([("db.service.consul.", 5, "SRV",
                              (1, 1, 5432, "hostnode.node.dc1.consul."))],
                            [])
    assert dig(main, "+short", "db.service.consul").split() == \
        ["db.example.com.", "10.9.9.10"]


def test_cname_chase_past_dead_recursor(make_agent, upstream,
                                        dead_recursor):
    """The first recursor's port is closed; it refuses one of the chase's
    A and AAAA questions, and both move on to dnsmasq. recursor_timeout
    is 600s: had either question waited for it, no answer would come
    within ask's 20 s."""
    cfg = {"recursors": ["%s:%d" % dead_recursor,
                         "%s:%d" % (upstream.addr, upstream.port)],
           "dns_config": {"recursor_timeout": "600s"}}
    a = make_agent(config={"dns.json": json.dumps(cfg)})
    put(a, "/v1/catalog/register", _svc("hostnode", "db", "db", 5432))
    for _ in range(3):
        m = ask(a, "hostnode.node.consul", timeout=20)
        assert m.an == [
            ("hostnode.node.consul.", 0, "CNAME", "db.example.com."),
            ("db.example.com.", 60, "A", "10.9.9.10")], m
    assert ask(a, "ext.example", timeout=20).status == "NOERROR"


def test_prepared_query(main):
    body = json.dumps({"Name": "webq", "Service": {"Service": "web"},
                       "DNS": {"TTL": "7s"}}).encode()
    code, resp = main.request("POST", "/v1/query", body)
    if code == 404:
        pytest.skip("POST /v1/query gives 404: no prepared queries in "
                    "this build")
    assert code == 200, resp
    qid = json.loads(resp)["ID"]
    for name in ("webq.query.consul", "webq.query.dc1.consul",
                 "%s.query.consul" % qid):
        m = ask(main, name, tcp=True)
        assert sorted(m.an) == sorted((name + ".", 7, "A", a)
                                      for a in WEB_OK), (name, m)
    m = ask(main, "webq.query.consul", "SRV", tcp=True)
    an, ar = srv_expect("webq.query.consul.",
                        ["n1", "n2", "n3", "n4", "n6"], ttl=7)
    assert (sorted(m.an), sorted(m.ar)) == (an, ar)
    m = ask(main, "nosuchq.query.consul")
    assert (m.status, m.an, strip_serial(m.ns)) == \
        ("NXDOMAIN", [], [soa_rr()])


# --- recursors ---

def test_recursors(main):
    # main's recursors: a dead port first, then dnsmasq, which answers
    m = ask(main, "ext.example")
    assert (m.status, m.an) == ("NOERROR",
                                [("ext.example.", 60, "A", "10.9.9.9")])
    assert "ra" in m.flags
    assert dig(main, "+short", "EXT.example").split() == ["10.9.9.9"]
    m = ask(main, "ext.example", tcp=True)
    assert m.an == [("ext.example.", 60, "A", "10.9.9.9")]
    # the upstream's NXDOMAIN comes back as it is
    m = ask(main, "x.nx.example")
    assert (m.status, m.an, "ra" in m.flags) == ("NXDOMAIN", [], True)
    m = ask(main, "ext.example", "AAAA")
    assert (m.status, m.an, m.ns) == ("NOERROR", [], [])
    # every recursor fails (dead, then REFUSED): SERVFAIL
    m = ask(main, "other.invalid")
    assert (m.status, m.an, "ra" in m.flags) == ("SERVFAIL", [], True)
    # RA on our own answers too, when there are recursors
    assert "ra" in ask(main, "n1.node.consul").flags


def test_no_recursors(strict):
    m = ask(strict, "ext.example")
    assert (m.status, m.an, m.ns, m.flags) == \
        ("REFUSED", [], [], {"qr", "rd"})
    assert "ra" not in ask(strict, "n1.node.consul").flags


def test_dnsmasq_in_front(main):
    front = Dnsmasq("--server=/consul/%s#%d" % (main.addr, main.dns))
    try:
        ans = query(front.addr, front.port, "n1.node.consul")
        assert ans.an == [("n1.node.consul.", 10, "A", "10.1.0.1")]
        # dnsmasq asks without EDNS: three of web's five, then cached
        ans = query(front.addr, front.port, "web.service.consul")
        assert ans.status == "NOERROR" and len(ans.addrs()) == 3
        assert set(ans.addrs()) <= WEB_OK and \
            {r[:3] for r in ans.an} == {("web.service.consul.", 30, "A")}
        again = query(front.addr, front.port, "web.service.consul", tcp=True)
        assert again.addrs() == ans.addrs()
        out = subprocess.run(
            ["dig", "@" + front.addr, "-p", str(front.port), "+short",
             "+time=3", "+tries=1", "SRV", "_web._v2.service.consul"],
            capture_output=True, text=True, timeout=30).stdout
        assert sorted(out.splitlines()) == [
            "1 1 82 n3.node.dc1.consul.",
            "1 1 85 0a020006.addr.dc1.consul."]
        ans = query(front.addr, front.port, "nosuch.node.consul")
        assert ans.status == "NXDOMAIN"
    finally:
        front.stop()


def test_glibc_resolver(strict):
    if os.geteuid() != 0:
        pytest.skip("glibc asks port 53 only: needs root to bind it and "
                    "to bind-mount /etc/resolv.conf")
    if strict.dns != 53:
        pytest.skip("port 53 is taken on %s" % strict.addr)
    if subprocess.run(["unshare", "--mount", "true"],
                      capture_output=True).returncode != 0:
        pytest.skip("unshare --mount does not work here")
    d = tempfile.mkdtemp(prefix="cairn-resolv.")
    try:
        conf = os.path.join(d, "resolv.conf")
        with open(conf, "w") as f:
            f.write("nameserver %s\nsearch node.consul service.consul\n"
                    "options timeout:2 attempts:1\n" % strict.addr)

        def getent(name):
            r = subprocess.run(
                ["unshare", "--mount", "sh", "-c",
                 'mount --bind "$1" /etc/resolv.conf && '
                 'exec getent hosts "$2"', "sh", conf, name],
                capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, (name, r.returncode, r.stderr)
            return sorted(tuple(l.split()) for l in r.stdout.splitlines())
        assert getent("n1") == [("10.1.0.1", "n1.node.consul")]
        # TC is set (enable_truncate): glibc asks again over TCP and gets
        # every passing instance
        assert getent("web") == sorted((a, "web.service.consul")
                                       for a in WEB_PASSING)
        assert getent("n1.node.consul") == [("10.1.0.1", "n1.node.consul")]
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --- answers from the cache while no server answers ---

def test_stale_answers_from_cache(make_agent):
    server = make_agent()
    for body in CATALOG[:3] + CATALOG[6:7]:
        code, _ = server.request("PUT", "/v1/catalog/register",
                                 json.dumps(body).encode())
        assert code == 200
    client = make_agent(wait=False, dev=False,
                        extra=("-retry-join", serf(server),
                               "-retry-interval", "1s"))
    client.wait_up()
    want = ["10.1.0.1", "10.1.0.2", "10.1.0.3"]
    wait_for(lambda: ask(client, "web.service.consul", tcp=True).addrs()
             == want, "web through the client's dnsd")
    srv = sorted(ask(client, "web.service.consul", "SRV", tcp=True).an)
    assert len(srv) == 3
    node = ask(client, "n1.node.consul").an
    assert node == [("n1.node.consul.", 0, "A", "10.1.0.1")]
    server.crash()
    # the same names: the last answers, from the cache
    m = ask(client, "web.service.consul", tcp=True, timeout=8)
    assert (m.status, m.addrs()) == ("NOERROR", want)
    assert sorted(ask(client, "web.service.consul", "SRV", tcp=True,
                      timeout=8).an) == srv
    assert ask(client, "n1.node.consul", timeout=8).an == node
    assert "answering from data" in client.logtext()
    # a name never asked: nothing to answer from
    for name in ("api.service.consul", "n2.node.consul"):
        m = ask(client, name, timeout=8)
        assert (m.status, m.an) == ("SERVFAIL", []), (name, m)


# --- SRV weights (COMPAT.md: weight from Weights, default 1) ---

def srv_weights(agent, name):
    """SRV answer of name: {port: weight}."""
    return {rr[3][2]: rr[3][1]
            for rr in ask(agent, name, "SRV", tcp=True).an}


def test_srv_weights(make_agent):
    a = make_agent()
    body = {"Name": "wt", "ID": "wt1", "Port": 7001,
            "Weights": {"Passing": 10, "Warning": 3},
            "Check": {"TTL": "600s"}}
    put(a, "/v1/agent/service/register", body)
    put(a, "/v1/agent/service/register",
        {"Name": "wt", "ID": "wt2", "Port": 7002})
    put(a, "/v1/agent/check/pass/service:wt1", {})
    want = {"Passing": 10, "Warning": 3}
    assert get_json(a, "/v1/agent/services")["wt1"]["Weights"] == want
    assert get_json(a, "/v1/agent/services")["wt2"]["Weights"] == \
        {"Passing": 1, "Warning": 1}
    wait_for(lambda: srv_weights(a, "wt.service.consul") ==
             {7001: 10, 7002: 1}, "SRV weights 10 and 1")
    cat = {s["ServiceID"]: s["ServiceWeights"]
           for s in get_json(a, "/v1/catalog/service/wt")}
    assert cat == {"wt1": want, "wt2": {"Passing": 1, "Warning": 1}}
    health = {e["Service"]["ID"]: e["Service"]["Weights"]
              for e in get_json(a, "/v1/health/service/wt")}
    assert health == cat
    # a warning check: Warning's weight
    put(a, "/v1/agent/check/warn/service:wt1", {})
    wait_for(lambda: srv_weights(a, "wt.service.consul") ==
             {7001: 3, 7002: 1}, "SRV weight 3 while warning")
    # Consul's ValidateWeights
    for w, msg in (({"Passing": 0}, "Passing must be greater than 0"),
                   ({"Passing": 1, "Warning": -1},
                    "Warning must be greater or equal than 0"),
                   ({"Passing": 70000},
                    "DNS Weight must be between 0 and 65535")):
        code, resp = a.request("PUT", "/v1/agent/service/register",
                               json.dumps({"Name": "bad", "Weights": w})
                               .encode())
        assert code == 400 and b"Invalid Weights: " + msg.encode() in resp, \
            (w, code, resp)
    # the catalog's own registrations
    put(a, "/v1/catalog/register",
        {"Node": "wn", "Address": "10.9.2.1",
         "Service": {"ID": "ext", "Service": "wt", "Port": 7003,
                     "Weights": {"Passing": 65535, "Warning": 0}}})
    wait_for(lambda: srv_weights(a, "wt.service.consul").get(7003) == 65535,
             "the catalog-registered weight")
    code, resp = a.request("PUT", "/v1/catalog/register", json.dumps(
        {"Node": "wn", "Address": "10.9.2.1",
         "Service": {"Service": "wt", "Weights": {"Passing": "x"}}})
        .encode())
    assert code == 400 and b"Weights" in resp, (code, resp)


# --- kept replies: answered without kvd, and never after a change ---

def put(agent, path, body):
    code, resp = agent.request("PUT", path, json.dumps(body).encode())
    assert code == 200, (path, body, code, resp)


def follow_changes(server, reader):
    """Each catalog change made on server shows in reader's answers to
    names reader's dnsd has already answered (from kept replies)."""
    api = {"Node": "f1", "Address": "10.9.0.1",
           "Service": {"ID": "api1", "Service": "api", "Port": 80},
           "Checks": [{"CheckID": "api1:c", "Name": "c", "ServiceID": "api1",
                       "Status": "passing"}]}
    put(server, "/v1/catalog/register", api)
    wait_for(lambda: ask(reader, "api.service.consul").addrs()
             == ["10.9.0.1"], "api.service in DNS")
    for _ in range(5):
        assert ask(reader, "api.service.consul").addrs() == ["10.9.0.1"]
        assert ask(reader, "f1.node.consul").addrs() == ["10.9.0.1"]
    # another instance
    api2 = dict(api, Node="f2", Address="10.9.0.2",
                Service=dict(api["Service"], ID="api2"),
                Checks=[dict(api["Checks"][0], CheckID="api2:c",
                             ServiceID="api2")])
    put(server, "/v1/catalog/register", api2)
    wait_for(lambda: ask(reader, "api.service.consul").addrs()
             == ["10.9.0.1", "10.9.0.2"], "a second api instance")
    # a check goes critical: left out
    put(server, "/v1/catalog/register",
        dict(api, Checks=[dict(api["Checks"][0], Status="critical")]))
    wait_for(lambda: ask(reader, "api.service.consul").addrs()
             == ["10.9.0.2"], "the critical instance left out")
    # a node's address changes
    put(server, "/v1/catalog/register", dict(api, Address="10.9.0.11"))
    wait_for(lambda: ask(reader, "f1.node.consul").addrs()
             == ["10.9.0.11"], "f1's new address")
    # gone
    put(server, "/v1/catalog/deregister", {"Node": "f1"})
    put(server, "/v1/catalog/deregister", {"Node": "f2"})
    wait_for(lambda: ask(reader, "api.service.consul").status == "NXDOMAIN"
             and ask(reader, "f1.node.consul").status == "NXDOMAIN",
             "api and f1 gone")


def kept_live(agent):
    wait_for(lambda: "answering from kept replies" in agent.logtext(),
             "dnsd watching the catalog")


def test_kept_replies_follow_changes(make_agent):
    server = make_agent()
    kept_live(server)
    follow_changes(server, server)
    client = make_agent(wait=False, dev=False,
                        extra=("-retry-join", serf(server),
                               "-retry-interval", "1s"))
    client.wait_up()
    kept_live(client)
    follow_changes(server, client)


def test_kept_replies_answer_without_kvd(make_agent):
    a = make_agent()
    put(a, "/v1/catalog/register",
        {"Node": "k1", "Address": "10.9.1.1",
         "Service": {"ID": "kv1", "Service": "kept", "Port": 81}})
    kept_live(a)
    wait_for(lambda: ask(a, "kept.service.consul").addrs() == ["10.9.1.1"],
             "kept.service")
    srv = ask(a, "kept.service.consul", "SRV").an
    assert len(srv) == 1
    assert ask(a, "k1.node.consul").addrs() == ["10.9.1.1"]
    kvd = a.daemon_pid("kvd")
    os.kill(kvd, signal.SIGSTOP)
    try:
        # kvd cannot answer, and has not said anything changed: the
        # names asked before are answered from the replies kept for
        # them, at once, not as stale answers after kvd's timeout
        for _ in range(3):
            assert ask(a, "kept.service.consul").addrs() == ["10.9.1.1"]
            assert ask(a, "kept.service.consul", "SRV").an == srv
            assert ask(a, "k1.node.consul").addrs() == ["10.9.1.1"]
        assert "answering from data" not in a.logtext()
        # a name never asked waits for kvd: the stale path, then SERVFAIL
        m = ask(a, "k2.node.consul", timeout=8)
        assert (m.status, m.an) == ("SERVFAIL", [])
    finally:
        os.kill(kvd, signal.SIGCONT)
    assert a.daemon_pid("kvd") == kvd
    # kvd is back: changes made while it was stopped still show
    put(a, "/v1/catalog/register",
        {"Node": "k1", "Address": "10.9.1.2",
         "Service": {"ID": "kv1", "Service": "kept", "Port": 81}})
    wait_for(lambda: ask(a, "kept.service.consul").addrs() == ["10.9.1.2"],
             "kept.service's new address")


# --- hostile packets ---

def hdr(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">6H", qid, flags, qd, an, ns, ar)


QTAIL = b"\x00\x01\x00\x01"                 # A, IN
QNAME = wire_name("web.service.consul")


def corpus():
    """(what, packet, expected rcode or None for no answer)."""
    good = hdr(0x1001) + QNAME + QTAIL
    opt = lambda rdlen, rd=b"": b"\x00" + struct.pack(">HHIH", 41, 4096,
                                                       0, rdlen) + rd
    return [
        ("empty", b"", None),
        ("truncated header", good[:7], None),
        ("11 bytes", good[:11], None),
        ("header alone", hdr(0x1002), "FORMERR"),
        ("question cut short", hdr(0x1003) + QNAME[:9], "FORMERR"),
        ("no type and class", hdr(0x1004) + QNAME, "FORMERR"),
        ("qdcount 0", hdr(0x1005, qd=0), "FORMERR"),
        ("qdcount 2", hdr(0x1006, qd=2) + QNAME + QTAIL + QNAME + QTAIL,
         "FORMERR"),
        ("pointer to itself", hdr(0x1007) + b"\xc0\x0c" + QTAIL, "FORMERR"),
        ("pointer loop", hdr(0x1008) + b"\x01a\xc0\x0c" + QTAIL, "FORMERR"),
        ("pointer forward", hdr(0x1009) + b"\xc0\x12" + QTAIL + QNAME,
         "FORMERR"),
        ("pointer past the end", hdr(0x100a) + b"\xc0\xff" + QTAIL,
         "FORMERR"),
        ("label of 64", hdr(0x100b) + b"\x40" + b"a" * 64 + b"\0" + QTAIL,
         "FORMERR"),
        ("label type 0x80", hdr(0x100c) + b"\x80abc\0" + QTAIL, "FORMERR"),
        ("name of 263 bytes", hdr(0x100d) + (b"\x3f" + b"a" * 63) * 4 +
         b"\x05aaaaa\0" + QTAIL, "FORMERR"),
        ("name of 255 bytes", hdr(0x100e) + (b"\x3f" + b"a" * 63) * 3 +
         b"\x3d" + b"a" * 61 + b"\0" + QTAIL, "REFUSED"),
        ("OPT rdlength past the end", hdr(0x100f, ar=1) + QNAME + QTAIL +
         opt(50, b"\0" * 4), "FORMERR"),
        ("OPT option past its rdata", hdr(0x1010, ar=1) + QNAME + QTAIL +
         opt(4, b"\x00\x08\x00\x0a"), "FORMERR"),
        ("OPT owner not the root", hdr(0x1011, ar=1) + QNAME + QTAIL +
         b"\x01x" + opt(0)[1:], "FORMERR"),
        ("two OPTs", hdr(0x1012, ar=2) + QNAME + QTAIL + opt(0) + opt(0),
         "FORMERR"),
        ("bad client subnet", hdr(0x1013, ar=1) + QNAME + QTAIL +
         opt(8, b"\x00\x08\x00\x04\x00\x03\x18\x00"), "FORMERR"),
        ("EDNS version 1", hdr(0x1014, ar=1) + QNAME + QTAIL + b"\x00" +
         struct.pack(">HHIH", 41, 4096, 1 << 16, 0), "BADVERS"),
        ("ancount 5, no records", hdr(0x1015, an=5) + QNAME + QTAIL,
         "FORMERR"),
        ("a response (QR)", hdr(0x1016, flags=0x8100) + QNAME + QTAIL, None),
        ("a response with errors", hdr(0x1017, flags=0x8183), None),
        ("opcode 2 (STATUS)", hdr(0x1018, flags=2 << 11) + QNAME + QTAIL,
         "NOTIMP"),
        ("opcode 5 (UPDATE)", hdr(0x1019, flags=5 << 11) + QNAME + QTAIL,
         "NOTIMP"),
        ("opcode 15, garbage", hdr(0x101a, flags=15 << 11) + b"\xff\xff",
         "NOTIMP"),
    ]


def check_answer(what, pkt, raw, want):
    if want is None:
        assert raw is None, "%s: answered %r" % (what, raw)
        return
    assert raw is not None, "%s: no answer, wanted %s" % (what, want)
    m = Msg(raw)
    assert (m.id, m.qr, m.opcode, m.status) == \
        (struct.unpack(">H", pkt[:2])[0], True, (pkt[2] >> 3) & 0xF,
         want), (what, m)
    assert m.an == [] and (m.ns == [] or want == "REFUSED"), (what, m)


def tcp_send(addr, port, data, timeout=3.0):
    """Send data, shut our side, read all: the bytes dnsd wrote."""
    with socket.create_connection((addr, port), timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def still_answers(a, what):
    m = ask(a, "n1.node.consul", timeout=3)
    assert m.an == [("n1.node.consul.", 10, "A", "10.1.0.1")], what


def test_hostile_packets_udp(strict):
    pid = strict.daemon_pid("dnsd")
    for what, pkt, want in corpus():
        raw = exchange(strict.addr, strict.dns, pkt, False,
                       0.3 if want is None else 3)
        check_answer(what, pkt, raw, want)
        still_answers(strict, what)
    # a datagram over 4096 bytes is no query: dropped
    pkt = make_query("n1.node.consul", "A", qid=0x4242) + b"\0" * 5000
    assert exchange(strict.addr, strict.dns, pkt, False, 0.3) is None
    still_answers(strict, "5 KB datagram")
    assert strict.daemon_pid("dnsd") == pid      # never restarted


def test_hostile_packets_tcp(strict):
    pid = strict.daemon_pid("dnsd")
    for what, pkt, want in corpus():
        out = tcp_send(strict.addr, strict.dns,
                       struct.pack(">H", len(pkt)) + pkt)
        if want is None:
            assert out == b"", (what, out)
        else:
            assert len(out) >= 2 and \
                struct.unpack(">H", out[:2])[0] == len(out) - 2, (what, out)
            check_answer(what, pkt, out[2:], want)
        still_answers(strict, what)
    good = make_query("web.service.consul", "A", 0x2001)
    # a length prefix longer than the data, then a close
    for data in (b"\x00\x40" + good[:20], b"\xff\xff" + good, b"\x00"):
        s = socket.create_connection((strict.addr, strict.dns), 3)
        s.sendall(data)
        s.close()
        assert tcp_send(strict.addr, strict.dns, data) == b""
        still_answers(strict, "short TCP message %r" % data[:4])
    # a good query after a bad one on the same connection is not read:
    # a response closes the connection, a FORMERR does not
    bad = hdr(0x2002) + QNAME[:5]
    out = tcp_send(strict.addr, strict.dns,
                   struct.pack(">H", len(bad)) + bad +
                   struct.pack(">H", len(good)) + good)
    first = struct.unpack(">H", out[:2])[0]
    assert Msg(out[2:2 + first]).status == "FORMERR"
    second = Msg(out[4 + first:])
    assert (second.id, set(second.addrs())) == (0x2001, WEB_PASSING)
    resp = hdr(0x2003, flags=0x8100) + QNAME + QTAIL
    out = tcp_send(strict.addr, strict.dns,
                   struct.pack(">H", len(resp)) + resp +
                   struct.pack(">H", len(good)) + good)
    assert out == b""
    assert strict.daemon_pid("dnsd") == pid


def random_packets(seed, n):
    """Random bytes of many lengths; most made to look like queries."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        length = i if i < 40 else rng.randint(12, 1400)
        p = bytearray(rng.getrandbits(8) for _ in range(length))
        if length >= 12:
            p[0:2] = struct.pack(">H", 0x8000 + i)
            if i % 2:
                p[2] &= 0x07                      # a QUERY: QR, opcode 0
            if i % 4 == 1:
                p[4:6] = b"\x00\x01"              # one question
        out.append(bytes(p))
    return out


def random_expect(p):
    """dns_query_parse's verdict on a packet whose body is garbage."""
    if len(p) < 12 or p[2] & 0x80:
        return None
    return "NOTIMP" if (p[2] >> 3) & 0xF else "FORMERR"


def test_random_packets(strict):
    pid = strict.daemon_pid("dnsd")
    pkts = random_packets(20240611, 400)
    # UDP: in batches, answers matched by ID
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    try:
        for start in range(0, len(pkts), 40):
            batch = pkts[start:start + 40]
            for p in batch:
                s.sendto(p, (strict.addr, strict.dns))
            got = {}
            wanted = sum(random_expect(p) is not None for p in batch)
            deadline = time.time() + 3
            while len(got) < wanted and time.time() < deadline:
                try:
                    raw = s.recv(65535)
                except socket.timeout:
                    break
                got[raw[:2]] = raw
            if len(got) == wanted:
                try:                                 # nothing more comes
                    s.settimeout(0.2)
                    extra = s.recv(65535)
                    raise AssertionError("unexpected answer %r" % extra)
                except socket.timeout:
                    pass
                finally:
                    s.settimeout(0.5)
            for i, p in enumerate(batch):
                want = random_expect(p)
                key = p[:2] if len(p) >= 2 else None
                check_answer("random packet %d" % (start + i), p,
                             got.get(key) if want is not None else None,
                             want)
            still_answers(strict, "random batch at %d" % start)
    finally:
        s.close()
    # TCP: one connection each, a sample
    for i, p in enumerate(pkts[1::3]):
        out = tcp_send(strict.addr, strict.dns, struct.pack(">H", len(p)) + p)
        want = random_expect(p)
        if want is None:
            assert out == b"", (i, out)
        else:
            assert struct.unpack(">H", out[:2])[0] == len(out) - 2
            check_answer("random TCP packet %d" % i, p, out[2:], want)
    # TCP: raw random streams, framing and all
    rng = random.Random(7)
    for i in range(30):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 3000)))
        out = tcp_send(strict.addr, strict.dns, data)
        while out:                                 # whatever comes parses
            n = struct.unpack(">H", out[:2])[0]
            m = Msg(out[2:2 + n])
            assert m.qr and m.status in ("FORMERR", "NOTIMP"), (i, m)
            out = out[2 + n:]
    still_answers(strict, "random streams")
    assert strict.daemon_pid("dnsd") == pid
