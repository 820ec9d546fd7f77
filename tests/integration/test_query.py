"""Prepared queries over HTTP, Consul's way: create, list, get, update,
delete; execute and explain by ID and by name, with ?limit, the shuffle
and ?near accepted; the health filters (passing, warning, critical,
OnlyPassing, IgnoreCheckIDs), tags with "!tag", node and service meta;
a name_prefix_match template with a regexp; blocking reads of the list;
queries surviving a restart of the agent; and the bad requests (400 for
bodies that do not decode, 413 for too large ones, Consul's 500s and
404s)."""
import json
import threading
import time
import urllib.request
import uuid

import consul
import pytest

from conftest import wait_for


def req(agent, method, path, body=None):
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
    code, out = agent.request(method, path, body)
    try:
        return code, json.loads(out) if out else None
    except ValueError:
        return code, out


def create(agent, body):
    code, out = req(agent, "POST", "/v1/query", body)
    assert code == 200, out
    assert uuid.UUID(out["ID"])
    return out["ID"]


def register(agent, node, tags=(), checks=(), node_meta=None, meta=None,
             service="pqweb"):
    """An external node with one instance of service and checks given as
    (id, status, of the service?) triples."""
    body = {"Node": node, "Address": "10.9.0.%d" % (hash(node) % 200 + 1),
            "NodeMeta": node_meta or {},
            "Service": {"ID": service + "-" + node, "Service": service,
                        "Tags": list(tags), "Port": 8080,
                        "Meta": meta or {}},
            "Checks": [{"CheckID": cid, "Name": cid, "Status": st,
                        "ServiceID": service + "-" + node if own else ""}
                       for cid, st, own in checks]}
    assert req(agent, "PUT", "/v1/catalog/register", body) == (200, True)


def execute(agent, key, q=""):
    code, out = req(agent, "GET", "/v1/query/%s/execute%s" % (key, q))
    assert code == 200, out
    return out


def nodes_of(result):
    return sorted(n["Node"]["Node"] for n in result["Nodes"])


@pytest.fixture(scope="module")
def fleet(agent):
    register(agent, "pq1", ["v1", "blue"], [("app", "passing", True)],
             {"rack": "r1"}, {"ver": "1"})
    register(agent, "pq2", ["v1"], [("app", "warning", True)],
             {"rack": "r2"}, {"ver": "2"})
    register(agent, "pq3", ["v2"], [("app", "passing", True),
                                    ("disk", "critical", False)],
             {"rack": "r2"}, {"ver": "2"})
    register(agent, "pq4", [], [("app", "critical", True)])
    return agent


def test_lifecycle(agent):
    qid = create(agent, {"Name": "life", "Service": {"Service": "pqweb"},
                         "DNS": {"TTL": "10s"}})
    code, got = req(agent, "GET", "/v1/query/" + qid)
    assert code == 200 and len(got) == 1
    q = got[0]
    assert q["ID"] == qid and q["Name"] == "life"
    assert q["Service"]["Service"] == "pqweb"
    assert q["DNS"] == {"TTL": "10s"}
    assert q["CreateIndex"] == q["ModifyIndex"] > 0
    # every field of Consul's struct, in its order, defaults filled in
    assert list(q) == ["ID", "Name", "Session", "Token", "Template",
                       "Service", "DNS", "CreateIndex", "ModifyIndex"]
    assert q["Template"] == {"Type": "", "Regexp": "",
                             "RemoveEmptyTags": False}
    assert q["Service"]["Failover"] == {"NearestN": 0, "Datacenters": None}
    assert q["Service"]["OnlyPassing"] is False
    assert q["Service"]["Tags"] is None
    code, listed = req(agent, "GET", "/v1/query")
    assert code == 200 and qid in [x["ID"] for x in listed]
    # update: the ID comes from the URL; CreateIndex stays
    code, out = req(agent, "PUT", "/v1/query/" + qid,
                    {"ID": "ignored", "Name": "life2",
                     "Service": {"Service": "pqweb", "Tags": ["v1"]}})
    assert (code, out) == (200, None)
    q2 = req(agent, "GET", "/v1/query/" + qid)[1][0]
    assert q2["Name"] == "life2" and q2["Service"]["Tags"] == ["v1"]
    assert q2["CreateIndex"] == q["CreateIndex"]
    assert q2["ModifyIndex"] > q["ModifyIndex"]
    assert q2["DNS"] == {"TTL": ""}
    # python-consul reads what we write
    c = consul.Consul(host=agent.addr, port=agent.http)
    assert c.query.get(qid)[0]["Name"] == "life2"
    assert req(agent, "DELETE", "/v1/query/" + qid) == (200, None)
    assert req(agent, "GET", "/v1/query/" + qid) == (404, b"Query not found")
    assert qid not in [x["ID"] for x in req(agent, "GET", "/v1/query")[1]]
    code, out = req(agent, "DELETE", "/v1/query/" + qid)
    assert code == 500 and out == (
        b"Cannot modify non-existent prepared query: '%s'" % qid.encode())


