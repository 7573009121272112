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


def test_ipam_pool_with_range_and_aux_addresses_and_options(client):
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet="10.251.4.0/24", iprange="10.251.4.128/25",
                                             gateway="10.251.4.1", aux_addresses={"r": "10.251.4.129"})])
    n = client.networks.create("pyipam", ipam=ipam, options={"x": "y"})
    try:
        attrs = client.api.inspect_network(n.id)
        assert attrs["IPAM"]["Config"] == [{"Subnet": "10.251.4.0/24", "IPRange": "10.251.4.128/25",
                                            "Gateway": "10.251.4.1", "AuxiliaryAddresses": {"r": "10.251.4.129"}}]
        assert attrs["Options"] == {"x": "y"}
        out = client.containers.run("busybox", ["ip", "-o", "-4", "addr", "show", "eth0"], network="pyipam",
                                    remove=True)
        assert b"inet 10.251.4.128/24" in out
        c = client.containers.run("busybox", ["ip", "-o", "-4", "addr", "show", "eth0"], network="pyipam",
                                  detach=True)
        c.wait()
        assert b"inet 10.251.4.130/24" in c.logs(), "the auxiliary address is skipped"
        c.remove()
    finally:
        n.remove()
    plain = client.networks.create("pyplain")
    try:
        assert client.api.inspect_network(plain.id)["Options"] == {}
    finally:
        plain.remove()


def test_ipv6_network_with_the_sdk(client):
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet="2001:db8:251::/64")])
    n = client.networks.create("py6", enable_ipv6=True, ipam=ipam)
    a = b = None
    try:
        assert client.api.inspect_network(n.id)["EnableIPv6"] is True
        a = client.containers.run("busybox", ["sleep", "300"], detach=True, name="py6a", network="py6")
        b = client.containers.run("busybox", ["sleep", "300"], detach=True, name="py6b")
        n.connect(b, ipv6_address="2001:db8:251::99")
        b.reload()
        assert b.attrs["NetworkSettings"]["Networks"]["py6"]["GlobalIPv6Address"] == "2001:db8:251::99"
        a.reload()
        assert a.attrs["NetworkSettings"]["Networks"]["py6"]["GlobalIPv6Address"] == "2001:db8:251::2"
        code, out = a.exec_run(["nslookup", "-type=aaaa", "py6b"])
        assert code == 0, out
        assert b"Address: 2001:db8:251::99" in out
        code, out = a.exec_run(["ping", "-c", "1", "-W", "3", "2001:db8:251::99"])
        assert code == 0, out
    finally:
        for c in (a, b):
            if c:
                c.remove(force=True)
        n.remove()
