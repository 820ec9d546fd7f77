"""Network partitions between real servers, in network namespaces.

Three servers, each alone in a namespace the test makes, are cabled to a
bridge in a fourth ("switch") namespace on a /24 that exists only there.
A partition drops every packet to and from one server without a word
(a pfifo qdisc of length 0 on both ends of its cable; `ip link set down`
where that qdisc is missing). The test reaches each server's HTTP API
with curl run inside that server's own namespace, so a partition never
cuts the test off, and no traffic leaves the namespaces.

 - the leader cut off: it stops leading and commits nothing; the other
   two elect a leader and take writes; once healed, all three agree on
   one leader and hold every acknowledged write and none of the refused
   ones;
 - a follower cut off for many election timeouts: on its return it does
   not unseat the leader (pre-vote, check-quorum), and its term did not
   move.

Needs root and a kernel with network namespaces, veth and bridges;
skipped otherwise. Time is only ever a generous bound on a wait.
"""
import json
import os
import random
import re
import shutil
import subprocess
import threading
import time

import pytest

from conftest import BIN, Agent

WAIT = 60			# bound on any wait for the cluster to settle


def ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True,
                       timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def netns_exec(ns, *args, check=True):
    return ip("netns", "exec", ns, *args, check=check)


class Net:
    """A switch namespace with a bridge, and one namespace per server
    cabled to it by a veth pair: eth0 on the server's side, p<i> on the
    switch's side."""

    def __init__(self, n):
        tag = "%06x" % random.getrandbits(24)
        self.switch = "cairn-p-%s-sw" % tag
        self.names = ["cairn-p-%s-%d" % (tag, i) for i in range(1, n + 1)]
        self.prefix = "10.231.%d" % random.randint(1, 254)
        self.made = []
        self.cut = {}		# ns -> how it was cut: "qdisc" or "link"

    def addr(self, i):
        return "%s.%d" % (self.prefix, i + 1)

    def setup(self):
        for ns in [self.switch] + self.names:
            ip("netns", "add", ns)
            self.made.append(ns)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        ip("-n", self.switch, "link", "set", "lo", "up")
        for i, ns in enumerate(self.names):
            port = "p%d" % i
            ip("-n", self.switch, "link", "add", port, "type", "veth",
               "peer", "name", "eth0", "netns", ns)
            ip("-n", self.switch, "link", "set", port, "master", "br0")
            ip("-n", self.switch, "link", "set", port, "up")
            ip("-n", ns, "addr", "add", self.addr(i) + "/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "link", "set", "eth0", "up")

    def isolate(self, i):
        """Drop everything to and from server i, silently."""
        ns, port = self.names[i], "p%d" % i
        r1 = netns_exec(ns, "tc", "qdisc", "add", "dev", "eth0", "root",
                        "pfifo", "limit", "0", check=False)
        r2 = netns_exec(self.switch, "tc", "qdisc", "add", "dev", port,
                        "root", "pfifo", "limit", "0", check=False)
        if r1.returncode == 0 and r2.returncode == 0:
            self.cut[ns] = "qdisc"
            return
        for r, (where, dev) in ((r1, (ns, "eth0")),
                                (r2, (self.switch, port))):
            if r.returncode == 0:
                netns_exec(where, "tc", "qdisc", "del", "dev", dev, "root")
        ip("-n", self.switch, "link", "set", port, "down")
        self.cut[ns] = "link"

    def heal(self, i):
        ns, port = self.names[i], "p%d" % i
        how = self.cut.pop(ns)
        if how == "qdisc":
            netns_exec(ns, "tc", "qdisc", "del", "dev", "eth0", "root")
            netns_exec(self.switch, "tc", "qdisc", "del", "dev", port,
                       "root")
        else:
            ip("-n", self.switch, "link", "set", port, "up")

    def teardown(self):
        # Deleting a namespace destroys its veth ends, and with them their
        # peers; the namespace itself goes once no process is left in it.
        for ns in reversed(self.made):
            ip("netns", "del", ns, check=False)
        self.made = []


class NsAgent(Agent):
    """A server agent inside a namespace, on the default ports, spoken to
    with curl inside the same namespace."""

    def __init__(self, ns, addr, node, extra=()):
        super().__init__(node=node, dev=False)
        self.ns, self.addr = ns, addr
        self.http, self.dns = 8500, 8600
        self.ports = {"server": 8300, "serf-lan": 8301, "serf-wan": 8302}
        self.args = ["-data-dir", self.data, "-node", self.node,
                     "-bind", addr, "-client", addr,
                     "-http-port", "8500", "-dns-port", "8600",
                     "-server-port", "8300", "-serf-lan-port", "8301",
                     "-serf-wan-port", "8302",
                     "-config-dir", self.confdir] + list(extra)

    @property
    def rpc(self):
        return "%s:%d" % (self.addr, self.ports["server"])

    def start(self, wait=False):
        self.log = open(self.logpath, "ab")
        # ip execs the command in place: the pid is the agent's own, the
        # head of its process group
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns, os.path.join(BIN, "cairn"),
             "agent"] + self.args, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True)
        if wait:
            self.wait_up()
        return self

    def request(self, method, path, body=None, timeout=10, headers=None):
        cmd = ["ip", "netns", "exec", self.ns, "curl", "-sS",
               "--noproxy", "*", "-X", method, "--max-time", str(timeout),
               "-H", "Expect:", "-w", "\n%{http_code}"]
        for k, v in (headers or {}).items():
            cmd += ["-H", "%s: %s" % (k, v)]
        if body is not None:
            cmd += ["--data-binary", "@-"]
        cmd.append(self.url + path)
        try:
            r = subprocess.run(cmd, input=body, capture_output=True,
                               timeout=timeout + 30)
        except subprocess.TimeoutExpired:
            raise TimeoutError("curl %s %s: hung" % (method, path))
        if r.returncode != 0:
            # 28 is curl's "timed out"
            err = TimeoutError if r.returncode == 28 else ConnectionError
            raise err("curl %s %s on %s: exit %d: %s" % (
                method, path, self.node, r.returncode,
                r.stderr.decode(errors="replace").strip()))
        out, _, code = r.stdout.rpartition(b"\n")
        return int(code), out


