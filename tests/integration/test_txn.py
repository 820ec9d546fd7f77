"""PUT /v1/txn, Consul's transactions of KV operations: every verb, all
or nothing (409 with Errors, nothing applied), the 413 past 128
operations, and bad bodies. python3-consul 0.7 has no txn API, so its
HTTP client (c.http) carries the requests, as its users do."""
import base64
import json

import consul
import pytest

from conftest import wait_for


def b64(s):
    return base64.b64encode(s.encode()).decode()


def txn(agent, ops):
    code, body = agent.request("PUT", "/v1/txn", json.dumps(ops).encode())
    return code, (json.loads(body) if body[:1] in (b"{", b"[") else body)


def kv(verb, key, value=None, **kw):
    op = {"Verb": verb, "Key": key}
    if value is not None:
        op["Value"] = b64(value)
    op.update(kw)
    return {"KV": op}


def test_every_verb(agent):
    code, out = txn(agent, [kv("set", "tx/a", "1", Flags=7),
                            kv("set", "tx/b", "2"),
                            kv("get", "tx/a")])
    assert code == 200 and out["Errors"] is None
    r = [x["KV"] for x in out["Results"]]
    assert [x["Key"] for x in r] == ["tx/a", "tx/b", "tx/a"]
    assert r[0]["Value"] is None and r[0]["Flags"] == 7     # writes: no value
    assert r[2]["Value"] == b64("1")
    a_index = r[0]["ModifyIndex"]
    code, out = txn(agent, [kv("cas", "tx/a", "3", Index=a_index),
                            kv("check-index", "tx/b",
                               Index=r[1]["ModifyIndex"]),
                            kv("check-not-exists", "tx/none"),
                            kv("get-or-empty", "tx/none"),
                            kv("get-tree", "tx/"),
                            kv("delete", "tx/b"),
                            kv("delete-cas", "tx/zz", Index=5)])
    assert code == 200, out
    keys = [x["KV"]["Key"] for x in out["Results"]]
    assert keys == ["tx/a", "tx/b", "tx/none", "tx/a", "tx/b"]
    assert out["Results"][3]["KV"]["Value"] == b64("3")
    c = consul.Consul(host=agent.addr, port=agent.http)
    assert c.kv.get("tx/b")[1] is None
    code, out = txn(agent, [kv("delete-tree", "tx/")])
    assert code == 200 and out["Results"] == []
    assert c.kv.get("tx/", recurse=True)[1] is None


def test_rollback_applies_nothing(agent):
    c = consul.Consul(host=agent.addr, port=agent.http)
    c.kv.put("rb/x", "orig")
    code, out = txn(agent, [kv("set", "rb/new", "n"),
                            kv("set", "rb/x", "changed"),
                            kv("cas", "rb/x", "y", Index=1),
                            kv("check-not-exists", "rb/x"),
                            kv("get", "rb/missing")])
    assert code == 409 and out["Results"] is None
    assert out["Errors"] == [
        {"OpIndex": 2, "What": 'failed to set key "rb/x", index is stale'},
        {"OpIndex": 3, "What": 'key "rb/x" exists'},
        {"OpIndex": 4, "What": 'key "rb/missing" doesn\'t exist'}]
    assert c.kv.get("rb/new")[1] is None
    assert c.kv.get("rb/x")[1]["Value"] == b"orig"


def test_lock_unlock_check_session(agent):
    c = consul.Consul(host=agent.addr, port=agent.http)
    # the leader registers this node (serfHealth) shortly after start
    sid = wait_for(lambda: _session(c), "a session")
    code, out = txn(agent, [kv("lock", "tl/k", "v", Session=sid),
                            kv("check-session", "tl/k", Session=sid)])
    assert code == 200, out
    assert out["Results"][0]["KV"]["Session"] == sid
    assert out["Results"][0]["KV"]["LockIndex"] == 1
    code, out = txn(agent, [kv("unlock", "tl/k", "v", Session="other")])
    assert code == 409 and "lock isn't held" in out["Errors"][0]["What"]
    code, out = txn(agent, [kv("unlock", "tl/k", "v", Session=sid),
                            kv("check-session", "tl/k", Session=sid)])
    assert code == 409 and out["Errors"][0]["OpIndex"] == 1
    assert c.kv.get("tl/k")[1]["Session"] == sid    # rolled back
    c.session.destroy(sid)


def _session(c):
    try:
        return c.session.create(lock_delay=0)
    except consul.base.ConsulException:
        return None


def test_python_consul_http_client(agent):
    c = consul.Consul(host=agent.addr, port=agent.http)
    out = c.http.put(lambda r: json.loads(r.body), "/v1/txn",
                     data=json.dumps([kv("set", "py/t", "x"),
                                      kv("get", "py/t")]))
    assert out["Results"][1]["KV"]["Value"] == b64("x")


def test_too_many_operations(agent):
    code, body = txn(agent, [kv("get", "x")] * 129)
    assert (code, body) == (413, b"Transaction contains too many "
                            b"operations (129 > 128)")
    assert txn(agent, [kv("check-not-exists", "x")] * 128)[0] == 200


@pytest.mark.parametrize("body,code,text", [
    (b"", 400, b"EOF"),
    (b"[", 400, b"Request decode failed"),
    (b'{"KV":{}}', 400, b"cannot unmarshal object"),
    (b'[{"Node":{"Verb":"get"}}]', 400, b"only KV operations"),
    (b'[{"KV":{"Verb":"set","Key":"k","Value":"@@"}}]', 400, b"base64"),
    (b'[{"KV":{"Key":"k"}}]', 400, b"missing Verb"),
    (b'[{"KV":{"Verb":"set","Key":"k","Flags":-1}}]', 400, b"unsigned"),
    (b'[{"KV":{"Verb":"bogus","Key":"k"}}]', 409, b"unknown KV verb"),
])
def test_bad_bodies(agent, body, code, text):
    got, reply = agent.request("PUT", "/v1/txn", body)
    assert got == code and text in reply, (got, reply)
