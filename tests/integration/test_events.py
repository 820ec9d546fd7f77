"""User events (Consul's /v1/event/fire, /v1/event/list, `consul event` and
`consul watch -type event`) on real agents.

On one -dev agent: the answer to a fire, the list with its payload in
base64 and X-Consul-Index (the XOR of the two halves of the last event's
UUID, 1 when there is none), the name filter, a blocking list woken by a
fire, the 512-byte limit, the filters against this node and its services,
and the two commands; and delivery to every node through gossip.
"""
import base64
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


from conftest import BIN
from conftest import serf

AGENT_CONFIG = {
    "services.json": json.dumps({
        "services": [
            {"name": "web", "id": "web-1", "port": 80,
             "tags": ["v1", "primary"]},
            {"name": "postgres", "id": "db", "port": 5432,
             "tags": ["replica"]},
        ],
    }),
}

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-"
                  r"[0-9a-f]{12}$")
FIELDS = ["ID", "Name", "Payload", "NodeFilter", "ServiceFilter",
          "TagFilter", "Version", "LTime"]


def id_index(uuid):
    """Consul's uuidToUint64."""
    lower = int(uuid[0:8] + uuid[9:13] + uuid[14:18], 16)
    upper = int(uuid[19:23] + uuid[24:36], 16)
    return lower ^ upper


