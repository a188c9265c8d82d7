"""Fixtures of the script family: a real forward proxy, a TLS stand-in with a trustme CA."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

import pytest

from ilert_standin import StandIn
from tests.script.proxy import ForwardProxy
from tests.support.site import KEY_API, KEY_CMK, KEY_STORED, KEY_UNAUTHORIZED, PROXY_PASSWORD

PROXY_USER = "proxyuser"


class TlsFiles(NamedTuple):
    ca: Path
    cert: Path
    key: Path


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    """A forward proxy without authentication."""
    with ForwardProxy() as server:
        yield server


@pytest.fixture
def auth_proxy() -> Iterator[ForwardProxy]:
    """A forward proxy that wants ``proxyuser:PROXY_PASSWORD``."""
    with ForwardProxy(auth=(PROXY_USER, PROXY_PASSWORD)) as server:
        yield server


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    files = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(files.ca))
    cert.private_key_pem.write_to_path(str(files.key))
    with open(files.cert, "wb") as handle:
        for blob in cert.cert_chain_pems:
            handle.write(blob.bytes())
    return files


@pytest.fixture
def tls_standin(tls_files: TlsFiles) -> Iterator[StandIn]:
    """The stand-in over HTTPS with a certificate of the test CA."""
    with StandIn(keys=[KEY_API, KEY_CMK, KEY_STORED], unauthorized_keys=[KEY_UNAUTHORIZED],
                 certfile=str(tls_files.cert), keyfile=str(tls_files.key)) as server:
        yield server
