"""The catalog follows membership (raftd/reconcile.c, Consul's leader
reconciliation): the Raft leader registers every member with a passing
serfHealth check, a new leader finds nothing to change in a cluster at
rest, and a member that leaves is deregistered.

The failed path (serfHealth critical) needs SWIM failure detection and is
covered by tests/unit/test_reconcile.c."""
import json
import re
import time


from test_raft_cluster import by_rpc, cluster, wait_leader
from conftest import wait_for, get_json

CLIENT_CONFIG = {
    "services.json": json.dumps({"services": [{"name": "web", "port": 80}]}),
}

JOINED = re.compile(r"cairn-raftd: info: member (\S+) joined, marking health "
                    r"alive")




def catalog_nodes(agent):
    return {n["Node"]: n["Address"] for n in
            get_json(agent, "/v1/catalog/nodes") or []}


def serf_checks(agent, service):
    """node -> its serfHealth, from the instances of a service."""
    out = {}
    for e in get_json(agent, "/v1/health/service/" + service) or []:
        for c in e["Checks"]:
            if c["CheckID"] == "serfHealth":
                out[e["Node"]["Node"]] = c
    return out


def all_passing(agent, servers, client):
    seen = serf_checks(agent, "consul")
    seen.update(serf_checks(agent, "web"))
    want = [a.node for a in servers] + [client.node]
    return all(seen.get(n, {}).get("Status") == "passing" for n in want) \
        and seen


def joined(agent):
    return JOINED.findall(agent.logtext())


def start_client(make_agent, server):
    join = "%s:%d" % (server.addr, server.ports["serf-lan"])
    client = make_agent(wait=False, dev=False, config=CLIENT_CONFIG,
                        extra=("-retry-join", join, "-retry-interval", "1s"))
    client.wait_up()
    return client


def test_members_in_catalog(make_agent):
    servers = cluster(make_agent, 3)
    leader_addr = wait_leader(servers)
    leader = by_rpc(servers, leader_addr)
    client = start_client(make_agent, servers[0])
    everyone = {a.node: a.addr for a in servers + [client]}

    # every member is a catalog node, at its address, serfHealth passing
    wait_for(lambda: catalog_nodes(client) == everyone, "every node listed")
    seen = wait_for(lambda: all_passing(client, servers, client),
                    "serfHealth passing everywhere")
    c = seen[client.node]
    assert (c["Name"], c["Output"], c["ServiceID"], c["Node"]) == \
        ("Serf Health Status", "Agent alive and reachable", "",
         client.node)
    # so ?passing has every server, and DNS-style filtering keeps them
    passing = get_json(client, "/v1/health/service/consul?passing")
    assert sorted(e["Node"]["Node"] for e in passing) == \
        sorted(a.node for a in servers)

    # restart the leader's agent: the new leader finds the catalog right
    before = {a.node: len(joined(a)) for a in servers}
    leader.stop()
    survivors = [a for a in servers if a is not leader]
    new = by_rpc(survivors, wait_leader(survivors, exclude=leader_addr))
    leader.start(wait=False)
    leader.wait_up()
    wait_leader(servers)
    wait_for(lambda: catalog_nodes(client) == everyone,
             "every node listed after the restart")
    wait_for(lambda: all_passing(client, servers, client),
             "serfHealth passing after the restart")
    for a in servers:
        wait_for(lambda: all_passing(a, servers, client),
                 "%s sees serfHealth passing" % a.node)
    # at rest, the new leader wrote at most the restarted node
    wrote = joined(new)[before[new.node]:]
    assert set(wrote) <= {leader.node}, wrote


def test_left_member_deregistered(make_agent):
    server = make_agent()
    client = start_client(make_agent, server)
    wait_for(lambda: client.node in catalog_nodes(server),
             "the client in the catalog")
    wait_for(lambda: serf_checks(server, "web").get(client.node, {})
             .get("Status") == "passing", "the client's serfHealth")
    code, body = client.request("PUT", "/v1/agent/leave")
    assert code == 200, body

    def status():
        for m in get_json(server, "/v1/agent/members") or []:
            if m["Name"] == client.node:
                return m["Status"]
        return None
    deadline = time.time() + 20
    while status() != 3:
        assert time.time() < deadline, "the leave never spread"
        time.sleep(0.2)
    wait_for(lambda: client.node not in catalog_nodes(server),
             "the client deregistered", timeout=10)
    assert serf_checks(server, "web") == {}
    # the server keeps its own node
    assert server.node in catalog_nodes(server)
