"""images.push / images.pull / login through the Python Docker SDK 7.1 against a loopback registry."""
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import docker
import pytest

from conftest import REPO


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Berth's own registry, berth-registry, on a free loopback port."""
    binary = os.path.join(REPO, "bin", "berth-registry")
    host = "127.0.0.1:%d" % _free_port()
    proc = subprocess.Popen([binary, "--listen", host, "--root", str(tmp_path_factory.mktemp("registry"))],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            urllib.request.urlopen("http://%s/v2/" % host, timeout=1)
            break
        except Exception:
            time.sleep(0.05)
    yield host
    proc.terminate()
    proc.wait(10)


def test_push_then_pull(client, registry):
    repo = "%s/py/busybox" % registry
    assert client.images.get("busybox").tag(repo, "py1")
    lines = list(client.images.push(repo, tag="py1", stream=True, decode=True))
    assert lines[0]["status"] == "The push refers to repository [%s]" % repo
    aux = [l["aux"] for l in lines if "aux" in l]
    assert aux and aux[0]["Tag"] == "py1" and aux[0]["Digest"].startswith("sha256:")
    assert not [l for l in lines if "error" in l]
    client.images.remove(repo + ":py1")
    img = client.images.pull(repo, tag="py1")
    assert repo + ":py1" in img.tags
    assert "%s@%s" % (repo, aux[0]["Digest"]) in img.attrs["RepoDigests"]
    assert client.containers.run(repo + ":py1", ["echo", "ok"], remove=True) == b"ok\n"


def test_pull_unknown_tag_is_not_found(client, registry):
    with pytest.raises(docker.errors.NotFound) as e:
        client.images.pull("%s/py/busybox" % registry, tag="missing")
    assert "manifest unknown" in str(e.value)


def test_push_unknown_local_image(client, registry):
    with pytest.raises(docker.errors.NotFound):
        client.images.push("%s/py/none" % registry, tag="x")


@pytest.fixture(scope="module")
def authed_registry(tmp_path_factory):
    """berth-registry with --htpasswd (Basic auth, as registry:2 does it): user tester, password
    secret. The Bearer token flow is covered by src/registry/client.test.ts."""
    scratch = tmp_path_factory.mktemp("authed")
    # The bcrypt line `htpasswd -Bbn tester secret` would write, made with the repo's bcryptjs.
    line = subprocess.check_output(
        [os.path.join(REPO, "bin", "node"), "-e",
         "import('bcryptjs').then((b) => process.stdout.write('tester:' + b.default.hashSync('secret', 5)))"],
        cwd=REPO, text=True)
    (scratch / "htpasswd").write_text(line + "\n")
    host = "127.0.0.1:%d" % _free_port()
    proc = subprocess.Popen([os.path.join(REPO, "bin", "berth-registry"), "--listen", host, "--root", str(scratch / "root"),
                             "--htpasswd", str(scratch / "htpasswd")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            urllib.request.urlopen("http://%s/v2/" % host, timeout=1)
        except urllib.error.HTTPError:
            break  # 401: up, and asking for credentials
        except Exception:
            time.sleep(0.05)
    yield host
    proc.terminate()
    proc.wait(10)


def test_login_and_authenticated_push(client, authed_registry):
    with pytest.raises(docker.errors.APIError) as e:
        client.login("tester", "wrong", registry=authed_registry, reauth=True)
    assert e.value.status_code == 401
    assert "login attempt to http://%s/v2/ failed with status: 401 Unauthorized" % authed_registry in str(e.value)
    assert client.login("tester", "secret", registry=authed_registry, reauth=True)["Status"] == "Login Succeeded"
    repo = "%s/py/private" % authed_registry
    client.images.get("busybox").tag(repo, "1")
    lines = list(client.images.push(repo, tag="1", stream=True, decode=True,
                                    auth_config={"username": "tester", "password": "secret"}))
    assert not [l for l in lines if "error" in l], lines
    denied = list(client.images.push(repo, tag="1", stream=True, decode=True,
                                     auth_config={"username": "tester", "password": "nope"}))
    assert "error" in denied[-1]
