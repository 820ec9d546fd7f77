"""`cairn catalog nodes|services|datacenters` and `cairn validate` with
Consul's flags, output and exit codes, against a real agent."""
import json
import re

from conftest import get_json, wait_for

AGENT_CONFIG = {
    "services.json": json.dumps({
        "node_meta": {"rack": "r1", "zone": "z9"},
        "services": [
            {"name": "web", "port": 80, "tags": ["v1", "primary"]},
            {"name": "web", "id": "web2", "port": 81, "tags": ["canary"]},
            {"name": "db", "port": 5432},
        ],
    }),
}

NOMATCH_NODES = "No nodes match the given query - try expanding your search."
NOMATCH_SERVICES = \
    "No services match the given query - try expanding your search."


def out(r):
    return r.stdout.decode()


def err(r):
    return r.stderr.decode()


def cells(line):
    return re.split(r"\s{2,}", line.strip())


def registered(agent):
    """Wait until checkd has put the configured services in the catalog."""
    def ready():
        s = get_json(agent, "/v1/catalog/services") or {}
        return "web" in s and "db" in s and \
            len(get_json(agent, "/v1/catalog/service/web") or []) == 2
    wait_for(ready, "services registered")


def node_id(agent):
    return get_json(agent, "/v1/catalog/nodes")[0]["ID"]


def test_catalog_nodes(agent):
    r = agent.cli("catalog", "nodes")
    assert r.returncode == 0, r.stderr
    lines = out(r).splitlines()
    assert cells(lines[0]) == ["Node", "ID", "Address", "DC"]
    assert len(lines) == 2
    full = node_id(agent)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f-]+", full)
    assert cells(lines[1]) == [agent.node, full.split("-")[0], agent.addr,
                               "dc1"]
    # the columns line up: each starts where its header does
    for h in ("ID", "Address", "DC"):
        i = lines[0].index(h)
        assert lines[1][i - 2:i] == "  " and lines[1][i] != " ", h


def test_catalog_nodes_detailed(agent):
    r = agent.cli("catalog", "nodes", "-detailed")
    assert r.returncode == 0, r.stderr
    lines = out(r).splitlines()
    assert cells(lines[0]) == ["Node", "ID", "Address", "DC",
                               "TaggedAddresses", "Meta"]
    assert cells(lines[1]) == [
        agent.node, node_id(agent), agent.addr, "dc1",
        "lan=%s, wan=%s" % (agent.addr, agent.addr), "rack=r1, zone=z9"]


def test_catalog_nodes_service(agent):
    registered(agent)
    r = agent.cli("catalog", "nodes", "-service=consul")
    assert r.returncode == 0, r.stderr
    lines = out(r).splitlines()
    assert len(lines) == 2 and cells(lines[1])[0] == agent.node
    # one row per instance, as Consul prints them
    r = agent.cli("catalog", "nodes", "-service", "web")
    assert [cells(x)[0] for x in out(r).splitlines()[1:]] == \
        [agent.node, agent.node]
    r = agent.cli("catalog", "nodes", "-service=nosuch")
    assert (r.returncode, out(r)) == (0, "")
    assert err(r).strip() == NOMATCH_NODES


def test_catalog_nodes_flags(agent):
    r = agent.cli("catalog", "nodes", "-near=_agent")
    assert r.returncode == 0, r.stderr
    assert cells(out(r).splitlines()[1])[0] == agent.node
    r = agent.cli("catalog", "nodes", "-node-meta=rack")
    assert r.returncode == 1
    assert 'Missing "=" value in argument: rack' in err(r)
    r = agent.cli("catalog", "nodes", "extra")
    assert r.returncode == 1
    assert "Too many arguments (expected 0, got 1)" in err(r)
    r = agent.cli("catalog", "nodes", "-nosuchflag")
    assert r.returncode == 1
    assert "flag provided but not defined: -nosuchflag" in err(r)


def test_catalog_nodes_unreachable(agent):
    r = agent.cli("catalog", "nodes", env={"CAIRN_HTTP_ADDR": "127.0.0.1:1"})
    assert r.returncode == 1
    assert err(r).startswith("Error listing nodes: ")
    assert "connection refused" in err(r)


def test_catalog_services(agent):
    registered(agent)
    r = agent.cli("catalog", "services")
    assert r.returncode == 0, r.stderr
    assert out(r) == "consul\ndb\nweb\n"


def test_catalog_services_tags(agent):
    registered(agent)
    r = agent.cli("catalog", "services", "-tags")
    assert r.returncode == 0, r.stderr
    # Go's tabwriter, padding 6; TrimSpace takes the last line's padding
    assert out(r) == ("consul      \n"
                      "db          \n"
                      "web         canary,primary,v1\n")


