"""images.push / images.pull / login through the Python Docker SDK 7.1 against a loopback registry."""
import os
import subprocess

import docker
import pytest

from conftest import REPO, berth_registry


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Berth's own registry, berth-registry, on a free loopback port."""
    with berth_registry(tmp_path_factory.mktemp("registry")) as host:
        yield host


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
    with berth_registry(scratch / "root", "--htpasswd", str(scratch / "htpasswd")) as host:
        yield host


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
