"""Dockerfile builds through the Python Docker SDK (POST /build): images.build with a path and
with a file object, build args, the cache, and BuildError with the step's message."""
import io
import os
import shutil
import tempfile

import docker
import pytest


_contexts = []


@pytest.fixture(autouse=True)
def _remove_contexts():
    yield
    while _contexts:
        shutil.rmtree(_contexts.pop(), ignore_errors=True)


def _context(files):
    d = tempfile.mkdtemp(prefix="berth-py-build-")
    _contexts.append(d)
    for name, body in files.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(body)
    return d


def test_build_from_a_path_tags_and_runs(client):
    ctx = _context({
        "Dockerfile": "FROM busybox\nARG WHO=nobody\nCOPY msg.txt /msg.txt\nRUN echo \"for $WHO\" >> /msg.txt\nCMD [\"cat\", \"/msg.txt\"]\n",
        "msg.txt": "hello\n",
    })
    image, logs = client.images.build(path=ctx, tag="pybuild:1", buildargs={"WHO": "python"}, rm=True)
    assert "pybuild:1" in image.tags
    text = "".join(chunk.get("stream", "") for chunk in logs)
    assert "Step 1/5 : FROM busybox" in text
    assert "Successfully tagged pybuild:1" in text
    assert client.containers.run("pybuild:1", remove=True) == b"hello\nfor python\n"
    assert image.history()[0]["CreatedBy"] == '/bin/sh -c #(nop)  CMD ["cat" "/msg.txt"]'
    _, again = client.images.build(path=ctx, tag="pybuild:1", buildargs={"WHO": "python"})
    assert sum(1 for c in again if c.get("stream") == " ---> Using cache\n") == 4


def test_build_from_a_file_object(client):
    image, _ = client.images.build(fileobj=io.BytesIO(b"FROM busybox\nLABEL made.by=sdk\n"), tag="pybuild:fileobj")
    assert image.labels == {"made.by": "sdk"}


def test_a_failing_step_raises_build_error(client):
    ctx = _context({"Dockerfile": "FROM busybox\nRUN echo doing && exit 5\n"})
    with pytest.raises(docker.errors.BuildError) as err:
        client.images.build(path=ctx, tag="pybuild:broken")
    assert "returned a non-zero code: 5" in str(err.value)
    assert any("doing" in c.get("stream", "") for c in err.value.build_log)
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("pybuild:broken")


def test_a_dockerfile_outside_the_context_never_appears_in_the_image(client):
    outer = _context({"Dockerfile": "FROM busybox\nCOPY . /x\n"})
    ctx = os.path.join(outer, "ctx")
    os.mkdir(ctx)
    with open(os.path.join(ctx, "a.txt"), "w") as f:
        f.write("a\n")
    image, _ = client.images.build(path=ctx, dockerfile="../Dockerfile", tag="pyoutside:1")
    assert client.containers.run(image.id, ["ls", "-A", "/x"], remove=True) == b"a.txt\n"
