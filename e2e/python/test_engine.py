"""The engine core through the Python Docker SDK 7.1."""
import io
import tarfile

import docker
import pytest


def test_version_and_ping(client):
    assert client.ping() is True
    v = client.version()
    assert v["Platform"]["Name"] == "Berth Engine"
    assert float(v["ApiVersion"]) >= 1.44


def test_run_returns_output_and_raises_on_failure(client):
    assert client.containers.run("busybox", ["echo", "hi"], remove=True) == b"hi\n"
    with pytest.raises(docker.errors.ContainerError) as e:
        client.containers.run("busybox", ["sh", "-c", "exit 3"], remove=True)
    assert e.value.exit_status == 3


def test_detached_lifecycle(client):
    c = client.containers.run("busybox", ["sh", "-c", "echo started; trap 'exit 0' TERM; while :; do sleep 0.1; done"],
                              detach=True, name="py-life", labels={"suite": "py"})
    try:
        c.reload()
        assert c.status == "running"
        assert c.attrs["State"]["Pid"] > 0
        assert [x.name for x in client.containers.list(filters={"label": "suite=py"})] == ["py-life"]
        for _ in range(50):
            if b"started" in c.logs():
                break
            import time
            time.sleep(0.1)
        assert c.logs() == b"started\n"
        c.stop(timeout=5)
        c.reload()
        assert c.status == "exited"
        assert c.attrs["State"]["ExitCode"] == 0
        assert c.wait()["StatusCode"] == 0
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("py-life")


def test_errors_map_to_sdk_exceptions(client):
    with pytest.raises(docker.errors.ImageNotFound):
        client.containers.create("no-such-image:1")
    c = client.containers.create("busybox", ["sleep", "30"], name="py-dup")
    try:
        with pytest.raises(docker.errors.APIError) as e:
            client.containers.create("busybox", name="py-dup")
        assert e.value.status_code == 409
        c.start()
        with pytest.raises(docker.errors.APIError) as e:
            c.remove()
        assert e.value.status_code == 409
    finally:
        c.remove(force=True)


def test_images_save_load_and_import(client):
    img = client.images.get("busybox")
    assert "busybox:latest" in img.tags
    data = b"".join(img.save(named=True))
    loaded = client.images.load(data)
    assert loaded[0].id == img.id
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("hello.txt")
        payload = b"from python\n"
        info.size = len(payload)
        t.addfile(info, io.BytesIO(payload))
    client.api.import_image_from_data(buf.getvalue(), repository="pyimport", tag="1")
    assert client.images.get("pyimport:1").attrs["RootFS"]["Type"] == "layers"
    client.images.remove("pyimport:1")
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("pyimport:1")


def test_exec_free_security_defaults(client):
    out = client.containers.run("busybox", ["grep", "CapEff", "/proc/self/status"], remove=True)
    assert b"00000000a80425fb" in out
