"""A client agent (no raftd, no kvd) beside three servers: its HTTP API,
checks and DNS work through a server's RPC port, found by gossip; it keeps
working when the server it uses is killed; and alone, with no server
known, it says so as Consul does."""
import json
import re

from test_raft_cluster import cluster, wait_leader
from conftest import wait_for, get_json

CLIENT_CONFIG = {
    "services.json": json.dumps({
        "enable_local_script_checks": True,
        "services": [
            {"name": "web", "port": 80, "tags": ["v1"],
             "check": {"args": ["/bin/sh", "-c", "exit 0"],
                       "interval": "1s"}},
            {"name": "cache", "port": 6379, "check": {"ttl": "30s"}},
        ],
    }),
}




def start_client(make_agent, servers):
    join = "%s:%d" % (servers[0].addr, servers[0].ports["serf-lan"])
    client = make_agent(wait=False, dev=False, config=CLIENT_CONFIG,
                        extra=("-retry-join", join, "-retry-interval", "1s"))
    client.wait_up()
    return client


def server_in_use(client, daemon="httpd"):
    """The node name of the server a daemon of the client last chose."""
    used = re.findall(r"cairn-%s: info: using server (\S+) " % daemon,
                      client.logtext())
    return used[-1] if used else None


def kv_round_trip(client, key, val):
    """Put, read back in every consistency mode, delete; via the client.
    The leader answers default and consistent reads at once; a stale one
    is the chosen server's view, which may lag a moment."""
    assert client.request("PUT", "/v1/kv/" + key, val) == (200, b"true")
    for mode in ("", "&consistent"):
        code, body = client.request("GET", "/v1/kv/%s?raw%s" % (key, mode))
        assert (code, body) == (200, val), (mode, code, body)
    wait_for(lambda: client.request("GET", "/v1/kv/%s?raw&stale" % key) ==
             (200, val), "a stale read of %s" % key)
    code, body = client.request("GET", "/v1/kv/" + key)
    assert code == 200 and json.loads(body)[0]["Key"] == key
    assert client.request("DELETE", "/v1/kv/" + key) == (200, b"true")
    assert client.request("GET", "/v1/kv/" + key)[0] == 404
    assert client.request("GET", "/v1/kv/%s?consistent" % key)[0] == 404


