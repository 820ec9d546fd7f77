"""Issue 6's cluster test: three servers and two client agents. Services
come from a config file on one client and through the API (curl-style and
python3-consul) on the other; every server sees them. A failing HTTP,
script or TCP check drops the instance from ?passing and from DNS on a
server, and it comes back when the check passes; maintenance takes an
instance out and puts it back; checkd restarted on a client keeps its
API registrations."""
import http.server
import json
import os
import signal
import socket
import tempfile
import threading

import consul

from conftest import free_port, loopback_addr, wait_for
from test_raft_cluster import cluster, wait_leader

STATE = tempfile.mkdtemp(prefix="cairn-ac.")
SCRIPT_FLAG = os.path.join(STATE, "script-exit")
with open(SCRIPT_FLAG, "w") as f:
    f.write("0")


class Target:
    """An HTTP server whose answer the test sets, and a TCP port it opens
    and closes, on an address of its own."""

    def __init__(self):
        self.addr = loopback_addr()
        self.code = 200
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(target.code)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *a):
                pass
        self.httpd = http.server.ThreadingHTTPServer((self.addr, 0),
                                                     Handler)
        self.http = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever,
                         daemon=True).start()
        self.tcp_port = free_port(self.addr)
        self.tcp = None

    def tcp_open(self):
        self.tcp = socket.socket()
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((self.addr, self.tcp_port))
        self.tcp.listen(16)

    def tcp_close(self):
        if self.tcp is not None:
            self.tcp.close()
            self.tcp = None

    def stop(self):
        self.httpd.shutdown()
        self.tcp_close()


def start_client(make_agent, servers, config):
    join = "%s:%d" % (servers[0].addr, servers[0].ports["serf-lan"])
    c = make_agent(wait=False, dev=False, config=config,
                   extra=("-retry-join", join, "-retry-interval", "1s"))
    c.wait_up()
    return c


def passing_nodes(agent, svc):
    code, body = agent.request("GET", "/v1/health/service/%s?passing" % svc)
    return sorted(e["Node"]["Node"] for e in json.loads(body)) \
        if code == 200 else None


def dns_addrs(agent, svc):
    return sorted(agent.dig("%s.service.consul" % svc, "+short").split())


def test_agents_in_a_cluster(make_agent):
    t = Target()
    t.tcp_open()
    try:
        servers = cluster(make_agent, 3)
        wait_leader(servers)
        a = start_client(make_agent, servers, {"svc.json": json.dumps({
            "enable_local_script_checks": True,
            "services": [
                {"name": "web", "port": 80, "check": {
                    "http": "http://%s:%d/health" % (t.addr, t.http),
                    "interval": "1s"}},
                {"name": "job", "port": 81, "check": {
                    "args": ["/bin/sh", "-c", "exit $(cat %s)" %
                             SCRIPT_FLAG], "interval": "1s"}}]})})
        b = start_client(make_agent, servers, {})
        # b registers through the API: curl-style and python3-consul
        body = {"Name": "db", "Port": 5432, "Check": {
            "TCP": "%s:%d" % (t.addr, t.tcp_port), "Interval": "1s"}}
        assert b.request("PUT", "/v1/agent/service/register",
                         json.dumps(body).encode())[0] == 200
        pc = consul.Consul(host=b.addr, port=b.http)
        assert pc.agent.service.register("cache", service_id="cache1",
                                         port=6379, ttl="60s") is True
        pc.agent.check.ttl_pass("service:cache1")
        s = servers[1]
        for svc, node in (("web", a), ("job", a), ("db", b),
                          ("cache", b)):
            wait_for(lambda: passing_nodes(s, svc) == [node.node],
                     "%s passing on a server" % svc)
        wait_for(lambda: dns_addrs(s, "web") == [a.addr], "web in DNS")

        # each kind of check fails, and comes back
        t.code = 500
        wait_for(lambda: passing_nodes(s, "web") == [], "web failing")
        wait_for(lambda: dns_addrs(s, "web") == [], "web out of DNS")
        t.code = 200
        wait_for(lambda: passing_nodes(s, "web") == [a.node], "web back")
        wait_for(lambda: dns_addrs(s, "web") == [a.addr], "web in DNS")
        with open(SCRIPT_FLAG, "w") as f:
            f.write("2")
        wait_for(lambda: passing_nodes(s, "job") == [], "job failing")
        with open(SCRIPT_FLAG, "w") as f:
            f.write("0")
        wait_for(lambda: passing_nodes(s, "job") == [a.node], "job back")
        t.tcp_close()
        wait_for(lambda: passing_nodes(s, "db") == [], "db failing")
        wait_for(lambda: dns_addrs(s, "db") == [], "db out of DNS")
        t.tcp_open()
        wait_for(lambda: passing_nodes(s, "db") == [b.node], "db back")

        # maintenance on a node takes all its instances out
        assert pc.agent.maintenance("true", "kernel update") is True
        wait_for(lambda: passing_nodes(s, "db") == [] and
                 passing_nodes(s, "cache") == [], "b in maintenance")
        assert pc.agent.maintenance("false") is True
        wait_for(lambda: passing_nodes(s, "db") == [b.node],
                 "b out of maintenance")

        # checkd killed on b: the agent restarts it, registrations kept
        os.kill(b.daemon_pid("checkd"), signal.SIGKILL)
        wait_for(lambda: "cache1" in _services(pc) and "db" in
                 _services(pc), "b's registrations after checkd restarted",
                 timeout=40)
        pc.agent.check.ttl_pass("service:cache1")
        wait_for(lambda: passing_nodes(s, "cache") == [b.node],
                 "cache passing again")
    finally:
        t.stop()


def _services(c):
    try:
        return c.agent.services()
    except Exception:
        return {}
