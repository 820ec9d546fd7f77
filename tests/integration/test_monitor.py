"""GET /v1/agent/monitor and `cairn monitor`: every daemon's log lines,
through the log tap (run_dir/log.sock) and httpd, streamed chunked as
Consul streams them, read with python requests, curl and raw sockets.
Covers the hclog text and JSON formats, ?loglevel filtering, the 400 for
an unknown level, clients that go away or never read, the cap on streams,
and the command: lines printed, 0 on interrupt, 1 with a clear message
when the agent cannot be reached or goes away."""
import json
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time

import requests

from conftest import BIN

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                       r"\[(TRACE|DEBUG|INFO|WARN|ERROR)\] {1,2}[a-z]+: ")


class Stream:
    """A monitor stream read by python requests in a thread."""

    def __init__(self, agent, query=""):
        self.resp = requests.get(agent.url + "/v1/agent/monitor" + query,
                                 stream=True, timeout=(5, 60))
        self.lines = queue.Queue()
        self.seen = []
        if self.resp.status_code == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.resp.iter_lines():
                self.lines.put(line.decode())
        except Exception as e:      # the stream was closed under us
            self.lines.put(e)
        self.lines.put(None)

    def wait_for(self, pred, what, timeout=15):
        """The first line that pred accepts; every line read is kept."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None or isinstance(line, Exception):
                break
            self.seen.append(line)
            if pred(line):
                return line
        raise AssertionError("no line for %s in %r" % (what, self.seen))

    def drain(self, secs=0.5):
        """Lines read within secs from now."""
        deadline = time.time() + secs
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                continue
            if isinstance(line, str):
                self.seen.append(line)
        return self.seen

    def close(self):
        # The reader thread holds the response's buffer lock in recv():
        # end the connection under it first, or close() waits for it.
        try:
            self.resp.raw._connection.sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            pass
        self.resp.close()


def register(agent, name):
    """An info line from checkd: `service "<name>" registered ...`."""
    body = json.dumps({"Name": name, "ID": name, "Port": 1234}).encode()
    code, out = agent.request("PUT", "/v1/agent/service/register", body)
    assert code == 200, out


def bad_request(agent):
    """A warn line from httpd: a header name with a space is a 400."""
    s = socket.create_connection((agent.addr, agent.http), timeout=5)
    s.sendall(b"GET /v1/agent/self HTTP/1.1\r\nBad Header: x\r\n\r\n")
    reply = s.recv(4096)
    s.close()
    assert reply.startswith(b"HTTP/1.1 400"), reply


def raw_stream(agent, query="", version="1.1"):
    """A socket that asked for a stream; (socket, the reply so far)."""
    s = socket.create_connection((agent.addr, agent.http), timeout=5)
    s.sendall(("GET /v1/agent/monitor%s HTTP/%s\r\nHost: x\r\n\r\n" %
               (query, version)).encode())
    got = b""
    while b"\r\n\r\n" not in got:
        data = s.recv(4096)
        if not data:
            break
        got += data
    return s, got


def test_stream_shows_lines(agent):
    st = Stream(agent)
    try:
        assert st.resp.status_code == 200
        assert st.resp.headers["Transfer-Encoding"] == "chunked"
        assert st.resp.headers["Content-Type"].startswith("text/plain")
        register(agent, "monsvc1")
        line = st.wait_for(lambda l: '"monsvc1"' in l, "the registration")
        assert TEXT_LINE.match(line), line
        assert ' [INFO]  checkd: service "monsvc1" registered through ' \
               'the API' in line, line
        # every line is whole and formatted, whoever wrote it
        for l in st.seen:
            assert TEXT_LINE.match(l), l
    finally:
        st.close()


def test_loglevel_filters(agent):
    warn = Stream(agent, "?loglevel=warn")
    info = Stream(agent, "?loglevel=INFO")
    err = Stream(agent, "?loglevel=err")
    try:
        register(agent, "monsvc2")
        bad_request(agent)
        w = warn.wait_for(lambda l: "400 Bad request" in l, "the warning")
        assert " [WARN]  httpd: http: " in w, w
        info.wait_for(lambda l: '"monsvc2"' in l, "the info line")
        info.wait_for(lambda l: "400 Bad request" in l, "the warning")
        # nothing below warn reached the warn stream, nor the info line
        assert all("[INFO]" not in l and "[DEBUG]" not in l
                   for l in warn.drain()), warn.seen
        assert all("[WARN]" not in l and "[INFO]" not in l
                   for l in err.drain()), err.seen
    finally:
        for s in (warn, info, err):
            s.close()


def test_logjson(agent):
    st = Stream(agent, "?logjson&loglevel=debug")
    try:
        register(agent, "monsvc3")
        line = st.wait_for(lambda l: "monsvc3" in l, "the JSON line")
        obj = json.loads(line)
        assert sorted(obj) == ["@level", "@message", "@module",
                               "@timestamp"]
        assert obj["@level"] == "info"
        assert obj["@module"] == "checkd"
        assert obj["@message"] == ('service "monsvc3" registered through '
                                   'the API')
        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$",
                        obj["@timestamp"]), obj
        for l in st.seen:
            json.loads(l)
    finally:
        st.close()


def test_bad_loglevel(agent):
    code, body = agent.request("GET", "/v1/agent/monitor?loglevel=verbose")
    assert (code, body) == (400, b"Unknown log level: verbose")
    code, _ = agent.request("PUT", "/v1/agent/monitor")
    assert code == 405
    # Consul's other spellings are fine
    for lv in ("warning", "ERROR", "trace"):
        st = Stream(agent, "?loglevel=" + lv)
        assert st.resp.status_code == 200, lv
        st.close()


def test_curl_streams(agent):
    """curl reads the chunked stream as it comes (-N: no buffering)."""
    p = subprocess.Popen(["curl", "-sN", "--max-time", "20",
                          agent.url + "/v1/agent/monitor"],
                         stdout=subprocess.PIPE)
    try:
        time.sleep(0.5)     # curl's request is in
        lines = []
        deadline = time.time() + 15
        register(agent, "monsvc4")
        while time.time() < deadline:
            line = p.stdout.readline().decode()
            lines.append(line)
            if "monsvc4" in line:
                break
        assert "monsvc4" in lines[-1], lines
    finally:
        p.kill()
        p.wait()


def test_http10_stream_ends_with_close(agent):
    """HTTP/1.0 has no chunks: the body is the bytes until the close."""
    s, got = raw_stream(agent, version="1.0")
    try:
        head = got.split(b"\r\n\r\n")[0].decode()
        assert head.startswith("HTTP/1.1 200"), head
        assert "Transfer-Encoding" not in head and \
            "Content-Length" not in head, head
        assert "Connection: close" in head, head
        register(agent, "monsvc5")
        deadline = time.time() + 15
        while b"monsvc5" not in got and time.time() < deadline:
            got += s.recv(4096)
        body = got.split(b"\r\n\r\n", 1)[1].decode()
        line = [l for l in body.splitlines() if "monsvc5" in l][0]
        assert TEXT_LINE.match(line), line
    finally:
        s.close()


def test_clients_that_leave_or_stall(agent):
    httpd = agent.daemon_pid("httpd")
    # some leave at once, some after the headers, one never reads
    for _ in range(5):
        s, _ = raw_stream(agent)
        s.close()
    s = socket.create_connection((agent.addr, agent.http), timeout=5)
    s.sendall(b"GET /v1/agent/monitor HTTP/1.1\r\n\r\n")
    s.close()
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect((agent.addr, agent.http))
    stalled.sendall(b"GET /v1/agent/monitor?loglevel=trace HTTP/1.1\r\n"
                    b"\r\n")
    # lines while they go and while one stalls
    for i in range(20):
        register(agent, "monleave%d" % i)
        bad_request(agent)
    try:
        st = Stream(agent)
        try:
            register(agent, "monsvc6")
            st.wait_for(lambda l: '"monsvc6"' in l, "a line after they left")
        finally:
            st.close()
        code, _ = agent.request("GET", "/v1/agent/self")
        assert code == 200
        assert agent.daemon_pid("httpd") == httpd
    finally:
        stalled.close()


def test_stream_cap(agent):
    """64 streams at once; the 65th is a 503 until one goes."""
    held = []
    try:
        # earlier tests' streams may take a moment to be seen gone
        deadline = time.time() + 10
        while len(held) < 64 and time.time() < deadline:
            s, got = raw_stream(agent)
            if got.startswith(b"HTTP/1.1 200"):
                held.append(s)
            else:
                s.close()
                time.sleep(0.1)
        assert len(held) == 64
        code, body = agent.request("GET", "/v1/agent/monitor")
        assert code == 503, body
        assert b"Too many monitor streams" in body
        held.pop().close()
        deadline = time.time() + 10
        while True:
            s, got = raw_stream(agent)
            s.close()
            if got.startswith(b"HTTP/1.1 200"):
                break
            assert time.time() < deadline, got
            time.sleep(0.1)
    finally:
        for s in held:
            s.close()


def monitor_cmd(agent, *args):
    env = dict(os.environ)
    env["CAIRN_HTTP_ADDR"] = "%s:%d" % (agent.addr, agent.http)
    env.pop("CONSUL_HTTP_ADDR", None)
    return subprocess.Popen([os.path.join(BIN, "cairn"), "monitor"] +
                            list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def read_until(p, word, timeout=15):
    """stdout lines of p until one holds word (a thread: no hang)."""
    lines = []
    done = threading.Event()

    def reader():
        for raw in p.stdout:
            lines.append(raw.decode())
            if word in lines[-1]:
                break
        done.set()
    threading.Thread(target=reader, daemon=True).start()
    done.wait(timeout)
    return lines


def test_cli_monitor(agent):
    p = monitor_cmd(agent)
    try:
        time.sleep(0.5)
        register(agent, "monsvc7")
        lines = read_until(p, "monsvc7")
        assert lines and "monsvc7" in lines[-1], lines
        assert TEXT_LINE.match(lines[-1]), lines
        p.send_signal(signal.SIGINT)
        assert p.wait(10) == 0
    finally:
        p.kill()
        p.wait()
    p = monitor_cmd(agent, "-log-json", "-log-level=warn")
    try:
        time.sleep(0.5)
        register(agent, "monsvc8")
        bad_request(agent)
        lines = read_until(p, "400 Bad request")
        obj = json.loads(lines[-1])
        assert obj["@level"] == "warn" and obj["@module"] == "httpd", obj
        assert not any("monsvc8" in l for l in lines), lines
    finally:
        p.kill()
        p.wait()


def test_cli_monitor_errors(agent):
    r = agent.cli("monitor", "-log-level=bogus")
    assert r.returncode == 1
    assert r.stderr.decode() == ("Error starting monitor: Unexpected "
                                 "response code: 400 (Unknown log level: "
                                 "bogus)\n")
    # nobody listens on the agent's own address at port 1
    r = agent.cli("monitor", "-http-addr=%s:1" % agent.addr)
    assert r.returncode == 1
    err = r.stderr.decode()
    assert err.startswith("Error starting monitor: Get \"http://"), err
    assert "connection refused" in err, err
    r = agent.cli("monitor", "-h")
    assert r.returncode == 0
    assert b"-log-level" in r.stdout and b"-log-json" in r.stdout


def test_cli_monitor_agent_goes_away(make_agent):
    a = make_agent()
    p = monitor_cmd(a)
    try:
        time.sleep(0.5)
        register(a, "monsvc9")
        assert "monsvc9" in read_until(p, "monsvc9")[-1]
        a.stop()
        out, _ = p.communicate(timeout=30)
        assert p.returncode == 1
        assert b"Remote side ended the monitor!" in out, out
    finally:
        p.kill()
        p.wait()
