"""`cairn exec` (Consul's remote exec) on real agents: a -dev server and
two client agents, with "disable_remote_exec": false on the server and
the first client and the default (true) on the second.

The output gathered from the enabled nodes only, in Consul's format; the
-node, -service and -tag filters (matched by each agent's gossipd); exit
codes and `cairn exec`'s own exit status; a script from stdin and
-shell=false; output larger than one 4 KiB chunk; a long command kept
alive by heartbeats and killed once `cairn exec` is interrupted; the
_rexec/ tree and the session gone afterwards; the usage errors; and, with
remote exec disabled everywhere, nobody acknowledging."""
import json
import os
import re
import signal
import subprocess
import time
import uuid

import pytest

from conftest import Agent, BIN, get_json, serf, wait_for

CAIRN = os.path.join(BIN, "cairn")
ENABLED = {"rexec.json": json.dumps({"disable_remote_exec": False})}
WEB = {"web.json": json.dumps({
    "services": [{"name": "web", "id": "web-1", "port": 80,
                  "tags": ["v1"]}]})}


def conf(*parts):
    out = {}
    for p in parts:
        out.update(p)
    return out


@pytest.fixture(scope="module")
def cluster(request):
    """(server, client1, client2): remote exec on the first two."""
    server = Agent(config=conf(ENABLED), node="rx-srv-%s" %
                   uuid.uuid4().hex[:6])
    made = [server]
    try:
        server.start()
        join = ("-retry-join", serf(server), "-retry-interval", "1s")
        c1 = Agent(config=conf(ENABLED, WEB), dev=False, extra=join,
                   node="rx-c1-%s" % uuid.uuid4().hex[:6])
        made.append(c1)
        c2 = Agent(config=conf(WEB), dev=False, extra=join,
                   node="rx-c2-%s" % uuid.uuid4().hex[:6])
        made.append(c2)
        c1.start(wait=False)
        c2.start(wait=False)
        for a in (c1, c2):
            a.wait_up()
            a.wait_ready()
        names = {a.node for a in made}

        def all_see_all():
            for a in made:
                ms = get_json(a, "/v1/agent/members") or []
                if {m["Name"] for m in ms if m["Status"] == 1} != names:
                    return False
            return True
        wait_for(all_see_all, "three members seen by every agent")

        # Sessions need the node in the catalog with serfHealth.
        def nodes_healthy():
            checks = get_json(server, "/v1/health/state/passing") or []
            return {c["Node"] for c in checks
                    if c["CheckID"] == "serfHealth"} >= names
        wait_for(nodes_healthy, "serfHealth of every node")
        request.node._cairn_cluster = made
        yield tuple(made)
    finally:
        for a in made:
            a.stop()
        reports = [(a.node, r) for a in made for r in a.sanitizer_reports()]
        for a in made:
            a.cleanup()
        assert not reports, "sanitizer reports: %r" % reports


@pytest.fixture(autouse=True)
def _logs(request):
    """Print the cluster's logs when a test fails (conftest's hook)."""
    if "cluster" in request.fixturenames:
        request.node._cairn_agents = list(
            request.getfixturevalue("cluster"))
    yield


def run(agent, *args, input=None, timeout=60):
    """`cairn exec ...` against agent: (rc, stdout, stderr)."""
    env = dict(os.environ)
    env["CAIRN_HTTP_ADDR"] = "%s:%d" % (agent.addr, agent.http)
    env.pop("CONSUL_HTTP_ADDR", None)
    r = subprocess.run([CAIRN, "exec"] + list(args), input=input,
                       capture_output=True, env=env, timeout=timeout)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert not [w for w in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                            "runtime error:") if w in err], err
    return r.returncode, out, err


def node_lines(out, node):
    """The lines of out about node, their prefix cut off (keeping ==>)."""
    got = []
    for line in out.splitlines():
        m = re.match(r"^(==>|   ) (\S+):(?: (.*))?$", line)
        if m and m.group(2) == node:
            got.append(("==> " if m.group(1) == "==>" else "") +
                       (m.group(3) or ""))
    return got


def rexec_keys(agent):
    code, body = agent.request("GET", "/v1/kv/_rexec/?keys")
    return [] if code == 404 else json.loads(body)


def remote_sessions(agent):
    return [s for s in get_json(agent, "/v1/session/list") or []
            if s["Name"] == "Remote Exec"]


