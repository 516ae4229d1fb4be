"""Preflight (facts 7.4, 2.6): nothing is touched unless the cluster is healthy, the current
key works everywhere, the new key is one Qdrant can use, and restarts cannot take data
offline (or the user said ``--allow-downtime``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qdrantsec.errors import AuthError, InputError, NetworkError, QdrantsecError, UsageError
from qdrantsec.exit_codes import ExitCode

if TYPE_CHECKING:  # pragma: no cover
    from qdrantsec.rotation.gates import Gate
    from qdrantsec.secrets import Secret

MIN_KEY_BYTES = 32


class PreflightError(QdrantsecError):
    """The cluster is not in a state to start a rotation; nothing was changed."""

    exit_code = ExitCode.HALTED


@dataclass
class PreflightResult:
    internal_auth: bool | None
    internal_auth_source: str
    warnings: list[str] = field(default_factory=list)
    collections: dict[str, int] = field(default_factory=dict)   # name -> replication_factor
    single: bool = False                                         # one peer, no cluster mode


def check_new_key(old: Secret, new: Secret) -> None:
    """Qdrant panics on a key that is not visible ASCII (it becomes a gRPC header, facts 2.6);
    HS256 wants 32 bytes; and rotating to the same key would remove it at the end."""
    value = new.value
    if len(value.encode()) < MIN_KEY_BYTES:
        raise InputError(f"the new key ({new.fingerprint}, from {new.origin}) is "
                         f"{len(value.encode())} bytes; it must be at least {MIN_KEY_BYTES}",
                         hint="make one with --generate-new-key FILE or 'qdrantsec key generate'")
    if not all(0x21 <= ord(c) <= 0x7E for c in value):
        raise InputError(f"the new key ({new.fingerprint}) contains characters that are not "
                         "visible ASCII (spaces, control or non-ASCII); Qdrant would panic "
                         "building its internal gRPC channels with it")
    if value == old.value:
        raise InputError(f"the new key is the current key ({new.fingerprint})",
                         hint="give a different --new-key-file, or --generate-new-key FILE")


def internal_auth_from(readings: Mapping[str, bool | None], flag: str | None) -> tuple[bool | None, str]:
    """enforce_internal_auth as the drivers read it, else the --internal-auth flag."""
    known = {n: v for n, v in readings.items() if v is not None}
    unknown = [n for n, v in readings.items() if v is None]
    if any(known.values()):
        on = sorted(n for n, v in known.items() if v)
        if flag == "off":
            raise UsageError(f"--internal-auth off, but enforce_internal_auth is true in the "
                             f"config of {', '.join(on)}")
        return True, "config of " + ", ".join(on)
    if known and not unknown:
        if flag == "on":
            return True, "--internal-auth on"
        return False, "read from every peer's config"
    if flag is not None:
        return flag == "on", f"--internal-auth {flag}"
    return None, ("cannot be read from the config of " + ", ".join(unknown))


def readable_by_others(path: str | None) -> str | None:
    """A warning when the file that will hold the new key is readable by every local user
    (the driver keeps the file's mode and owner: changing them could lock the service out)."""
    import os
    import stat

    if not path:
        return None
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if not mode & stat.S_IROTH:
        return None
    return (f"{path} is readable by every local user (mode {stat.S_IMODE(mode):04o}) and will "
            "hold the new key; qdrantsec keeps its mode and owner: restrict it yourself "
            "(for example chmod 640 with the service's group)")


def run_preflight(*, gate: Gate, drivers: Mapping[str, Any], old: Secret, new: Secret,
                  internal_auth_flag: str | None, allow_downtime: bool) -> PreflightResult:
    from qdrantsec.rotation.gates import cluster_problems, collection_problems

    check_new_key(old, new)
    probe = gate.probe
    warnings: list[str] = []
    readings: dict[str, bool | None] = {}
    for name, driver in drivers.items():
        keys = driver.read_keys()
        readings[name] = None if keys is None else keys.enforce_internal_auth
        if keys is None:
            continue
        exposed = readable_by_others(getattr(driver, "path", None))
        if exposed:
            warnings.append(f"{name}: {exposed}")
        if keys.api_key is not None and keys.api_key not in (old.value,):
            raise PreflightError(
                f"{name}: the api_key in its config ({driver.describe()}) is not the current "
                "key given", hint="check the inventory path and the --api-key-* option")
        if keys.alt_api_key is not None and keys.alt_api_key not in (new.value,):
            raise PreflightError(
                f"{name}: its config already has an alt_api_key (an unfinished rotation?)",
                hint="finish or undo that rotation first; the alt_api_key would be replaced")
    for name in probe.peers:
        try:
            ok = probe.accepts(name, "old")
        except NetworkError as exc:
            raise NetworkError(f"{name} is not reachable: {exc.message}", hint=exc.hint) from None
        if not ok:
            raise AuthError(f"{name} ({probe.peers[name].url}) refuses the current key "
                            f"({old.fingerprint})",
                            hint="pass the key the peers use now with --api-key-file/-env")
    statuses = gate.snapshot()
    single = len(statuses) == 1 and (next(iter(statuses.values())) or {}).get("status") == "disabled"
    if single:
        if not allow_downtime:
            raise PreflightError("the only peer runs without cluster mode: each restart is downtime",
                                 hint="pass --allow-downtime to rotate it anyway")
        warnings.append("single node: every restart makes it unavailable (--allow-downtime)")
        gate.single = True
    else:
        problems = cluster_problems(statuses, len(probe.peers))
        if problems:
            raise PreflightError("the cluster is not healthy: " + "; ".join(problems),
                                 hint="fix it (or wait) and run again; nothing was changed")
    first = next(iter(probe.peers))
    listed = probe.get(first, "/collections") or {}
    names = [c["name"] for c in listed.get("collections", [])]
    factors: dict[str, int] = {}
    for coll in names:
        info = probe.get(first, f"/collections/{coll}") or {}
        params = ((info.get("config") or {}).get("params") or {})
        factors[coll] = int(params.get("replication_factor") or 1)
    if not single:
        problems = collection_problems(gate.collections(statuses))
        if problems:
            raise PreflightError("collections are not healthy: " + "; ".join(problems),
                                 hint="wait for replicas to be Active and transfers to finish")
        low = sorted(c for c, f in factors.items() if f < 2)
        if low:
            text = (f"collections with replication_factor below 2: {', '.join(low)}; "
                    "restarting a peer makes their shards on it unavailable")
            if not allow_downtime:
                raise PreflightError(text, hint="raise replication_factor, or pass "
                                                "--allow-downtime to accept that")
            warnings.append(text + " (--allow-downtime)")
    internal_auth, source = internal_auth_from(readings, internal_auth_flag)
    return PreflightResult(internal_auth, source, warnings, factors, single)
