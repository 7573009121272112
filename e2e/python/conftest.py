"""Starts a private berthd on a temporary root for the Python Docker SDK tests, and holds the
helpers more than one test file needs (private daemons, free ports, berth-registry processes)."""
import contextlib
import http.client
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import docker
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self._path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self._path)


@contextlib.contextmanager
def private_berthd(prefix, *args):
    """A berthd on a temporary root (its unix socket, no default bridge, then `args`), with
    busybox:latest made on it; yields {"root", "sock", "proc"}. Afterwards it is stopped and
    everything it made is removed: containers of either runtime, mounts, user networks' bridges
    and nftables table, the root."""
    root = tempfile.mkdtemp(prefix=prefix)
    sock = os.path.join(root, "berth.sock")
    proc = subprocess.Popen(
        [os.path.join(REPO, "bin", "berthd"), "--data-root", os.path.join(root, "data"),
         "--exec-root", os.path.join(root, "run"), "-H", "unix://" + sock,
         "--pidfile", os.path.join(root, "berthd.pid"),
         # As e2e/harness.ts: no shared berth0 between daemons of concurrent test runs.
         "--bridge", "none", *args],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "berthd.log"), "wb"))
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(sock):
                try:
                    s = socket.socket(socket.AF_UNIX)
                    s.connect(sock)
                    s.close()
                    break
                except OSError:
                    pass
            if proc.poll() is not None:
                raise RuntimeError(open(os.path.join(root, "berthd.log")).read())
            time.sleep(0.05)
        conn = _UnixHTTP(sock)
        conn.request("POST", "/berth/v1/images/bootstrap?image=busybox")
        body = conn.getresponse().read().decode()
        assert '"error"' not in body, body
        yield {"root": root, "sock": sock, "proc": proc}
    finally:
        _remove_berthd(root, proc)


def _remove_berthd(root, proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
    # Containers of either runtime: crun keeps its state under the same root in its own format;
    # the runtimes beside the default have roots of their own (see src/daemon/runtime.ts).
    runc_roots = [os.path.join(root, "run", "runc")] + [
        os.path.join(root, "run", "runtimes", n, "runc") for n in ("runc", "crun")]
    for runc_root in runc_roots:
        for runtime in ("runc", "crun"):
            if not os.path.isdir(runc_root) or not shutil.which(runtime):
                continue
            ids = subprocess.run([runtime, "--root", runc_root, "list", "-q"],
                                 capture_output=True, text=True).stdout.split()
            for cid in ids:
                subprocess.run([runtime, "--root", runc_root, "delete", "-f", cid], capture_output=True)
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if line.split()[4].startswith(root)]
    for m in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", m], capture_output=True)
    # User networks the daemon could not remove (it was killed): their bridges and the nftables
    # table named for the data root (--bridge none; see src/daemon/daemon.ts).
    nets = os.path.join(root, "data", "network", "networks")
    for f in os.listdir(nets) if os.path.isdir(nets) else []:
        if f.endswith(".json") and len(f) == 69:
            subprocess.run(["ip", "link", "del", "bn-" + f[:12]], capture_output=True)
    table = "berth_nets_" + hashlib.sha256(os.path.join(root, "data").encode()).hexdigest()[:8]
    subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip6", table], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def berthd():
    with private_berthd("berth-py-") as d:
        yield d


@pytest.fixture()
def client(berthd):
    c = docker.DockerClient(base_url="unix://" + berthd["sock"], version="auto")
    yield c
    c.close()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@contextlib.contextmanager
def berth_registry(root, *args):
    """bin/berth-registry on a free loopback port over `root`, with `args` added; yields its
    host:port once it answers (a 401 from one that wants credentials counts), stops it after."""
    host = "127.0.0.1:%d" % free_port()
    proc = subprocess.Popen([os.path.join(REPO, "bin", "berth-registry"), "--listen", host, "--root", str(root), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                urllib.request.urlopen("http://%s/v2/" % host, timeout=1)
                break
            except urllib.error.HTTPError:
                break
            except Exception:
                time.sleep(0.05)
        yield host
    finally:
        proc.terminate()
        proc.wait(10)
