"""Each daemon on its own: real --help, a bad config refused with the file,
position and key, READY=1 on $NOTIFY_SOCKET once its sockets are bound,
and a clean exit 0 on SIGTERM."""
import os
import signal
import socket
import subprocess

import pytest

from conftest import BIN, DAEMONS, free_port, loopback_addr


@pytest.mark.parametrize("daemon", DAEMONS)
def test_help(daemon):
    r = subprocess.run([os.path.join(BIN, "cairn-" + daemon), "-help"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: cairn-" + daemon)
    assert "-config-dir" in r.stdout and "-data-dir" in r.stdout


def test_bad_config_names_file_position_and_key(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "datacenter": "dc1",\n  "ports": {"http": "x"}\n}\n')
    r = subprocess.run([os.path.join(BIN, "cairn-httpd"), "-dev",
                        "-data-dir", str(tmp_path / "d"),
                        "-config-file", str(bad)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "bad.json:3:" in r.stderr and "ports.http" in r.stderr


def test_unparsable_config_dir(tmp_path):
    (tmp_path / "a.json").write_text('{"datacenter": "dc1"}')
    (tmp_path / "b.json").write_text('{"node_name": "x",, }')
    r = subprocess.run([os.path.join(BIN, "cairn-gossipd"), "-dev",
                        "-data-dir", str(tmp_path / "d"),
                        "-config-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert "b.json:1:" in r.stderr


def test_ready_and_clean_stop(tmp_path):
    addr = loopback_addr()
    args = ["-dev", "-data-dir", str(tmp_path / "data"), "-node", "solo",
            "-bind", addr, "-client", addr,
            "-http-port", str(free_port(addr)),
            "-dns-port", str(free_port(addr)),
            "-server-port", str(free_port(addr)),
            "-serf-lan-port", str(free_port(addr)),
            "-serf-wan-port", str(free_port(addr))]
    procs = []
    try:
        for d in DAEMONS:
            path = str(tmp_path / ("notify-" + d))
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(path)
            sock.settimeout(15)
            env = dict(os.environ, NOTIFY_SOCKET=path)
            log = open(tmp_path / (d + ".log"), "wb")
            p = subprocess.Popen([os.path.join(BIN, "cairn-" + d)] + args,
                                 env=env, stderr=log)
            procs.append((d, p, log))
            msg = sock.recv(4096)
            sock.close()
            assert b"READY=1" in msg, d
            assert p.poll() is None, d
    finally:
        for d, p, log in reversed(procs):
            p.send_signal(signal.SIGTERM)
        codes = {}
        for d, p, log in procs:
            try:
                codes[d] = p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                codes[d] = "hung"
            log.close()
    for d, p, log in procs:
        text = (tmp_path / (d + ".log")).read_text()
        assert codes[d] == 0, "%s: %s\n%s" % (d, codes[d], text)
        assert "stopped" in text, text
    assert len(procs) == len(DAEMONS)
