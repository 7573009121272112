"""Day-two operations through the Python Docker SDK: restart policies, pause, stats, update,
health checks, copying files in and out, diff and commit."""
import io
import tarfile
import time

import docker
import pytest


def wait_for(fn, timeout=15, step=0.1):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def test_restart_policy_on_failure(client):
    c = client.containers.run("busybox", ["sh", "-c", "exit 4"], detach=True,
                              restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    try:
        def done():
            c.reload()
            return c.attrs["RestartCount"] == 2 and c.status == "exited"
        wait_for(done)
        assert c.attrs["State"]["ExitCode"] == 4
        assert c.attrs["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    finally:
        c.remove(force=True)


def test_pause_unpause(client):
    c = client.containers.run("busybox", ["sleep", "100"], detach=True)
    try:
        c.pause()
        c.reload()
        assert c.status == "paused"
        assert c.attrs["State"]["Paused"] is True
        with pytest.raises(docker.errors.APIError) as e:
            c.exec_run(["true"])
        assert "is paused" in str(e.value)
        c.unpause()
        c.reload()
        assert c.status == "running"
    finally:
        c.remove(force=True)


def test_stats_and_update(client):
    c = client.containers.run("busybox", ["sh", "-c", "while :; do :; done"], detach=True, mem_limit="64m")
    try:
        s = c.stats(stream=False)
        assert s["memory_stats"]["limit"] == 64 * 1024 * 1024
        delta = s["cpu_stats"]["cpu_usage"]["total_usage"] - s["precpu_stats"]["cpu_usage"]["total_usage"]
        system = s["cpu_stats"]["system_cpu_usage"] - s["precpu_stats"]["system_cpu_usage"]
        assert delta > 0 and system > 0
        # A busy loop: clearly more than nothing, however loaded the machine is.
        assert delta / system * s["cpu_stats"]["online_cpus"] > 0.05
        assert s["pids_stats"]["current"] == 1
        stream = c.stats(stream=True, decode=True)
        first, second = next(stream), next(stream)
        assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]
        stream.close()

        c.update(mem_limit="128m", memswap_limit="256m", cpu_quota=50000, restart_policy={"Name": "always"})
        c.reload()
        assert c.attrs["HostConfig"]["Memory"] == 128 * 1024 * 1024
        assert c.attrs["HostConfig"]["CpuQuota"] == 50000
        assert c.attrs["HostConfig"]["RestartPolicy"]["Name"] == "always"
        assert c.stats(stream=False, one_shot=True)["memory_stats"]["limit"] == 128 * 1024 * 1024
    finally:
        c.remove(force=True)


def test_health_check(client):
    c = client.containers.run("busybox", ["sleep", "100"], detach=True,
                              healthcheck={"test": ["CMD-SHELL", "echo ok"], "interval": 200_000_000, "retries": 1})
    try:
        def healthy():
            c.reload()
            return c.attrs["State"].get("Health", {}).get("Status") == "healthy"
        wait_for(healthy)
        assert c.attrs["State"]["Health"]["Log"][-1]["Output"] == "ok\n"
    finally:
        c.remove(force=True)


def test_put_and_get_archive_diff_and_commit(client):
    c = client.containers.run("busybox", ["sleep", "100"], detach=True)
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            data = b"from python\n"
            info = tarfile.TarInfo("note.txt")
            info.size = len(data)
            info.mode = 0o600
            info.uid = 1001
            tar.addfile(info, io.BytesIO(data))
        assert c.put_archive("/tmp", buf.getvalue())
        assert c.exec_run(["stat", "-c", "%a %u", "/tmp/note.txt"]).output == b"600 1001\n"

        stream, stat = c.get_archive("/tmp/note.txt")
        assert stat["name"] == "note.txt" and stat["size"] == 12
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            assert tar.extractfile("note.txt").read() == b"from python\n"
        with pytest.raises(docker.errors.NotFound):
            c.get_archive("/no/such/file")

        changes = {(ch["Kind"], ch["Path"]) for ch in c.diff()}
        assert (1, "/tmp/note.txt") in changes

        image = c.commit(repository="pysnap", tag="1", message="from the SDK", changes=["ENV FROM_SDK=yes"])
        assert image.attrs["Comment"] == "from the SDK"
        out = client.containers.run("pysnap:1", ["sh", "-c", "cat /tmp/note.txt; echo $FROM_SDK"], remove=True)
        assert out == b"from python\nyes\n"
    finally:
        c.remove(force=True)