def test_catalog_services_node(agent):
    registered(agent)
    r = agent.cli("catalog", "services", "-node", agent.node, "-tags")
    assert r.returncode == 0, r.stderr
    lines = out(r).splitlines()
    assert [cells(x) for x in lines] == \
        [["consul"], ["db"], ["web", "canary,primary,v1"]]
    r = agent.cli("catalog", "services", "-node=nosuch")
    assert (r.returncode, out(r)) == (0, "")
    assert err(r).strip() == NOMATCH_SERVICES


def test_catalog_datacenters(agent):
    r = agent.cli("catalog", "datacenters")
    assert (r.returncode, out(r)) == (0, "dc1\n")


def test_catalog_help(agent):
    for sub, usage in (([], "Usage: cairn catalog <subcommand>"),
                       (["nodes"], "Usage: cairn catalog nodes"),
                       (["services"], "Usage: cairn catalog services"),
                       (["datacenters"], "Usage: cairn catalog datacenters")):
        for h in ("-h", "-help", "--help"):
            r = agent.cli("catalog", *sub, h)
            assert r.returncode == 0, (sub, h)
            assert out(r).startswith(usage), (sub, h)
    r = agent.cli("catalog", "nodes", "-h")
    for flag in ("-detailed", "-near=<string>", "-node-meta=<key=value>",
                 "-service=<id or name>", "-http-addr=<address>",
                 "-datacenter=<string>", "-stale"):
        assert flag in out(r), flag
    r = agent.cli("catalog", "services", "-h")
    for flag in ("-node=<id or name>", "-node-meta=<key=value>", "-tags"):
        assert flag in out(r), flag
    r = agent.cli("catalog")
    assert r.returncode == 1
    assert err(r).startswith("Usage: cairn catalog <subcommand>")
    assert "    nodes " in err(r)
    r = agent.cli("help", "catalog")
    assert r.returncode == 0 and "Subcommands:" in out(r)
    r = agent.cli("--help")
    assert re.search(r"^\s+catalog\s+Interact with the catalog$", out(r),
                     re.M)
    assert re.search(r"^\s+validate\s+Validate config files/directories$",
                     out(r), re.M)


def good_config(d):
    d.mkdir()
    (d / "a.json").write_text(json.dumps({
        "data_dir": str(d / "data"), "node_name": "validate-node"}))
    (d / "b.json").write_text(json.dumps({
        "services": [{"name": "web", "port": 80}]}))
    return d


def test_validate_good(agent, tmp_path):
    d = good_config(tmp_path / "good")
    r = agent.cli("validate", str(d))
    assert (r.returncode, out(r)) == (0, "Configuration is valid!\n")
    r = agent.cli("validate", str(d / "a.json"), str(d / "b.json"))
    assert (r.returncode, out(r)) == (0, "Configuration is valid!\n")
    r = agent.cli("validate", "-quiet", str(d))
    assert (r.returncode, out(r), err(r)) == (0, "", "")


def test_validate_bad_json(agent, tmp_path):
    d = good_config(tmp_path / "bad")
    bad = d / "c.json"
    bad.write_text('{\n  "server": tru\n}\n')
    for arg in (str(d), str(bad)):
        r = agent.cli("validate", arg)
        assert r.returncode == 1 and out(r) == ""
        assert err(r).startswith("Config validation failed: ")
        # the file and the line:col of the mistake
        assert re.search(re.escape(str(bad)) + r":2:\d+", err(r)), err(r)
    r = agent.cli("validate", "-quiet", str(bad))
    assert r.returncode == 1
    assert "Config validation failed" in err(r)


def test_validate_incomplete_and_usage(agent, tmp_path):
    # a fragment: the whole configuration is checked, as Consul does
    frag = tmp_path / "frag.json"
    frag.write_text('{"server": true}')
    r = agent.cli("validate", str(frag))
    assert r.returncode == 1
    assert "Config validation failed: data_dir" in err(r)
    r = agent.cli("validate", str(tmp_path / "missing.json"))
    assert r.returncode == 1
    assert "missing.json" in err(r)
    r = agent.cli("validate")
    assert r.returncode == 1
    assert "Must specify at least one config file or directory" in err(r)
    r = agent.cli("validate", "-h")
    assert r.returncode == 0
    assert out(r).startswith(
        "Usage: cairn validate [options] FILE_OR_DIRECTORY...")
    assert "-quiet" in out(r)
