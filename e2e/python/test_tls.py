"""The Python Docker SDK 7.1 against berthd over mutual TLS on loopback: DockerClient with a
TLSConfig, docker.from_env() with DOCKER_TLS_VERIFY/DOCKER_CERT_PATH, and a client whose
certificate the daemon does not trust refused at the handshake."""
import os
import shutil
import subprocess
import tempfile

import docker
import pytest
import requests

from conftest import REPO, free_port, private_berthd


@pytest.fixture(scope="module")
def tls_daemon():
    pki = tempfile.mkdtemp(prefix="berth-py-pki-")
    try:
        # The same throwaway CA and certificates as the TypeScript tests (openssl underneath).
        subprocess.run(
            [os.path.join(REPO, "bin", "node"), "--input-type=module", "-e",
             "const m = await import(process.argv[1]); m.makePki(process.argv[2]);",
             os.path.join(REPO, "src", "tls", "testing.ts"), pki],
            check=True)
        port = free_port()
        with private_berthd("berth-py-tls-", "-H", "tcp://127.0.0.1:%d" % port,
                            "--tlsverify", "--tlscacert", os.path.join(pki, "ca.pem"),
                            "--tlscert", os.path.join(pki, "server-cert.pem"),
                            "--tlskey", os.path.join(pki, "server-key.pem")) as d:
            yield {"root": d["root"], "pki": pki, "host": "tcp://127.0.0.1:%d" % port}
    finally:
        shutil.rmtree(pki, ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_ca_bundle_override(monkeypatch):
    """requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE replace a session's own CA (psf/requests#3829):
    a machine that sets them would make the SDK ignore TLSConfig's ca_cert."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def _tls(pki, cert="cert.pem", key="key.pem"):
    return docker.tls.TLSConfig(client_cert=(os.path.join(pki, cert), os.path.join(pki, key)),
                                ca_cert=os.path.join(pki, "ca.pem"), verify=True)


def test_docker_client_with_tls_config_runs_a_container(tls_daemon):
    c = docker.DockerClient(base_url=tls_daemon["host"], tls=_tls(tls_daemon["pki"]))
    try:
        assert c.ping()
        assert c.version()["Components"][0]["Name"] == "Engine"
        assert c.containers.run("busybox", ["echo", "sdk over tls"], remove=True) == b"sdk over tls\n"
        ct = c.containers.run("busybox", ["sleep", "60"], detach=True)
        code, out = ct.exec_run(["echo", "exec over tls"])
        assert (code, out) == (0, b"exec over tls\n")
        ct.remove(force=True)
    finally:
        c.close()


def test_from_env_reads_docker_tls_verify_and_docker_cert_path(tls_daemon, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", tls_daemon["host"])
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", tls_daemon["pki"])
    c = docker.from_env()
    try:
        assert "busybox:latest" in [t for i in c.images.list() for t in i.tags]
    finally:
        c.close()


def test_a_certificate_of_another_ca_is_refused(tls_daemon):
    # The daemon closes the connection right after the handshake: the SDK sees it as a
    # connection error on its first request (the version lookup DockerClient makes).
    with pytest.raises(docker.errors.DockerException, match="Connection aborted|SSL|closed"):
        docker.DockerClient(base_url=tls_daemon["host"], tls=_tls(tls_daemon["pki"], "other-cert.pem", "other-key.pem"))
