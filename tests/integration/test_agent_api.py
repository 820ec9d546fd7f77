"""The agent's own registrations through its API, as python3-consul and
curl make them: services with checks, standalone checks, deregistration,
node and service maintenance (critical checks carrying the reason, kept
across a restart of checkd), reload, and the errors. Registrations are
kept in data_dir and survive checkd being killed and restarted."""
import json
import os
import signal

import consul
import pytest

from conftest import wait_for

# ae_interval (Consul's, for tests) makes the anti-entropy pass quick.
AGENT_CONFIG = {
    "ae.json": json.dumps({"ae_interval": "2s", "service": {
        "name": "aesvc", "port": 4000, "check": {"ttl": "300s"}}}),
}


def client(agent):
    return consul.Consul(host=agent.addr, port=agent.http)


def passing(c, svc):
    return [e["Service"]["ID"] for e in c.health.service(svc,
                                                         passing=True)[1]]


def checks_of(c, node):
    return {x["CheckID"]: x for x in c.health.node(node)[1]}


def test_service_register_deregister(agent):
    c = client(agent)
    assert c.agent.service.register("api", service_id="api1", port=9000,
                                    tags=["v2"], ttl="30s") is True
    svc = c.agent.services()["api1"]
    assert (svc["Service"], svc["Port"], svc["Tags"]) == ("api", 9000,
                                                          ["v2"])
    # it reaches the catalog, with its TTL check critical until passed
    wait_for(lambda: "service:api1" in checks_of(c, agent.node),
             "the service's check in the catalog")
    assert passing(c, "api") == []
    c.agent.check.ttl_pass("service:api1")
    wait_for(lambda: passing(c, "api") == ["api1"], "api1 passing")
    assert c.agent.service.deregister("api1") is True
    assert "api1" not in c.agent.services()
    wait_for(lambda: c.catalog.service("api")[1] == [],
             "api1 gone from the catalog")


def test_check_register_deregister(agent):
    c = client(agent)
    c.agent.service.register("web2", service_id="web2", port=80)
    tcp = consul.Check.tcp(agent.addr, agent.http, "1s")
    assert c.agent.check.register("web2-port", check=tcp, check_id="w2tcp",
                                  service_id="web2") is True
    wait_for(lambda: checks_of(c, agent.node).get("w2tcp", {}).get(
        "Status") == "passing", "the TCP check passing")
    assert checks_of(c, agent.node)["w2tcp"]["ServiceName"] == "web2"
    assert c.agent.check.deregister("w2tcp") is True
    wait_for(lambda: "w2tcp" not in checks_of(c, agent.node),
             "w2tcp deregistered")
    c.agent.service.deregister("web2")


def test_replace_existing_checks(agent):
    c = client(agent)
    c.agent.service.register("rep", service_id="rep", ttl="30s")
    c.agent.check.register("extra", check_id="rep-extra", service_id="rep",
                           ttl="30s")
    assert "rep-extra" in c.agent.checks()
    body = json.dumps({"Name": "rep", "ID": "rep"}).encode()
    code, _ = agent.request(
        "PUT", "/v1/agent/service/register?replace-existing-checks", body)
    assert code == 200
    assert "rep-extra" not in c.agent.checks()
    c.agent.service.deregister("rep")


def test_maintenance(agent):
    c = client(agent)
    c.agent.service.register("mnt", service_id="mnt", ttl="300s")
    c.agent.check.ttl_pass("service:mnt")
    wait_for(lambda: passing(c, "mnt") == ["mnt"], "mnt passing")
    assert c.agent.service.maintenance("mnt", "true", "new disk") is True
    m = wait_for(lambda: checks_of(c, agent.node).get(
        "_service_maintenance:mnt"), "the maintenance check")
    assert (m["Status"], m["Notes"], m["ServiceID"]) == \
        ("critical", "new disk", "mnt")
    assert m["Name"] == "Service Maintenance Mode"
    assert passing(c, "mnt") == []
    assert c.agent.maintenance("true") is True
    n = wait_for(lambda: checks_of(c, agent.node).get("_node_maintenance"),
                 "node maintenance")
    assert n["Notes"].startswith("Maintenance mode is enabled for this "
                                 "node, but no reason was provided.")
    # kept across a crash of checkd: the agent restarts it
    os.kill(agent.daemon_pid("checkd"), signal.SIGKILL)
    wait_for(lambda: "_node_maintenance" in _agent_checks(c) and
             "_service_maintenance:mnt" in _agent_checks(c),
             "maintenance after checkd restarted", timeout=40)
    assert c.agent.maintenance("false") is True
    assert c.agent.service.maintenance("mnt", "false") is True
    wait_for(lambda: "_node_maintenance" not in checks_of(c, agent.node) and
             "_service_maintenance:mnt" not in checks_of(c, agent.node),
             "maintenance off")
    c.agent.check.ttl_pass("service:mnt")
    wait_for(lambda: passing(c, "mnt") == ["mnt"], "mnt passing again")
    c.agent.service.deregister("mnt")


def _agent_checks(c):
    """The agent's checks, or {} while checkd restarts."""
    return _while_restarting(c.agent.checks)


def _agent_services(c):
    return _while_restarting(c.agent.services)


def _while_restarting(fn):
    try:
        return fn()
    except Exception:
        return {}


def test_registrations_survive_a_checkd_crash(agent):
    c = client(agent)
    c.agent.service.register("keep", service_id="keep1", port=1234)
    os.kill(agent.daemon_pid("checkd"), signal.SIGKILL)
    wait_for(lambda: "keep1" in (_agent_services(c)), "keep1 after the "
             "restart", timeout=40)
    c.agent.service.deregister("keep1")