def call(agent, method, path, body=None, timeout=15):
    """(status, body, headers) of one request."""
    req = urllib.request.Request(agent.url + path, data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def fire(agent, name, payload=None, **filters):
    q = urllib.parse.urlencode(filters)
    code, body, _ = call(agent, "PUT", "/v1/event/fire/" +
                         urllib.parse.quote(name) + ("?" + q if q else ""),
                         payload)
    return code, body


def fire_ok(agent, name, payload=None, **filters):
    code, body = fire(agent, name, payload, **filters)
    assert code == 200, body
    return json.loads(body)


def listing(agent, name=None, index=None, wait=None, timeout=15):
    """(events, X-Consul-Index) of GET /v1/event/list."""
    q = {}
    if name is not None:
        q["name"] = name
    if index is not None:
        q["index"] = str(index)
    if wait is not None:
        q["wait"] = wait
    path = "/v1/event/list" + ("?" + urllib.parse.urlencode(q) if q else "")
    code, body, hdrs = call(agent, "GET", path, timeout=timeout)
    assert code == 200, body
    return json.loads(body), int(hdrs["X-Consul-Index"])


def unique(prefix):
    return "%s-%d-%d" % (prefix, os.getpid(), int(time.time() * 1e6))


def test_fire_answer_and_list_round_trip(agent):
    name = unique("deploy")
    payload = b"v1.2.3 \x00\xff binary"
    ev = fire_ok(agent, name, payload)
    assert list(ev) == FIELDS
    assert UUID.match(ev["ID"])
    assert ev["Name"] == name
    assert base64.b64decode(ev["Payload"]) == payload
    assert (ev["NodeFilter"], ev["ServiceFilter"], ev["TagFilter"]) == \
        ("", "", "")
    # Consul answers before serf stamps the Lamport time.
    assert (ev["Version"], ev["LTime"]) == (1, 0)

    evs, index = listing(agent)
    mine = [e for e in evs if e["ID"] == ev["ID"]]
    assert len(mine) == 1
    assert list(mine[0]) == FIELDS
    assert base64.b64decode(mine[0]["Payload"]) == payload
    assert mine[0]["Name"] == name and mine[0]["Version"] == 1
    # The last listed event gives the index.
    assert evs[-1]["ID"] == ev["ID"]
    assert index == id_index(ev["ID"])


def test_no_payload_is_null_and_ltime_grows(agent):
    name = unique("nopayload")
    a = fire_ok(agent, name)
    b = fire_ok(agent, name, b"")
    assert a["Payload"] is None and b["Payload"] is None
    evs, _ = listing(agent, name)
    assert [e["ID"] for e in evs] == [a["ID"], b["ID"]]
    assert all(e["Payload"] is None for e in evs)
    # Each fire takes the next Lamport time.
    assert evs[1]["LTime"] == evs[0]["LTime"] + 1


def test_name_filter_and_empty_index(agent):
    na, nb = unique("a"), unique("b")
    a1 = fire_ok(agent, na, b"1")
    b1 = fire_ok(agent, nb, b"2")
    a2 = fire_ok(agent, na, b"3")
    evs, index = listing(agent, na)
    assert [e["ID"] for e in evs] == [a1["ID"], a2["ID"]]
    assert index == id_index(a2["ID"])
    evs, index = listing(agent, nb)
    assert [e["ID"] for e in evs] == [b1["ID"]]
    assert index == id_index(b1["ID"])
    # No such events: an empty list and index 1, never 0.
    evs, index = listing(agent, unique("none"))
    assert (evs, index) == ([], 1)


def test_blocking_list_wakes_on_fire(agent):
    name = unique("block")
    evs, index = listing(agent, name)
    assert (evs, index) == ([], 1)
    got = {}

    def block():
        got["r"] = listing(agent, name, index=index, wait="60s", timeout=90)

    t = threading.Thread(target=block)
    t.start()
    time.sleep(0.5)
    ev = fire_ok(agent, name, b"wake")
    t.join(60)
    assert not t.is_alive()
    evs, new_index = got["r"]
    assert [e["ID"] for e in evs] == [ev["ID"]]
    assert base64.b64decode(evs[0]["Payload"]) == b"wake"
    assert new_index == id_index(ev["ID"])

    # Blocking on the new index: another name's event does not wake it;
    # the wait runs out and the same list comes back.
    fire_ok(agent, unique("other"))
    evs2, index2 = listing(agent, name, index=new_index, wait="1s")
    assert [e["ID"] for e in evs2] == [ev["ID"]]
    assert index2 == new_index


def test_blocking_list_bad_params(agent):
    code, body, _ = call(agent, "GET", "/v1/event/list?wait=5x&index=3")
    assert (code, body) == (400, b"Invalid wait time")
    code, body, _ = call(agent, "GET", "/v1/event/list?index=-1")
    assert (code, body) == (400, b"Invalid index")


def test_size_limit_413(agent):
    name = "big"
    ev = fire_ok(agent, name, b"p" * (512 - len(name)))
    assert len(base64.b64decode(ev["Payload"])) == 509
    code, body = fire(agent, name, b"p" * 510)
    assert code == 413
    assert body.decode() == ("user event exceeds the limit of 512 bytes "
                             "(name 3 + payload 510)")
    evs, _ = listing(agent, name)
    assert [e["ID"] for e in evs] == [ev["ID"]]


def test_missing_name_and_methods(agent):
    for path in ("/v1/event/fire/", "/v1/event/fire"):
        code, body, _ = call(agent, "PUT", path, b"x")
        assert (code, body) == (400, b"Missing name")
    code, _, hdrs = call(agent, "GET", "/v1/event/fire/x")
    assert code == 405 and hdrs["Allow"] == "PUT"
    code, _, hdrs = call(agent, "PUT", "/v1/event/list", b"")
    assert code == 405 and hdrs["Allow"] == "GET"


def test_bad_filters_400(agent):
    code, body = fire(agent, "e", tag="v1")
    assert (code, body) == (400, b"Cannot provide tag filter without "
                            b"service filter")
    code, body = fire(agent, "e", node="(")
    assert code == 400 and body.startswith(b"Invalid node filter: ")
    code, body = fire(agent, "e", service="web", tag="a[")
    assert code == 400 and body.startswith(b"Invalid tag filter: ")


def test_filters_against_this_node(agent):
    """Events whose filters do not match this node are not recorded
    here (Consul's ingestUserEvent), but the fire succeeds."""
    name = unique("filt")
    cases = [
        ({"node": "^%s$" % re.escape(agent.node)}, True),
        ({"node": "^not-%s$" % re.escape(agent.node)}, False),
        ({"service": "^web$"}, True),           # the service name
        ({"service": "^web-1$"}, True),         # the service ID
        ({"service": "^db$", "tag": "replica"}, True),
        ({"service": "^web$", "tag": "^primary$"}, True),
        ({"service": "^web$", "tag": "replica"}, False),
        ({"service": "mysql"}, False),
        ({"node": "^not-me$", "service": "web"}, False),
    ]
    want = []
    for filters, delivered in cases:
        ev = fire_ok(agent, name, json.dumps(filters).encode(), **filters)
        assert ev["NodeFilter"] == filters.get("node", "")
        assert ev["ServiceFilter"] == filters.get("service", "")
        assert ev["TagFilter"] == filters.get("tag", "")
        if delivered:
            want.append(ev["ID"])
    evs, _ = listing(agent, name)
    assert [e["ID"] for e in evs] == want
    for e in evs:
        f = json.loads(base64.b64decode(e["Payload"]))
        assert e["NodeFilter"] == f.get("node", "")
        assert e["ServiceFilter"] == f.get("service", "")


def test_cli_event(agent):
    name = unique("cli")
    r = agent.cli("event", "-name", name, "-service", "web", "hello")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    m = re.match(r"^Event ID: (\S+)\n$", out)
    assert m and UUID.match(m.group(1)), out
    evs, _ = listing(agent, name)
    assert [e["ID"] for e in evs] == [m.group(1)]
    assert base64.b64decode(evs[0]["Payload"]) == b"hello"
    assert evs[0]["ServiceFilter"] == "web"

    r = agent.cli("event")
    assert r.returncode == 1
    assert r.stderr.decode().startswith("Event name must be specified\n")
    assert "Usage: cairn event" in r.stderr.decode()
    r = agent.cli("event", "-name", "x", "-tag", "v1")
    assert r.returncode == 1
    assert r.stderr.decode() == \
        "Cannot provide tag filter without service filter.\n"
    r = agent.cli("event", "-name", "x", "-node", "(")
    assert r.returncode == 1
    assert r.stderr.decode().startswith(
        "Failed to compile node filter regexp: ")
    r = agent.cli("event", "-name", "x", "a", "b")
    assert r.returncode == 1
    assert r.stderr.decode().startswith("Too many command line arguments.")
    r = agent.cli("event", "-name", "big", "x" * 600)
    assert r.returncode == 1
    assert r.stderr.decode() == (
        "Error firing event: Unexpected response code: 413 (user event "
        "exceeds the limit of 512 bytes (name 3 + payload 600))\n")
    r = agent.cli("event", "-h")
    assert r.returncode == 0
    assert "-name=<string>" in r.stdout.decode()


def test_cli_event_agent_down(agent):
    r = agent.cli("event", "-name", "x",
                  env={"CAIRN_HTTP_ADDR": "127.0.0.1:1"})
    assert r.returncode == 1
    assert r.stderr.decode().startswith("Error querying Consul agent: ")


def wait_lines(path, n, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                lines = f.read().splitlines()
            if len(lines) >= n:
                return lines
        time.sleep(0.1)
    raise AssertionError("fewer than %d lines in %s" % (n, path))


def test_cli_watch_handler(agent, tmp_path):
    name = unique("watch")
    out = tmp_path / "events"
    idx = tmp_path / "index"
    script = "cat >> %s; echo $CONSUL_INDEX >> %s" % (out, idx)
    env = dict(os.environ, CAIRN_HTTP_ADDR="%s:%d" % (agent.addr,
                                                      agent.http))
    env.pop("CONSUL_HTTP_ADDR", None)
    p = subprocess.Popen([os.path.join(BIN, "cairn"), "watch", "-type",
                          "event", "-name", name, script], env=env,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        # Consul's watch runs the handler once at start, with what is
        # there (nothing yet).
        assert wait_lines(str(out), 1) == ["[]"]
        assert wait_lines(str(idx), 1) == ["1"]
        e1 = fire_ok(agent, name, b"one")
        wait_lines(str(out), 2)
        e2 = fire_ok(agent, name, b"two")
        lines = wait_lines(str(out), 3)
        # Each run gets only the events it has not seen: each once.
        got = [e for line in lines[1:] for e in json.loads(line)]
        assert [e["ID"] for e in got] == [e1["ID"], e2["ID"]]
        assert [base64.b64decode(e["Payload"]) for e in got] == \
            [b"one", b"two"]
        assert list(got[0]) == FIELDS
        indexes = wait_lines(str(idx), 3)
        assert int(indexes[-1]) == id_index(e2["ID"])
        assert p.poll() is None
    finally:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def test_cli_watch_handler_failure_stops(agent, tmp_path):
    r = agent.cli("watch", "-type", "event", "-name", unique("f"), "exit 3")
    assert r.returncode == 1
    assert "Error executing handler: exit status 3" in r.stderr.decode()


def test_cli_watch_prints_once_without_handler(agent):
    name = unique("print")
    e1 = fire_ok(agent, name, b"x")
    r = agent.cli("watch", "-type", "event", "-name", name)
    assert r.returncode == 0, r.stderr
    text = r.stdout.decode()
    assert json.loads(text)[0]["ID"] == e1["ID"]
    # MarshalIndent with four spaces.
    assert text.startswith("[\n    {\n        \"ID\": ")
    assert text.endswith("\n]\n")


def test_cli_watch_errors(agent):
    r = agent.cli("watch")
    assert r.returncode == 1
    assert r.stderr.decode().startswith("Watch type must be specified\n")
    r = agent.cli("watch", "-type", "nosuch")
    assert (r.returncode, r.stderr.decode()) == \
        (1, "Unsupported watch type: nosuch\n")
    r = agent.cli("watch", "-type", "event", "-key", "k", "-stale")
    assert (r.returncode, r.stderr.decode()) == \
        (1, "Invalid parameters: [key stale]\n")
    r = agent.cli("watch", "-h")
    assert r.returncode == 0 and "-type=<string>" in r.stdout.decode()



def test_events_reach_every_node_once(make_agent):
    a = make_agent()
    b = make_agent(extra=("-retry-join", serf(a)))
    c = make_agent(extra=("-retry-join", serf(a)))
    three = (a, b, c)
    deadline = time.time() + 45
    while True:
        code, body, _ = call(a, "GET", "/v1/agent/members")
        if code == 200 and len(json.loads(body)) == 3:
            break
        assert time.time() < deadline, "no 3-node cluster"
        time.sleep(0.5)

    name = unique("spread")
    ev = fire_ok(b, name, b"to all")
    only_c = fire_ok(a, name, b"to c", node="^%s$" % re.escape(c.node))

    def views():
        return {x.node: [e["ID"] for e in listing(x, name)[0]]
                for x in three}
    deadline = time.time() + 20
    want = {a.node: [ev["ID"]], b.node: [ev["ID"]],
            c.node: [ev["ID"], only_c["ID"]]}
    while True:
        v = views()
        if all(sorted(v[n]) == sorted(want[n]) for n in want):
            break
        assert time.time() < deadline, v
        time.sleep(0.3)
    # Still exactly once after gossip has had time to repeat itself.
    time.sleep(2)
    v = views()
    assert {n: sorted(ids) for n, ids in v.items()} == \
        {n: sorted(ids) for n, ids in want.items()}
