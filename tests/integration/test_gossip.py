"""SWIM membership among ten client agents on loopback: join convergence,
a paused agent that is not declared failed, a crashed one that everyone
declares failed and that is alive again after a restart, a graceful leave
that everyone sees as left, and the encrypt key keeping out an agent
without it.

Every wait is bounded and polls; nothing asserts on elapsed time.
"""
import json
import os
import signal
import time

import pytest
from conftest import serf

N = 10



def statuses(agent):
    try:
        code, body = agent.request("GET", "/v1/agent/members", timeout=3)
    except OSError:
        return {}
    if code != 200:
        return {}
    return {m["Name"]: m["Status"] for m in json.loads(body)}


def wait_all(agents, name, status, timeout=60):
    """Until every agent lists name with status (1 alive, 3 left, 4
    failed)."""
    deadline = time.time() + timeout
    views = {}
    while time.time() < deadline:
        views = {a.node: statuses(a).get(name) for a in agents}
        if all(v == status for v in views.values()):
            return
        time.sleep(0.2)
    raise AssertionError("%s is not %d everywhere: %r" %
                         (name, status, views))


def ten(make_agent, config=None):
    first = make_agent(wait=False, dev=False, config=config)
    rest = [make_agent(wait=False, dev=False, config=config,
                       extra=("-retry-join", serf(first),
                              "-retry-interval", "1s"))
            for _ in range(N - 1)]
    agents = [first] + rest
    for a in agents:
        a.wait_up()
    for a in agents:
        wait_all(agents, a.node, 1)
    return agents


def test_ten_agents_pause_crash_restart_leave(make_agent):
    agents = ten(make_agent)

    # SIGSTOP for less than the shortest suspicion timeout (1.2 s with
    # ten members): suspected perhaps, refuted on waking, never failed.
    paused = agents[3]
    pid = paused.daemon_pid("gossipd")
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(0.8)
    finally:
        os.kill(pid, signal.SIGCONT)
    deadline = time.time() + 8
    while time.time() < deadline:
        for a in agents:
            assert statuses(a).get(paused.node) in (1, None), \
                "%s declared the paused %s failed" % (a.node, paused.node)
        time.sleep(0.2)

    # kill -9: every other agent declares it failed
    victim = agents[5]
    others = [a for a in agents if a is not victim]
    victim.crash()
    wait_all(others, victim.node, 4)

    # restarted on its data dir: it rejoins (retry_join, saved members),
    # refutes, and is alive everywhere again
    victim.start(wait=False)
    victim.wait_up()
    wait_all(agents, victim.node, 1)

    # a graceful leave is "left", not "failed"
    leaver = agents[7]
    r = leaver.cli("leave")
    assert r.returncode == 0, r.stderr
    assert b"Graceful leave complete" in r.stdout
    assert leaver.proc.wait(30) == 0
    rest = [a for a in agents if a is not leaver]
    wait_all(rest, leaver.node, 3)
    # and it stays left: no probe or gossip turns it into "failed"
    time.sleep(3)
    for a in rest:
        assert statuses(a)[leaver.node] == 3


def test_event_reaches_every_agent_once(make_agent):
    agents = ten(make_agent)
    code, body = agents[2].request("PUT", "/v1/event/fire/deploy", b"v42")
    assert code == 200, body
    ev = json.loads(body)
    deadline = time.time() + 30
    while True:
        seen = {}
        for a in agents:
            code, body = a.request("GET", "/v1/event/list?name=deploy")
            seen[a.node] = [e["ID"] for e in json.loads(body)] \
                if code == 200 else None
        if all(v == [ev["ID"]] for v in seen.values()):
            break
        assert all(v is None or len(v) <= 1 for v in seen.values()), seen
        assert time.time() < deadline, seen
        time.sleep(0.2)


KEY = "pUqJrVyVRj5jsiYEkM/tFQYfWyJIv4s3XkvDwy7Cu5s="
OTHER = "aGVsbG8gd29ybGQgdGhpcyBpcyAzMiBieXRlcyEhISE="


def test_encrypt_key_keeps_strangers_out(make_agent):
    conf = {"enc.json": json.dumps({"encrypt": KEY})}
    a = make_agent(wait=False, dev=False, config=conf)
    b = make_agent(wait=False, dev=False, config=conf,
                   extra=("-retry-join", serf(a), "-retry-interval", "1s"))
    a.wait_up()
    b.wait_up()
    wait_all([a, b], b.node, 1)
    # no key, and another key: neither can join
    for stranger_conf in ({}, {"enc.json": json.dumps({"encrypt": OTHER})}):
        s = make_agent(wait=False, dev=False, config=stranger_conf)
        s.wait_up()
        r = s.cli("join", serf(a))
        assert r.returncode == 1, r.stdout
        time.sleep(1)
        assert s.node not in statuses(a)
        assert set(statuses(s)) == {s.node}
    # a bad key is refused at start, with the reason
    bad = make_agent(wait=False, dev=False,
                     config={"enc.json": json.dumps({"encrypt": "short"})})
    deadline = time.time() + 20
    while "encrypt" not in bad.logtext() and time.time() < deadline:
        time.sleep(0.2)
    assert "encrypt: " in bad.logtext()


@pytest.mark.parametrize("value,msg", [
    ({"gossip_lan": {"probe_interval": "fast"}}, "gossip_lan.probe_interval"),
    ({"gossip_lan": {"probe_timeout": "2s"}}, "must be shorter"),
    ({"gossip_lan": {"suspicion_mult": 0}}, "gossip_lan.suspicion_mult"),
])
def test_gossip_lan_config_errors(make_agent, value, msg):
    a = make_agent(wait=False, dev=False,
                   config={"g.json": json.dumps(value)})
    deadline = time.time() + 20
    while msg not in a.logtext() and time.time() < deadline:
        time.sleep(0.2)
    assert msg in a.logtext()
