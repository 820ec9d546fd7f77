"""Integration harness: real cairn agents on loopback.

Each Agent gets its own 127.x.y.z address, free ports and a temporary data
dir, is started as `cairn agent -dev ...` (the supervisor starts the real
daemons), and is stopped by pid. A failing test prints the agent's log.
"""
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

BUILD = os.environ.get("CAIRN_BUILD") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build"))
BIN = os.path.join(BUILD, "bin")
DAEMONS = ["gossipd", "raftd", "kvd", "checkd", "dnsd", "httpd"]


def free_port(addr, kind=socket.SOCK_STREAM):
    """A port free on addr for both TCP and UDP."""
    for _ in range(200):
        port = random.randint(20000, 60000)
        ok = True
        for k in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, k)
            try:
                s.bind((addr, port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise RuntimeError("no free port on %s" % addr)


_addrs_used = set()


def loopback_addr():
    """A 127/8 address no agent of this run has had."""
    while True:
        a = "127.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254),
                              random.randint(2, 254))
        if a not in _addrs_used:
            _addrs_used.add(a)
            return a


# Node names: counted, so that no two agents of a run share one (two
# random ones did, 1 run in 200 of the ten-agent gossip test, and the
# second could never join); from a random start, so that runs side by
# side differ too.
_node_numbers = itertools.count(random.randint(1000, 8999))


class Agent:
    def __init__(self, config=None, node=None, extra=(), dev=True):
        self.addr = loopback_addr()
        self.dir = tempfile.mkdtemp(prefix="cairn-it.")
        self.data = os.path.join(self.dir, "data")
        self.confdir = os.path.join(self.dir, "conf")
        os.makedirs(self.confdir)
        self.node = node or "node-%d" % next(_node_numbers)
        self.http = free_port(self.addr)
        self.dns = free_port(self.addr)
        self.ports = {p: free_port(self.addr)
                      for p in ("server", "serf-lan", "serf-wan")}
        for name, text in (config or {}).items():
            with open(os.path.join(self.confdir, name), "w") as f:
                f.write(text)
        self.args = (["-dev"] if dev else []) + [
                     "-data-dir", self.data, "-node", self.node,
                     "-bind", self.addr, "-client", self.addr,
                     "-http-port", str(self.http), "-dns-port", str(self.dns),
                     "-server-port", str(self.ports["server"]),
                     "-serf-lan-port", str(self.ports["serf-lan"]),
                     "-serf-wan-port", str(self.ports["serf-wan"]),
                     "-config-dir", self.confdir] + list(extra)
        self.logpath = os.path.join(self.dir, "agent.log")
        self.proc = None

    @property
    def url(self):
        return "http://%s:%d" % (self.addr, self.http)

    def start(self, wait=True):
        """Start; wait (a dev agent) until a write goes through."""
        self.log = open(self.logpath, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "cairn"), "agent"]
                                     + self.args, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_up(self, timeout=30):
        """Up when every daemon runs and the HTTP API answers."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("agent exited with %s\n%s" %
                                   (self.proc.returncode, self.logtext()))
            try:
                code, _ = self.request("GET", "/v1/agent/self", timeout=2)
                if code == 200 and len(self.children()) >= 4:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("agent not up\n%s" % self.logtext())

    def wait_ready(self, timeout=30):
        """Ready when a KV write goes through the whole write path."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("agent exited with %s\n%s" %
                                   (self.proc.returncode, self.logtext()))
            try:
                code, _ = self.request("PUT", "/v1/kv/_ready", b"1")
                if code == 200 and self.daemon_pid("dnsd") and \
                        self.daemon_pid("checkd"):
                    return
                last = code
            except OSError as e:
                last = e
            time.sleep(0.1)
        raise RuntimeError("agent not ready (%s)\n%s" % (last, self.logtext()))

    def request(self, method, path, body=None, timeout=10, headers=None):
        req = urllib.request.Request(self.url + path, data=body,
                                     method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def children(self):
        """pid -> daemon name for the supervisor's children."""
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % pid) as f:
                    stat = f.read()
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv0 = f.read().split(b"\0")[0].decode()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid and "cairn-" in argv0:
                out[int(pid)] = os.path.basename(argv0)[len("cairn-"):]
        return out

    def daemon_pid(self, name):
        for pid, n in self.children().items():
            if n == name:
                return pid
        return None

    def cli(self, *args, input=None, env=None):
        e = dict(os.environ)
        e["CAIRN_HTTP_ADDR"] = "%s:%d" % (self.addr, self.http)
        e.pop("CONSUL_HTTP_ADDR", None)
        e.update(env or {})
        return subprocess.run([os.path.join(BIN, "cairn")] + list(args),
                              input=input, capture_output=True, env=e,
                              timeout=30)

    def dig(self, *args):
        r = subprocess.run(["dig", "@" + self.addr, "-p", str(self.dns),
                            "+time=2", "+tries=1"] + list(args),
                           capture_output=True, text=True, timeout=30)
        return r.stdout

    def crash(self):
        """kill -9 every daemon of this agent, then the agent: a crash,
        not the clean stop the supervisor gives its children when it
        alone is killed."""
        for pid in self.children():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()

    def sanitizer_reports(self):
        """ASan/UBSan lines in this agent's whole log (make test-asan)."""
        try:
            with open(self.logpath, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return []
        return [line[:300] for line in text.splitlines()
                if "ERROR: AddressSanitizer" in line or
                "ERROR: LeakSanitizer" in line or "runtime error:" in line]

    def logtext(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode(errors="replace")[-20000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        # anything of ours left behind is a bug, but never leave it running
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (OSError, TypeError, AttributeError):
            pass
        if getattr(self, "log", None):
            self.log.close()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for a in getattr(item, "_cairn_agents", []):
            rep.sections.append(("cairn agent log (%s)" % a.node,
                                 a.logtext()))


@pytest.fixture
def make_agent(request):
    made = []

    def make(wait=True, **kw):
        a = Agent(**kw)
        made.append(a)
        request.node._cairn_agents = made
        return a.start(wait=wait)
    yield make
    for a in made:
        a.stop()
    reports = [(a.node, r) for a in made for r in a.sanitizer_reports()]
    for a in made:
        a.cleanup()
    # Under make test-asan a daemon's report is a failure of the test
    # that drove it, even if its answers looked right.
    assert not reports, "sanitizer reports: %r" % reports


@pytest.fixture(scope="module")
def agent(request):
    a = Agent(config=getattr(request.module, "AGENT_CONFIG", None)).start()
    yield a
    a.stop()
    reports = a.sanitizer_reports()
    a.cleanup()
    assert not reports, "sanitizer reports: %r" % reports


@pytest.fixture(autouse=True)
def _attach_module_agent(request):
    if "agent" in request.fixturenames:
        request.node._cairn_agents = [request.getfixturevalue("agent")]
    yield


# Helpers the test files share.

def serf(a):
    """An agent's LAN gossip address, as -retry-join and `join` take it."""
    return "%s:%d" % (a.addr, a.ports["serf-lan"])


def members(agent):
    """Name -> member, from /v1/agent/members."""
    code, body = agent.request("GET", "/v1/agent/members")
    assert code == 200, body
    return {m["Name"]: m for m in json.loads(body)}


def wait_for(fn, what, timeout=30):
    """Poll fn until it returns something true (errors count as not yet);
    fail after timeout, saying what was awaited and the last answer."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
        except (OSError, ValueError) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def get_json(agent, path):
    code, body = agent.request("GET", path)
    return json.loads(body) if code == 200 else None
