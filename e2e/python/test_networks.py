"""User-defined networks through the Python Docker SDK: client.networks create/get/list/remove/
prune, containers on a network resolving each other by name and alias, connect/disconnect.
Traffic goes only to containers this daemon made."""
import docker
import pytest
from docker.types import IPAMConfig, IPAMPool


def test_network_create_get_list_remove(client):
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet="10.251.3.0/24", gateway="10.251.3.1")])
    n = client.networks.create("pynet", driver="bridge", ipam=ipam, labels={"app": "py"})
    try:
        assert n.name == "pynet"
        got = client.networks.get(n.id)
        assert got.attrs["Driver"] == "bridge"
        assert got.attrs["IPAM"]["Config"] == [{"Subnet": "10.251.3.0/24", "Gateway": "10.251.3.1"}]
        assert got.attrs["Labels"] == {"app": "py"}
        assert [x.name for x in client.networks.list(filters={"label": "app=py"})] == ["pynet"]
        assert {"host", "none", "pynet"} <= {x.name for x in client.networks.list()}
        with pytest.raises(docker.errors.APIError) as e:
            client.networks.create("pynet")
        assert e.value.status_code == 409
    finally:
        n.remove()
    with pytest.raises(docker.errors.NotFound):
        client.networks.get("pynet")


def test_containers_resolve_each_other_and_connect(client):
    n = client.networks.create("pydns")
    other = client.networks.create("pyother")
    server = client.containers.run("busybox", ["sleep", "300"], name="pyserver", network="pydns", detach=True)
    lone = client.containers.run("busybox", ["sleep", "300"], name="pylone", network="pyother", detach=True)
    try:
        out = client.containers.run("busybox", ["sh", "-c", "ping -c 1 -W 3 pyserver >/dev/null && echo ok"], network="pydns", remove=True)
        assert out.strip() == b"ok"
        n.connect(lone, aliases=["lonely"])
        lone.reload()
        assert set(lone.attrs["NetworkSettings"]["Networks"]) == {"pydns", "pyother"}
        assert lone.exec_run(["ping", "-c", "1", "-W", "3", "pyserver"]).exit_code == 0
        assert server.exec_run(["ping", "-c", "1", "-W", "3", "lonely"]).exit_code == 0
        n.reload()
        assert {c.name for c in n.containers} == {"pyserver", "pylone"}
        n.disconnect(lone)
        assert lone.exec_run(["ip", "link", "show", "eth1"]).exit_code != 0
    finally:
        server.remove(force=True)
        lone.remove(force=True)
    assert set(client.networks.prune()["NetworksDeleted"]) >= {"pydns", "pyother"}
    names = {x.name for x in client.networks.list()}
    assert "pydns" not in names and "pyother" not in names