@pytest.fixture
def cluster(request):
    """Three servers, each in its own namespace: (net, agents)."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None or shutil.which("curl") is None:
        pytest.skip("needs ip (iproute2) and curl")
    net = Net(3)
    agents = []
    try:
        try:
            net.setup()
        except RuntimeError as e:
            pytest.skip("cannot build the namespaces: %s" % e)
        join = "%s:8301" % net.addr(0)
        for i, ns in enumerate(net.names):
            extra = ["-server", "-bootstrap-expect", "3"]
            if i > 0:
                extra += ["-retry-join", join, "-retry-interval", "1s"]
            agents.append(NsAgent(ns, net.addr(i), "s%d" % (i + 1),
                                  extra=extra))
        request.node._cairn_agents = agents
        for a in agents:
            a.start()
        for a in agents:
            a.wait_up(timeout=WAIT)
        yield net, agents
    finally:
        for a in agents:
            a.stop()
        net.teardown()
        for a in agents:
            a.cleanup()


def leader_of(agent):
    """What agent says the leader is ("" for none, None if no answer)."""
    try:
        code, body = agent.request("GET", "/v1/status/leader", timeout=5)
    except OSError:
        return None
    return json.loads(body) if code == 200 else None


def wait_leader(agents, exclude=None):
    """The leader all of agents agree on (not exclude)."""
    deadline = time.time() + WAIT
    seen = None
    while time.time() < deadline:
        seen = {a.node: leader_of(a) for a in agents}
        vals = set(seen.values())
        if len(vals) == 1 and None not in vals and "" not in vals \
                and exclude not in vals:
            return vals.pop()
        time.sleep(0.2)
    raise AssertionError("no agreed leader (excluding %s): %s" %
                         (exclude, seen))


def wait_no_leader(agent):
    deadline = time.time() + WAIT
    while time.time() < deadline:
        if leader_of(agent) == "":
            return
        time.sleep(0.2)
    raise AssertionError("%s cut off kept a leader: %r" %
                         (agent.node, leader_of(agent)))


def by_rpc(agents, addr):
    for a in agents:
        if a.rpc == addr:
            return a
    raise AssertionError("no server has RPC address %r" % addr)


def put(agent, key, val, timeout=30):
    return agent.request("PUT", "/v1/kv/" + key, val, timeout=timeout)


def stale_get(agent, key):
    """This server's own copy of key: (code, raw value)."""
    return agent.request("GET", "/v1/kv/%s?stale&raw" % key, timeout=10)


def wait_keys(agents, want):
    """Every key in want has its value on every agent (stale reads)."""
    deadline = time.time() + WAIT
    for a in agents:
        for key, val in want.items():
            got = None
            while time.time() < deadline:
                try:
                    got = stale_get(a, key)
                except OSError as e:
                    got = e
                if got == (200, val):
                    break
                time.sleep(0.1)
            else:
                raise AssertionError("%s never had %s=%r (last %r)" %
                                     (a.node, key, val, got))


LEADER_LINE = re.compile(r"(?:leader is (\S+)(?: \(this server\))?|"
                         r"no leader) \(term (\d+)\)")