def test_output_from_enabled_nodes_only(cluster):
    server, c1, c2 = cluster
    rc, out, err = run(server, "echo hi; echo marker-$((6 * 7))")
    assert rc == 0, (out, err)
    assert err == ""
    for a in (server, c1):
        assert node_lines(out, a.node) == [
            "hi", "marker-42", "", "==> finished with exit code 0"], out
    assert node_lines(out, c2.node) == []
    assert out.splitlines()[-1] == \
        "2 / 2 node(s) completed / acknowledged"
    # Consul's exact layout: four spaces (or "==> ") before the node.
    assert "    %s: hi\n" % server.node in out
    assert "==> %s: finished with exit code 0\n" % c1.node in out
    # The disabled node says why it stayed quiet; the others log the job.
    wait_for(lambda: "ignoring remote exec event" in c2.logtext(),
             "the disabled node's log line")
    for a in (server, c1):
        assert re.search(r"cairn-checkd: info: remote exec 'echo hi; echo "
                         r"marker-\$\(\(6 \* 7\)\)'", a.logtext())
    assert rexec_keys(server) == []
    assert remote_sessions(server) == []


def test_node_filter(cluster):
    server, c1, c2 = cluster
    rc, out, _ = run(server, "-wait", "1s", "-node",
                     "^%s$" % re.escape(c1.node), "echo only")
    assert rc == 0
    assert node_lines(out, c1.node) == ["only", "",
                                        "==> finished with exit code 0"]
    assert node_lines(out, server.node) == []
    assert out.endswith("1 / 1 node(s) completed / acknowledged\n")
    # Only the disabled node matches: nobody acknowledges.
    rc, out, _ = run(server, "-wait", "1s", "-node", "^rx-c2-", "echo no")
    assert (rc, out) == (0, "0 / 0 node(s) completed / acknowledged\n")


def test_service_and_tag_filters(cluster):
    server, c1, c2 = cluster
    # web runs on both clients; remote exec only on c1.
    rc, out, _ = run(server, "-wait", "1s", "-service", "^web$", "echo w")
    assert rc == 0
    assert node_lines(out, c1.node) == ["w", "",
                                        "==> finished with exit code 0"]
    assert node_lines(out, server.node) == []
    assert out.endswith("1 / 1 node(s) completed / acknowledged\n")
    rc, out, _ = run(server, "-wait", "1s", "-service", "web", "-tag",
                     "^v2$", "echo t")
    assert (rc, out) == (0, "0 / 0 node(s) completed / acknowledged\n")


def test_exit_codes(cluster):
    server, c1, _ = cluster
    rc, out, _ = run(server, "-wait", "1s", "echo failing >&2; exit 7")
    assert rc == 2, out
    for a in (server, c1):
        assert node_lines(out, a.node) == [
            "failing", "", "==> finished with exit code 7"]
    assert out.endswith("2 / 2 node(s) completed / acknowledged\n")
    # A command that cannot be started is 255; a killed one is -1.
    rc, out, _ = run(server, "-wait", "1s", "-node", server.node,
                     "-shell=false", "/nonexistent/cmd")
    assert rc == 2
    assert node_lines(out, server.node) == \
        ["==> finished with exit code 255"]
    rc, out, _ = run(server, "-wait", "1s", "-node", server.node,
                     "kill -9 $$")
    assert rc == 2
    assert node_lines(out, server.node) == \
        ["==> finished with exit code -1"]


def test_script_from_stdin_and_args(cluster):
    server, c1, _ = cluster
    only = "^%s$" % re.escape(c1.node)
    rc, out, _ = run(server, "-wait", "1s", "-node", only, "-",
                     input=b"x=from-stdin\necho \"$x\"\n")
    assert rc == 0
    assert node_lines(out, c1.node) == ["from-stdin", "",
                                        "==> finished with exit code 0"]
    rc, out, _ = run(server, "-wait", "1s", "-node", only, "-shell=false",
                     "/bin/echo", "a", "b  c")
    assert rc == 0
    assert node_lines(out, c1.node) == ["a b  c", "",
                                        "==> finished with exit code 0"]


def test_large_output_in_chunks(cluster):
    server, c1, _ = cluster
    rc, out, _ = run(server, "-wait", "1s", "-node",
                     "^%s$" % re.escape(server.node), "seq 1 4000")
    assert rc == 0
    lines = node_lines(out, server.node)
    assert lines[-1] == "==> finished with exit code 0"
    # Chunks cut lines anywhere; all of them, in order, are the output.
    pieces = "".join(lines[:-1])
    assert pieces == "".join(str(i) for i in range(1, 4001))
    # 18893 bytes: at least five chunks of at most 4 KiB each.
    assert len(lines) - 1 >= 4000


