"""`cairn maint`, `cairn services register|deregister`, `cairn reload` and
`cairn info` with Consul's flags, output and exit codes, against a real
agent: what they print, and what the agent's API shows afterwards."""
import json
import os
import re

import pytest

from conftest import get_json

NODE_DEFAULT = ("Maintenance mode is enabled for this node, but no reason "
                "was provided. This is a default message.")
SVC_DEFAULT = ("Maintenance mode is enabled for this service, but no reason "
               "was provided. This is a default message.")


def out(r):
    return r.stdout.decode()


def err(r):
    return r.stderr.decode()


def ok(r, text):
    """Exit 0, exactly text on stdout, nothing on stderr."""
    assert (r.returncode, out(r), err(r)) == (0, text, ""), r


def fails(r, text):
    """Exit 1, nothing on stdout, exactly text on stderr."""
    assert (r.returncode, out(r), err(r)) == (1, "", text), r


def checks(agent):
    return get_json(agent, "/v1/agent/checks")


def services(agent):
    return get_json(agent, "/v1/agent/services")


def write(agent, name, obj):
    path = os.path.join(agent.dir, name)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


@pytest.fixture
def web(agent):
    """A service "web" for maintenance, removed afterwards."""
    r = agent.cli("services", "register", "-name", "web", "-port", "80")
    ok(r, "Registered service: web\n")
    yield "web"
    agent.cli("maint", "-disable", "-service", "web")
    agent.cli("services", "deregister", "-id", "web")


def test_maint_node_enable_disable(agent):
    assert "_node_maintenance" not in checks(agent)
    ok(agent.cli("maint", "-enable"), "Node maintenance is now enabled\n")
    c = checks(agent)["_node_maintenance"]
    assert (c["Status"], c["Notes"], c["ServiceID"]) == \
        ("critical", NODE_DEFAULT, "")
    ok(agent.cli("maint", "-enable", "-reason", "new disks"),
       "Node maintenance is now enabled\n")
    assert checks(agent)["_node_maintenance"]["Notes"] == "new disks"
    ok(agent.cli("maint", "-disable"), "Node maintenance is now disabled\n")
    assert "_node_maintenance" not in checks(agent)
    # disabling what is not on is not an error, as in Consul
    ok(agent.cli("maint", "-disable"), "Node maintenance is now disabled\n")


def test_maint_service_enable_disable(agent, web):
    cid = "_service_maintenance:web"
    ok(agent.cli("maint", "-enable", "-service", "web"),
       'Service maintenance is now enabled for "web"\n')
    c = checks(agent)[cid]
    assert (c["Status"], c["Notes"], c["ServiceID"]) == \
        ("critical", SVC_DEFAULT, "web")
    ok(agent.cli("maint", "-enable", "-service=web", "-reason=deploy 42"),
       'Service maintenance is now enabled for "web"\n')
    assert checks(agent)[cid]["Notes"] == "deploy 42"
    ok(agent.cli("maint", "-disable", "-service", "web"),
       'Service maintenance is now disabled for "web"\n')
    assert cid not in checks(agent)


def test_maint_list(agent, web):
    ok(agent.cli("maint"), "")
    ok(agent.cli("maint", "-enable", "-reason", "rack move"),
       "Node maintenance is now enabled\n")
    try:
        ok(agent.cli("maint"),
           "Node:\n  Name:   %s\n  Reason: rack move\n\n" % agent.node)
        ok(agent.cli("maint", "-enable", "-service", "web"),
           'Service maintenance is now enabled for "web"\n')
        ok(agent.cli("maint"),
           "Node:\n  Name:   %s\n  Reason: rack move\n\n"
           "Service:\n  ID:     web\n  Reason: %s\n\n"
           % (agent.node, SVC_DEFAULT))
    finally:
        agent.cli("maint", "-disable")
    ok(agent.cli("maint"),
       "Service:\n  ID:     web\n  Reason: %s\n\n" % SVC_DEFAULT)
    agent.cli("maint", "-disable", "-service", "web")
    ok(agent.cli("maint"), "")


@pytest.mark.parametrize("args,text", [
    (["-enable", "-disable"],
     "Only one of -enable or -disable may be provided\n"),
    (["-reason", "x"], "Reason may only be provided with -enable\n"),
    (["-disable", "-reason", "x"],
     "Reason may only be provided with -enable\n"),
    (["-service", "web"], "Service requires either -enable or -disable\n"),
    (["-enable", "-service", "nosuch"],
     "Error enabling service maintenance: Unexpected response code: 404 "
     '(Unknown service ID "nosuch")\n'),
])
def test_maint_errors(agent, args, text):
    fails(agent.cli("maint", *args), text)
    assert "_node_maintenance" not in checks(agent)


