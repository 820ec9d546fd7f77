"""Blocking KV queries (?index=&wait=), Consul's way: a read with the
index it already has waits until its key (or a key under its prefix)
changes or the wait runs out; a change elsewhere does not wake it. Driven
with urllib and python3-consul against a dev agent, and on a follower of
three servers, where the read is forwarded to the leader. And the CAS
race of issue 5: concurrent increments by CAS lose nothing."""
import base64
import json
import os
import signal
import subprocess
import threading
import time

import consul

from conftest import BIN
from test_events import wait_lines
from test_raft_cluster import by_rpc, cluster, put, wait_leader


def get(agent, path, timeout=60):
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(agent.url + path, timeout=timeout) as r:
            return r.status, int(r.headers["X-Consul-Index"]), r.read()
    except urllib.error.HTTPError as e:
        return e.code, None, e.read()


class Blocked(threading.Thread):
    """One blocking GET in the background."""

    def __init__(self, agent, path):
        super().__init__(daemon=True)
        self.agent, self.path, self.result = agent, path, None
        self.start()

    def run(self):
        self.result = get(self.agent, self.path)


def value(body):
    return json.loads(body)[0]["Value"]


def test_blocking_get_wakes_on_its_key_only(agent):
    assert put(agent, "blk/a", b"1") == (200, b"true")
    code, index, _ = get(agent, "/v1/kv/blk/a")
    assert code == 200
    # An index from the future parks the read whenever it arrives, so
    # the write below cannot race it: only a wake-up answers it.
    b = Blocked(agent, "/v1/kv/blk/a?index=%d&wait=60s" % (index + 1000))
    # another key changes: the table index moves, the watcher sleeps on
    assert put(agent, "blk/other", b"x") == (200, b"true")
    b.join(1.5)
    assert b.is_alive(), "woken by a write to another key: %r" % (b.result,)
    assert put(agent, "blk/a", b"2") == (200, b"true")
    b.join(30)
    code, newindex, body = b.result
    assert code == 200 and newindex > index
    assert value(body) == "Mg=="    # base64 of "2"


def test_wait_runs_out_and_old_index_answers_at_once(agent):
    assert put(agent, "blk/w", b"v") == (200, b"true")
    code, index, body = get(agent, "/v1/kv/blk/w")
    # nothing changes: the answer comes when the wait is over, unchanged
    code2, index2, body2 = get(agent, "/v1/kv/blk/w?index=%d&wait=1s" %
                               index)
    assert (code2, index2, body2) == (code, index, body)
    # an index older than the current one: no wait at all
    code3, index3, _ = get(agent, "/v1/kv/blk/w?index=1&wait=60s",
                           timeout=5)
    assert (code3, index3) == (200, index)


def test_prefix_keys_and_delete_tree_wake(agent):
    assert put(agent, "tree/x", b"1") == (200, b"true")
    _, index, _ = get(agent, "/v1/kv/tree/?recurse")
    rec = Blocked(agent, "/v1/kv/tree/?recurse&index=%d&wait=60s" % index)
    keys = Blocked(agent, "/v1/kv/tree/?keys&index=%d&wait=60s" % index)
    assert put(agent, "tree/y", b"2") == (200, b"true")
    rec.join(30)
    keys.join(30)
    assert rec.result[0] == 200 and rec.result[1] > index
    assert {e["Key"] for e in json.loads(rec.result[2])} == \
        {"tree/x", "tree/y"}
    assert json.loads(keys.result[2]) == ["tree/x", "tree/y"]
    _, index, _ = get(agent, "/v1/kv/tree/x")
    one = Blocked(agent, "/v1/kv/tree/x?index=%d&wait=60s" % index)
    code, _ = agent.request("DELETE", "/v1/kv/tree/?recurse")
    assert code == 200
    one.join(30)
    assert one.result[0] == 404     # the key is gone


def test_bad_index_and_wait(agent):
    assert get(agent, "/v1/kv/blk/a?index=abc")[0::2] == \
        (400, b"Invalid index")
    assert get(agent, "/v1/kv/blk/a?index=1&wait=soon")[0::2] == \
        (400, b"Invalid wait time")


def test_python_consul_blocking_get(agent):
    c = consul.Consul(host=agent.addr, port=agent.http)
    c.kv.put("py/k", "one")
    index, data = c.kv.get("py/k")
    out = {}

    def watch():
        out["r"] = c.kv.get("py/k", index=index, wait="60s")
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    t.join(1)
    assert t.is_alive()
    c.kv.put("py/k", "two")
    t.join(30)
    newindex, data = out["r"]
    assert int(newindex) > int(index) and data["Value"] == b"two"


