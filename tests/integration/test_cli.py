"""The cairn command against a real agent, with Consul's output and exit
codes, so scripts written for `consul` keep working."""
import re
import subprocess


def out(r):
    return r.stdout.decode()


def test_kv_put_get_delete(agent):
    r = agent.cli("kv", "put", "cli/a", "hello")
    assert r.returncode == 0, r.stderr
    assert out(r).strip() == "Success! Data written to: cli/a"
    r = agent.cli("kv", "get", "cli/a")
    assert (r.returncode, out(r)) == (0, "hello\n")
    r = agent.cli("kv", "get", "cli/missing")
    assert r.returncode == 1
    assert b"Error! No key exists at: cli/missing" in r.stderr
    r = agent.cli("kv", "delete", "cli/a")
    assert out(r).strip() == "Success! Deleted key: cli/a"
    assert agent.cli("kv", "get", "cli/a").returncode == 1


def test_kv_recurse_keys_detailed(agent):
    for k, v in (("rec/x", "1"), ("rec/y/z", "2")):
        assert agent.cli("kv", "put", k, v).returncode == 0
    r = agent.cli("kv", "get", "-recurse", "rec/")
    assert out(r) == "rec/x:1\nrec/y/z:2\n"
    r = agent.cli("kv", "get", "-keys", "-separator=/", "rec/")
    assert out(r) == "rec/x\nrec/y/\n"
    r = agent.cli("kv", "get", "-detailed", "rec/x")
    fields = dict(re.split(r"\s+", line, maxsplit=1)
                  for line in out(r).splitlines())
    assert fields["Key"] == "rec/x" and fields["Value"] == "1"
    assert fields["Session"] == "-" and int(fields["ModifyIndex"]) > 0
    r = agent.cli("kv", "delete", "-recurse", "rec/")
    assert out(r).strip() == "Success! Deleted keys with prefix: rec/"


def test_kv_put_from_stdin_file_and_cas(agent, tmp_path):
    f = tmp_path / "value"
    f.write_bytes(b"from a file")
    assert agent.cli("kv", "put", "cli/f", "@" + str(f)).returncode == 0
    assert out(agent.cli("kv", "get", "cli/f")) == "from a file\n"
    assert agent.cli("kv", "put", "cli/s", "-",
                     input=b"from stdin").returncode == 0
    assert out(agent.cli("kv", "get", "cli/s")) == "from stdin\n"
    r = agent.cli("kv", "put", "-cas", "-modify-index=1", "cli/s", "x")
    assert r.returncode == 1
    assert b"Error! Did not write to cli/s: CAS failed" in r.stderr
    r = agent.cli("kv", "put", "-flags=42", "cli/flags", "x")
    assert r.returncode == 0
    r = agent.cli("kv", "get", "-detailed", "cli/flags")
    assert re.search(r"^Flags\s+42$", out(r), re.M)


def test_members_output(agent):
    r = agent.cli("members")
    assert r.returncode == 0, r.stderr
    lines = out(r).splitlines()
    assert re.split(r"\s{2,}", lines[0].strip())[:7] == \
        ["Node", "Address", "Status", "Type", "Build", "Protocol", "DC"]
    row = lines[1].split()
    assert row[0] == agent.node
    assert row[1] == "%s:%d" % (agent.addr, agent.ports["serf-lan"])
    assert row[2] == "alive" and row[3] == "server"
    r = agent.cli("members", "-status=failed")
    assert r.returncode == 2
    r = agent.cli("members", "-detailed")
    assert "role=consul" in out(r)


def test_members_awk_pipeline(agent):
    import os
    from conftest import BIN
    env = dict(os.environ, CONSUL_HTTP_ADDR="%s:%d" % (agent.addr, agent.http))
    env.pop("CAIRN_HTTP_ADDR", None)
    p = subprocess.run("%s/cairn members -status=alive | awk '!/Node/{print $1}'"
                       % BIN, shell=True, capture_output=True, text=True,
                       env=env, timeout=30)
    assert p.stdout.split() == [agent.node]


def test_help_and_unknown(agent):
    for args in (["--help"], ["kv", "get", "-h"], ["kv", "put", "-h"],
                 ["members", "-h"], ["agent", "-h"]):
        r = agent.cli(*args)
        text = r.stdout + r.stderr
        assert b"Usage" in text, args
    r = agent.cli("frobnicate")
    assert r.returncode == 1


def test_unreachable_agent_is_a_clear_error(agent):
    r = agent.cli("kv", "get", "x", env={"CAIRN_HTTP_ADDR": "127.0.0.1:1"})
    assert r.returncode == 1
    assert b"Error" in r.stderr
