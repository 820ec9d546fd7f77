"""The catalog's own writes and the health reads, as python3-consul and
curl users make them: an external node (no agent: a database behind a
host name) registered and deregistered through /v1/catalog/register;
/v1/health/node, /checks and /state; ?node-meta and repeated ?tag
filters; blocking catalog and health reads; and the bad requests."""
import json
import threading
import time

import consul
import pytest

from conftest import wait_for


def client(agent):
    return consul.Consul(host=agent.addr, port=agent.http)


def settled(c):
    """The catalog index once the agent's own start-up writes (its node,
    serfHealth, the consul service) are done: unchanged for a second."""
    def same():
        first = c.catalog.services()[0]
        time.sleep(1)
        names = [x["CheckID"] for x in c.health.state("passing")[1]]
        return first if c.catalog.services()[0] == first and \
            "serfHealth" in names else None
    return wait_for(same, "the catalog to settle")


RDS = {"Service": "rds", "ID": "rds1", "Tags": ["primary", "v1"],
       "Port": 5432, "Meta": {"engine": "postgres"}}
CHECK = {"CheckID": "rds-alive", "Name": "RDS alive", "Status": "passing",
         "ServiceID": "rds1"}


def test_external_node_register_and_deregister(agent):
    c = client(agent)
    assert c.catalog.register("rds-node", "db.example.com", service=RDS,
                              check=CHECK) is True
    _, nodes = c.catalog.nodes()
    ext = [n for n in nodes if n["Node"] == "rds-node"]
    assert ext and ext[0]["Address"] == "db.example.com"
    _, inst = c.catalog.service("rds")
    assert [(i["Node"], i["ServiceID"], i["ServicePort"]) for i in inst] \
        == [("rds-node", "rds1", 5432)]
    assert inst[0]["ServiceMeta"] == {"engine": "postgres"}
    _, checks = c.health.node("rds-node")
    assert [(x["CheckID"], x["Status"], x["ServiceName"]) for x in checks] \
        == [("rds-alive", "passing", "rds")]
    _, passing = c.health.service("rds", passing=True)
    assert len(passing) == 1
    # a critical check drops it from ?passing, as for any node
    crit = dict(CHECK, Status="critical", Output="connection refused")
    assert c.catalog.register("rds-node", "db.example.com", service=RDS,
                              check=crit) is True
    assert c.health.service("rds", passing=True)[1] == []
    assert c.health.checks("rds")[1][0]["Output"] == "connection refused"
    # the leader's reconciliation leaves a node without serfHealth alone
    assert c.catalog.deregister("rds-node", check_id="rds-alive") is True
    assert c.health.node("rds-node")[1] == []
    assert c.catalog.deregister("rds-node", service_id="rds1") is True
    assert c.catalog.service("rds")[1] == []
    assert c.catalog.deregister("rds-node") is True
    assert "rds-node" not in [n["Node"] for n in c.catalog.nodes()[1]]


def test_health_state(agent):
    c = client(agent)
    settled(c)
    c.catalog.register("st-node", "10.1.1.1", check={
        "CheckID": "st-warn", "Name": "w", "Status": "warning"})
    states = {s: [x["CheckID"] for x in c.health.state(s)[1]]
              for s in ("any", "passing", "warning", "critical")}
    assert "st-warn" in states["warning"] and "st-warn" in states["any"]
    assert "st-warn" not in states["passing"] + states["critical"]
    assert "serfHealth" in states["passing"]
    code, body = agent.request("GET", "/v1/health/state/bogus")
    assert (code, body) == (400, b"Invalid check state")
    # a check registered without a Status is critical, as in Consul
    c.catalog.register("st-node", "10.1.1.1", check={"CheckID": "st-new",
                                                     "Name": "n"})
    assert "st-new" in [x["CheckID"] for x in c.health.state("critical")[1]]
    c.catalog.deregister("st-node")


def test_node_meta_and_tag_filters(agent):
    def reg(node, meta, tags):
        body = {"Node": node, "Address": "10.2.0.1", "NodeMeta": meta,
                "Service": {"Service": "filt", "Tags": tags}}
        assert agent.request("PUT", "/v1/catalog/register",
                             json.dumps(body).encode()) == (200, b"true")
    reg("f1", {"rack": "a", "env": "prod"}, ["x", "y"])
    reg("f2", {"rack": "b", "env": "prod"}, ["x"])

    def nodes(q):
        code, body = agent.request("GET", "/v1/catalog/nodes" + q)
        assert code == 200
        return sorted(n["Node"] for n in json.loads(body)
                      if n["Node"] in ("f1", "f2"))

    assert nodes("") == ["f1", "f2"]
    assert nodes("?node-meta=rack:a") == ["f1"]
    assert nodes("?node-meta=env:prod&node-meta=rack:b") == ["f2"]
    assert nodes("?node-meta=env:dev") == []

    def inst(path):
        code, body = agent.request("GET", path)
        return sorted(e.get("Node") if isinstance(e.get("Node"), str)
                      else e["Node"]["Node"] for e in json.loads(body))

    assert inst("/v1/catalog/service/filt?tag=x") == ["f1", "f2"]
    assert inst("/v1/catalog/service/filt?tag=x&tag=y") == ["f1"]
    assert inst("/v1/health/service/filt?tag=X&node-meta=rack:b") == ["f2"]
    for n in ("f1", "f2"):
        client(agent).catalog.deregister(n)


