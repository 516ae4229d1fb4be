"""Reading certificates from files: every CERTIFICATE block in order, or one DER blob."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from qdrantsec.errors import InputError

MAX_FILE = 1 << 20
_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.S)


def read_bytes(path: str | os.PathLike[str], what: str = "file") -> bytes:
    """Read a (small) file; OS errors become one-line InputErrors."""
    p = Path(path)
    try:
        if p.is_dir():
            raise InputError(f"{what} {p} is a directory")
        with p.open("rb") as fh:
            data = fh.read(MAX_FILE + 1)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {p}") from None
    except PermissionError:
        raise InputError(f"{what} not readable (permission denied): {p}") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {p}: {exc.strerror}") from None
    if len(data) > MAX_FILE:
        raise InputError(f"{what} {p} is larger than {MAX_FILE} bytes; not a certificate file")
    return data


def pem_labels(data: bytes) -> list[str]:
    """The labels of the PEM blocks in ``data``, in order (``CERTIFICATE``, ``PRIVATE KEY`` ...)."""
    return [m.group(1).decode() for m in _BLOCK.finditer(data)]


def load_certificates(data: bytes, source: str, *, allow_empty: bool = False) -> list[Any]:
    """Every certificate in ``data`` in file order (PEM), or the single DER certificate."""
    from cryptography import x509

    blocks = [m.group(0) for m in _BLOCK.finditer(data) if m.group(1) == b"CERTIFICATE"]
    certs = []
    if blocks:
        for i, block in enumerate(blocks, 1):
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                raise InputError(f"{source}: certificate {i} is malformed") from None
    elif b"-----BEGIN" not in data and data[:1] == b"\x30":
        try:
            certs.append(x509.load_der_x509_certificate(data))
        except ValueError:
            raise InputError(f"{source} is neither PEM nor a DER certificate") from None
    if not certs and not allow_empty:
        labels = pem_labels(data)
        extra = f" (it holds: {', '.join(labels)})" if labels else ""
        raise InputError(f"{source} holds no certificate{extra}")
    return certs
