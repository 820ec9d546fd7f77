"""`cairn lock` against a dev agent: mutual exclusion of two holders, a
semaphore's limit, the child killed when the lock is lost, the child's
environment and exit code, -timeout, the cleanup (key released, session
destroyed, an unused .lock removed), flag conflicts, SIGTERM to cairn
lock, and the usage errors."""
import base64
import json
import os
import signal
import subprocess
import time
import uuid

import pytest

from conftest import BIN, get_json, wait_for

CAIRN = os.path.join(BIN, "cairn")
LOCK_FLAGS = 0x2ddccbc058a50c18


def ready(agent):
    """Sessions need the agent's node in the catalog with serfHealth."""
    def node_up():
        for e in get_json(agent, "/v1/health/service/consul") or []:
            if e["Node"]["Node"] == agent.node and any(
                    c["CheckID"] == "serfHealth" for c in e["Checks"]):
                return True
        return False
    wait_for(node_up, "serfHealth of %s in the catalog" % agent.node)


@pytest.fixture
def locks(agent, tmp_path):
    """Start `cairn lock ...` processes; stop them all afterwards."""
    ready(agent)
    started = []

    def start(*args):
        env = dict(os.environ)
        env["CAIRN_HTTP_ADDR"] = "%s:%d" % (agent.addr, agent.http)
        env.pop("CONSUL_HTTP_ADDR", None)
        env.pop("SHELL", None)
        p = subprocess.Popen([CAIRN, "lock"] + list(args), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        started.append(p)
        return p
    yield start
    for p in started:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)       # it stops its child
    for p in started:
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        p.stdout.close()
        p.stderr.close()


def finish(p, timeout=60):
    """Wait for a cairn lock: (exit code, stderr text)."""
    _, err = p.communicate(timeout=timeout)
    err = err.decode(errors="replace")
    # under make test-asan a report is a failure even if the rest is right
    assert not [w for w in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                            "runtime error:") if w in err], err
    return p.returncode, err


def prefix():
    return "locks/%s" % uuid.uuid4().hex[:12]


def intervals(path):
    """[(start, end)] from a file of "start T" / "end T" lines."""
    out, start = [], None
    with open(path) as f:
        for line in f:
            what, t = line.split()
            if what == "start":
                start = float(t)
            else:
                out.append((start, float(t)))
    return out


def timed(path, secs):
    """A child that logs when it runs to path."""
    return ("echo start $(date +%%s.%%N) >> %s; sleep %s; "
            "echo end $(date +%%s.%%N) >> %s" % (path, secs, path))


def max_overlap(ivs):
    events = sorted([(s, 1) for s, _ in ivs] + [(e, -1) for _, e in ivs],
                    key=lambda x: (x[0], x[1]))
    cur = top = 0
    for _, d in events:
        cur += d
        top = max(top, cur)
    return top


def session_names(agent):
    return [s["Name"] for s in get_json(agent, "/v1/session/list") or []]


def test_mutex_holders_never_overlap(agent, locks, tmp_path):
    p = prefix()
    files = [str(tmp_path / ("holder%d" % i)) for i in range(2)]
    procs = [locks(p, timed(f, 1)) for f in files]
    for proc in procs:
        rc, err = finish(proc)
        assert rc == 0, err
    (a,), (b,) = sorted(intervals(f) for f in files)
    first, second = sorted([a, b])
    assert first[1] <= second[0], (first, second)
    # the second got the lock when the first released it, not 15s later
    assert second[0] - first[1] < 10


def test_semaphore_limit(agent, locks, tmp_path):
    p = prefix()
    files = [str(tmp_path / ("holder%d" % i)) for i in range(3)]
    procs = [locks("-n", "2", p, timed(f, 2)) for f in files]
    for proc in procs:
        rc, err = finish(proc)
        assert rc == 0, err
    ivs = [iv for f in files for iv in intervals(f)]
    assert len(ivs) == 3
    assert max_overlap(ivs) <= 2, ivs
    # the contender keys and the unused .lock are gone
    code, _ = agent.request("GET", "/v1/kv/%s?recurse" % p)
    assert code == 404


def test_semaphore_holders_value(agent, locks, tmp_path):
    p = prefix()
    mark = tmp_path / "running"
    proc = locks("-n", "3", p, "touch %s; sleep 30" % mark)
    wait_for(mark.exists, "the semaphore's child to run")
    code, body = agent.request("GET", "/v1/kv/%s?recurse" % p)
    assert code == 200
    entries = {e["Key"]: e for e in json.loads(body)}
    lock = entries.pop(p + "/.lock")
    assert lock["Flags"] == 0xe0f69a2baa414de0 and "Session" not in lock
    value = json.loads(base64.b64decode(lock["Value"]))
    (contender,) = entries.values()
    sid = contender["Session"]
    assert contender["Key"] == "%s/%s" % (p, sid)
    assert contender["Flags"] == 0xe0f69a2baa414de0
    assert value == {"Limit": 3, "Holders": {sid: True}}
    # a different -n on the same prefix is refused
    other = locks("-n", "2", p, "true")
    rc, err = finish(other)
    assert rc == 1 and "semaphore limit conflict (lock: 3, local: 2)" in err
    proc.send_signal(signal.SIGTERM)
    rc, err = finish(proc)
    assert rc == 0, err


