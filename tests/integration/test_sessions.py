"""Sessions and locks, Consul's way, driven with python3-consul: create,
info, node, list, renew, destroy; ?acquire and ?release with LockIndex
and Session in the entry; lock-delay; behavior delete; TTL expiry by the
leader, also across a leader change; invalidation when a check the
session depends on turns critical; blocking reads of the session list;
and the bad requests."""
import json
import os
import signal
import threading
import time

import consul
import pytest

from conftest import wait_for
from test_raft_cluster import by_rpc, cluster, wait_leader

AGENT_CONFIG = {
    "services.json": json.dumps({
        "services": [{"name": "db", "port": 5432, "check": {"ttl": "300s"}}],
    }),
}


def client(agent):
    """python3-consul on agent, once the leader has put the agent's node in
    the catalog with serfHealth (before, Consul too refuses sessions)."""
    c = consul.Consul(host=agent.addr, port=agent.http)
    wait_for(lambda: any(x["CheckID"] == "serfHealth" for e in
                         c.health.service("consul")[1] for x in e["Checks"]
                         if e["Node"]["Node"] == agent.node),
             "serfHealth of %s in the catalog" % agent.node)
    return c


def test_session_lifecycle(agent):
    c = client(agent)
    sid = c.session.create(name="web-lock", lock_delay=5, ttl=30)
    index, s = c.session.info(sid)
    assert s["ID"] == sid and s["Name"] == "web-lock"
    assert s["Node"] == agent.node and s["Behavior"] == "release"
    assert s["TTL"] == "30s" and s["LockDelay"] == 5 * 10**9
    assert s["NodeChecks"] == ["serfHealth"] and s["Checks"] == ["serfHealth"]
    assert s["CreateIndex"] == s["ModifyIndex"] > 0
    assert sid in [x["ID"] for x in c.session.list()[1]]
    assert sid in [x["ID"] for x in c.session.node(agent.node)[1]]
    assert c.session.node("no-such-node")[1] == []
    renewed = c.session.renew(sid)
    assert renewed["ID"] == sid
    assert c.session.destroy(sid) is True
    assert c.session.info(sid)[1] is None
    assert c.session.destroy(sid) is True       # gone already: still true
    code, body = agent.request("PUT", "/v1/session/renew/" + sid)
    assert (code, body) == (404, b"Session id '%s' not found" % sid.encode())


def test_acquire_release_lock_index(agent):
    c = client(agent)
    a = c.session.create(lock_delay=0)
    b = c.session.create(lock_delay=0)
    assert c.kv.put("locks/x", "held-by-a", acquire=a) is True
    _, e = c.kv.get("locks/x")
    assert (e["Session"], e["LockIndex"], e["Value"]) == (a, 1, b"held-by-a")
    assert c.kv.put("locks/x", "b wants it", acquire=b) is False
    # the holder may acquire again: the value changes, LockIndex does not
    assert c.kv.put("locks/x", "again", acquire=a) is True
    _, e = c.kv.get("locks/x")
    assert (e["LockIndex"], e["Value"]) == (1, b"again")
    # a plain write keeps the lock; release by another session fails
    assert c.kv.put("locks/x", "plain") is True
    assert c.kv.get("locks/x")[1]["Session"] == a
    assert c.kv.put("locks/x", "x", release=b) is False
    assert c.kv.put("locks/x", "released", release=a) is True
    _, e = c.kv.get("locks/x")
    assert "Session" not in e and e["LockIndex"] == 1
    assert e["Value"] == b"released"
    assert c.kv.put("locks/x", "now b", acquire=b) is True
    assert c.kv.get("locks/x")[1]["LockIndex"] == 2
    # destroying the holder releases the key
    c.session.destroy(b)
    _, e = c.kv.get("locks/x")
    assert "Session" not in e and e["Value"] == b"now b"
    c.session.destroy(a)


def test_lock_delay(agent):
    c = client(agent)
    a = c.session.create(lock_delay=2)
    b = c.session.create(lock_delay=0)
    assert c.kv.put("locks/delay", "a", acquire=a) is True
    c.session.destroy(a)
    t0 = time.time()
    assert c.kv.put("locks/delay", "b", acquire=b) is False
    wait_for(lambda: c.kv.put("locks/delay", "b", acquire=b),
             "the lock-delay to run out", timeout=10)
    assert time.time() - t0 >= 1.5
    c.session.destroy(b)


def test_behavior_delete(agent):
    c = client(agent)
    s = c.session.create(behavior="delete")
    assert c.kv.put("ephemeral/me", "here", acquire=s) is True
    assert c.kv.put("ephemeral/other", "stays") is True
    c.session.destroy(s)
    assert c.kv.get("ephemeral/me")[1] is None
    assert c.kv.get("ephemeral/other")[1]["Value"] == b"stays"


def test_ttl_expiry_and_renewal(agent):
    c = client(agent)
    dead = c.session.create(ttl=10, lock_delay=0)
    live = c.session.create(ttl=10, lock_delay=0)
    assert c.kv.put("ttl/dead", "x", acquire=dead) is True
    t0 = time.time()
    # Consul destroys a session not renewed within twice its TTL
    while c.session.info(dead)[1] is not None:
        c.session.renew(live)
        assert time.time() - t0 < 40, "a 10s TTL session outlived 40s"
        time.sleep(1)
    assert time.time() - t0 >= 9, "destroyed before its TTL"
    assert c.session.info(live)[1] is not None
    assert "Session" not in c.kv.get("ttl/dead")[1]
    c.session.destroy(live)


