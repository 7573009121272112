"""Container behaviours real SDK scripts depend on, each as dockerd 20.10 answers it (issue 18)."""
import os
import subprocess


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