def test_reload_reads_new_config(agent):
    c = client(agent)
    path = os.path.join(agent.confdir, "late.json")
    with open(path, "w") as f:
        json.dump({"service": {"name": "late", "port": 7}}, f)
    try:
        assert "late" not in c.agent.services()
        code, _ = agent.request("PUT", "/v1/agent/reload")
        assert code == 200
        assert "late" in c.agent.services()
    finally:
        os.unlink(path)
        agent.request("PUT", "/v1/agent/reload")
    assert "late" not in c.agent.services()


@pytest.mark.parametrize("path,body,code,text", [
    ("/v1/agent/service/register", b"", 400, b"EOF"),
    ("/v1/agent/service/register", b"{", 400, b"request body:"),
    ("/v1/agent/service/register", b"[]", 400, b"expected a JSON object"),
    ("/v1/agent/service/register", b'{"Port":1}', 400,
     b"Missing service name"),
    ("/v1/agent/service/register",
     b'{"Name":"s","Check":{"Args":["/bin/true"],"Interval":"1s"}}', 400,
     b"Scripts are disabled on this agent"),
    ("/v1/agent/check/register", b'{"Name":"c","ServiceID":"nosuch",'
     b'"TTL":"10s"}', 400, b'ServiceID "nosuch" does not exist'),
    ("/v1/agent/service/deregister/nosuch", b"", 404,
     b'Unknown service ID "nosuch"'),
    ("/v1/agent/check/deregister/nosuch", b"", 404,
     b'Unknown check ID "nosuch"'),
    ("/v1/agent/maintenance", b"", 400, b"Missing value for enable"),
    ("/v1/agent/maintenance?enable=maybe", b"", 400,
     b'Invalid value for enable: "maybe"'),
    ("/v1/agent/service/maintenance/nosuch?enable=true", b"", 404,
     b'Unknown service ID "nosuch"'),
])
def test_bad_requests(agent, path, body, code, text):
    got, reply = agent.request("PUT", path, body)
    assert got == code and text in reply, (got, reply)


def test_deregister_critical_service_after(agent):
    """A service whose check stays critical past the check's
    deregister_critical_service_after is deregistered (Consul reaps at 1
    minute at the shortest; cairn honours the value given)."""
    body = {"Name": "reaped", "ID": "reaped1", "Check": {
        "TTL": "30s", "DeregisterCriticalServiceAfter": "2s"}}
    keep = {"Name": "kept", "ID": "kept1", "Check": {"TTL": "30s"}}
    for b in (body, keep):
        code, _ = agent.request("PUT", "/v1/agent/service/register",
                                json.dumps(b).encode())
        assert code == 200
    c = client(agent)
    c.agent.check.ttl_fail("service:reaped1")
    c.agent.check.ttl_fail("service:kept1")
    wait_for(lambda: "reaped1" not in c.agent.services(),
             "the critical service reaped")
    wait_for(lambda: c.catalog.service("reaped")[1] == [],
             "reaped1 gone from the catalog")
    assert "kept1" in c.agent.services()
    c.agent.service.deregister("kept1")


def test_anti_entropy_repairs_the_catalog(agent):
    """The catalog changed behind the agent's back is put right by the
    next full pass: a deregistered service comes back, and a check status
    written by someone else goes back to the agent's."""
    c = client(agent)
    wait_for(lambda: c.catalog.service("aesvc")[1], "aesvc registered")
    assert c.catalog.deregister(agent.node, service_id="aesvc") is True
    assert c.catalog.service("aesvc")[1] == []
    wait_for(lambda: c.catalog.service("aesvc")[1], "aesvc back")
    # the agent says critical (no TTL update yet); someone writes passing
    body = {"Node": agent.node, "Address": agent.addr,
            "Service": {"Service": "aesvc", "Port": 4000},
            "Check": {"CheckID": "service:aesvc", "Name": "x",
                      "Status": "passing", "ServiceID": "aesvc"}}
    assert agent.request("PUT", "/v1/catalog/register",
                         json.dumps(body).encode()) == (200, b"true")
    assert checks_of(c, agent.node)["service:aesvc"]["Status"] == "passing"
    wait_for(lambda: checks_of(c, agent.node)["service:aesvc"]["Status"]
             == "critical", "the agent's status back in the catalog")


def test_metrics(agent):
    code, body = agent.request("GET", "/v1/agent/metrics")
    assert code == 200
    m = json.loads(body)
    assert set(m) == {"Timestamp", "Gauges", "Points", "Counters",
                      "Samples"}
    g = {x["Name"]: x["Value"] for x in m["Gauges"]}
    assert g["consul.raft.leader"] == 1 and g["consul.raft.peers"] == 1
    assert g["consul.raft.applied_index"] >= 1
    assert g["consul.serf.members.alive"] == 1
    checks = client(agent).agent.checks()
    assert g["consul.agent.checks.passing"] + \
        g["consul.agent.checks.warning"] + \
        g["consul.agent.checks.critical"] == len(checks)
    code, text = agent.request("GET", "/v1/agent/metrics?format=prometheus")
    assert code == 200
    lines = text.decode().splitlines()
    assert "# TYPE consul_raft_leader gauge" in lines
    assert "consul_raft_leader 1" in lines
    assert agent.request("PUT", "/v1/agent/metrics")[0] == 405