def test_services_register_flags(agent):
    r = agent.cli("services", "register", "-name=api", "-id", "api-1",
                  "-address", "10.1.2.3", "-port", "8080", "-tag", "v1",
                  "-tag=blue", "-meta", "team=core", "-meta", "tier=1",
                  "-meta", "team=edge")
    ok(r, "Registered service: api\n")
    try:
        s = services(agent)["api-1"]
        assert (s["Service"], s["Address"], s["Port"], s["Tags"],
                s["Meta"]) == ("api", "10.1.2.3", 8080, ["v1", "blue"],
                               {"team": "edge", "tier": "1"})
    finally:
        ok(agent.cli("services", "deregister", "-id", "api-1"),
           "Deregistered service: api-1\n")
    assert "api-1" not in services(agent)


def test_services_register_file(agent):
    one = write(agent, "one.json", {"service": {
        "name": "cache", "port": 6379, "tags": ["primary"],
        "meta": {"k": "v"}}})
    many = write(agent, "many.json", {"services": [
        {"Name": "queue", "ID": "queue-a", "Port": 5672},
        {"name": "queue", "id": "queue-b", "port": 5673,
         "tagged_addresses": {"lan": {"address": "10.0.0.9", "port": 1}},
         "address": "10.0.0.8"}]})
    r = agent.cli("services", "register", one, many)
    ok(r, "Registered service: cache\nRegistered service: queue\n"
          "Registered service: queue\n")
    s = services(agent)
    assert (s["cache"]["Port"], s["cache"]["Tags"], s["cache"]["Meta"]) == \
        (6379, ["primary"], {"k": "v"})
    assert s["queue-a"]["Port"] == 5672
    assert (s["queue-b"]["Port"], s["queue-b"]["Address"]) == \
        (5673, "10.0.0.8")
    # deregistration by file goes by ID, the name where there is none
    ok(agent.cli("services", "deregister", many, one),
       "Deregistered service: queue-a\nDeregistered service: queue-b\n"
       "Deregistered service: cache\n")
    s = services(agent)
    assert not {"cache", "queue-a", "queue-b"} & set(s)


def test_services_register_file_with_flags(agent):
    """Flags fill in what the file leaves out (Consul's CombineArgs)."""
    path = write(agent, "f.json", {"service": {
        "name": "mixed", "port": 1, "tags": ["file"], "meta": {"a": "1"}}})
    r = agent.cli("services", "register", "-id", "mixed-9", "-port", "2",
                  "-tag", "flag", "-meta", "b=2", path)
    ok(r, "Registered service: mixed\n")
    try:
        s = services(agent)["mixed-9"]
        assert (s["Port"], s["Tags"], s["Meta"]) == \
            (1, ["file", "flag"], {"a": "1", "b": "2"})
    finally:
        agent.cli("services", "deregister", "-id", "mixed-9")


def test_services_errors(agent):
    fails(agent.cli("services", "register", "/nonexistent/x.json"),
          "Error: /nonexistent/x.json: No such file or directory\n")
    bad = write(agent, "bad.json", "{\"service\": {\"name\": ")
    r = agent.cli("services", "register", bad)
    assert r.returncode == 1 and out(r) == ""
    assert err(r).startswith("Error: %s:" % bad), err(r)
    r = agent.cli("services", "deregister", bad)
    assert r.returncode == 1 and err(r).startswith("Error: %s:" % bad)
    fails(agent.cli("services", "deregister", "-id", "nosuch"),
          'Error registering service "": Unexpected response code: 404 '
          '(Unknown service ID "nosuch". Ensure that the service ID is '
          'passed, not the service name.)\n')
    nameless = write(agent, "nameless.json", {"service": {"port": 9}})
    r = agent.cli("services", "register", nameless)
    assert r.returncode == 1 and out(r) == ""
    assert err(r).startswith('Error registering service "": Unexpected '
                             'response code: 400 ('), err(r)
    fails(agent.cli("services", "register"),
          "Service registration requires at least one argument or "
          "flags.\n")
    fails(agent.cli("services", "register", "-name", "x", nameless),
          "Service registration requires arguments or -id, not both.\n")
    fails(agent.cli("services", "deregister"),
          "Service deregistration requires at least one argument or -id.\n")
    fails(agent.cli("services", "deregister", "-id", "x", nameless),
          "Service deregistration requires arguments or -id, not both.\n")
    r = agent.cli("services", "register", "-name", "x", "-meta", "novalue")
    assert r.returncode == 1 and out(r) == ""
    assert err(r).startswith('invalid value "novalue" for flag -meta: '
                             'Missing "=" value in argument: novalue\n'
                             'Usage: cairn services register')
    r = agent.cli("services", "register", "-name", "x", "-port", "eighty")
    assert r.returncode == 1
    assert err(r).startswith('invalid value "eighty" for flag -port: ')
    assert "x" not in services(agent)