def raft_events(agent, start=0):
    """raftd's "leader is X (term N)" / "no leader (term N)" log lines
    from byte offset start: [(leader or "", term)]."""
    with open(agent.logpath, "rb") as f:
        f.seek(start)
        text = f.read().decode(errors="replace")
    return [(m.group(1) or "", int(m.group(2)))
            for m in LEADER_LINE.finditer(text)]


def log_size(agent):
    agent.log.flush()
    return os.path.getsize(agent.logpath)


class Put(threading.Thread):
    """One write in the background: its answer, or the error."""

    def __init__(self, agent, key, val, timeout):
        super().__init__(daemon=True)
        self.args = (agent, key, val, timeout)
        self.result = None

    def run(self):
        try:
            self.result = put(*self.args)
        except OSError as e:
            self.result = e


def test_leader_partitioned(cluster):
    net, agents = cluster
    lead = wait_leader(agents)
    old = by_rpc(agents, lead)
    rest = [a for a in agents if a is not old]
    acked = {}
    for i in range(10):
        key, val = "pre/%d" % i, b"p%d" % i
        assert put(old, key, val) == (200, b"true")
        acked[key] = val
    wait_keys(agents, acked)

    net.isolate(agents.index(old))
    # A write to the old leader at once, while it may still think it
    # leads: it must not be acknowledged, and must get an answer.
    early = Put(old, "minority/early", b"x", timeout=WAIT)
    early.start()

    new = wait_leader(rest, exclude=lead)
    assert by_rpc(rest, new) in rest
    for i in range(20):
        key, val = "part/%d" % i, b"v%d" % i
        assert put(rest[i % 2], key, val) == (200, b"true"), key
        acked[key] = val

    # check-quorum: the old leader gives up; then a write is held for
    # rpc_hold_timeout and refused
    wait_no_leader(old)
    code, body = put(old, "minority/late", b"y", timeout=WAIT)
    assert code == 500 and b"No cluster leader" in body, (code, body)
    # its own copy is still readable, stale
    assert stale_get(old, "pre/0") == (200, b"p0")

    early.join(WAIT + 40)
    assert not early.is_alive(), "the write to the cut-off leader hung"
    assert not isinstance(early.result, OSError), \
        "the write to the cut-off leader got no answer: %s" % early.result
    code, body = early.result
    assert code >= 500, "the cut-off leader answered %d %r" % (code, body)

    net.heal(agents.index(old))
    lead2 = wait_leader(agents)
    # the old leader's log lacks the committed entries of the new term:
    # it cannot win an election
    assert lead2 != lead
    wait_keys(agents, acked)
    # the old leader has caught up, so its unacknowledged entries were
    # cut: they are nowhere
    for a in agents:
        for key in ("minority/early", "minority/late"):
            code, body = stale_get(a, key)
            assert code == 404, (a.node, key, code, body)
    # and it takes writes again, as a follower
    assert put(old, "post/0", b"q") == (200, b"true")
    wait_keys(agents, {"post/0": b"q"})
    assert wait_leader(agents) == lead2


def test_follower_return_keeps_leader(cluster):
    net, agents = cluster
    lead = wait_leader(agents)
    leader = by_rpc(agents, lead)
    f, other = [a for a in agents if a is not leader]
    assert put(leader, "base", b"b") == (200, b"true")
    wait_keys(agents, {"base": b"b"})
    ev = raft_events(leader)
    assert ev and ev[-1][0] == lead, \
        "no \"leader is %s (term N)\" line in the leader's log" % lead
    term = ev[-1][1]
    marks = {a.node: log_size(a) for a in agents}

    net.isolate(agents.index(f))
    # f notices (its election timeout fires), and stays cut off for many
    # more timeouts while the other two keep working
    wait_no_leader(f)
    acked = {}
    for i in range(30):
        key, val = "iso/%d" % i, b"v%d" % i
        assert put([leader, other][i % 2], key, val) == (200, b"true"), key
        acked[key] = val
        assert leader_of(leader) == lead and leader_of(other) == lead
        time.sleep(0.1)
    net.heal(agents.index(f))

    wait_keys([f], acked)
    assert wait_leader(agents) == lead
    # a while longer: no one steps down
    for _ in range(20):
        assert {leader_of(a) for a in agents} == {lead}
        time.sleep(0.1)
    for a in (leader, other):
        assert raft_events(a, marks[a.node]) == [], \
            "%s saw a leadership change" % a.node
    evf = raft_events(f, marks[f.node])
    # pre-vote: f's term never moved, cut off or back
    assert evf and all(t == term for _, t in evf), evf
    assert evf[-1][0] == lead, evf
