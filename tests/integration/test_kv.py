"""KV over HTTP against a real dev agent: urllib, raw sockets, curl and
python-consul, Consul's JSON, status codes and headers."""
import base64
import json
import socket
import subprocess

import consul


def client(agent):
    return consul.Consul(host=agent.addr, port=agent.http)


def test_put_get_json_shape(agent):
    code, body = agent.request("PUT", "/v1/kv/shape/k1?flags=42", b"hello")
    assert (code, body) == (200, b"true")
    code, body = agent.request("GET", "/v1/kv/shape/k1")
    assert code == 200
    entries = json.loads(body)
    assert len(entries) == 1
    e = entries[0]
    assert list(e.keys()) == ["LockIndex", "Key", "Flags", "Value",
                              "CreateIndex", "ModifyIndex"]
    assert e["Key"] == "shape/k1" and e["Flags"] == 42
    assert base64.b64decode(e["Value"]) == b"hello"
    assert e["CreateIndex"] == e["ModifyIndex"] > 0


def test_index_header_and_raw(agent):
    agent.request("PUT", "/v1/kv/raw/k", b"\x00\x01binary\xff")
    out = subprocess.run(["curl", "-s", "-i", agent.url + "/v1/kv/raw/k?raw"],
                         capture_output=True, timeout=10).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"200 OK" in head
    assert b"X-Consul-Index:" in head
    assert body == b"\x00\x01binary\xff"


def test_missing_key_404_and_empty_value_null(agent):
    code, body = agent.request("GET", "/v1/kv/does/not/exist")
    assert code == 404 and body == b""
    agent.request("PUT", "/v1/kv/empty", b"")
    code, body = agent.request("GET", "/v1/kv/empty")
    assert json.loads(body)[0]["Value"] is None


def test_missing_key_name_400(agent):
    code, body = agent.request("GET", "/v1/kv/")
    assert code == 400 and b"Missing key name" in body
    code, body = agent.request("PUT", "/v1/kv/", b"x")
    assert code == 400


def test_recurse_keys_separator(agent):
    for k in ("tree/a", "tree/b/c", "tree/b/d", "tree/e/f/g", "treetop"):
        assert agent.request("PUT", "/v1/kv/" + k, k.encode())[0] == 200
    code, body = agent.request("GET", "/v1/kv/tree/?recurse")
    assert [e["Key"] for e in json.loads(body)] == \
        ["tree/a", "tree/b/c", "tree/b/d", "tree/e/f/g"]
    code, body = agent.request("GET", "/v1/kv/tree/?keys&separator=/")
    assert json.loads(body) == ["tree/a", "tree/b/", "tree/e/"]
    code, body = agent.request("GET", "/v1/kv/tree?keys")
    assert json.loads(body) == ["tree/a", "tree/b/c", "tree/b/d",
                                "tree/e/f/g", "treetop"]
    code, _ = agent.request("GET", "/v1/kv/nothing-here/?keys")
    assert code == 404
    code, _ = agent.request("GET", "/v1/kv/nothing-here/?recurse")
    assert code == 404


def test_cas(agent):
    assert agent.request("PUT", "/v1/kv/cas/k?cas=0", b"v1")[1] == b"true"
    assert agent.request("PUT", "/v1/kv/cas/k?cas=0", b"v2")[1] == b"false"
    idx = json.loads(agent.request("GET", "/v1/kv/cas/k")[1])[0][
        "ModifyIndex"]
    assert agent.request("PUT", "/v1/kv/cas/k?cas=%d" % (idx + 1000),
                         b"v3")[1] == b"false"
    assert agent.request("PUT", "/v1/kv/cas/k?cas=%d" % idx,
                         b"v4")[1] == b"true"
    e = json.loads(agent.request("GET", "/v1/kv/cas/k")[1])[0]
    assert base64.b64decode(e["Value"]) == b"v4"
    assert e["CreateIndex"] == idx and e["ModifyIndex"] > idx
    assert agent.request("DELETE", "/v1/kv/cas/k?cas=%d" % idx)[1] == \
        b"false"
    assert agent.request("DELETE", "/v1/kv/cas/k?cas=%d" %
                         e["ModifyIndex"])[1] == b"true"
    assert agent.request("GET", "/v1/kv/cas/k")[0] == 404
    code, body = agent.request("PUT", "/v1/kv/cas/k?cas=abc", b"x")
    assert code == 400


def test_delete_recurse(agent):
    for k in ("del/a", "del/b", "delx"):
        agent.request("PUT", "/v1/kv/" + k, b"x")
    assert agent.request("DELETE", "/v1/kv/del/?recurse")[1] == b"true"
    assert agent.request("GET", "/v1/kv/del/?recurse")[0] == 404
    assert agent.request("GET", "/v1/kv/delx")[0] == 200


def test_oversized_body_413(agent):
    code, body = agent.request("PUT", "/v1/kv/big", b"x" * (512 * 1024 + 1))
    assert code == 413
    assert b"too large" in body
    code, _ = agent.request("PUT", "/v1/kv/big", b"x" * (512 * 1024))
    assert code == 200
    code, body = agent.request("GET", "/v1/kv/big?raw")
    assert len(body) == 512 * 1024


