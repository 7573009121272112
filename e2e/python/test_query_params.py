"""Query parameters as the Python SDK 7.1 sends them (its booleans, fractional since/until,
tail=-1 as testcontainers asks on every log wait) are read as dockerd reads them."""
import time

import pytest


@pytest.fixture()
def finished(client):
    c = client.containers.run("busybox", ["sh", "-c", "echo one; echo two; echo three"], detach=True,
                              name="py-qp")
    c.wait()
    yield c
    c.remove(force=True)


def test_logs_tail_minus_one_means_every_line(finished):
    assert finished.logs(tail=-1) == b"one\ntwo\nthree\n"
    assert finished.logs(tail=1) == b"three\n"
    assert finished.logs(tail=0) == b""
    assert finished.logs(tail="all") == b"one\ntwo\nthree\n"


def test_logs_since_and_until_as_fractional_seconds(finished):
    now = time.time()
    assert finished.logs(since=now - 3600.5) == b"one\ntwo\nthree\n"
    assert finished.logs(since=now + 3600.5) == b""
    assert finished.logs(until=now + 3600.25) == b"one\ntwo\nthree\n"
    assert finished.logs(until=1.5) == b""


def test_sdk_booleans_list_and_remove(client, finished):
    # The SDK sends all=1 for list and force=True for remove: both read as true.
    assert "py-qp" in [c.name for c in client.containers.list(all=True)]
    assert "py-qp" not in [c.name for c in client.containers.list()]
    extra = client.containers.run("busybox", ["sleep", "100"], detach=True, name="py-qp-force")
    extra.remove(force=True)
    assert "py-qp-force" not in [c.name for c in client.containers.list(all=True)]
