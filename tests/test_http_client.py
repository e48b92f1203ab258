"""aiohttp's import without the system's certificates, and the context the fetches verify servers with."""

from __future__ import annotations

import contextlib
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from jobs.http_client import CERTIFICATE_VARIABLES, no_default_certificates, verified_tls_context


@pytest.fixture
def authority_file(tmp_path: Path) -> Path:
    path = tmp_path / "authority.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return path


def test_a_default_context_built_inside_loads_no_certificate_and_one_built_after_loads_them(
    authority_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(authority_file))
    with no_default_certificates():
        assert ssl.create_default_context().cert_store_stats()["x509_ca"] == 0
    assert verified_tls_context().cert_store_stats()["x509_ca"] == 1


@pytest.mark.parametrize("raises", [False, True])
def test_the_certificate_variables_are_as_they_were_after_set_or_not(
    authority_file: Path, monkeypatch: pytest.MonkeyPatch, raises: bool
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(authority_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(RuntimeError) if raises else contextlib.nullcontext(), no_default_certificates():
        assert all(os.environ[name] == os.devnull for name in CERTIFICATE_VARIABLES)
        if raises:
            raise RuntimeError("an import that failed")
    assert os.environ["SSL_CERT_FILE"] == str(authority_file)
    assert "SSL_CERT_DIR" not in os.environ


def test_the_context_verifies_certificates_and_host_names() -> None:
    context = verified_tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_importing_the_fetcher_leaves_the_environment_as_it_found_it(authority_file: Path) -> None:
    """aiohttp is first imported by jobs/http_client.py, in a fresh interpreter as at every start."""
    code = "import os; before = dict(os.environ); import jobs.fetch; assert dict(os.environ) == before, os.environ"
    environment = {**os.environ, "SSL_CERT_FILE": str(authority_file)}
    environment.pop("SSL_CERT_DIR", None)
    started = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
