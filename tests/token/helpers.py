"""Helpers shared by the token tests."""

from __future__ import annotations

import base64
import json
import time
from typing import Any


def now() -> int:
    return int(time.time())


def pyjwt_encode(claims: dict[str, Any], key: str, **kw: Any) -> str:
    import jwt

    return jwt.encode(claims, key, algorithm=kw.pop("algorithm", "HS256"), **kw)


def pyjwt_decode(token: str, key: str) -> dict[str, Any]:
    import jwt

    return jwt.decode(token, key, algorithms=["HS256"])


def b64(data: bytes | str | dict[str, Any]) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256(header: dict[str, Any] | str, payload: dict[str, Any] | str, key: str) -> str:
    """Hand-made token: header/payload as dicts (JSON-encoded) or ready base64url segments."""
    import hashlib
    import hmac

    h = header if isinstance(header, str) else b64(header)
    p = payload if isinstance(payload, str) else b64(payload)
    sig = hmac.new(key.encode(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    return f"{h}.{p}.{b64(sig)}"
