"""HTTP and TCP checks from a config dir, against a small HTTP server and a
TCP listener this module runs on a loopback address of its own: statuses
that follow the server (2xx passing, 429 warning, 500 critical), Consul's
output, what the check sends, the 4 KiB body capture, timeouts, and what
health and DNS show of it."""
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import loopback_addr, wait_for

SRV = loopback_addr()
STATE = {"code": 200}
RECORDED = []                   # what /echo was sent
BIG = bytes(33 + (i * 7 + i // 97) % 94 for i in range(10000))
AGENT_CONFIG = None             # filled in by the servers fixture


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        code, out = 200, b"ok"
        if self.path == "/status":
            code = STATE["code"]
            out = b"status %d" % code
        elif self.path == "/echo":
            RECORDED.append({
                "method": self.command,
                "x-check": self.headers.get_all("X-Check"),
                "user-agent": self.headers.get("User-Agent"),
                "accept": self.headers.get("Accept"),
                "body": body,
            })
        elif self.path == "/big":
            out = BIG
        elif self.path == "/slow":
            time.sleep(3)       # past the check's 1s timeout
        try:
            self.send_response(code)
            self.send_header("Content-Length", str(len(out)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass                # the check gave up: that is the point
        self.close_connection = True

    do_GET = do_POST = do_PUT = answer


class QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass                    # refused handshakes, clients that left


def https_server(addr, tmp):
    """An HTTPS server with a fresh self-signed certificate."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-subj", "/CN=cairn-test", "-days", "1",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = QuietServer((addr, 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    return srv


class Acceptor:
    """A TCP listener that accepts and closes, until stopped."""

    def __init__(self, addr):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((addr, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
                conn.close()
            except OSError:
                pass

    def stop(self):
        if self.running:
            self.running = False
            self.thread.join()
            self.sock.close()


@pytest.fixture(scope="module", autouse=True)
def servers():
    """The servers, then the agent's config naming them (autouse: before
    the module's agent)."""
    global AGENT_CONFIG
    tmp = tempfile.mkdtemp(prefix="cairn-httpchk.")
    httpd = QuietServer((SRV, 0), Handler)
    httpsd = https_server(SRV, tmp)
    for srv in (httpd, httpsd):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    tcp = Acceptor(SRV)
    base = "http://%s:%d" % (SRV, httpd.server_address[1])
    tls = "https://%s:%d/ok" % (SRV, httpsd.server_address[1])
    AGENT_CONFIG = {"services.json": json.dumps({"services": [
        {"name": "web", "port": 80,
         "check": {"http": base + "/status", "interval": "1s"}},
        {"name": "echo", "port": 81,
         "check": {"http": base + "/echo", "interval": "1s",
                   "method": "POST", "body": "hello-body",
                   "header": {"X-Check": ["a", "b"]}}},
        {"name": "big", "port": 82,
         "check": {"http": base + "/big", "interval": "1s"}},
        {"name": "slow", "port": 83,
         "check": {"http": base + "/slow", "interval": "1s",
                   "timeout": "1s"}},
        {"name": "tls-skip", "port": 84,
         "check": {"http": tls, "interval": "1s", "tls_skip_verify": True}},
        {"name": "tls-verify", "port": 85,
         "check": {"http": tls, "interval": "1s"}},
        {"name": "db", "port": 5432,
         "check": {"tcp": "%s:%d" % (SRV, tcp.port), "interval": "1s"}},
    ]})}
    yield {"base": base, "tcp": tcp, "tls": tls}
    tcp.stop()
    for srv in (httpd, httpsd):
        srv.shutdown()
        srv.server_close()
    shutil.rmtree(tmp, ignore_errors=True)


def health(agent, svc, passing=False):
    code, body = agent.request("GET", "/v1/health/service/%s%s" %
                               (svc, "?passing" if passing else ""))
    assert code == 200, body
    return json.loads(body)


def check_of(agent, svc):
    """The service's own check (not the node's serfHealth)."""
    entries = health(agent, svc)
    if not entries:
        return None
    return [c for c in entries[0]["Checks"] if c["ServiceID"] == svc][0]


def wait_check(agent, svc, status, output_has=""):
    def ok():
        c = check_of(agent, svc)
        return c if c and c["Status"] == status and \
            output_has in c["Output"] else None
    return wait_for(ok, "%s %s (%r)" % (svc, status, output_has))


def test_http_check_follows_the_server(agent, servers):
    url = servers["base"] + "/status"
    STATE["code"] = 200
    c = wait_check(agent, "web", "passing")
    assert c["Type"] == "http"
    assert c["Output"] == "HTTP GET %s: 200 OK Output: status 200" % url
    assert health(agent, "web", True)
    assert agent.addr in agent.dig("web.service.consul", "A", "+short")

    STATE["code"] = 429
    c = wait_check(agent, "web", "warning")
    assert c["Output"] == ("HTTP GET %s: 429 Too Many Requests Output: "
                           "status 429" % url)
    assert health(agent, "web", True) == []
    # warning is not critical: DNS still answers
    assert agent.addr in agent.dig("web.service.consul", "A", "+short")

    STATE["code"] = 500
    c = wait_check(agent, "web", "critical")
    assert c["Output"].startswith("HTTP GET %s: 500 Internal Server Error"
                                  % url)
    assert health(agent, "web", True) == []
    wait_for(lambda: "NXDOMAIN" in agent.dig("web.service.consul", "A"),
             "web gone from DNS")

    STATE["code"] = 200
    wait_for(lambda: health(agent, "web", True), "web passing again")
    wait_for(lambda: agent.addr in agent.dig("web.service.consul", "A",
                                             "+short"), "web back in DNS")


def test_http_check_sends_method_header_body(agent):
    wait_check(agent, "echo", "passing")
    r = wait_for(lambda: RECORDED and RECORDED[-1], "a request to /echo")
    assert r["method"] == "POST"
    assert r["x-check"] == ["a", "b"]
    assert r["body"] == b"hello-body"
    assert r["user-agent"] == "Consul Health Check"
    assert r["accept"] == "text/plain, text/*, */*"
    c = check_of(agent, "echo")
    assert c["Output"].startswith("HTTP POST ")


def test_http_check_keeps_4k_of_the_body(agent):
    c = wait_check(agent, "big", "passing")
    head, _, body = c["Output"].partition(" Output: ")
    assert head.endswith(": 200 OK")
    # Consul's ring buffer: the last 4 KiB of the 10000 bytes sent
    assert len(body) == 4096
    assert body == BIG[-4096:].decode()


def test_http_check_timeout_is_critical(agent, servers):
    c = wait_check(agent, "slow", "critical", "context deadline exceeded")
    assert c["Output"] == ('Get "%s/slow": context deadline exceeded '
                           '(Client.Timeout exceeded while awaiting '
                           'headers)' % servers["base"])
    assert health(agent, "slow", True) == []


def test_https_check_tls_skip_verify(agent, servers):
    c = wait_check(agent, "tls-skip", "passing")
    assert c["Output"] == "HTTP GET %s: 200 OK Output: ok" % servers["tls"]
    # the same self-signed server, verified: critical
    c = wait_check(agent, "tls-verify", "critical", "certificate")
    assert c["Output"].startswith('Get "%s": tls: failed to verify '
                                  'certificate: ' % servers["tls"])


def test_tcp_check(agent, servers):
    tcp = servers["tcp"]
    addr = "%s:%d" % (SRV, tcp.port)
    c = wait_check(agent, "db", "passing")
    assert c["Type"] == "tcp"
    assert c["Output"] == "TCP connect %s: Success" % addr
    tcp.stop()
    c = wait_check(agent, "db", "critical", "connection refused")
    assert c["Output"] == "dial tcp %s: connect: connection refused" % addr
    assert health(agent, "db", True) == []
