"""Raft among real servers on loopback: 3 and 5 servers find each other
through gossip, bootstrap with bootstrap_expect, elect one leader, forward
writes from followers, and survive kill -9 of the leader under write load
without losing an acknowledged write."""
import json
import os
import signal
import threading
import time
import urllib.error

import pytest


def cluster(make_agent, n):
    first = make_agent(wait=False, dev=False,
                       extra=("-server", "-bootstrap-expect", str(n)))
    join = "%s:%d" % (first.addr, first.ports["serf-lan"])
    rest = [make_agent(wait=False, dev=False,
                       extra=("-server", "-bootstrap-expect", str(n),
                              "-retry-join", join, "-retry-interval", "1s"))
            for _ in range(n - 1)]
    agents = [first] + rest
    for a in agents:
        a.wait_up()
    return agents


def leaders(agents):
    out = {}
    for a in agents:
        try:
            code, body = a.request("GET", "/v1/status/leader", timeout=2)
            if code == 200:
                out[a.node] = json.loads(body)
        except OSError:
            pass
    return out


def wait_leader(agents, timeout=30, exclude=None):
    """The leader address all the given agents agree on."""
    deadline = time.time() + timeout
    seen = None
    while time.time() < deadline:
        seen = leaders(agents)
        vals = set(seen.values())
        if len(seen) == len(agents) and len(vals) == 1 and "" not in vals \
                and exclude not in vals:
            return vals.pop()
        time.sleep(0.1)
    raise AssertionError("no agreed leader: %s" % seen)


def by_rpc(agents, addr):
    for a in agents:
        if "%s:%d" % (a.addr, a.ports["server"]) == addr:
            return a
    raise AssertionError("no agent has RPC address %s" % addr)


def put(agent, key, val, timeout=15):
    return agent.request("PUT", "/v1/kv/" + key, val, timeout=timeout)