def test_check_critical_invalidates(agent):
    c = client(agent)
    # The TTL check starts critical: Consul refuses such a session.
    with pytest.raises(consul.base.ConsulException) as e:
        c.session.create(checks=["serfHealth", "service:db"])
    assert "Check 'service:db' is in critical state" in str(e.value)
    c.agent.check.ttl_pass("service:db")
    sid = wait_for(lambda: _try_create(c, ["serfHealth", "service:db"]),
                   "the check to pass in the catalog")
    assert c.kv.put("locks/db", "primary", acquire=sid) is True
    c.agent.check.ttl_fail("service:db", "disk full")
    wait_for(lambda: c.session.info(sid)[1] is None,
             "the session to be invalidated")
    assert "Session" not in c.kv.get("locks/db")[1]


def _try_create(c, checks):
    try:
        return c.session.create(checks=checks)
    except consul.base.ConsulException:
        return None


def test_blocking_session_list(agent):
    c = client(agent)
    index, _ = c.session.list()
    out = {}

    def watch():
        out["r"] = c.session.list(index=index)
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    t.join(1)
    assert t.is_alive(), "answered without a change"
    sid = c.session.create()
    t.join(30)
    newindex, sessions = out["r"]
    assert int(newindex) > int(index)
    assert sid in [s["ID"] for s in sessions]
    c.session.destroy(sid)


@pytest.mark.parametrize("path,body,code,text", [
    ("/v1/session/create", b"{", 400, b"Request decode failed"),
    ("/v1/session/create", b"[1]", 400, b"cannot unmarshal array"),
    ("/v1/session/create", b'{"TTL":"5s"}', 400,
     b"Invalid Session TTL '5s', must be between [10s=24h0m0s]"),
    ("/v1/session/create", b'{"TTL":"soon"}', 400, b"Invalid Session TTL"),
    ("/v1/session/create", b'{"Behavior":"keep"}', 400,
     b"Invalid Behavior setting 'keep'"),
    ("/v1/session/create", b'{"LockDelay":true}', 400, b"LockDelay"),
    ("/v1/session/create", b'{"Checks":"serfHealth"}', 400, b"Checks"),
    ("/v1/session/create", b'{"Node":"ghost"}', 500,
     b"Failed to create session: Missing node registration"),
    ("/v1/session/create", b'{"Checks":["nope"]}', 500,
     b"Missing check 'nope' registration"),
    ("/v1/session/destroy/", b"", 400, b"Missing session"),
    ("/v1/kv/k?acquire=nosuch", b"v", 500, b'invalid session "nosuch"'),
    ("/v1/kv/k?acquire=a&release=a", b"v", 400, b"Conflicting flags"),
])
def test_bad_requests(agent, path, body, code, text):
    got, reply = agent.request("PUT", path, body)
    assert got == code and text in reply, (got, reply)


def test_methods(agent):
    assert agent.request("GET", "/v1/session/create")[0] == 405
    assert agent.request("PUT", "/v1/session/list")[0] == 405


def test_ttl_survives_a_leader_change(make_agent):
    """The new leader takes over the timers: a session renewed through the
    change lives on, one that is not is destroyed by the new leader."""
    agents = cluster(make_agent, 3)
    old = wait_leader(agents)
    leader = by_rpc(agents, old)
    rest = [a for a in agents if a is not leader]
    c = client(rest[0])
    live = c.session.create(ttl=10)
    dead = c.session.create(ttl=10, behavior="delete", lock_delay=0)
    assert c.kv.put("svc/leader", rest[0].node, acquire=dead) is True
    leader.crash()
    wait_leader(rest, exclude=old)
    t0 = time.time()
    while c.session.info(dead)[1] is not None:
        try:
            c.session.renew(live)
        except consul.base.ConsulException:
            pass                # no leader for a moment
        assert time.time() - t0 < 60, "the new leader never expired it"
        time.sleep(1)
    assert c.session.info(live)[1] is not None
    assert c.kv.get("svc/leader")[1] is None        # behavior delete


def test_failed_node_invalidates_its_sessions(make_agent):
    """serfHealth critical (the node failed) ends the node's sessions and
    releases their locks, as Consul's serfHealth default check does."""
    from test_serf_health import start_client
    server = make_agent()
    member = start_client(make_agent, server)
    c = client(server)
    wait_for(lambda: any(x["CheckID"] == "serfHealth" for e in
                         c.health.service("web")[1] for x in e["Checks"]
                         if e["Node"]["Node"] == member.node),
             "the client's serfHealth")
    sid = consul.Consul(host=member.addr, port=member.http).session.create()
    assert c.kv.put("locks/member", "mine", acquire=sid) is True
    member.crash()
    wait_for(lambda: c.session.info(sid)[1] is None,
             "the failed node's session to end")
    assert "Session" not in c.kv.get("locks/member")[1]