def raw_http(agent, data, expect_responses):
    s = socket.create_connection((agent.addr, agent.http), timeout=10)
    s.sendall(data)
    got = b""
    while got.count(b"HTTP/1.1 ") < expect_responses:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    return got


def test_pipelined_requests_in_order(agent):
    reqs = b""
    for i in range(5):
        body = b"p%d" % i
        reqs += (b"PUT /v1/kv/pipe/%d HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (i, len(body), body))
        reqs += b"GET /v1/kv/pipe/%d?raw HTTP/1.1\r\nHost: x\r\n\r\n" % i
    got = raw_http(agent, reqs, 10)
    parts = got.split(b"HTTP/1.1 ")[1:]
    assert len(parts) == 10
    for i in range(5):
        assert parts[2 * i].rstrip().endswith(b"true")
        assert parts[2 * i + 1].rstrip().endswith(b"p%d" % i)


def test_malformed_request_400_and_still_serving(agent):
    got = raw_http(agent, b"GARBAGE \x00\x01 nonsense\r\n\r\n", 1)
    assert got.startswith(b"HTTP/1.1 400")
    assert agent.request("GET", "/v1/kv/_ready")[0] == 200


def test_unknown_path_404_and_method_405(agent):
    assert agent.request("GET", "/v1/nonsense")[0] == 404
    assert agent.request("POST", "/v1/kv/x", b"")[0] == 405


def test_python_consul_kv(agent):
    c = client(agent)
    assert c.kv.put("py/one", "1") is True
    assert c.kv.put("py/two", "2", flags=7) is True
    index, data = c.kv.get("py/one")
    assert data["Value"] == b"1" and int(index) > 0
    index, data = c.kv.get("py/", recurse=True)
    assert [d["Key"] for d in data] == ["py/one", "py/two"]
    assert data[1]["Flags"] == 7
    index, keys = c.kv.get("py/", keys=True, separator="/")
    assert keys == ["py/one", "py/two"]
    assert c.kv.put("py/one", "x", cas=0) is False
    _, cur = c.kv.get("py/one")
    assert c.kv.put("py/one", "3", cas=cur["ModifyIndex"]) is True
    assert c.kv.delete("py/two") is True
    assert c.kv.get("py/two")[1] is None
    assert c.kv.delete("py/", recurse=True) is True
    assert c.kv.get("py/", recurse=True)[1] is None


def test_python_consul_status(agent):
    c = client(agent)
    leader = c.status.leader()
    assert leader == "%s:%d" % (agent.addr, agent.ports["server"])
    assert c.status.peers() == [leader]


def test_cli_export_import_round_trip(agent, tmp_path):
    """`cairn kv export` writes Consul's tab-indented JSON; `kv import`
    (from @file, and from stdin) puts back the same keys, flags and
    values, binary and empty ones included."""
    agent.request("PUT", "/v1/kv/exp/a?flags=42", b"alpha")
    agent.request("PUT", "/v1/kv/exp/b/bin", bytes(range(256)))
    agent.request("PUT", "/v1/kv/exp/empty", b"")
    r = agent.cli("kv", "export", "exp/")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b'[\n\t{\n\t\t"key": "exp/a",\n'
                               b'\t\t"flags": 42,\n\t\t"value": "YWxwaGE="'
                               b'\n\t},\n')
    exported = json.loads(r.stdout)
    assert [e["key"] for e in exported] == ["exp/a", "exp/b/bin",
                                            "exp/empty"]
    # move the tree elsewhere: rename the keys and import
    for e in exported:
        e["key"] = "imp/" + e["key"]
    path = tmp_path / "tree.json"
    path.write_text(json.dumps(exported))
    r = agent.cli("kv", "import", "@%s" % path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"Imported: imp/exp/a\nImported: imp/exp/b/bin\n" \
        b"Imported: imp/exp/empty\n"
    assert agent.request("GET", "/v1/kv/imp/exp/b/bin?raw") == \
        (200, bytes(range(256)))
    e = json.loads(agent.request("GET", "/v1/kv/imp/exp/a")[1])[0]
    assert e["Flags"] == 42 and e["Value"] == "YWxwaGE="
    assert agent.request("GET", "/v1/kv/imp/exp/empty?raw") == (200, b"")
    # from stdin; an empty prefix exports []
    r = agent.cli("kv", "import", "-", input=b'[{"key": "std/in", '
                  b'"flags": 0, "value": "eA=="}]')
    assert (r.returncode, r.stdout) == (0, b"Imported: std/in\n")
    assert agent.cli("kv", "export", "nothing/here").stdout == b"[]\n"
    # bad input: said, exit 1, nothing written
    r = agent.cli("kv", "import", "{not json")
    assert r.returncode == 1 and b"Cannot unmarshal data" in r.stderr
    r = agent.cli("kv", "import", '[{"key": "x", "value": "%%%"}]')
    assert r.returncode == 1 and b"base 64" in r.stderr
    assert agent.request("GET", "/v1/kv/x")[0] == 404