def test_blocking_read_outlives_the_rpc_timeouts_on_a_follower(make_agent):
    """A default-mode read on a follower goes to the leader; blocked past
    the 10 s every hop allows a plain request, it is still answered."""
    agents = cluster(make_agent, 3)
    leader = by_rpc(agents, wait_leader(agents))
    follower = [a for a in agents if a is not leader][0]
    assert put(follower, "slow/k", b"1") == (200, b"true")
    _, index, _ = get(follower, "/v1/kv/slow/k")
    b = Blocked(follower, "/v1/kv/slow/k?index=%d&wait=40s" % index)
    time.sleep(12)
    assert b.is_alive()
    assert put(leader, "slow/k", b"2") == (200, b"true")
    b.join(30)
    assert b.result[0] == 200 and b.result[1] > index, b.result
    assert value(b.result[2]) == "Mg=="


def test_cas_increment_race_loses_nothing(make_agent):
    """Issue 5's race: clients on every server increment one counter by
    CAS at once; no update is lost, and the final value is the number of
    successful CAS writes."""
    agents = cluster(make_agent, 3)
    wait_leader(agents)
    assert put(agents[0], "race/n", b"0") == (200, b"true")
    wins = []
    lock = threading.Lock()

    def client(a, rounds):
        for _ in range(rounds):
            code, _, body = get(a, "/v1/kv/race/n")
            e = json.loads(body)[0]
            n = int(base64.b64decode(e["Value"]))
            code, ok = put(a, "race/n?cas=%d" % e["ModifyIndex"],
                           str(n + 1).encode())
            if (code, ok) == (200, b"true"):
                with lock:
                    wins.append(n + 1)
    threads = [threading.Thread(target=client, args=(a, 40))
               for a in agents for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    final = int(get(agents[0], "/v1/kv/race/n?raw&consistent")[2])
    assert final == len(wins), (final, len(wins))
    # each success wrote a distinct next value: none was lost or repeated
    assert sorted(wins) == list(range(1, final + 1))
    assert len(wins) > 0


def start_watch(agent, *args):
    env = dict(os.environ, CAIRN_HTTP_ADDR="%s:%d" % (agent.addr,
                                                      agent.http))
    env.pop("CONSUL_HTTP_ADDR", None)
    return subprocess.Popen([os.path.join(BIN, "cairn"), "watch"] +
                            list(args), env=env, stderr=subprocess.PIPE,
                            start_new_session=True)


def test_cli_watch_key_and_keyprefix(agent, tmp_path):
    """`cairn watch -type key|keyprefix HANDLER`: the handler runs at
    start and on each change of the key (or under the prefix), with the
    pair (the pairs) on stdin; a write elsewhere does not run it."""
    assert put(agent, "wk/k", b"one") == (200, b"true")
    kout, pout = tmp_path / "key", tmp_path / "prefix"
    kw = start_watch(agent, "-type", "key", "-key", "wk/k",
                     "cat >> %s" % kout)
    pw = start_watch(agent, "-type", "keyprefix", "-prefix", "wk/",
                     "cat >> %s" % pout)
    try:
        first = json.loads(wait_lines(str(kout), 1)[0])
        assert first["Key"] == "wk/k" and first["Value"] == "b25l"
        assert [e["Key"] for e in
                json.loads(wait_lines(str(pout), 1)[0])] == ["wk/k"]
        assert put(agent, "elsewhere", b"x") == (200, b"true")
        assert put(agent, "wk/k", b"two") == (200, b"true")
        second = json.loads(wait_lines(str(kout), 2)[1])
        assert second["Value"] == "dHdv"    # "two"
        assert put(agent, "wk/other", b"3") == (200, b"true")
        keys = [e["Key"] for e in
                json.loads(wait_lines(str(pout), 3)[-1])]
        assert keys == ["wk/k", "wk/other"]
        # the key watch saw two values, and nothing for the other writes
        time.sleep(1)
        assert len(wait_lines(str(kout), 2)) == 2
        # the key goes: the watch hands on null
        code, _ = agent.request("DELETE", "/v1/kv/wk/k")
        assert code == 200
        assert wait_lines(str(kout), 3)[2] == "null"
        assert kw.poll() is None and pw.poll() is None
    finally:
        for w in (kw, pw):
            os.killpg(w.pid, signal.SIGKILL)
            w.wait()


def test_cli_watch_key_needs_its_option(agent):
    r = agent.cli("watch", "-type", "key", "true")
    assert r.returncode == 1
    assert b"Must specify a single key to watch" in r.stderr
    r = agent.cli("watch", "-type", "keyprefix", "true")
    assert b"Must specify a single prefix to watch" in r.stderr
