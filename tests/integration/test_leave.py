"""Leaving the cluster, as Consul: `cairn leave` (PUT /v1/agent/leave)
makes the agent tell the others it is leaving and shut down, and `cairn
force-leave [-prune] NODE` (PUT /v1/agent/force-leave/NODE[?prune])
marks a failed member left, or forgets it.

The supervisor's part is tested on its own too: a cairn-gossipd that
exits 0 without being asked to (what it does after a leave) ends the
whole node, and `cairn agent` exits 0.
"""
import os
import signal
import time

from conftest import serf, members, wait_for





def all_alive(agents):
    names = {a.node for a in agents}
    return all(set(v) == names and all(m["Status"] == 1 for m in v.values())
               for v in (members(a) for a in agents))


def cli_status(agent, node):
    """node's Status column in `cairn members` on agent, or None."""
    r = agent.cli("members")
    assert r.returncode == 0, r.stderr
    for line in r.stdout.decode().splitlines()[1:]:
        cells = line.split()
        if cells[0] == node:
            return cells[2]
    return None


def alive_pid(pid):
    """Whether pid is still a cairn process (not gone, not reused)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"cairn" in f.read()
    except OSError:
        return False


def wait_agent_exit(agent, timeout=30):
    try:
        return agent.proc.wait(timeout)
    except Exception:
        raise AssertionError("cairn agent did not exit\n" + agent.logtext())


def test_leave_three(make_agent):
    a = make_agent()
    b = make_agent(extra=("-retry-join", serf(a)))
    c = make_agent(extra=("-retry-join", serf(a)))
    wait_for(lambda: all_alive((a, b, c)), "three alive members", timeout=45)
    pids = list(b.children())
    assert len(pids) == 6, b.children()

    r = b.cli("leave")
    assert (r.returncode, r.stdout, r.stderr) == \
        (0, b"Graceful leave complete\n", b"")
    # Consul's agent shuts down after a leave: so does the whole node.
    assert wait_agent_exit(b) == 0, b.logtext()
    assert "graceful leave complete; stopping" in b.logtext()
    assert [p for p in pids if alive_pid(p)] == []
    # The others learn it left (not failed), and keep each other.
    for x in (a, c):
        wait_for(lambda: cli_status(x, b.node) == "left",
                 "%s to show %s left" % (x.node, b.node), timeout=45)
        assert members(x)[b.node]["Status"] == 3
        assert cli_status(x, a.node) == cli_status(x, c.node) == "alive"


def test_gossipd_exit_0_ends_the_node(make_agent):
    """Independent of gossipd's leave: a gossipd that exits 0 on its own
    (here after a SIGTERM the agent did not send) ends the node."""
    a = make_agent()
    pids = list(a.children())
    os.kill(a.daemon_pid("gossipd"), signal.SIGTERM)
    assert wait_agent_exit(a) == 0, a.logtext()
    log = a.logtext()
    assert "graceful leave complete; stopping" in log
    assert "restarting" not in log
    assert [p for p in pids if alive_pid(p)] == []


def test_leave_usage_and_http_errors(make_agent):
    a = make_agent()
    # PUT only, as the other agent endpoints.
    for path in ("/v1/agent/leave", "/v1/agent/force-leave/x"):
        code, _ = a.request("GET", path)
        assert code == 405, path
    code, body = a.request("PUT", "/v1/agent/force-leave/")
    assert (code, body) == (400, b"missing node name")
    code, body = a.request("PUT", "/v1/agent/force-leave/x?wan=1")
    assert code == 501, body

    r = a.cli("force-leave")
    assert r.returncode == 1
    assert r.stderr.startswith(b"A single node name must be specified to "
                               b"force leave.\n\nUsage: cairn force-leave")
    r = a.cli("force-leave", "x", "y")
    assert r.returncode == 1
    assert b"A single node name must be specified" in r.stderr
    r = a.cli("force-leave", "-h")
    assert r.returncode == 0
    assert b"-prune" in r.stdout and b"\"left\" state" in r.stdout
    r = a.cli("leave", "x", "y")
    assert r.returncode == 1
    assert r.stderr.startswith(b"Error found unexpected args: [x y]\n"
                               b"Usage: cairn leave")
    r = a.cli("leave", "-h")
    assert r.returncode == 0
    assert r.stdout.startswith(b"Usage: cairn leave [options]\n")
    # No agent there: Consul's transport error, exit 1.
    r = a.cli("leave", "-http-addr=127.0.0.1:1")
    assert r.returncode == 1
    assert r.stderr.startswith(b"Error leaving: Put ")
    r = a.cli("force-leave", "-http-addr=127.0.0.1:1", "x")
    assert r.returncode == 1
    assert r.stderr.startswith(b"Error force leaving: Put ")
    # None of that made the agent leave.
    assert a.proc.poll() is None
    assert members(a)[a.node]["Status"] == 1


def test_force_leave_unknown(make_agent):
    a = make_agent()
    code, body = a.request("PUT", "/v1/agent/force-leave/nosuch")
    # Consul's answer, word for word (agent.go ForceLeave)
    assert (code, body) == (500, b"agent: No node found with name 'nosuch'")
    r = a.cli("force-leave", "nosuch")
    assert r.returncode == 1
    assert r.stdout == b""
    assert r.stderr.startswith(b"Error force leaving: Unexpected response "
                               b"code: 500 (agent: No node found with "
                               b"name 'nosuch')"), r.stderr
    r = a.cli("force-leave", "-prune", "nosuch")
    assert r.returncode == 1
    assert r.stderr.startswith(b"Error force leaving: "), r.stderr
    assert a.proc.poll() is None


def test_force_leave_prune_killed(make_agent):
    a = make_agent()
    b = make_agent(extra=("-retry-join", serf(a)))
    c = make_agent(extra=("-retry-join", serf(a)))
    wait_for(lambda: all_alive((a, b, c)), "three alive members", timeout=45)
    c.crash()
    deadline = time.time() + 30
    while cli_status(a, c.node) != "failed":
        if time.time() > deadline:
            raise AssertionError("%s never failed in %s's view" %
                                 (c.node, a.node))
        time.sleep(0.25)
    r = a.cli("force-leave", "-prune", c.node)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"", b"")
    for x in (a, b):
        wait_for(lambda: cli_status(x, c.node) is None,
                 "%s to forget %s" % (x.node, c.node), timeout=45)
        assert set(members(x)) == {a.node, b.node}
