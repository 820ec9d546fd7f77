"""Services from a config dir, checks that change state, and what the
catalog, health and DNS show of them: curl-style HTTP, python-consul, dig."""
import json
import os
import random
import socket
import tempfile
import time

import consul

STATE = tempfile.mkdtemp(prefix="cairn-check.")
FLAG = os.path.join(STATE, "web-exit")
with open(FLAG, "w") as f:
    f.write("0")

AGENT_CONFIG = {
    "services.json": json.dumps({
        "enable_local_script_checks": True,
        "services": [
            {"name": "web", "port": 80, "tags": ["v1", "primary"],
             "check": {"args": ["/bin/sh", "-c", "exit $(cat %s)" % FLAG],
                       "interval": "1s"}},
            {"name": "db", "id": "db1", "port": 5432, "address": "127.9.9.9",
             "check": {"ttl": "30s"}},
        ],
    }),
}


def wait_for(fn, what, timeout=20):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def health(agent, svc, passing=False):
    code, body = agent.request("GET", "/v1/health/service/%s%s" %
                               (svc, "?passing" if passing else ""))
    assert code == 200, body
    return json.loads(body)


def test_catalog_services(agent):
    def services():
        code, body = agent.request("GET", "/v1/catalog/services")
        s = json.loads(body) if code == 200 else {}
        return s if "web" in s and "db" in s else None
    s = wait_for(services, "services registered")
    assert sorted(s["web"]) == ["primary", "v1"]
    assert "consul" in s


def test_catalog_service_and_nodes(agent):
    code, body = agent.request("GET", "/v1/catalog/service/web")
    entries = json.loads(body)
    assert len(entries) == 1
    e = entries[0]
    assert e["Node"] == agent.node and e["Address"] == agent.addr
    assert e["ServiceID"] == "web" and e["ServicePort"] == 80
    assert e["ServiceTags"] == ["v1", "primary"]
    code, body = agent.request("GET", "/v1/catalog/service/web?tag=v1")
    assert len(json.loads(body)) == 1
    code, body = agent.request("GET", "/v1/catalog/service/web?tag=v9")
    assert json.loads(body) == []
    code, body = agent.request("GET", "/v1/catalog/nodes")
    nodes = json.loads(body)
    assert [n["Node"] for n in nodes] == [agent.node]
    assert nodes[0]["Address"] == agent.addr


def test_health_follows_script_check(agent):
    wait_for(lambda: health(agent, "web", True), "web passing")
    entry = health(agent, "web")[0]
    checks = {c["CheckID"]: c for c in entry["Checks"]}
    assert checks["service:web"]["Status"] == "passing"
    assert checks["service:web"]["Name"] == "Service 'web' check"
    assert entry["Service"]["Port"] == 80
    with open(FLAG, "w") as f:
        f.write("2")
    wait_for(lambda: health(agent, "web", True) == [], "web critical")
    assert "NXDOMAIN" in agent.dig("web.service.consul", "A")
    with open(FLAG, "w") as f:
        f.write("1")
    wait_for(lambda: any(c["Status"] == "warning"
                         for c in health(agent, "web")[0]["Checks"]),
             "web warning")
    # warning is not critical: DNS still answers
    assert agent.addr in agent.dig("web.service.consul", "A", "+short")
    assert health(agent, "web", True) == []
    with open(FLAG, "w") as f:
        f.write("0")
    wait_for(lambda: health(agent, "web", True), "web passing again")


def test_ttl_check_through_the_api(agent):
    entry = health(agent, "db")[0]
    ttl = [c for c in entry["Checks"] if c["ServiceID"] == "db1"][0]
    assert ttl["Status"] == "critical"
    assert health(agent, "db", True) == []
    code, body = agent.request("PUT", "/v1/agent/check/pass/%s?note=ok" %
                               ttl["CheckID"], b"")
    assert code == 200, body
    wait_for(lambda: health(agent, "db", True), "db passing")
    assert "127.9.9.9" in agent.dig("db.service.consul", "A", "+short")


def test_python_consul_catalog_health(agent):
    c = consul.Consul(host=agent.addr, port=agent.http)
    _, services = c.catalog.services()
    assert "web" in services
    _, nodes = c.catalog.service("web")
    assert nodes[0]["ServicePort"] == 80
    _, entries = c.health.service("web", passing=True)
    assert len(entries) == 1
    assert entries[0]["Service"]["Service"] == "web"


def test_dns_node_and_unknown(agent):
    out = agent.dig(agent.node + ".node.consul", "A", "+short")
    assert out.strip() == agent.addr
    # case does not matter
    out = agent.dig(agent.node.upper() + ".NODE.consul", "A", "+short")
    assert out.strip() == agent.addr
    out = agent.dig("nosuchnode.node.consul", "A")
    assert "NXDOMAIN" in out and "SOA" in out
    out = agent.dig("nosuchsvc.service.consul", "A")
    assert "NXDOMAIN" in out
    out = agent.dig("consul.service.consul", "A", "+tcp", "+short")
    assert agent.addr in out


def udp_query(agent, data, timeout=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(data, (agent.addr, agent.dns))
    try:
        return s.recvfrom(65535)[0]
    except socket.timeout:
        return None
    finally:
        s.close()


def test_dns_malformed_packets(agent):
    good = (b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
            b"\x03web\x07service\x06consul\x00\x00\x01\x00\x01")
    rng = random.Random(7)
    packets = [b"", b"\x00", good[:11], good[:12], good[:20], good + b"\x00",
               b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
               b"\xc0\x0c\x00\x01\x00\x01",             # pointer to itself
               b"\x12\x34\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00" + good[12:],
               b"\x12\x34\x81\x00" + good[4:],           # a response
               b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
               b"\x40abc\x00\x00\x01\x00\x01"]           # label type 0x40
    packets += [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 600)))
                for _ in range(200)]
    for p in packets:
        r = udp_query(agent, p, timeout=0.2)
        if r is not None and len(r) >= 4 and len(p) >= 12:
            rcode = r[3] & 0x0F
            assert r[:2] == p[:2]                       # id echoed
            assert rcode in (0, 1, 3, 4, 5)             # never garbage
    # still serving, both ways
    r = udp_query(agent, good)
    assert r is not None and r[:2] == b"\x12\x34" and r[3] & 0x0F in (0, 3)
    assert agent.addr in agent.dig(agent.node + ".node.consul", "+short")
