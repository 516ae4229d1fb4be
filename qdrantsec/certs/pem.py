"""Reading certificates from files: every CERTIFICATE block in order, or one DER blob."""

from __future__ import annotations

import os
import re
from typing import Any

from qdrantsec import fsutil
from qdrantsec.errors import InputError

MAX_FILE = fsutil.MAX_PEM_BYTES
_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n")
_END = re.compile(rb"-----END ([A-Z0-9 ]+)-----")


def read_bytes(path: str | os.PathLike[str], what: str = "file", *, pipe_ok: bool = True) -> bytes:
    """Read a (small) certificate or key file, regular (or, with ``pipe_ok``, for a file
    named on the command line, a pipe); errors become one-line InputErrors."""
    try:
        return fsutil.read_bytes(path, what=what, limit=MAX_FILE, pipe_ok=pipe_ok)
    except InputError as exc:
        if "is larger than" in exc.message:
            raise InputError(f"{exc.message}; not a certificate file") from None
        raise


def pem_labels(data: bytes) -> list[str]:
    """The labels of the PEM blocks in ``data``, in order (``CERTIFICATE``, ``PRIVATE KEY`` ...)."""
    return [label.decode() for label, _ in pem_blocks(data)]


def pem_blocks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(label, whole block) of each BEGIN ... END pair with the same label, in order.

    Linear in the size of ``data``: every END marker is found in one pass first. (A regular
    expression with a lazy ``.*?`` between the markers rescans to the end of the file from
    each BEGIN that has no END: 40,000 of them in a 1 MiB file took minutes.)"""
    from bisect import bisect_left

    ends: dict[bytes, list[int]] = {}
    for m in _END.finditer(data):
        ends.setdefault(m.group(1), []).append(m.start())
    out: list[tuple[bytes, bytes]] = []
    pos = 0
    while (m := _BEGIN.search(data, pos)) is not None:
        label = m.group(1)
        starts = ends.get(label, [])
        i = bisect_left(starts, m.end())
        if i == len(starts):  # no END for it: go on after this BEGIN
            pos = m.end()
            continue
        stop = starts[i] + len(label) + 14  # "-----END " + label + "-----"
        out.append((label, data[m.start():stop]))
        pos = stop
    return out


def load_certificates(data: bytes, source: str, *, allow_empty: bool = False) -> list[Any]:
    """Every certificate in ``data`` in file order (PEM), or the single DER certificate."""
    from cryptography import x509

    blocks = [block for label, block in pem_blocks(data) if label == b"CERTIFICATE"]
    certs = []
    if blocks:
        for i, block in enumerate(blocks, 1):
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                raise InputError(f"{source}: certificate {i} is malformed") from None
            _check_public_key(certs[-1], f"{source}: certificate {i}")
    elif b"-----BEGIN" not in data and data[:1] == b"\x30":
        try:
            certs.append(x509.load_der_x509_certificate(data))
        except ValueError:
            raise InputError(f"{source} is neither PEM nor a DER certificate") from None
        _check_public_key(certs[-1], f"{source}: the certificate")
    if not certs and not allow_empty:
        labels = pem_labels(data)
        extra = f" (it holds: {', '.join(labels)})" if labels else ""
        raise InputError(f"{source} holds no certificate{extra}")
    return certs


def load_der_chain(ders: list[bytes], source: str) -> list[Any]:
    """The DER certificates a TLS server sent, each checked as ``load_certificates`` does."""
    from cryptography import x509

    certs = []
    for i, der in enumerate(ders, 1):
        try:
            certs.append(x509.load_der_x509_certificate(der))
        except ValueError:
            raise InputError(f"{source}: certificate {i} is malformed") from None
        _check_public_key(certs[-1], f"{source}: certificate {i}")
    return certs


def _check_public_key(cert: Any, what: str) -> None:
    """cryptography parses a certificate's key only when asked, so a key that cannot be
    used (an EC point that is not on its curve, an unknown algorithm) would surface later,
    as an unexpected ValueError, in whatever touches it first."""
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError(f"{what} has an invalid public key ({exc or type(exc).__name__})") from None
