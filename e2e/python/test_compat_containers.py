"""Container behaviours real SDK scripts depend on, each as dockerd 20.10 answers it (issue 18)."""


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
