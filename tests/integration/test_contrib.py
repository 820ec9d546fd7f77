"""The service files in contrib/: systemd units pass systemd-analyze
verify, daemontools run scripts exec the daemon in the foreground with
stderr on stdout, and log/run uses multilog."""
import os
import shutil
import stat
import subprocess

import pytest

from conftest import BIN, DAEMONS

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CONTRIB = os.path.join(TOP, "contrib")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze not installed")
def test_systemd_units_verify(tmp_path):
    src = os.path.join(CONTRIB, "systemd")
    units = sorted(os.listdir(src))
    assert "cairn.target" in units
    for d in DAEMONS:
        assert "cairn-%s.service" % d in units
    # verify needs ExecStart to exist: point it at the built binaries
    for u in units:
        text = open(os.path.join(src, u)).read()
        if u.endswith(".service"):
            assert "Type=notify" in text and "Restart=on-failure" in text
            assert "PartOf=cairn.target" in text
        (tmp_path / u).write_text(text.replace("/usr/local/bin/", BIN + "/"))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no"] +
                       [str(tmp_path / u) for u in units],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    # and a broken unit is caught, so the check above means something
    (tmp_path / "cairn-broken.service").write_text(
        "[Service]\nType=notifyy\nExecStart=%s/cairn-kvd\n" % BIN)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no",
                        str(tmp_path / "cairn-broken.service")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 or "notifyy" in r.stderr


@pytest.mark.parametrize("daemon", DAEMONS)
def test_daemontools_service_dir(daemon):
    d = os.path.join(CONTRIB, "daemontools", "cairn-" + daemon)
    run = os.path.join(d, "run")
    log = os.path.join(d, "log", "run")
    for f in (run, log):
        assert os.stat(f).st_mode & stat.S_IXUSR, f
    lines = open(run).read().splitlines()
    assert lines[0] == "#!/bin/sh"
    assert "exec 2>&1" in lines
    assert lines[-1].startswith("exec /usr/local/bin/cairn-%s " % daemon)
    assert "multilog t ./main" in open(log).read()
    # the flags the run script passes are ones the daemon accepts
    flags = lines[-1].split()[2:]
    r = subprocess.run([os.path.join(BIN, "cairn-" + daemon), "-help"],
                       capture_output=True, text=True, timeout=10)
    for f in flags:
        if f.startswith("-"):
            assert f in r.stdout, f
