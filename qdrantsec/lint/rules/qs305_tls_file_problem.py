"""QS305 tls-file-problem, and the certificate-file reading QS306/QS307 share.

Where the files are: Qdrant opens relative TLS paths against its working directory. For a
standalone config file we assume Qdrant runs from the directory that holds ``config/`` when
the file sits in a ``config/`` directory (the layout Qdrant itself uses), else from the
file's own directory. Absolute paths are checked only when they exist on this machine (they
usually name the deployment host). In a container the working directory is ``/qdrant``; a
container path is checked when a bind mount (the engine's ``Target.mounts``, else the compose
service's ``volumes:``) maps it to a local file that exists. Paths in Kubernetes Secrets are
not checked.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from qdrantsec.lint.model import Finding, Rule, Severity, Target, ValueRef
from qdrantsec.lint.rules import list_items, node_value, ref_default
from qdrantsec.lint.rules.qs302_tls_incomplete import tls_users
from qdrantsec.lint.rules.qs304_ca_cert_missing import ca_needed_by

CONTAINER_WORKDIR = PurePosixPath("/qdrant")


@dataclass(frozen=True)
class TlsFile:
    setting: str  # "tls.cert"
    path: Path
    report_missing: bool  # False when the file may legitimately live elsewhere


def _config_base(target: Target, setting: str) -> Path:
    src = target.config.setting(setting)
    from_file = src is not None and src.source.kind == "file" and src.source.file
    file = src.source.file if from_file and src is not None and src.source.file else target.file
    base = Path(file).parent
    return base.parent if base.name == "config" else base


def _compose_mounts(target: Target) -> list[tuple[PurePosixPath, Path]]:
    """(container dir, local dir) for the compose service's bind mounts."""
    svc = target.compose_service
    out: list[tuple[PurePosixPath, Path]] = []
    if svc is None:
        return out
    here = Path(target.file).parent
    for item in list_items(svc.get("volumes")):
        if isinstance(item.value, dict):
            if node_value(item, "type") not in (None, "bind"):
                continue
            src, dst = node_value(item, "source"), node_value(item, "target")
        else:
            parts = str(item.value).split(":")
            if len(parts) < 2:
                continue
            src, dst = parts[0], parts[1]
        if not isinstance(src, str) or not isinstance(dst, str) or not src.startswith((".", "/", "~")):
            continue
        out.append((PurePosixPath(dst), here / Path(os.path.expanduser(src))))
    return out


