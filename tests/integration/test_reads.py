"""Reads served by a server's own kvd (httpd -> kvd, no raftd hop): stale
reads anywhere, default reads only on the leader while its lease holds.
A follower's default read still goes to the leader, so it sees every
write acknowledged before it; and the X-Consul-KnownLeader and
X-Consul-LastContact headers still say what raftd knows."""
import os
import signal
import urllib.request

from test_raft_cluster import by_rpc, cluster, put, wait_leader


def read(agent, path):
    with urllib.request.urlopen(agent.url + path, timeout=15) as r:
        return (r.read(), r.headers["X-Consul-KnownLeader"],
                int(r.headers["X-Consul-LastContact"]))


def test_default_reads_follow_the_leader(make_agent):
    agents = cluster(make_agent, 3)
    leader = by_rpc(agents, wait_leader(agents))
    followers = [a for a in agents if a is not leader]
    for i in range(150):
        v = str(i).encode()
        assert put(leader, "rd/k", v) == (200, b"true")
        # a default read anywhere sees the acknowledged write at once
        for a in followers + [leader]:
            body, known, _ = read(a, "/v1/kv/rd/k?raw")
            assert body == v and known == "true", (i, a.node, body)
    # the leader answers from its lease: it is the last contact itself
    assert read(leader, "/v1/kv/rd/k?raw")[2] == 0
    assert read(leader, "/v1/kv/rd/k?raw&stale")[2] == 0
    # a follower's stale read is its own kvd's, and says how old
    body, known, contact = read(followers[0], "/v1/kv/rd/k?raw&stale")
    assert body == b"149" and known == "true" and 0 <= contact < 10000


def test_a_lagging_follower_still_reads_the_leader(make_agent):
    """The follower's Raft is paused through a write: its kvd has not seen
    the write when the read arrives right after, so only a read that goes
    to the leader can return it."""
    agents = cluster(make_agent, 3)
    leader = by_rpc(agents, wait_leader(agents))
    follower = [a for a in agents if a is not leader][0]
    raftd = follower.daemon_pid("raftd")
    for i in range(5):
        v = b"lag-%d" % i
        os.kill(raftd, signal.SIGSTOP)
        try:
            assert put(leader, "rd/lag", v) == (200, b"true")
        finally:
            os.kill(raftd, signal.SIGCONT)
        assert read(follower, "/v1/kv/rd/lag?raw")[0] == v
