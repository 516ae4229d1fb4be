"""Fixtures shared by the qdrant_peer conformance tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.peer.peerlib import CertPair, make_ca, make_leaf, mint_jwt

API_KEY = "admin-key-0123456789-abcdefghijklmnop"
ALT_KEY = "alt-key-0123456789-abcdefghijklmnopqrs"
RO_KEY = "read-only-key-0123456789-abcdefghijk"

AUTH_CONFIG: dict[str, Any] = {
    "service": {
        "api_key": API_KEY,
        "alt_api_key": ALT_KEY,
        "read_only_api_key": RO_KEY,
        "jwt_rbac": True,
    }
}


def jwt(claims: dict[str, Any], secret: str = API_KEY, **kwargs: Any) -> str:
    return mint_jwt(claims, secret, **kwargs)


def now() -> int:
    return int(time.time())


class TlsMaterial:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ca_full = make_ca(root / "ca")
        self.ca: CertPair = self.ca_full[0]
        self.server: CertPair = make_leaf(root / "server", self.ca_full, "server")
        self.client: CertPair = make_leaf(
            root / "client", self.ca_full, "client", sans=(), server=False
        )
        self.other_ca_full = make_ca(root / "other-ca", "Other CA")
        self.foreign_client: CertPair = make_leaf(
            root / "foreign", self.other_ca_full, "foreign", sans=(), server=False
        )

    def tls_section(self, **extra: Any) -> dict[str, Any]:
        section = {
            "cert": str(self.server.cert),
            "key": str(self.server.key),
            "ca_cert": str(self.ca.cert),
        }
        section.update(extra)
        return section


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    return TlsMaterial(tmp_path_factory.mktemp("tls"))