def test_through_a_client_agent(cluster):
    server, c1, c2 = cluster
    rc, out, _ = run(c2, "-wait", "1s", "echo via-client")
    assert rc == 0
    for a in (server, c1):
        assert node_lines(out, a.node) == [
            "via-client", "", "==> finished with exit code 0"]
    assert out.endswith("2 / 2 node(s) completed / acknowledged\n")
    assert rexec_keys(server) == []


def proc_gone(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def test_long_command_heartbeats_then_killed(cluster, tmp_path):
    server, c1, _ = cluster
    pidfile = tmp_path / "sleep.pid"
    env = dict(os.environ)
    env["CAIRN_HTTP_ADDR"] = "%s:%d" % (server.addr, server.http)
    env.pop("CONSUL_HTTP_ADDR", None)
    p = subprocess.Popen(
        [CAIRN, "exec", "-wait", "1s", "-node",
         "^%s$" % re.escape(c1.node),
         "echo started; sleep 60 & echo $! > %s; wait" % pidfile],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(),
                 "the job to start")
        pid = int(pidfile.read_text())
        wait_for(lambda: len(rexec_keys(server)) >= 3,
                 "the job's keys under _rexec/")
        # Heartbeats every second keep `cairn exec -wait 1s` waiting.
        time.sleep(4)
        assert p.poll() is None
        assert not proc_gone(pid)
        keys = rexec_keys(server)
        assert any(k.endswith("/%s/ack" % c1.node) for k in keys), keys
        outs = [k for k in keys if "/%s/out/" % c1.node in k]
        assert len(outs) >= 3, keys   # "started" and heartbeats
        assert all(re.search(r"/out/[0-9a-f]{5}$", k) for k in outs)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=15)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode == 1
    out = out.decode()
    assert node_lines(out, c1.node)[:1] == ["started"]
    # The session is gone, so the next heartbeat fails: the job is killed.
    wait_for(lambda: proc_gone(pid), "the abandoned command killed",
             timeout=15)
    wait_for(lambda: "failed to write output for remote exec job" in
             c1.logtext(), "the agent's log line")
    assert rexec_keys(server) == []
    assert remote_sessions(server) == []


def test_usage_errors(cluster):
    server = cluster[0]
    rc, out, err = run(server)
    assert rc == 1 and err.startswith("Must specify a command to execute\n")
    assert "Usage: cairn exec [options] [-|command...]" in err
    rc, _, err = run(server, "-tag", "x", "true")
    assert (rc, err) == (1, "Cannot provide tag filter without service "
                         "filter.\n")
    rc, _, err = run(server, "-node", "(", "true")
    assert rc == 1 and err.startswith("Failed to compile node filter "
                                      "regexp: ")
    rc, _, err = run(server, "-shell=false", "-")
    assert (rc, err) == (1, "Cannot configure -shell=false when reading "
                         "from stdin\n")
    rc, _, err = run(server, "-wait", "soon", "true")
    assert rc == 1 and err.startswith(
        "invalid value \"soon\" for flag -wait: parse error\n")
    rc, out, _ = run(server, "-h")
    assert rc == 0 and "-wait-repl=<duration>" in out
    assert rexec_keys(server) == []


def test_agent_down(tmp_path):
    env = dict(os.environ)
    env["CAIRN_HTTP_ADDR"] = "127.0.0.1:1"
    r = subprocess.run([CAIRN, "exec", "true"], capture_output=True,
                       env=env, timeout=30)
    assert r.returncode == 1
    assert r.stderr.decode().startswith("Error querying Consul agent: ")


def test_disabled_everywhere_nobody_acks(make_agent):
    a = make_agent()
    wait_for(lambda: any(
        c["CheckID"] == "serfHealth" and c["Node"] == a.node
        for c in get_json(a, "/v1/health/state/passing") or []),
        "serfHealth in the catalog")
    rc, out, err = run(a, "-wait", "1s", "echo hi")
    assert (rc, out, err) == (
        0, "0 / 0 node(s) completed / acknowledged\n", "")
    wait_for(lambda: "ignoring remote exec event" in a.logtext(),
             "gossipd's log line")
    assert "remote exec '" not in a.logtext()
    assert rexec_keys(a) == []
