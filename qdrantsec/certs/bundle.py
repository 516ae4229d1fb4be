"""Generate the whole set a Qdrant deployment needs, in memory first, then write it safely.

Nothing is written until every certificate is built and every target checked; the set is
then written as one unit (``qdrantsec.certs.fileset``), so a run that fails or is killed
leaves the directory with the whole old set or the whole new one.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from qdrantsec.certs import issue, keys
from qdrantsec.certs.names import SanName, parse_names
from qdrantsec.certs.profiles import CLIENT, PEER, SERVER
from qdrantsec.errors import InputError, UsageError

DEFAULT_HOSTS = ("localhost", "127.0.0.1", "::1")
DEFAULT_PEER_TEMPLATE = "qdrant-{i}.qdrant-headless"
MAX_PEERS = 256
CERT_MODE = 0o644
KEY_MODE = 0o600
CA_KEY_MODE = 0o400
_CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


# (NamedTuples, not dataclasses: see qdrantsec.certs.issue)
class Request(NamedTuple):
    """What to make: the options of ``certs generate``."""

    out: Path
    hosts: Sequence[str] = ()
    peers: Sequence[str] = ()
    peer_count: int = 0
    peer_template: str = DEFAULT_PEER_TEMPLATE
    clients: Sequence[str] = ()
    key_type: str = keys.DEFAULT_KEY_TYPE
    days: int = issue.LEAF_DAYS
    ca_cert: Path | None = None
    ca_key: Path | None = None
    new_ca: bool = False
    force: bool = False


class OutputFile(NamedTuple):
    path: Path
    data: bytes  # may be a private key: not in the repr
    mode: int
    what: str
    exists: bool = False
    unchanged: bool = False  # identical content already on disk: nothing to write

    def __repr__(self) -> str:
        return (f"OutputFile(path={self.path!r}, mode={self.mode!r}, what={self.what!r}, "
                f"exists={self.exists!r}, unchanged={self.unchanged!r})")


class Issued(NamedTuple):
    leaf: issue.Leaf
    cert_path: Path
    key_path: Path


class CertSet(NamedTuple):
    out: Path
    ca: issue.CA
    ca_origin: str  # "new", "reused from DIR", "from --ca-cert FILE"
    ca_path: Path
    server: Issued
    peers: list[Issued]
    clients: list[Issued]
    files: list[OutputFile]
    written: Sequence[Path] = ()  # set by write()
    backups: Sequence[Path] = ()

    @property
    def leaves(self) -> list[Issued]:
        return [self.server, *self.peers, *self.clients]


def peer_specs(peers: Sequence[str], count: int, template: str) -> list[list[str]]:
    """Each peer as its list of names: ``--peer 'a,10.0.0.1'`` and the ``--peers`` template."""
    specs = [[n.strip() for n in p.split(",")] for p in peers]
    if count < 0 or count > MAX_PEERS:
        raise UsageError(f"--peers must be between 0 and {MAX_PEERS}")
    if count:
        if "{i}" not in template:
            raise UsageError(f"--peer-template {template!r} has no {{i}} placeholder")
        specs += [[n.strip() for n in template.replace("{i}", str(i)).split(",")] for i in range(count)]
    return specs


def _stem(name: SanName) -> str:
    if name.kind == "ip":
        return name.value.replace(":", "-")
    label = name.value.split(".")[0]
    if label == "*":
        raise InputError(f"a peer's first name cannot be a wildcard ({name.value})",
                         hint="put the peer's own name first, e.g. --peer 'qdrant-0.example,*.example.com'")
    return label


def plan(req: Request) -> CertSet:
    """Build every key and certificate in memory and decide what goes where."""
    if req.days < 1 or req.days > issue.MAX_LEAF_DAYS:
        raise UsageError(f"--days must be between 1 and {issue.MAX_LEAF_DAYS}")
    kind = keys.key_type(req.key_type)
    hosts = parse_names(list(req.hosts) or list(DEFAULT_HOSTS), what="--host")
    peers: list[tuple[str, list[SanName]]] = []
    stems: dict[str, str] = {}
    for spec in peer_specs(req.peers, req.peer_count, req.peer_template):
        own = parse_names(spec, what="peer name")
        stem = _stem(own[0])
        if stem in stems:
            raise InputError(f"peers {stems[stem]} and {own[0].value} would share the file name "
                             f"peer-{stem}.pem", hint="give peers distinct first labels")
        stems[stem] = own[0].value
        sans = list(dict.fromkeys([*own, *hosts]))
        peers.append((stem, sans))
    clients = list(dict.fromkeys(req.clients))
    for c in clients:
        if not _CLIENT_NAME.match(c):
            raise InputError(f"client name {c!r} must be 1-64 letters, digits, '.', '_' or '-'")

    out = req.out
    files: list[OutputFile] = []
    ca, origin = _ca(req, kind, files)
    server = issue.issue(ca, SERVER, hosts[0].value, hosts, kind, days=req.days)
    issued_server = _add_leaf(files, out, "server", server)
    issued_peers = [
        _add_leaf(files, out, f"peer-{stem}", issue.issue(ca, PEER, sans[0].value, sans, kind, days=req.days))
        for stem, sans in peers
    ]
    issued_clients = [
        _add_leaf(files, out, f"client-{c}", issue.issue(ca, CLIENT, c, [], kind, days=req.days))
        for c in clients
    ]
    files = _check_targets(files, req.force)
    return CertSet(out, ca, origin, out / "ca.pem", issued_server, issued_peers, issued_clients, files)


def _add_leaf(files: list[OutputFile], out: Path, stem: str, leaf: issue.Leaf) -> Issued:
    cert_path, key_path = out / f"{stem}.pem", out / f"{stem}-key.pem"
    files.append(OutputFile(cert_path, leaf.cert_pem, CERT_MODE, f"{leaf.profile.name} certificate"))
    files.append(OutputFile(key_path, leaf.key_pem, KEY_MODE, f"{leaf.profile.name} key"))
    return Issued(leaf, cert_path, key_path)


def _ca(req: Request, kind: keys.KeyType, files: list[OutputFile]) -> tuple[issue.CA, str]:
    out = req.out
    ca_pem, ca_key = out / "ca.pem", out / "ca-key.pem"
    if (req.ca_cert is None) != (req.ca_key is None):
        raise UsageError("--ca-cert and --ca-key go together")
    if req.ca_cert is not None and req.ca_key is not None:
        from qdrantsec.certs.pem import read_bytes
        from qdrantsec.secrets import key_like_argument  # (hashlib: only when a CA is given)

        if req.new_ca:
            raise UsageError("--new-ca cannot be combined with --ca-cert/--ca-key")
        with key_like_argument(str(req.ca_cert), "--ca-cert"):
            cert_pem = read_bytes(req.ca_cert, "CA certificate")
        with key_like_argument(str(req.ca_key), "--ca-key"):  # --ca-key "$(cat ca-key.pem)"
            key_pem = read_bytes(req.ca_key, "CA key")
            ca = issue.load_ca(cert_pem, key_pem, str(req.ca_cert), str(req.ca_key))
        if ca_key.exists() and ca_key.resolve() != Path(req.ca_key).resolve():
            local = keys.load_private(read_bytes(ca_key, "CA key"), str(ca_key))
            if not keys.same_public_key(local.public_key(), ca.cert.public_key()):
                raise InputError(f"{ca_key} belongs to a different CA than {req.ca_cert}",
                                 hint=f"move {ca_key} away, or pick another --out directory")
        files.append(OutputFile(ca_pem, ca.cert_pem, CERT_MODE, "CA certificate"))
        return ca, f"from {req.ca_cert}"
    have_cert, have_key = ca_pem.exists(), ca_key.exists()
    if not req.new_ca and (have_cert or have_key):
        if not (have_cert and have_key):
            present, missing = (ca_pem, ca_key) if have_cert else (ca_key, ca_pem)
            raise InputError(f"{present} exists but {missing} does not",
                             hint="give --ca-cert/--ca-key, or --new-ca --force to start over")
        from qdrantsec.certs.pem import read_bytes  # (a new CA reads no file)

        ca = issue.load_ca(read_bytes(ca_pem, "CA certificate"), read_bytes(ca_key, "CA key"),
                           str(ca_pem), str(ca_key))
        return ca, f"reused from {out}"
    ca = issue.new_ca(kind)
    files.append(OutputFile(ca_pem, ca.cert_pem, CERT_MODE, "CA certificate"))
    files.append(OutputFile(ca_key, ca.key_pem, CA_KEY_MODE, "CA key"))
    return ca, "new"


def _check_targets(files: list[OutputFile], force: bool) -> list[OutputFile]:
    """``files`` with what is on disk noted (exists, unchanged); refuses to replace without
    ``force``."""
    conflicts, checked = [], []
    for f in files:
        if f.path.is_dir():
            raise InputError(f"{f.path} is a directory")
        if f.path.exists() and not f.path.is_file():  # a FIFO or device: never read or replace it
            raise InputError(f"{f.path} is not a regular file; nothing was written")
        if os.path.lexists(f.path):  # a dangling symlink counts as existing
            unchanged = False
            with contextlib.suppress(OSError):
                unchanged = f.path.read_bytes() == f.data
            f = f._replace(exists=True, unchanged=unchanged)
            if not unchanged and not force:
                conflicts.append(f.path)
        checked.append(f)
    if conflicts:
        more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
        raise InputError(f"{conflicts[0]} already exists{more}; nothing was written",
                         hint="use --force to replace (the old files are kept as .bak)")
    return checked


def write(cs: CertSet) -> CertSet:
    """Write the planned files as one set (see ``qdrantsec.certs.fileset``): a run that fails
    or is killed at any moment leaves the directory with the whole old set or the whole new one."""
    from qdrantsec.certs import fileset

    if os.path.lexists(cs.out) and not cs.out.is_dir():
        raise InputError(f"{cs.out} is not a directory")
    entries = [fileset.Entry(f.path.name, f.data, f.mode) for f in cs.files if not f.unchanged]
    if not entries:
        return cs
    done = fileset.write_set(cs.out, entries)
    return cs._replace(written=[cs.out / n for n in done.written], backups=[cs.out / b for b in done.backups])


def generate(req: Request) -> CertSet:
    recover(req.out)
    return write(plan(req))


def recover(out: Path) -> list[str]:
    """Clear what a killed run left in or beside ``out`` (or finish its renames) before
    anything looks at it; returns one line per thing done, for the user."""
    from qdrantsec.certs import fileset

    return fileset.recover(out)
