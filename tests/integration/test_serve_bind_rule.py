"""The bind rule (issue 12 item 2): `opsplan serve` on an address other than loopback is refused
before it binds unless the plan gives TLS (and a user exists); with TLS it serves HTTPS. A real
serve process, a certificate made by openssl here, `plan check` reading the files."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

import yaml_writer
from serve_process import OPSPLAN, start_serve

pytestmark = pytest.mark.slow


def self_signed(directory: Path, name: str = "tls") -> tuple[Path, Path]:
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def plan_with(tmp_path: Path, web: dict) -> Path:
    return yaml_writer.write_plan(tmp_path, {"language": "en", "monitoring": {"interval": "1s"}, "services": [],
                                             "database": {"port": yaml_writer.free_port(), "connect_timeout": "1s"},
                                             "web": {"port": 0, **web}})


def serve_on_a_taken_port(plan: Path, host: str) -> subprocess.CompletedProcess[str]:
    """serve --host HOST on a port this test holds on 127.0.0.1: were serve to bind before its rule,
    it would fail with "address in use" instead of the refusal."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        return subprocess.run([*OPSPLAN, "--plan", str(plan), "serve", "--host", host, "--port", str(port)],
                              capture_output=True, text=True, timeout=60)


def test_a_public_bind_without_tls_is_refused_before_binding(tmp_path: Path):
    done = serve_on_a_taken_port(plan_with(tmp_path, {}), "0.0.0.0")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == ["opsplan: refusing to listen on 0.0.0.0: an address other than loopback needs TLS; "
                     "set web.tls_cert_file and web.tls_key_file in the plan"], done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_public_bind_with_tls_but_no_user_is_refused(tmp_path: Path):
    cert, key = self_signed(tmp_path)
    done = serve_on_a_taken_port(plan_with(tmp_path, {"tls_cert_file": str(cert), "tls_key_file": str(key)}),
                                 "0.0.0.0")
    assert done.returncode == 1
    assert "no console user exists" in done.stderr and "in use" not in done.stderr


def test_a_public_bind_with_tls_and_an_enabled_user_passes_the_rule(tmp_path: Path):
    cert, key = self_signed(tmp_path)
    plan = plan_with(tmp_path, {"tls_cert_file": str(cert), "tls_key_file": str(key)})
    added = subprocess.run([*OPSPLAN, "--plan", str(plan), "user", "add", "kim", "--role", "admin", "--password-stdin"],
                           input="a long enough passphrase\n", capture_output=True, text=True, timeout=60,
                           env={**os.environ, "OPSPLAN_LANG": "en"})
    assert added.returncode == 0, added.stderr
    done = serve_on_a_taken_port(plan, "0.0.0.0")
    # Past the rule, serve tries to bind: the port this test holds answers "in use", not a refusal.
    assert "refusing" not in done.stderr and "no console user exists" not in done.stderr
    assert done.returncode != 0 and "in use" in done.stderr, done.stderr


def test_with_tls_serve_answers_https_only(tmp_path: Path):
    cert, key = self_signed(tmp_path)
    proc, url = start_serve(plan_with(tmp_path, {"tls_cert_file": str(cert), "tls_key_file": str(key)}))
    try:
        assert url.startswith("https://127.0.0.1:")
        answer = httpx.get(url + "healthz", verify=ssl.create_default_context(cafile=str(cert)), timeout=10)
        assert answer.status_code in (200, 503) and "status" in answer.json()
        with pytest.raises(httpx.HTTPError):  # plain HTTP on the same port gets no answer
            httpx.get(url.replace("https://", "http://") + "healthz", timeout=5)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_plan_check_reads_the_certificate_and_key(tmp_path: Path):
    cert, key = self_signed(tmp_path)
    _, other_key = self_signed(tmp_path, "other")

    def check(web: dict) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*OPSPLAN, "plan", "check", str(plan_with(tmp_path, web))],
                              capture_output=True, text=True, timeout=60, env={**os.environ, "OPSPLAN_LANG": "en"})

    assert check({"tls_cert_file": str(cert), "tls_key_file": str(key)}).returncode == 0
    mismatched = check({"tls_cert_file": str(cert), "tls_key_file": str(other_key)})
    assert mismatched.returncode == 2 and "web.tls_key_file" in mismatched.stdout + mismatched.stderr
    os.chmod(key, 0o644)
    readable = check({"tls_cert_file": str(cert), "tls_key_file": str(key)})
    assert readable.returncode == 2 and "chmod 600" in readable.stdout + readable.stderr
    missing = check({"tls_cert_file": str(tmp_path / "nope.pem"), "tls_key_file": str(key)})
    assert missing.returncode == 2 and "does not exist" in missing.stdout + missing.stderr
    half = check({"tls_cert_file": str(cert)})
    assert half.returncode == 2 and "give both" in half.stdout + half.stderr