def test_execute_and_filters(fleet):
    a = fleet
    cases = [
        ({"Service": "pqweb"}, ["pq1", "pq2"]),
        ({"Service": "PQWEB"}, ["pq1", "pq2"]),
        ({"Service": "pqweb", "OnlyPassing": True}, ["pq1"]),
        ({"Service": "pqweb", "IgnoreCheckIDs": ["disk"]},
         ["pq1", "pq2", "pq3"]),
        ({"Service": "pqweb", "IgnoreCheckIDs": ["disk", "app"]},
         ["pq1", "pq2", "pq3", "pq4"]),
        ({"Service": "pqweb", "Tags": ["v1"]}, ["pq1", "pq2"]),
        ({"Service": "pqweb", "Tags": ["V1", "!blue"]}, ["pq2"]),
        ({"Service": "pqweb", "Tags": ["!v1"], "IgnoreCheckIDs": ["disk"]},
         ["pq3"]),
        ({"Service": "pqweb", "NodeMeta": {"rack": "r2"}}, ["pq2"]),
        ({"Service": "pqweb", "ServiceMeta": {"ver": "1"}}, ["pq1"]),
        ({"Service": "nosuch"}, []),
    ]
    for i, (svc, want) in enumerate(cases):
        qid = create(a, {"Name": "filt%d" % i, "Service": svc})
        for key in (qid, "filt%d" % i, "FILT%d" % i):
            r = execute(a, key)
            assert nodes_of(r) == want, (svc, key, r)
            assert r["Service"] == svc["Service"]
            assert r["Datacenter"] == "dc1" and r["Failovers"] == 0
            assert r["DNS"] == {"TTL": ""}
            assert list(r) == ["Service", "Nodes", "DNS", "Datacenter",
                               "Failovers"]
        req(a, "DELETE", "/v1/query/" + qid)
    # the entries are /v1/health/service's, checks and all
    qid = create(a, {"Name": "shape", "Service": {"Service": "pqweb"}})
    r = execute(a, "shape")
    code, health = req(a, "GET", "/v1/health/service/pqweb")
    byname = {e["Node"]["Node"]: e for e in health}
    for e in r["Nodes"]:
        assert e == byname[e["Node"]["Node"]]
    # ?limit and ?near=_agent; the order is shuffled
    assert len(execute(a, "shape", "?limit=1")["Nodes"]) == 1
    assert len(execute(a, "shape", "?limit=0")["Nodes"]) == 2
    assert len(execute(a, "shape", "?near=_agent&limit=5")["Nodes"]) == 2
    orders = {tuple(n["Node"]["Node"] for n in execute(a, "shape")["Nodes"])
              for _ in range(40)}
    assert len(orders) == 2
    code, out = req(a, "GET", "/v1/query/shape/execute?limit=x")
    assert (code, out) == (500, b'Bad limit: strconv.Atoi: parsing "x": '
                           b'invalid syntax')
    # consistency modes
    assert nodes_of(execute(a, "shape", "?stale")) == ["pq1", "pq2"]
    assert nodes_of(execute(a, "shape", "?consistent")) == ["pq1", "pq2"]
    req(a, "DELETE", "/v1/query/" + qid)


def test_health_changes_are_seen(fleet):
    a = fleet
    qid = create(a, {"Name": "flip", "Service": {"Service": "pqweb"}})
    assert nodes_of(execute(a, "flip")) == ["pq1", "pq2"]
    register(a, "pq2", ["v1"], [("app", "critical", True)],
             {"rack": "r2"}, {"ver": "2"})
    assert nodes_of(execute(a, "flip")) == ["pq1"]
    register(a, "pq2", ["v1"], [("app", "warning", True)],
             {"rack": "r2"}, {"ver": "2"})
    assert nodes_of(execute(a, "flip")) == ["pq1", "pq2"]
    req(a, "DELETE", "/v1/query/" + qid)