def wait_value(agent, key, val, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        code, body = agent.request("GET", "/v1/kv/%s?raw" % key)
        if code == 200 and body == val:
            return
        time.sleep(0.05)
    raise AssertionError("%s never had %s=%r" % (agent.node, key, val))


@pytest.mark.parametrize("n", [3, 5])
def test_elect_and_replicate(make_agent, n):
    agents = cluster(make_agent, n)
    leader = wait_leader(agents)
    code, body = agents[0].request("GET", "/v1/status/peers")
    peers = json.loads(body)
    assert len(peers) == n and leader in peers
    # a write on every server, follower or leader, reaches every server
    for i, a in enumerate(agents):
        assert put(a, "rep/%d" % i, b"v%d" % i) == (200, b"true")
    for a in agents:
        for i in range(n):
            wait_value(a, "rep/%d" % i, b"v%d" % i)
    # CAS through a follower keeps Consul's semantics
    follower = [a for a in agents if "%s:%d" % (a.addr, a.ports["server"])
                != leader][0]
    assert put(follower, "rep/cas?cas=0", b"x") == (200, b"true")
    assert put(follower, "rep/cas?cas=0", b"y") == (200, b"false")


class Writer(threading.Thread):
    def __init__(self, agents, prefix):
        super().__init__(daemon=True)
        self.agents, self.prefix = agents, prefix
        self.acked = {}
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set() and i < 100000:
            a = self.agents[i % len(self.agents)]
            key = "%s/%06d" % (self.prefix, i)
            val = b"v%d" % i
            try:
                code, body = put(a, key, val, timeout=15)
                if (code, body) == (200, b"true"):
                    self.acked[key] = val
            except (OSError, urllib.error.URLError):
                time.sleep(0.02)
            i += 1


def test_kill_leader_under_load(make_agent):
    agents = cluster(make_agent, 3)
    leader = wait_leader(agents)
    old = by_rpc(agents, leader)
    survivors = [a for a in agents if a is not old]
    w = Writer(survivors, "failover")
    w.start()
    time.sleep(1.5)
    before = len(w.acked)
    assert before > 0
    # kill -9 the leader's whole agent: every daemon of that server
    old.crash()
    new = wait_leader(survivors, exclude=leader)
    assert new != leader
    count = len(w.acked)
    deadline = time.time() + 30
    while len(w.acked) < count + 50 and time.time() < deadline:
        time.sleep(0.05)
    w.stop.set()
    w.join(30)
    assert len(w.acked) >= count + 50, "writes did not resume"
    # every acknowledged write is on both survivors
    for a in survivors:
        for key, val in w.acked.items():
            wait_value(a, key, val, timeout=10)


def headers_of(agent, path):
    import urllib.request
    req = urllib.request.Request(agent.url + path)
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def test_consistency_modes_and_no_leader(make_agent):
    agents = cluster(make_agent, 3)
    leader = wait_leader(agents)
    assert put(agents[0], "cm/k", b"v") == (200, b"true")
    for a in agents:
        wait_value(a, "cm/k", b"v")
        for mode in ("", "?stale", "?consistent"):
            code, hdrs, body = headers_of(a, "/v1/kv/cm/k" + mode)
            assert code == 200, (mode, body)
            assert hdrs["X-Consul-KnownLeader"] == "true"
            assert int(hdrs["X-Consul-LastContact"]) >= 0
            assert json.loads(body)[0]["Key"] == "cm/k"
    code, _, body = headers_of(agents[0], "/v1/kv/cm/k?stale&consistent")
    assert code == 400 and b"conflicting" in body
    # lose the majority: the one left has no leader
    last = [a for a in agents
            if "%s:%d" % (a.addr, a.ports["server"]) != leader][0]
    for a in agents:
        if a is not last:
            a.crash()
    deadline = time.time() + 20
    while json.loads(last.request("GET", "/v1/status/leader")[1]) != "":
        assert time.time() < deadline, "the lone server kept a leader"
        time.sleep(0.2)
    # held for rpc_hold_timeout, then refused (a hang would time out here)
    code, body = put(last, "cm/k2", b"x", timeout=30)
    assert code == 500 and b"No cluster leader" in body
    code, _, body = headers_of(last, "/v1/kv/cm/k")
    assert code == 500 and b"No cluster leader" in body
    # stale reads keep working, and say there is no leader
    code, hdrs, body = headers_of(last, "/v1/kv/cm/k?stale")
    assert code == 200 and hdrs["X-Consul-KnownLeader"] == "false"
    assert json.loads(body)[0]["Key"] == "cm/k"


SNAP_CONFIG = {"snap.json": json.dumps({"raft_snapshot_threshold": 40,
                                        "raft_trailing_logs": 5})}


def test_snapshot_install_on_lagging_follower(make_agent):
    first = make_agent(wait=False, dev=False, config=SNAP_CONFIG,
                       extra=("-server", "-bootstrap-expect", "3"))
    join = "%s:%d" % (first.addr, first.ports["serf-lan"])
    agents = [first] + [make_agent(wait=False, dev=False, config=SNAP_CONFIG,
                                   extra=("-server", "-bootstrap-expect",
                                          "3", "-retry-join", join,
                                          "-retry-interval", "1s"))
                        for _ in range(2)]
    for a in agents:
        a.wait_up()
    leader = wait_leader(agents)
    lagger = [a for a in agents
              if "%s:%d" % (a.addr, a.ports["server"]) != leader][0]
    others = [a for a in agents if a is not lagger]
    # the follower goes away; the others write well past the threshold
    lagger.crash()
    for i in range(200):
        assert put(others[i % 2], "snap/%03d" % i, b"v%d" % i) == \
            (200, b"true")
    # it comes back on the same data dir and catches up from a snapshot
    lagger.start(wait=False)
    lagger.wait_up()
    for i in range(0, 200, 7):
        wait_value(lagger, "snap/%03d" % i, b"v%d" % i, timeout=30)
    wait_value(lagger, "snap/199", b"v199", timeout=30)
    logs = "".join(a.logtext() for a in agents)
    assert "log compacted to start at" in logs  # the leader took one
    deadline = time.time() + 20                 # the line follows the data
    while "installed the leader's snapshot" not in lagger.logtext():
        assert time.time() < deadline, "the follower installed no snapshot"
        time.sleep(0.1)
    # and the cluster goes on: a write after, everywhere
    assert put(lagger, "snap/after", b"x") == (200, b"true")
    for a in agents:
        wait_value(a, "snap/after", b"x")
    # GET /v1/snapshot hands out a verified cairn snapshot
    code, body = others[0].request("GET", "/v1/snapshot")
    assert code == 200 and body.startswith(b"CAIRNSNAP")
    r = others[0].cli("snapshot", "save", os.path.join(others[0].dir, "s.snap"))
    assert r.returncode == 0 and b"Saved and verified snapshot" in r.stdout
    # restoring it puts every server back to that state, in log order
    saved = os.path.join(others[0].dir, "s.snap")
    assert put(others[1], "snap/later", b"gone soon") == (200, b"true")
    r = others[1].cli("snapshot", "restore", saved)
    assert r.returncode == 0, r.stderr
    assert b"Restored snapshot" in r.stdout
    for a in agents:
        deadline = time.time() + 20
        while a.request("GET", "/v1/kv/snap/later?stale")[0] != 404:
            assert time.time() < deadline, "%s kept snap/later" % a.node
            time.sleep(0.1)
        wait_value(a, "snap/after", b"x")
    # a file that is not a snapshot is refused, and nothing changes
    code, body = others[0].request("PUT", "/v1/snapshot", b"not a snapshot")
    assert code == 400 and b"not a cairn snapshot" in body
    wait_value(others[0], "snap/after", b"x")


def test_frozen_leader_forwards_settle(make_agent):
    """A follower that forwarded to a leader which then froze does not
    wait out the forward's timeout once another leader is elected: a read
    is sent again to the new leader, a write is answered as Consul answers
    a lost leadership. Neither answer can be a timeout."""
    agents = cluster(make_agent, 3)
    leader = wait_leader(agents)
    assert put(agents[0], "fz/k", b"before") == (200, b"true")
    old = by_rpc(agents, leader)
    follower = [a for a in agents if a is not old][0]
    wait_value(follower, "fz/k", b"before")
    raftd = old.daemon_pid("raftd")
    results = {}

    def read():
        results["read"] = headers_of(follower, "/v1/kv/fz/k?consistent")

    def write():
        results["write"] = put(follower, "fz/w", b"during", timeout=30)

    os.kill(raftd, signal.SIGSTOP)
    try:
        threads = [threading.Thread(target=read),
                   threading.Thread(target=write)]
        for t in threads:
            t.start()
        wait_leader([a for a in agents if a is not old], exclude=leader)
        for t in threads:
            t.join(30)
        assert "read" in results and "write" in results
    finally:
        os.kill(raftd, signal.SIGCONT)
    code, _, body = results["read"]
    assert code == 200, body
    assert json.loads(body)[0]["Key"] == "fz/k"
    code, body = results["write"]
    assert (code, body) == (200, b"true") or \
        (code == 500 and b"leadership lost" in body), (code, body)
    # the old leader rejoins as a follower and everyone converges
    wait_leader(agents)
    assert put(follower, "fz/after", b"x") == (200, b"true")
    for a in agents:
        wait_value(a, "fz/after", b"x")


def test_late_server_with_expect_joins_not_bootstraps(make_agent):
    """A server started with the same bootstrap_expect after the cluster
    exists asks the others before bootstrapping, finds their logs, and is
    added by the leader instead of writing a first entry of its own."""
    agents = cluster(make_agent, 3)
    wait_leader(agents)
    assert put(agents[0], "late/k", b"v") == (200, b"true")
    join = "%s:%d" % (agents[0].addr, agents[0].ports["serf-lan"])
    late = make_agent(wait=False, dev=False,
                      extra=("-server", "-bootstrap-expect", "3",
                             "-retry-join", join, "-retry-interval", "1s"))
    late.wait_up()
    wait_value(late, "late/k", b"v")
    deadline = time.time() + 30
    while True:
        code, body = late.request("GET", "/v1/operator/raft/configuration")
        if code == 200 and len(json.loads(body)["Servers"]) == 4:
            break
        assert time.time() < deadline, body
        time.sleep(0.2)
    # (it may be added before it has asked: either way it never writes)
    assert "bootstrapping a new cluster" not in late.logtext()
