"""Container behaviours real SDK scripts depend on, each as dockerd 20.10 answers it (issue 18)."""
import os
import subprocess

import docker
import pytest


def test_commit_with_pause_succeeds_whether_running_exiting_or_exited(client):
    # Started and committed at once: the commit meets the container running, exiting or exited.
    for i in range(5):
        c = client.containers.run("busybox", ["touch", "/test"], detach=True)
        try:
            # Whether `touch` ran before the commit read the changes is a race of its own.
            img = c.commit(repository="committed", tag=str(i), pause=True)
            assert client.containers.run(img.id, ["true"], remove=True) == b""
            c.wait()
            img = c.commit(repository="committed", tag=f"{i}-exited", pause=True)
            assert client.containers.run(img.id, ["ls", "/test"], remove=True) == b"/test\n"
        finally:
            c.remove(force=True)
    c = client.containers.run("busybox", ["sh", "-c", "touch /running; sleep 300"], detach=True)
    try:
        img = c.commit(repository="committed", tag="running", pause=True)
        assert client.api.inspect_container(c.id)["State"]["Paused"] is False
        assert client.containers.run(img.id, ["ls", "/running"], remove=True) == b"/running\n"
    finally:
        c.remove(force=True)


def test_log_config_max_file_without_max_size_is_accepted(client):
    c = client.containers.run("busybox", ["echo", "logged"], detach=True,
                              log_config={"Type": "json-file", "Config": {"max-file": "2"}})
    try:
        c.wait()
        assert c.logs() == b"logged\n"
        assert client.api.inspect_container(c.id)["HostConfig"]["LogConfig"]["Config"] == {"max-file": "2"}
    finally:
        c.remove(force=True)


def test_a_container_asking_for_runc_runs_on_runc_and_info_lists_both_runtimes(client, berthd):
    info = client.info()
    assert "runc" in info["Runtimes"]
    assert info["DefaultRuntime"] in info["Runtimes"]
    c = client.containers.run("busybox", ["sleep", "300"], detach=True, runtime="runc")
    try:
        assert client.api.inspect_container(c.id)["HostConfig"]["Runtime"] == "runc"
        # runc itself lists it: the runtimes beside the default keep their state apart.
        runc_root = os.path.join(berthd["root"], "run", "runtimes", "runc", "runc")
        if info["DefaultRuntime"] == "runc":
            runc_root = os.path.join(berthd["root"], "run", "runc")
        listed = subprocess.run(["runc", "--root", runc_root, "list", "-q"], capture_output=True, text=True).stdout
        assert c.id in listed.split()
        assert c.exec_run(["echo", "in"]).output == b"in\n"
        c.stop(timeout=0)
        assert client.api.inspect_container(c.id)["State"]["ExitCode"] == 137
    finally:
        c.remove(force=True)


def _mac_in(client, cid, ifname):
    out = client.containers.get(cid).exec_run(["cat", f"/sys/class/net/{ifname}/address"]).output
    return out.decode().strip()


def test_mac_addresses_from_config_and_endpoints_on_create_and_connect(berthd):
    old = docker.APIClient(base_url="unix://" + berthd["sock"], version="1.41")
    new = docker.APIClient(base_url="unix://" + berthd["sock"], version="1.44")
    nets = [new.create_network(n)["Id"] for n in ("macnet1", "macnet2")]
    ids = []
    try:
        # API 1.41: the container-wide Config.MacAddress, for its main network.
        c = old.create_container("busybox", ["sleep", "300"], mac_address="02:42:ac:11:00:a1",
                                 host_config=old.create_host_config(network_mode="macnet1"))["Id"]
        ids.append(c)
        old.start(c)
        info = old.inspect_container(c)
        assert info["Config"]["MacAddress"] == "02:42:ac:11:00:a1"
        assert info["NetworkSettings"]["Networks"]["macnet1"]["MacAddress"] == "02:42:ac:11:00:a1"
        assert _mac_in(docker.DockerClient(base_url="unix://" + berthd["sock"]), c, "eth0") == "02:42:ac:11:00:a1"
        # API 1.44: the endpoint's own, on create and on connect.
        c2 = new.create_container(
            "busybox", ["sleep", "300"], host_config=new.create_host_config(network_mode="macnet1"),
            networking_config=new.create_networking_config(
                {"macnet1": new.create_endpoint_config(mac_address="02:42:ac:11:00:b1")}))["Id"]
        ids.append(c2)
        new.start(c2)
        new.connect_container_to_network(c2, "macnet2", mac_address="02:42:ac:11:00:b2")
        nets_info = new.inspect_container(c2)["NetworkSettings"]["Networks"]
        assert nets_info["macnet1"]["MacAddress"] == "02:42:ac:11:00:b1"
        assert nets_info["macnet2"]["MacAddress"] == "02:42:ac:11:00:b2"
        client = docker.DockerClient(base_url="unix://" + berthd["sock"])
        assert _mac_in(client, c2, "eth0") == "02:42:ac:11:00:b1"
        assert _mac_in(client, c2, "eth1") == "02:42:ac:11:00:b2"
        # What dockerd refuses: a MAC without a network of the container's own, a malformed one.
        with pytest.raises(docker.errors.APIError, match="conflicting options: mac-address and the network mode"):
            old.create_container("busybox", mac_address="02:42:ac:11:00:c1",
                                 host_config=old.create_host_config(network_mode="host"))
        with pytest.raises(docker.errors.APIError, match="address zz: invalid MAC address"):
            old.create_container("busybox", mac_address="zz")
    finally:
        for c in ids:
            new.remove_container(c, force=True)
        for n in nets:
            new.remove_network(n)


def test_cpu_realtime_period_and_runtime_are_accepted_and_applied_where_the_kernel_has_them(client):
    has_knobs = os.path.exists("/sys/fs/cgroup/cpu/cpu.rt_period_us")
    if not has_knobs:
        with pytest.raises(docker.errors.APIError, match="Your kernel does not support cgroup cpu real-time period"):
            client.containers.create("busybox", cpu_rt_period=500000)
        return
    # The container's own cgroup carries the period (its cpu controller is mounted at its cgroup).
    c = client.containers.run("busybox", ["sleep", "300"], detach=True, cpu_rt_period=500000)
    try:
        assert c.exec_run(["cat", "/sys/fs/cgroup/cpu/cpu.rt_period_us"]).output == b"500000\n"
        hc = client.api.inspect_container(c.id)["HostConfig"]
        assert (hc["CpuRealtimePeriod"], hc["CpuRealtimeRuntime"]) == (500000, 0)
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.APIError, match="cpu real-time runtime cannot be higher than cpu real-time period"):
        client.containers.create("busybox", cpu_rt_period=1000, cpu_rt_runtime=10000)