def test_template(fleet):
    a = fleet
    qid = create(a, {
        "Name": "geo-",
        "Template": {"Type": "name_prefix_match",
                     "Regexp": "^geo-(.*?)-([^\\-]+?)$",
                     "RemoveEmptyTags": True},
        "Service": {"Service": "${match(1)}", "Tags": ["${match(2)}"]},
        "DNS": {"TTL": "7s"}})
    catch = create(a, {"Name": "", "Template": {"Type": "name_prefix_match"},
                       "Service": {"Service": "${name.full}"}})
    r = execute(a, "geo-pqweb-blue")
    assert r["Service"] == "pqweb" and nodes_of(r) == ["pq1"]
    assert r["DNS"] == {"TTL": "7s"}
    assert nodes_of(execute(a, "geo-pqweb-v1")) == ["pq1", "pq2"]
    # the catch-all: the name is the service
    assert nodes_of(execute(a, "pqweb")) == ["pq1", "pq2"]
    assert execute(a, "unknown-thing")["Nodes"] == []
    # explain shows the query rendered for the name
    code, ex = req(a, "GET", "/v1/query/geo-pqweb-blue/explain")
    assert code == 200 and list(ex) == ["Query"]
    assert ex["Query"]["ID"] == qid
    assert ex["Query"]["Service"]["Service"] == "pqweb"
    assert ex["Query"]["Service"]["Tags"] == ["blue"]
    assert ex["Query"]["Template"]["Regexp"] == "^geo-(.*?)-([^\\-]+?)$"
    # while GET shows it as stored
    q = req(a, "GET", "/v1/query/" + qid)[1][0]
    assert q["Service"]["Service"] == "${match(1)}"
    # a template is resolved by name only
    code, out = req(a, "GET", "/v1/query/%s/execute" % qid)
    assert code == 500 and b"can only be resolved up by name" in out
    # a second empty-name template is refused, as a bad template is
    code, out = req(a, "POST", "/v1/query", {
        "Template": {"Type": "name_prefix_match"},
        "Service": {"Service": "x"}})
    assert (code, out) == (500, b"a query template with an empty name "
                           b"already exists")
    code, out = req(a, "POST", "/v1/query", {
        "Name": "bad-", "Template": {"Type": "name_prefix_match"},
        "Service": {"Service": "${nope}"}})
    assert code == 500 and out.startswith(
        b"failed compiling template: Bad evaluation for '${nope}' in "
        b"Service.Service: unknown variable accessed: nope")
    code, out = req(a, "POST", "/v1/query", {
        "Name": "bad-", "Template": {"Type": "name_prefix_match",
                                     "Regexp": "a(b"},
        "Service": {"Service": "x"}})
    assert code == 500 and out.startswith(
        b"failed compiling template: Bad Regexp")
    code, out = req(a, "POST", "/v1/query", {
        "Name": "bad-", "Template": {"Type": "other"},
        "Service": {"Service": "x"}})
    assert (code, out) == (500, b"failed compiling template: Bad "
                           b"Template.Type 'other'")
    req(a, "DELETE", "/v1/query/" + qid)
    req(a, "DELETE", "/v1/query/" + catch)
    assert req(a, "GET", "/v1/query/pqweb/execute") == (
        404, b"Query not found")


def test_blocking_list(agent):
    with urllib.request.urlopen(agent.url + "/v1/query") as resp:
        index = int(resp.headers["X-Consul-Index"])
    out = {}

    def watch():
        t0 = time.time()
        with urllib.request.urlopen(agent.url + "/v1/query?index=%d&wait=30s"
                                    % index, timeout=60) as resp:
            out["index"] = int(resp.headers["X-Consul-Index"])
            out["body"] = json.loads(resp.read())
            out["took"] = time.time() - t0
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    time.sleep(0.5)
    # a catalog change does not wake a reader of the queries
    register(agent, "pq-block", [], [("c", "passing", True)], service="b")
    time.sleep(1)
    assert "index" not in out
    qid = create(agent, {"Name": "blocker", "Service": {"Service": "x"}})
    t.join(20)
    assert out["index"] > index and out["took"] < 20
    assert qid in [x["ID"] for x in out["body"]]
    req(agent, "DELETE", "/v1/query/" + qid)
    req(agent, "PUT", "/v1/catalog/deregister", {"Node": "pq-block"})


def test_names_and_sessions(agent):
    qid = create(agent, {"Name": "dup", "Service": {"Service": "x"}})
    code, out = req(agent, "POST", "/v1/query",
                    {"Name": "DUP", "Service": {"Service": "y"}})
    assert (code, out) == (500, b"name 'DUP' aliases an existing query name")
    code, out = req(agent, "POST", "/v1/query",
                    {"Name": qid, "Service": {"Service": "y"}})
    assert (code, out) == (500, b"name '%s' aliases an existing query ID"
                           % qid.encode())
    code, out = req(agent, "POST", "/v1/query",
                    {"Session": "no-such", "Service": {"Service": "y"}})
    assert (code, out) == (500, b'invalid session "no-such"')
    # an update to a query that does not exist
    code, out = req(agent, "PUT", "/v1/query/" + str(uuid.uuid4()),
                    {"Name": "z", "Service": {"Service": "y"}})
    assert code == 500 and out.startswith(
        b"Cannot modify non-existent prepared query")
    req(agent, "DELETE", "/v1/query/" + qid)


