"""Interactive use and exec through the Python Docker SDK against berthd."""
import socket
import time


def _read_until(sock, needle, timeout=10):
    """Reads the raw attach stream until `needle` shows up (frames headers and all)."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.time() + timeout
    while needle not in buf and time.time() < deadline:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf


def test_exec_run_output_exit_code_user_env_workdir(client):
    c = client.containers.run("busybox", ["sleep", "300"], detach=True, environment={"FROM_RUN": "1"})
    try:
        r = c.exec_run(["sh", "-c", "echo $FROM_RUN $FROM_EXEC; id -u; pwd; exit 3"],
                       environment={"FROM_EXEC": "2"}, user="1000", workdir="/tmp")
        assert r.exit_code == 3
        assert r.output == b"1 2\n1000\n/tmp\n"
        out = c.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True)
        assert out.output == (b"o\n", b"e\n")
    finally:
        c.remove(force=True)


def test_exec_inspect_reports_the_exit_code(client):
    c = client.containers.run("busybox", ["sleep", "300"], detach=True)
    try:
        exec_id = client.api.exec_create(c.id, ["sh", "-c", "exit 5"])["Id"]
        client.api.exec_start(exec_id)
        info = client.api.exec_inspect(exec_id)
        assert info["ExitCode"] == 5
        assert info["Running"] is False
        assert info["ContainerID"] == c.id
    finally:
        c.remove(force=True)


def test_attach_socket_sends_stdin_to_the_container(client):
    c = client.containers.create("busybox", ["sh", "-c", "read line; echo got:$line"], stdin_open=True)
    try:
        s = client.api.attach_socket(c.id, params={"stdin": 1, "stdout": 1, "stream": 1})
        raw = s._sock
        c.start()
        raw.sendall(b"hello\n")
        data = _read_until(raw, b"got:hello")
        assert b"got:hello" in data
        assert c.wait(timeout=10)["StatusCode"] == 0
        raw.close()
    finally:
        c.remove(force=True)


def test_an_exec_created_with_a_tty_keeps_it_whatever_the_start_body_says(client):
    c = client.containers.run("busybox", ["sleep", "300"], detach=True)
    try:
        # The SDK's exec_start sends {"Tty": false} by default; the create config decides.
        with_tty = client.api.exec_create(c.id, "echo hello", tty=True)["Id"]
        assert client.api.exec_start(with_tty) == b"hello\r\n"
        without = client.api.exec_create(c.id, "echo hello", tty=False)["Id"]
        assert client.api.exec_start(without, tty=True) == b"hello\n"
    finally:
        c.remove(force=True)
