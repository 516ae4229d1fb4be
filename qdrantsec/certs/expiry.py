"""Which certificates expire within a window: for cron jobs and CI.

Files named on the command line must hold a certificate; in a directory, every file with
a certificate-like name (``*.pem``, ``*.crt``, ``*.cer``) is read, recursively, and files
holding only keys (or other PEM blocks: CSRs, CRLs) are skipped; any other file there that
holds no certificate (empty, garbage, a cut-off PEM) is an error.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qdrantsec.errors import InputError, QdrantsecError

CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der")
_DURATION = re.compile(r"^\s*([0-9]+)\s*([smhdw]?)\s*$", re.I)  # ASCII digits only
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 86400}


def parse_duration(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s``; a bare number means days."""
    m = _DURATION.match(text)
    if not m:
        raise InputError(f"bad duration {text!r}", hint="use a number with s, m, h, d or w, e.g. 30d")
    if len(m.group(1)) > 15:  # int() refuses over 4300 digits; all of these are too long
        raise InputError(f"duration {text[:40]!r} is longer than 100 years")
    seconds = int(m.group(1)) * _UNIT[m.group(2).lower()]
    if seconds > 100 * 365 * 86400:
        raise InputError(f"duration {text!r} is longer than 100 years")
    return dt.timedelta(seconds=seconds)


def whole_days(delta: dt.timedelta) -> int:
    """Whole days in ``delta``, rounded toward zero: a certificate that expired 30 hours
    ago is -1 day, not -2 (``timedelta.days`` rounds down)."""
    return int(delta.total_seconds() / 86400)


@dataclass
class Entry:
    file: str
    index: int
    subject: str
    not_after: str
    days_left: int
    status: str  # "ok", "expiring", "expired"


@dataclass
class ExpiryReport:
    within: dt.timedelta
    entries: list[Entry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[Entry]:
        return [e for e in self.entries if e.status != "ok"]

    def to_dict(self) -> dict[str, Any]:
        return {"within_seconds": int(self.within.total_seconds()),
                "certificates": [e.__dict__ for e in self.entries],
                "expiring": len(self.flagged), "errors": self.errors}


def _files(target: str) -> tuple[list[Path], bool]:
    p = Path(target)
    if p.is_dir():
        # a killed certs generate may leave its staging directory (.qdrantsec-*) inside:
        # half a set, not certificates in use
        found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in CERT_SUFFIXES
                       and ".bak" not in f.name
                       and not any(part.startswith(".qdrantsec-") for part in f.relative_to(p).parts))
        return found, False
    return [p], True


def _other_pem(data: bytes) -> bool:
    """Only whole PEM blocks that are no certificate (keys, CSRs, CRLs), and no certificate
    block left unfinished."""
    from qdrantsec.certs.pem import pem_labels

    return bool(pem_labels(data)) and b"-----BEGIN CERTIFICATE-----" not in data


def check(targets: list[str], within: dt.timedelta, *, now: dt.datetime | None = None) -> ExpiryReport:
    """Every certificate in ``targets``; errors are collected, not raised, so one bad file
    does not hide an expiring certificate in another."""
    from qdrantsec.certs.pem import load_certificates, read_bytes
    from qdrantsec.fsutil import path_problem

    now = now or dt.datetime.now(dt.timezone.utc)
    report = ExpiryReport(within)
    for target in targets:
        problem = path_problem(target)
        if problem is not None:
            report.errors.append(f"{target}: {problem}")
            continue
        if not Path(target).exists():
            report.errors.append(f"not found: {target}")
            continue
        files, explicit = _files(target)
        found = 0
        for f in files:
            try:
                data = read_bytes(f, "certificate file", pipe_ok=explicit)
                # in a directory a key file (or CSR) is skipped; garbage, an empty file or a
                # cut-off certificate is an error, not a silent "no certificate here"
                certs = load_certificates(data, str(f), allow_empty=not explicit and _other_pem(data))
            except QdrantsecError as exc:
                report.errors.append(exc.message)
                continue
            for i, cert in enumerate(certs, 1):
                found += 1
                end = cert.not_valid_after_utc
                status = "expired" if end <= now else "expiring" if end <= now + within else "ok"
                report.entries.append(Entry(str(f), i, cert.subject.rfc4514_string(), end.isoformat(),
                                            whole_days(end - now), status))
        if not found and not explicit:
            report.errors.append(f"no certificates found in {target}")
    return report
