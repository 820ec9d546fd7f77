"""Independent restart, nothing lost: under a steady stream of KV writes,
kill -9 each daemon in turn. The supervisor restarts it, the others keep
running, a request made while a daemon is away gets an answer (a 5xx,
never a hang), and every acknowledged write is there afterwards."""
import os
import signal
import socket
import threading
import time
import urllib.error

import pytest


class Writer(threading.Thread):
    def __init__(self, agent, prefix):
        super().__init__(daemon=True)
        self.agent, self.prefix = agent, prefix
        self.acked = {}
        self.codes = {}
        self.stop = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set() and i < 200000:
            key = "%s/%06d" % (self.prefix, i)
            val = ("v%d" % i).encode()
            try:
                code, body = self.agent.request("PUT", "/v1/kv/" + key, val,
                                                timeout=15)
            except socket.timeout:
                code, body = "hung", b""    # no answer within 15 s
            except (OSError, urllib.error.URLError):
                code, body = "refused", b""
                time.sleep(0.02)
            self.codes[code] = self.codes.get(code, 0) + 1
            if code == 200 and body == b"true":
                self.acked[key] = val
            i += 1


@pytest.mark.parametrize("daemon", ["kvd", "raftd", "httpd", "gossipd",
                                    "checkd", "dnsd"])
def test_kill9_each_daemon(make_agent, daemon):
    agent = make_agent()
    w = Writer(agent, "restart-" + daemon)
    w.start()
    time.sleep(1.0)
    before = len(w.acked)
    assert before > 0, "no write went through before the kill"
    others = {n: p for p, n in agent.children().items() if n != daemon}
    old = agent.daemon_pid(daemon)
    assert old, "no %s running: %s" % (daemon, agent.children())
    os.kill(old, signal.SIGKILL)
    deadline = time.time() + 30
    new = None
    while time.time() < deadline:
        new = agent.daemon_pid(daemon)
        if new and new != old:
            break
        time.sleep(0.05)
    assert new and new != old, "%s was not restarted" % daemon
    # writes resume once it is back
    count = len(w.acked)
    deadline = time.time() + 30
    while len(w.acked) < count + 20 and time.time() < deadline:
        time.sleep(0.05)
    w.stop.set()
    w.join(30)
    assert len(w.acked) >= count + 20, "writes did not resume: %s" % w.codes
    assert "hung" not in w.codes, "a request hung while %s was away" % daemon
    # the other daemons kept running, untouched
    now = {n: p for p, n in agent.children().items()}
    for name, pid in others.items():
        assert now.get(name) == pid, "%s was restarted too" % name
    # reads are served again (httpd reconnects to a restarted kvd)...
    deadline = time.time() + 10
    while agent.request("GET", "/v1/kv/_ready")[0] != 200:
        assert time.time() < deadline, "reads did not come back"
        time.sleep(0.1)
    # ...and nothing acknowledged was lost
    for key, val in w.acked.items():
        code, body = agent.request("GET", "/v1/kv/%s?raw" % key)
        assert (code, body) == (200, val), "lost %s" % key
    # only 200s or clear 5xx answers (or refused while httpd was away)
    for code in w.codes:
        if code == "refused":
            assert daemon == "httpd", w.codes
        else:
            assert code == 200 or 500 <= code <= 599, w.codes