def test_reload_picks_up_new_service(agent):
    path = os.path.join(agent.confdir, "late.json")
    with open(path, "w") as f:
        json.dump({"service": {"name": "late", "port": 7}}, f)
    try:
        assert "late" not in services(agent)
        ok(agent.cli("reload"), "Configuration reload triggered\n")
        assert services(agent)["late"]["Port"] == 7
    finally:
        os.unlink(path)
        ok(agent.cli("reload"), "Configuration reload triggered\n")
    assert "late" not in services(agent)


def test_reload_error(agent):
    path = os.path.join(agent.confdir, "broken.json")
    with open(path, "w") as f:
        f.write("{")
    try:
        r = agent.cli("reload")
        assert r.returncode == 1 and out(r) == ""
        assert err(r).startswith("Error reloading: Unexpected response "
                                 "code: "), err(r)
    finally:
        os.unlink(path)
    ok(agent.cli("reload"), "Configuration reload triggered\n")


def test_info(agent):
    r = agent.cli("info")
    assert r.returncode == 0 and err(r) == "", r
    lines = out(r).splitlines()
    sections, keys, cur = [], {}, None
    for line in lines:
        m = re.fullmatch(r"\t(\S+) = (.*)", line)
        if m:
            keys[cur].append(m.group(1))
            continue
        assert re.fullmatch(r"[a-z_]+:", line), line
        cur = line[:-1]
        sections.append(cur)
        keys[cur] = []
    assert sections == sorted(sections)
    assert {"build", "raft"} <= set(sections)
    for s in sections:
        assert keys[s] == sorted(keys[s]), s
    assert "build:" in lines and "\tversion = 0.1.0" in lines
    assert "\tstate = Leader" in lines
    # the same sections and keys as the API (raft's numbers move on, so
    # only build's values are compared)
    self = get_json(agent, "/v1/agent/self")
    assert sorted(self["Stats"]) == sections
    for s, kv in self["Stats"].items():
        assert sorted(kv) == keys[s], s
    for k, v in self["Stats"]["build"].items():
        assert "\t%s = %s" % (k, v) in lines


def test_unreachable(agent):
    env = {"CAIRN_HTTP_ADDR": "127.0.0.1:1"}
    for args, prefix in ((["info"], "Error querying agent: "),
                         (["reload"], "Error reloading: "),
                         (["maint"], "Error querying Consul agent: "),
                         (["services", "deregister", "-id", "x"],
                          'Error registering service "": ')):
        r = agent.cli(*args, env=env)
        assert r.returncode == 1 and out(r) == "", args
        assert err(r).startswith(prefix) and "connection refused" in err(r), \
            (args, err(r))


@pytest.mark.parametrize("args,usage,flags", [
    (["maint"], "Usage: cairn maint [options]",
     ["-enable", "-disable", "-reason=<string>", "-service=<string>",
      "-http-addr=<address>", "-token=<value>"]),
    (["services"], "Usage: cairn services <subcommand>",
     ["    register ", "    deregister "]),
    (["services", "register"], "Usage: cairn services register [options] "
     "[FILE...]", ["-name=<string>", "-id=<string>", "-address=<string>",
                   "-port=<int>", "-tag=<value>", "-meta=<value>",
                   "-datacenter=<string>"]),
    (["services", "deregister"], "Usage: cairn services deregister "
     "[options] [FILE...]", ["-id=<string>", "-http-addr=<address>"]),
    (["reload"], "Usage: cairn reload\n", ["-http-addr=<address>"]),
    (["info"], "Usage: cairn info [options]", ["-http-addr=<address>"]),
])
def test_help(agent, args, usage, flags):
    for h in ("-h", "-help", "--help"):
        r = agent.cli(*args, h)
        assert r.returncode == 0 and err(r) == "", (args, h)
        assert out(r).startswith(usage), (args, h)
        for f in flags:
            assert f in out(r), (args, f)
    if len(args) == 1:
        r = agent.cli("help", args[0])
        assert r.returncode == 0 and out(r).startswith(usage), args


def test_listed_in_commands(agent):
    r = agent.cli("--help")
    for name in ("info", "maint", "reload", "services"):
        assert re.search(r"^    %s +\S" % name, out(r), re.M), name