def test_blocking_catalog_and_health_reads(agent):
    c = client(agent)
    index = settled(c)
    out = {}

    def watch(name, fn):
        out[name] = fn()
    threads = [threading.Thread(target=watch, daemon=True, args=a) for a in (
        ("services", lambda: c.catalog.services(index=index, wait="60s")),
        ("health", lambda: c.health.service("late", index=index,
                                            wait="60s")),
        ("state", lambda: c.health.state("any", index=index, wait="60s")))]
    for t in threads:
        t.start()
    threads[0].join(1)
    assert all(t.is_alive() for t in threads), "answered with no change"
    c.catalog.register("late-node", "10.3.0.1",
                       service={"Service": "late", "Port": 1})
    for t in threads:
        t.join(30)
    assert "late" in out["services"][1]
    assert int(out["services"][0]) > int(index)
    assert [e["Service"]["Service"] for e in out["health"][1]] == ["late"]
    assert int(out["state"][0]) > int(index)
    c.catalog.deregister("late-node")


@pytest.mark.parametrize("path,body,text", [
    ("/v1/catalog/register", b"{", b"Request decode failed"),
    ("/v1/catalog/register", b'{"Node":"x"}',
     b"Must provide node and address"),
    ("/v1/catalog/register", b'{"Node":"x","Address":"a","Service":{}}',
     b"Must provide service name"),
    ("/v1/catalog/register",
     b'{"Node":"x","Address":"a","Check":{"Name":"c","Status":"ok"}}',
     b"Invalid check status: 'ok'"),
    ("/v1/catalog/register",
     b'{"Node":"x","Address":"a","Service":{"Service":"s","Port":70000}}',
     b"Port"),
    ("/v1/catalog/register", b'{"Node":"x","Address":"a","NodeMeta":[1]}',
     b"NodeMeta"),
    ("/v1/catalog/register",
     b'{"Node":"x","Address":"a","Datacenter":"dc9"}', b"dc9"),
    ("/v1/catalog/deregister", b"{}", b"Must provide node"),
])
def test_bad_writes(agent, path, body, text):
    code, reply = agent.request("PUT", path, body)
    assert code == 400 and text in reply, (code, reply)


def test_methods(agent):
    assert agent.request("GET", "/v1/catalog/register")[0] == 405
    assert agent.request("PUT", "/v1/health/node/x")[0] == 405


def test_cli_watch_catalog_types(agent, tmp_path):
    """`cairn watch -type services|nodes|service|checks HANDLER`: each
    handler runs at start and again when its answer changes."""
    import os
    import signal
    from test_events import wait_lines
    from test_kv_blocking import start_watch
    c = client(agent)
    settled(c)
    out = {t: tmp_path / t for t in ("services", "nodes", "service",
                                     "checks")}
    ws = [start_watch(agent, "-type", "services", "cat >> %s" %
                      out["services"]),
          start_watch(agent, "-type", "nodes", "cat >> %s" % out["nodes"]),
          start_watch(agent, "-type", "service", "-service", "wsvc",
                      "-passingonly", "true", "cat >> %s" % out["service"]),
          start_watch(agent, "-type", "checks", "-state", "critical",
                      "cat >> %s" % out["checks"])]
    try:
        for t in out:
            wait_lines(str(out[t]), 1)
        assert json.loads(wait_lines(str(out["service"]), 1)[0]) == []
        c.catalog.register("wnode", "10.4.0.1",
                           service={"Service": "wsvc", "Port": 1},
                           check={"CheckID": "wchk", "Name": "w",
                                  "Status": "passing", "ServiceID": "wsvc"})
        assert "wsvc" in json.loads(wait_lines(str(out["services"]), 2)[1])
        assert "wnode" in [n["Node"] for n in
                           json.loads(wait_lines(str(out["nodes"]), 2)[1])]
        inst = json.loads(wait_lines(str(out["service"]), 2)[1])
        assert [e["Node"]["Node"] for e in inst] == ["wnode"]
        c.catalog.register("wnode", "10.4.0.1",
                           service={"Service": "wsvc", "Port": 1},
                           check={"CheckID": "wchk", "Name": "w",
                                  "Status": "critical", "ServiceID": "wsvc"})
        crit = json.loads(wait_lines(str(out["checks"]), 2)[1])
        assert "wchk" in [x["CheckID"] for x in crit]
        # failing, it leaves the passing-only service watch
        assert json.loads(wait_lines(str(out["service"]), 3)[2]) == []
        assert all(w.poll() is None for w in ws)
    finally:
        for w in ws:
            os.killpg(w.pid, signal.SIGKILL)
            w.wait()
        c.catalog.deregister("wnode")


def test_cli_watch_catalog_type_errors(agent):
    r = agent.cli("watch", "-type", "service", "true")
    assert r.returncode == 1
    assert b"Must specify a single service to watch" in r.stderr
    r = agent.cli("watch", "-type", "checks", "-service", "a", "-state",
                  "passing", "true")
    assert b"Cannot specify service and state" in r.stderr
    r = agent.cli("watch", "-type", "nodes", "-service", "a", "true")
    assert b"Invalid parameters: [service]" in r.stderr