def test_lock_lost_kills_child(agent, locks, tmp_path):
    p = prefix()
    marker = tmp_path / "marker"
    script = ("trap 'echo term >> %s; exit 0' TERM; echo started >> %s; "
              "sleep 60 & wait" % (marker, marker))
    proc = locks(p, script)
    wait_for(lambda: marker.exists() and "started" in marker.read_text(),
             "the child to start")
    (entry,) = get_json(agent, "/v1/kv/%s/.lock" % p)
    assert entry["Flags"] == LOCK_FLAGS
    sid = entry["Session"]
    code, _ = agent.request("PUT", "/v1/session/destroy/" + sid)
    assert code == 200
    rc, err = finish(proc, timeout=30)
    assert "term" in marker.read_text()
    assert "Lock lost, killing child" in err
    assert rc == 0, err


def test_child_env_and_exit_code(agent, locks, tmp_path):
    p = prefix()
    out = tmp_path / "env"
    proc = locks(p, 'echo "held=$CONSUL_LOCK_HELD" > %s; exit 3' % out)
    rc, err = finish(proc)
    assert out.read_text() == "held=true\n"
    assert rc == 0 and "Error running handler: exit status 3" in err
    rc, err = finish(locks("-child-exit-code", p, "exit 3"))
    assert rc == 2, err
    rc, err = finish(locks("-child-exit-code", p, "exit 0"))
    assert rc == 0, err
    # -shell=false runs the arguments directly
    rc, err = finish(locks("-shell=false", p, "sh", "-c",
                           "echo direct > %s" % out))
    assert rc == 0 and out.read_text() == "direct\n", err


def test_timeout_while_held(agent, locks, tmp_path):
    p = prefix()
    mark = tmp_path / "holding"
    holder = locks(p, "touch %s; sleep 60" % mark)
    wait_for(mark.exists, "the first holder's child")
    t0 = time.time()
    rc, err = finish(locks("-timeout", "1s", p, "echo never"))
    assert rc == 1
    assert "Shutdown triggered or timeout during lock acquisition" in err
    assert time.time() - t0 < 15
    # the waiter's session went with it
    assert not [n for n in session_names(agent) if "echo never" in n]
    # SIGTERM to the holder: its child is stopped, the lock released
    holder.send_signal(signal.SIGTERM)
    rc, err = finish(holder, timeout=30)
    assert rc == 0, err
    code, _ = agent.request("GET", "/v1/kv/%s/.lock" % p)
    assert code == 404


def test_cleanup_after_exit(agent, locks):
    p = prefix()
    name = "cleanup-" + uuid.uuid4().hex[:8]
    rc, err = finish(locks("-verbose", "-name", name, p, "true"))
    assert rc == 0, err
    for line in ("Attempting lock acquisition", "Lock acquired",
                 "Cleanup succeeded"):
        assert line in err
    code, body = agent.request("GET", "/v1/kv/%s/.lock" % p)
    assert code == 404 or "Session" not in json.loads(body)[0]
    assert name not in session_names(agent)


def test_clean_release_imposes_no_lock_delay(agent, locks, tmp_path):
    p = prefix()
    rc, err = finish(locks(p, "true"))
    assert rc == 0, err
    t0 = time.time()
    rc, err = finish(locks("-timeout", "10s", p, "true"))
    assert rc == 0, err
    assert time.time() - t0 < 8


def test_flag_conflicts(agent, locks):
    p = prefix()
    code, _ = agent.request("PUT", "/v1/kv/%s/.lock" % p, b"x")
    assert code == 200
    rc, err = finish(locks(p, "true"))
    assert rc == 1
    assert "Lock acquisition failed: Existing key does not match lock " \
        "use" in err
    rc, err = finish(locks("-n", "2", p, "true"))
    assert rc == 1 and "does not match semaphore use" in err
    # the semaphore's contender key went with its session
    keys = get_json(agent, "/v1/kv/%s?keys" % p)
    assert keys == [p + "/.lock"]


def test_usage(agent):
    r = agent.cli("lock", "-h")
    assert r.returncode == 0
    assert r.stdout.decode().startswith("Usage: cairn lock [options] prefix")
    assert b"-child-exit-code" in r.stdout
    r = agent.cli("lock", "only-a-prefix")
    assert r.returncode == 1
    assert b"Key prefix and child command must be specified" in r.stderr
    r = agent.cli("lock", "-n", "0", "p", "true")
    assert r.returncode == 1 and b"must be positive" in r.stderr
    r = agent.cli("lock", "-timeout", "soon", "p", "true")
    assert r.returncode == 1 and b"-timeout" in r.stderr