BAD = [
    # body, status, text (a prefix of the answer)
    (b"", 400, b"Request decode failed: EOF"),
    (b"{", 400, b"Request decode failed: "),
    (b"[]", 400, b"Request decode failed: json: cannot unmarshal array "
     b"into Go value of type structs.PreparedQuery"),
    (b'{"Name": 5, "Service": {"Service": "x"}}', 400,
     b"Request decode failed: json: cannot unmarshal number into Go struct "
     b"field PreparedQuery.Name of type string"),
    (b'{"Name": "n", "Service": {"Service": "x", "OnlyPassing": "yes"}}',
     400, b"Request decode failed: json: cannot unmarshal string into Go "
     b"struct field ServiceQuery.Service.OnlyPassing of type bool"),
    (b'{"Name": "n", "Service": {"Service": "x", "Tags": "a"}}', 400,
     b"Request decode failed: json: cannot unmarshal string into Go struct "
     b"field ServiceQuery.Service.Tags of type []string"),
    (b'{"Name": "n", "Service": {"Service": "x", "Failover": '
     b'{"NearestN": 1.5}}}', 400, b"Request decode failed: json: cannot "
     b"unmarshal number into Go struct field QueryDatacenterOptions.Service."
     b"Failover.NearestN of type int"),
    (b'{"Name": "n", "Service": {"Service": "x", "NodeMeta": {"a": 1}}}',
     400, b"Request decode failed: json: cannot unmarshal number"),
    (b'{"Name": "n", "Service": {}}', 500,
     b"Invalid prepared query: Must provide a Service name to query"),
    (b'{"Service": {"Service": "x"}}', 500,
     b"Invalid prepared query: Must be bound to a session"),
    (b'{"Name": "n", "Service": {"Service": "x", "Failover": '
     b'{"NearestN": -1}}}', 500,
     b"Invalid prepared query: Bad NearestN '-1', must be >= 0"),
    (b'{"Name": "n", "Service": {"Service": "x"}, "DNS": {"TTL": "soon"}}',
     500, b"Invalid prepared query: Bad DNS TTL 'soon': time: invalid "
     b"duration \"soon\""),
    (b'{"Name": "n", "Service": {"Service": "x", "NodeMeta": '
     b'{"bad key": "v"}}}', 500, b"Invalid prepared query: Couldn't load "
     b"metadata pair ('bad key', 'v'): Key contains invalid characters"),
    (b'{"Name": "n", "Token": "<hidden>", "Service": {"Service": "x"}}',
     500, b"Invalid prepared query: Bad Token '<hidden>'"),
    (b'{"ID": "abc", "Name": "n", "Service": {"Service": "x"}}', 500,
     b"ID must be empty when creating a new prepared query"),
]


@pytest.mark.parametrize("body,status,text", BAD)
def test_bad_create(agent, body, status, text):
    code, out = agent.request("POST", "/v1/query", body)
    assert code == status and out.startswith(text), out


def test_bad_requests(agent):
    # unknown fields are ignored, as Go's decoder does
    qid = create(agent, {"Name": "extra", "Bogus": 1,
                         "service": {"service": "x", "Whatever": [1]}})
    assert req(agent, "GET", "/v1/query/" + qid)[1][0]["Service"][
        "Service"] == "x"
    # an update without a body is an empty query
    code, out = agent.request("PUT", "/v1/query/" + qid)
    assert (code, out) == (500, b"Invalid prepared query: Must be bound "
                           b"to a session")
    req(agent, "DELETE", "/v1/query/" + qid)
    # too large a body
    big = json.dumps({"Name": "big", "Service": {"Service": "x"},
                      "Token": "t" * 600000}).encode()
    code, out = agent.request("POST", "/v1/query", big)
    assert code == 413 and b"too large" in out
    # methods
    code, _ = agent.request("DELETE", "/v1/query")
    assert code == 405
    code, _ = agent.request("POST", "/v1/query/x")
    assert code == 405
    code, _ = agent.request("PUT", "/v1/query/x/execute")
    assert code == 405
    # unknown queries
    assert agent.request("GET", "/v1/query/nope/execute") == (
        404, b"Query not found")
    assert agent.request("GET", "/v1/query/nope/explain") == (
        404, b"Query not found")
    assert agent.request("GET", "/v1/query/" + str(uuid.uuid4())) == (
        404, b"Query not found")


def test_survives_restart(make_agent):
    a = make_agent()
    qid = create(a, {"Name": "durable", "Service": {"Service": "consul"},
                     "DNS": {"TTL": "3s"}})
    before = req(a, "GET", "/v1/query/" + qid)[1]
    a.stop()
    a.start()
    assert req(a, "GET", "/v1/query/" + qid)[1] == before
    r = wait_for(lambda: execute(a, "durable")["Nodes"] and
                 execute(a, "durable"), "the consul service")
    assert r["Nodes"][0]["Node"]["Node"] == a.node
    assert r["DNS"] == {"TTL": "3s"}
