"""Published ports through the Python Docker SDK: ports= on run, container.ports and
NetworkSettings.Ports, client.api.port, a taken port's error. Traffic goes only to loopback.
(The session's daemon has no default bridge: the container sits on a user network.)"""
import time
import urllib.request

import docker
import pytest

from conftest import free_port


def _get_eventually(url):
    # httpd may not listen yet right after run returns: the proxy then closes the connection.
    deadline = time.time() + 10
    while True:
        try:
            return urllib.request.urlopen(url, timeout=5).read().decode().strip()
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def test_ports_published_and_shown(client):
    net = client.networks.create("pyports")
    port, udp = free_port(), free_port()
    web = client.containers.run("busybox", ["httpd", "-f", "-p", "80", "-h", "/etc"], name="pyweb", network="pyports",
                                ports={"80/tcp": ("127.0.0.1", port), "53/udp": udp, "8080/tcp": None}, detach=True)
    try:
        web.reload()
        assert web.ports["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
        # No address given: IPv4 and IPv6 on one port, as dockerd's proxy pair.
        assert web.ports["53/udp"] == [{"HostIp": "0.0.0.0", "HostPort": str(udp)},
                                       {"HostIp": "::", "HostPort": str(udp)}]
        random_port = int(web.ports["8080/tcp"][0]["HostPort"])
        assert random_port > 1024
        assert client.api.port(web.id, 80) == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
        body = _get_eventually(f"http://127.0.0.1:{port}/hostname")
        assert body == web.id[:12]
        row = client.api.containers(filters={"id": web.id})[0]
        assert {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"} in row["Ports"]
        with pytest.raises(docker.errors.APIError) as e:
            client.containers.run("busybox", "true", network="pyports", ports={"80/tcp": ("127.0.0.1", port)}, remove=True)
        assert "port is already allocated" in str(e.value)
    finally:
        web.remove(force=True)
        for c in client.containers.list(all=True, filters={"network": "pyports"}):
            c.remove(force=True)
        net.remove()
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/hostname", timeout=2)