def test_client_agent(make_agent):
    servers = cluster(make_agent, 3)
    leader = wait_leader(servers)
    client = start_client(make_agent, servers)

    # the client asks a server for the leader and its peers
    wait_for(lambda: get_json(client, "/v1/status/leader") == leader,
             "the client to know the leader")
    rpcs = sorted("%s:%d" % (s.addr, s.ports["server"]) for s in servers)
    wait_for(lambda: sorted(get_json(client, "/v1/status/peers")) == rpcs,
             "the client to see every server as a peer")

    # KV through the client: default, ?stale, ?consistent; a write made
    # on the client is read on a server, and the other way round
    kv_round_trip(client, "client/k1", b"hello")
    assert client.request("PUT", "/v1/kv/client/k2", b"v2") == \
        (200, b"true")
    for s in servers:
        wait_for(lambda: s.request("GET", "/v1/kv/client/k2?raw") ==
                 (200, b"v2"), "k2 on %s" % s.node)
    assert servers[1].request("PUT", "/v1/kv/client/k3", b"v3") == \
        (200, b"true")
    assert client.request("GET", "/v1/kv/client/k3?raw") == (200, b"v3")
    assert client.request("PUT", "/v1/kv/client/k2?cas=0", b"x") == \
        (200, b"false")

    # checkd registers the client's node and services through a server
    want = {client.node} | {s.node for s in servers}
    wait_for(lambda: {n["Node"] for n in
                      get_json(client, "/v1/catalog/nodes")} == want,
             "the client and server nodes in the catalog")
    nodes = {n["Node"]: n for n in get_json(client, "/v1/catalog/nodes")}
    assert nodes[client.node]["Address"] == client.addr

    def web_passing():
        h = get_json(client, "/v1/health/service/web?passing") or []
        return [e for e in h if e["Node"]["Node"] == client.node]
    entry = wait_for(web_passing, "web passing")[0]
    assert entry["Service"]["Port"] == 80
    assert entry["Service"]["Tags"] == ["v1"]
    # a TTL update on the client's API reaches the catalog
    assert get_json(client, "/v1/health/service/cache?passing") == []
    code, _ = client.request("PUT", "/v1/agent/check/pass/service:cache")
    assert code == 200
    wait_for(lambda: get_json(client, "/v1/health/service/cache?passing"),
             "cache passing")
    # the servers see the same
    h = get_json(servers[0], "/v1/health/service/web?passing")
    assert [e["Node"]["Node"] for e in h] == [client.node]

    # the client's DNS answers from a server's catalog
    wait_for(lambda: client.addr in client.dig("+short",
                                               "web.service.consul"),
             "web.service.consul from the client's dnsd")
    assert client.addr in client.dig("+short", "%s.node.consul" %
                                     client.node)
    srv = client.dig("+short", "SRV", "web.service.consul")
    assert " 80 " in srv, srv
    assert client.dig("+short", "nosuch.service.consul").strip() == ""

    # cairn members on the client: 3 servers and itself as a client
    r = client.cli("members")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().strip().splitlines()
    assert lines[0].split()[:4] == ["Node", "Address", "Status", "Type"]
    rows = {l.split()[0]: l.split() for l in lines[1:]}
    assert len(rows) == 4
    assert rows[client.node][2:4] == ["alive", "client"]
    for s in servers:
        assert rows[s.node][2:4] == ["alive", "server"]

    # kill -9 the server the client's HTTP API uses (its log says which):
    # a majority is left, and the client goes on through another server
    used = server_in_use(client)
    victim = [s for s in servers if s.node == used]
    assert len(victim) == 1, used
    victim = victim[0]
    victim.crash()
    survivors = [s for s in servers if s is not victim]
    wait_leader(survivors, exclude="%s:%d" % (victim.addr,
                                              victim.ports["server"]))

    def kv_works():
        code, body = client.request("PUT", "/v1/kv/client/after", b"a")
        return (code, body) == (200, b"true")
    wait_for(kv_works, "a write through the client after the kill")
    now = server_in_use(client)
    assert now is not None and now != victim.node, now
    kv_round_trip(client, "client/k4", b"still")
    assert client.request("GET", "/v1/kv/client/k3?raw") == (200, b"v3")
    wait_for(lambda: get_json(client, "/v1/status/leader") not in
             (None, "", "%s:%d" % (victim.addr, victim.ports["server"])),
             "the new leader seen from the client")
    wait_for(lambda: client.addr in client.dig("+short",
                                               "web.service.consul"),
             "DNS through another server")
    code, _ = client.request("PUT", "/v1/agent/check/fail/service:cache")
    assert code == 200
    wait_for(lambda: get_json(client, "/v1/health/service/cache?passing")
             == [], "cache critical after the kill")


def test_client_without_servers(make_agent):
    # joins nothing: no server is ever known
    client = make_agent(wait=False, dev=False, config=CLIENT_CONFIG)
    client.wait_up()
    code, body = client.request("GET", "/v1/kv/x")
    assert (code, body) == (500, b"No known Consul servers")
    code, body = client.request("PUT", "/v1/kv/x", b"1")
    assert (code, body) == (500, b"No known Consul servers")
    code, body = client.request("GET", "/v1/status/leader")
    assert (code, body) == (500, b"No known Consul servers")
    # DNS fails clearly (SERVFAIL), never silently
    assert "SERVFAIL" in client.dig("web.service.consul")
    # the agent's own endpoints do not need a server
    code, body = client.request("GET", "/v1/agent/services")
    assert code == 200 and "web" in json.loads(body)
    r = client.cli("members")
    assert r.returncode == 0 and "client" in r.stdout.decode()
