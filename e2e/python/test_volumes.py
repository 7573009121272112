"""Volumes and mounts through the Python Docker SDK: client.volumes, and containers with
volumes, binds, tmpfs and Mount objects."""
import os

import docker
import pytest
from docker.types import Mount


def test_volume_create_get_list_remove(client, berthd):
    v = client.volumes.create("pyvol", labels={"app": "py"}, driver_opts={})
    try:
        assert v.name == "pyvol"
        assert v.attrs["Driver"] == "local"
        assert v.attrs["Scope"] == "local"
        assert v.attrs["Labels"] == {"app": "py"}
        assert v.attrs["Mountpoint"] == os.path.join(berthd["root"], "data", "volumes", "pyvol", "_data")
        assert client.volumes.get("pyvol").id == "pyvol"
        assert [x.name for x in client.volumes.list(filters={"label": "app=py"})] == ["pyvol"]
    finally:
        v.remove()
    with pytest.raises(docker.errors.NotFound):
        client.volumes.get("pyvol")
    with pytest.raises(docker.errors.APIError) as e:
        client.volumes.create("x")
    assert "volume name is too short" in str(e.value)
    with pytest.raises(docker.errors.APIError) as e:
        client.volumes.create("x/y")
    assert "includes invalid characters" in str(e.value)


def test_volume_in_use_refused_and_data_shared(client):
    client.containers.run("busybox", ["sh", "-c", "echo sdk > /data/f"], volumes={"pyshared": {"bind": "/data", "mode": "rw"}}, name="pywriter")
    try:
        out = client.containers.run("busybox", ["cat", "/data/f"], volumes=["pyshared:/data:ro"], remove=True)
        assert out == b"sdk\n"
        with pytest.raises(docker.errors.APIError) as e:
            client.volumes.get("pyshared").remove(force=True)
        assert e.value.status_code == 409
        assert "volume is in use" in str(e.value)
    finally:
        client.containers.get("pywriter").remove()
    client.volumes.get("pyshared").remove()


def test_mounts_binds_and_tmpfs(client, berthd):
    host = os.path.join(berthd["root"], "pybind")
    os.makedirs(host)
    with open(os.path.join(host, "in"), "w") as f:
        f.write("host\n")
    c = client.containers.run(
        "busybox", ["sh", "-c", "cat /b/in; grep ' /t ' /proc/mounts; echo v > /v/x"],
        mounts=[Mount("/b", host, type="bind", read_only=True), Mount("/v", "pymount", type="volume"),
                Mount("/t", None, type="tmpfs", tmpfs_size=1 << 20)],
        detach=True)
    try:
        assert c.wait()["StatusCode"] == 0
        out = c.logs().decode()
        assert "host\n" in out
        assert "size=1024k" in out
        c.reload()
        by_dest = {m["Destination"]: m for m in c.attrs["Mounts"]}
        assert by_dest["/b"]["Type"] == "bind" and by_dest["/b"]["RW"] is False
        assert by_dest["/v"]["Type"] == "volume" and by_dest["/v"]["Name"] == "pymount"
        assert by_dest["/t"]["Type"] == "tmpfs"
    finally:
        c.remove(v=True)
    assert client.volumes.get("pymount").name == "pymount"
    with pytest.raises(docker.errors.APIError) as e:
        client.containers.create("busybox", mounts=[Mount("/y", "/no/such/dir", type="bind")])
    assert 'bind source path does not exist: /no/such/dir' in str(e.value)


def test_prune_anonymous_only_by_default(client):
    anon = client.volumes.create()
    named = client.volumes.create("pykeep")
    result = client.volumes.prune()
    assert anon.name in (result["VolumesDeleted"] or [])
    assert "pykeep" not in (result["VolumesDeleted"] or [])
    named.remove()


def test_bind_propagation_checked_and_daemon_root_binds_rslave(client, berthd):
    host = os.path.join(berthd["root"], "pyprop")
    os.makedirs(host)
    with pytest.raises(docker.errors.APIError) as e:
        client.containers.run("busybox", "true", remove=True,
                              mounts=[Mount("/p", host, type="bind", propagation="rshared")])
    assert f"path {host} is mounted on / but it is not a shared mount" in str(e.value)
    c = client.containers.create("busybox", "true", volumes={berthd["root"]: {"bind": "/up", "mode": "ro"}})
    try:
        assert [(m["Destination"], m["Propagation"], m["RW"]) for m in c.attrs["Mounts"]] == [("/up", "rslave", False)]
    finally:
        c.remove()


def test_unknown_volume_driver_is_not_found(client):
    with pytest.raises(docker.errors.NotFound) as e:
        client.volumes.create("pydrv", driver="nosuchdrv")
    assert 'create pydrv: error looking up volume plugin nosuchdrv: plugin "nosuchdrv" not found' in str(e.value)
