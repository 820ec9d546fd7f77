"""Membership by push/pull between real agents: -retry-join, transitive
discovery through gossip, `cairn join` and PUT /v1/agent/join, and
Consul's answers for addresses that cannot be joined.

Each agent is `cairn agent -dev`, its own single-server Raft cluster for
now; gossip membership does not depend on Raft.
"""
import time

from conftest import Agent
from conftest import serf, members




def wait_members(agents, names, timeout=45):
    """Until every agent lists exactly names, all alive (a member learned
    second-hand comes through SWIM's gossip, or anti-entropy at worst)."""
    deadline = time.time() + timeout
    while True:
        views = {a.node: members(a) for a in agents}
        if all(set(v) == set(names) and
               all(m["Status"] == 1 for m in v.values())
               for v in views.values()):
            return views
        if time.time() > deadline:
            raise AssertionError("no convergence: %r" % {
                k: {n: m["Status"] for n, m in v.items()}
                for k, v in views.items()})
        time.sleep(0.5)


def cli_rows(agent):
    r = agent.cli("members")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].split()[:3] == ["Node", "Address", "Status"]
    return {line.split()[0]: line.split() for line in lines[1:]}


def test_retry_join_three_then_cli_join(make_agent):
    a = make_agent()
    b = make_agent(extra=("-retry-join", serf(a)))
    c = make_agent(extra=("-retry-join", serf(a)))
    three = (a, b, c)
    # b and c only know a: they learn of each other through a.
    views = wait_members(three, {x.node for x in three})
    for v in views.values():
        for x in three:
            m = v[x.node]
            assert (m["Addr"], m["Port"]) == (x.addr, x.ports["serf-lan"])
            assert m["Tags"]["role"] == "consul"
            assert m["Tags"]["dc"] == "dc1"
            assert m["Tags"]["port"] == str(x.ports["server"])
            assert len(m["Tags"]["id"]) == 36
    # The same node IDs everywhere, one per node.
    ids = {x.node: views[a.node][x.node]["Tags"]["id"] for x in three}
    assert len(set(ids.values())) == 3
    for v in views.values():
        assert {n: m["Tags"]["id"] for n, m in v.items()} == ids
    for x in three:
        rows = cli_rows(x)
        assert set(rows) == {y.node for y in three}
        for y in three:
            assert rows[y.node][1:4] == [serf(y), "alive", "server"]

    # A fourth agent joins on request, through any member.
    d = make_agent()
    assert set(members(d)) == {d.node}
    r = d.cli("join", serf(b))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == \
        "Successfully joined cluster by contacting 1 nodes.\n"
    # The exchange is done when join answers: d has b's whole list.
    assert set(members(d)) == {x.node for x in three + (d,)}
    assert d.node in members(b)
    wait_members(three + (d,), {x.node for x in three + (d,)})
    assert set(cli_rows(d)) == {x.node for x in three + (d,)}


def test_retry_join_waits_for_the_first(make_agent, request):
    a = Agent()  # its address and ports; started later
    conf = {"join.json": '{"retry_interval": "1s"}'}
    b = make_agent(config=conf, extra=("-retry-join", serf(a)))
    request.node._cairn_agents.append(a)  # stopped with the others
    # Nobody there yet: b retries every second, alone meanwhile.
    time.sleep(1.5)
    assert set(members(b)) == {b.node}
    assert "will retry in 1s" in b.logtext()
    a.start()
    wait_members([a, b], {a.node, b.node}, timeout=20)
    assert "join cluster completed" in b.logtext()


def test_join_errors_and_http(make_agent):
    a = make_agent()
    d = make_agent()
    # PUT /v1/agent/join/<addr>: 200 and no body, as Consul.
    code, body = d.request("PUT", "/v1/agent/join/" + serf(a))
    assert (code, body) == (200, b"")
    assert set(members(a)) == {a.node, d.node}
    code, _ = d.request("GET", "/v1/agent/join/" + serf(a))
    assert code == 405
    code, body = d.request("PUT", "/v1/agent/join/127.0.0.1:1")
    assert code == 500
    assert b"Failed to join 127.0.0.1:1" in body

    r = d.cli("join", "127.0.0.1:1")
    assert r.returncode == 1
    err = r.stderr.decode()
    assert "Error joining address '127.0.0.1:1': Unexpected response " \
        "code: 500 (Failed to join 127.0.0.1:1" in err
    assert err.endswith("Failed to join any nodes.\n")
    assert r.stdout == b""

    r = d.cli("join", "consul.example.com")
    assert r.returncode == 1
    assert b"is not an IP address" in r.stderr

    # One bad, one good: the good one counts, the bad one is reported.
    r = d.cli("join", "127.0.0.1:1", serf(a))
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == \
        "Successfully joined cluster by contacting 1 nodes.\n"
    assert b"Error joining address '127.0.0.1:1'" in r.stderr

    r = d.cli("join")
    assert r.returncode == 1
    assert b"At least one address to join must be specified." in r.stderr
    assert b"Usage: cairn join" in r.stderr