def tls_file(target: Target, setting: str) -> TlsFile | None:
    value = target.config.get(setting)
    if isinstance(value, ValueRef):  # ${QDRANT_TLS_CERT:-/qdrant/tls/cert.pem}: the default path
        value = ref_default(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if target.kind in ("qdrant-config", "env"):
        path = Path(value)
        if path.is_absolute():
            # (os.path answers False for a name too long, where pathlib raises)
            return TlsFile(setting, path, False) if os.path.exists(path) else None
        return TlsFile(setting, _config_base(target, setting) / path, target.kind == "qdrant-config")
    if target.mounts:  # the engine's bind-mount map (compose, k8s hostPath)
        local = target.host_path(value)
        if local is not None and os.path.isfile(local):
            return TlsFile(setting, Path(local), False)
        return None
    if target.kind == "compose":
        inside = PurePosixPath(value)
        if not inside.is_absolute():
            inside = CONTAINER_WORKDIR / inside
        for dst, local in _compose_mounts(target):
            try:
                rel = inside.relative_to(dst)
            except ValueError:
                continue
            candidate = local / Path(*rel.parts) if rel.parts else local
            if os.path.isfile(candidate):
                return TlsFile(setting, candidate, False)
    return None


@dataclass
class Loaded:
    certs: list[Any] = field(default_factory=list)
    key: Any = None
    problems: list[str] = field(default_factory=list)


def _blocks(data: bytes) -> list[str]:
    labels = []
    for line in data.splitlines():
        line = line.strip()
        if line.startswith(b"-----BEGIN ") and line.endswith(b"-----"):
            labels.append(line[11:-5].decode("ascii", "replace"))
    return labels


@lru_cache(maxsize=64)
def _load(path: str, mtime: float, kind: str) -> Loaded:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from qdrantsec.fsutil import MAX_PEM_BYTES, read_limited

    out = Loaded()
    try:  # a regular file of at most MAX_PEM_BYTES: `cert: /dev/zero` must not hang the run
        data = read_limited(path, limit=MAX_PEM_BYTES)
    except OSError as exc:
        out.problems.append(f"cannot be read ({exc.strerror or exc})")
        return out
    labels = _blocks(data)
    if kind == "key":
        key_labels = [lb for lb in labels if lb.endswith("PRIVATE KEY")]
        if not key_labels:
            out.problems.append("holds no PEM private key")
            return out
        if "ENCRYPTED PRIVATE KEY" in key_labels or b"Proc-Type: 4,ENCRYPTED" in data:
            out.problems.append("holds an encrypted private key, which Qdrant cannot use")
            return out
        first = next((lb for lb in labels if lb.endswith("PRIVATE KEY") or lb == "CERTIFICATE"), "")
        if first == "CERTIFICATE":
            out.problems.append("has a certificate before the private key; the REST listener fails "
                                "with \"invalid private key\"")
        try:
            out.key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            out.problems.append(f"holds a private key that cannot be parsed ({exc})")
        return out
    if "CERTIFICATE" not in labels:
        out.problems.append("holds no PEM certificate")
        return out
    try:
        out.certs = x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        out.problems.append(f"holds a certificate that cannot be parsed ({exc})")
    for i, cert in enumerate(out.certs, 1):
        problem = public_key_problem(cert)
        if problem:
            out.problems.append(f"holds certificate #{i}, whose {problem}")
    return out


def public_key_problem(cert: Any) -> str | None:
    """Why the certificate's public key cannot be used (an EC point not on its curve, an
    algorithm nobody supports), or None. cryptography parses the key only when asked."""
    from cryptography.exceptions import UnsupportedAlgorithm

    try:
        cert.public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        return f"public key is invalid ({exc or type(exc).__name__}); no TLS stack can use it"
    return None


def load(file: TlsFile) -> Loaded | None:
    """The parsed file, or None when it does not exist."""
    try:
        mtime = file.path.stat().st_mtime
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Loaded(problems=[f"cannot be read ({exc.strerror or exc})"])
    kind = "key" if file.setting == "tls.key" else "cert"
    return _load(str(file.path), mtime, kind)


def settings_in_use(target: Target) -> list[str]:
    """The TLS file settings Qdrant will open for this target."""
    if not tls_users(target) or not target.config.has_section("tls"):
        return []
    used = ["tls.cert", "tls.key"]
    if ca_needed_by(target) or target.config.is_set("tls.ca_cert"):
        used.append("tls.ca_cert")
    return used


def _spki(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(public_key.public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo))


class TlsFileProblem(Rule):
    id = "QS305"
    name = "tls-file-problem"
    severity = Severity.HIGH
    summary = ("A TLS file Qdrant will load (`tls.cert`, `tls.key`, `tls.ca_cert`) is missing, "
               "unreadable, unparsable or encrypted, or the key does not match the certificate.")
    rationale = (
        "Qdrant loads the certificate and key at start and aborts when they are unusable; gRPC and "
        "p2p take the first private key of the file, the REST listener the first PEM item, which "
        "must be the key. Encrypted keys are not supported. Relative paths follow the process's "
        "working directory, so a file that exists next to the config may still be missing at run "
        "time. Severity: medium for a missing file (it may be provisioned at deploy time), high "
        "otherwise."
    )
    example = "service:\n  enable_tls: true\ntls:\n  cert: ./tls/cert.pem\n  key: ./tls/cert.pem\n"
    fix = ("Point `tls.cert` at the PEM chain (leaf first) and `tls.key` at its unencrypted PKCS#8 "
           "key in a separate file; `qdrantsec certs verify` checks the pair.")
    references = (
        "https://qdrant.tech/documentation/guides/security/#tls",
        "qdrant-security-facts 6.2, 6.3",
    )

    def check(self, target: Target) -> Iterable[Finding]:
        loaded: dict[str, Loaded] = {}
        for setting in settings_in_use(target):
            file = tls_file(target, setting)
            if file is None:
                continue
            result = load(file)
            if result is None:
                if file.report_missing:
                    yield self.finding(f"`{setting}` file {file.path} does not exist",
                                       target.loc(setting), severity=Severity.MEDIUM, target=target)
                continue
            loaded[setting] = result
            for problem in result.problems:
                yield self.finding(f"`{setting}` file {file.path} {problem}", target.loc(setting),
                                   target=target)
        cert, key = loaded.get("tls.cert"), loaded.get("tls.key")
        if (cert and key and cert.certs and key.key is not None and public_key_problem(cert.certs[0]) is None
                and _spki(cert.certs[0].public_key()) != _spki(key.key.public_key())):
            yield self.finding("`tls.key` does not match the certificate in `tls.cert`",
                               target.loc("tls.key"), target=target)
