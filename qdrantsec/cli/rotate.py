"""`qdrantsec rotate-key ...`: zero-downtime rolling rotation of the admin key.

``qdrantsec rotate-key --peers ...`` (or ``--inventory FILE``) runs a rotation;
``status``, ``resume`` and ``abort`` read its journal. Thin glue: the plan, gates, journal and
executor live in ``qdrantsec.rotation``; progress rendering in ``qdrantsec.output.rotate_progress``.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from typing import Annotated, Any

import typer

from qdrantsec.cli import options as opt

app = typer.Typer(
    name="rotate-key",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

PEERS = "Peers and drivers"
ROT = "Rotation"


class Format(str, Enum):
    text = "text"
    json = "json"


class InternalAuth(str, Enum):
    on = "on"
    off = "off"


FormatOpt = Annotated[Format, typer.Option(
    "--format", "-f", case_sensitive=False,
    help="Progress and result: text (Rich on a terminal, timestamped lines otherwise) or json "
         "(one event object per line on stdout).")]
JournalOpt = Annotated[str, typer.Option(
    "--journal", metavar="FILE", rich_help_panel=ROT,
    help="The rotation journal (JSON, mode 0600, fingerprints only), written after every step.")]
NewKeyFile = Annotated[str | None, typer.Option(
    "--new-key-file", metavar="FILE", rich_help_panel=opt.KEYS,
    help="Read the new admin key from FILE (at least 32 bytes, visible ASCII).")]
YesOpt = Annotated[bool, typer.Option(
    "--yes", "-y", rich_help_panel=ROT,
    help="Answer the confirmation prompts (start, and clients switched) with yes.")]
SwitchCmd = Annotated[str | None, typer.Option(
    "--switch-cmd", metavar="CMD", rich_help_panel=ROT,
    help="At the switch phase run CMD (no shell unless it needs one; the new key only in its "
         "environment as QDRANTSEC_API_KEY) and continue when it exits 0.")]
PauseOpt = Annotated[bool, typer.Option(
    "--pause", rich_help_panel=ROT,
    help="Stop at the switch phase (exit 21) so that clients can be moved; continue with "
         "'rotate-key resume'.")]
PeerTimeout = Annotated[float | None, typer.Option(
    "--peer-timeout", min=0.5, metavar="SECONDS", rich_help_panel=ROT,
    help="How long a restarted peer may take to be healthy again (default: 120).")]
Settle = Annotated[float | None, typer.Option(
    "--settle", min=0.0, metavar="SECONDS", rich_help_panel=ROT,
    help="How long message_send_failures must stay flat after a peer is back, at most "
         "(default: 2; it ends after 0.15 s once internal calls to and from the peer are seen "
         "to work).")]
SwitchTimeout = Annotated[float, typer.Option(
    "--switch-timeout", min=1.0, metavar="SECONDS", rich_help_panel=ROT,
    help="Timeout for --switch-cmd.")]


_reflow = opt.reflow


# -- keys and connections ----------------------------------------------------------------------

def _old_key(*, literal: str | None, file: str | None, stdin: bool, env: str | None,
             qdrant_config: str | None) -> Any:
    resolver = opt.resolver()
    return resolver.resolve(opt.key_options(literal=literal, file=file, stdin=stdin,
                                            env_name=env, qdrant_config=qdrant_config),
                            role="api_key", required=True)


def _new_key_from_file(path: str) -> Any:
    from qdrantsec.secrets import KeyOptions, SecretResolver

    return SecretResolver(env={}).resolve(KeyOptions(file=path), role="new api_key",
                                          allow_prompt=False)


def _settings_for(tls: dict[str, Any], run_id: str) -> Any:
    from qdrantsec.qdrant.client import ConnectionSettings

    def make(url: str) -> Any:
        return ConnectionSettings(url=url, ca_cert=tls.get("ca_cert"),
                                  client_cert=tls.get("client_cert"),
                                  client_key=tls.get("client_key"),
                                  insecure=bool(tls.get("insecure")),
                                  timeout=float(tls.get("timeout") or 10.0),
                                  request_id=f"qdrantsec-rotate-{run_id}")
    return make


def _inventory(record: dict[str, Any]) -> Any:
    from qdrantsec.rotation.inventory import inventory_from_flags, load_inventory

    if record.get("file"):
        return load_inventory(record["file"])
    return inventory_from_flags(list(record["urls"]), driver=record["driver"],
                                paths=record.get("paths"), apply=record.get("apply"),
                                restart=record.get("restart"))


def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return out


def _interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def _confirm(text: str) -> bool:
    return bool(typer.confirm(text, default=False, err=True))


def _switch_mode(yes: bool, switch_cmd: str | None, pause: bool) -> str:
    from qdrantsec.errors import UsageError

    if switch_cmd and pause:
        raise UsageError("--switch-cmd and --pause cannot be combined")
    if switch_cmd:
        return "cmd"
    if pause:
        return "pause"
    if yes:
        return "yes"
    return "confirm"


def _switch_runner(cmd: str | None, new: Any, scrub: list[str], timeout: float) -> Any:
    if cmd is None:
        return None
    from qdrantsec.errors import QdrantsecError
    from qdrantsec.rotation.runner import API_KEY_ENV, SubprocessRunner, check_template

    check_template(cmd, what="--switch-cmd")

    def run() -> None:
        result = SubprocessRunner(scrub=scrub).run(cmd, env_extra={API_KEY_ENV: new.value},
                                                   timeout=timeout, what="--switch-cmd")
        if not result.ok:
            status = "timed out" if result.timed_out else f"exited {result.returncode}"
            last = result.last_error_line()
            raise QdrantsecError(f"{status}" + (f": {last}" if last else ""))
    return run


class _Session:
    """Everything a run, resume or abort needs, built from options and the journal."""

    def __init__(self, *, inventory: Any, old: Any, new: Any, tls: dict[str, Any], run_id: str,
                 api_key_env: str | None) -> None:
        from qdrantsec.rotation.drivers import make_driver
        from qdrantsec.rotation.gates import Gate, Probe, Target
        from qdrantsec.rotation.runner import SubprocessRunner

        self.inventory = inventory
        self.scrub = [api_key_env] if api_key_env else []
        runner = SubprocessRunner(scrub=self.scrub)
        self.drivers = {p.name: make_driver(p, runner=runner) for p in inventory.peers}
        keys = {"old": old} if new is None else {"old": old, "new": new}
        self.probe = Probe([Target(p.name, p.url) for p in inventory.peers],
                           _settings_for(tls, run_id), keys)
        self.gate = Gate(self.probe)

    def planned(self) -> list[Any]:
        from qdrantsec.rotation.plan import PlannedPeer

        return [PlannedPeer(p.name, p.url, self.drivers[p.name].describe())
                for p in self.inventory.peers]


def _remint(specs_path: str, out: str, new: Any) -> int:
    import json
    import time

    from qdrantsec.fsutil import SECRET_MODE, atomic_write, read_text
    from qdrantsec.token import mint as core

    now = int(time.time())
    text = read_text(specs_path, what="--remint specs", limit=16 * 1024 * 1024)
    doc = core.load_batch_document(text, specs_path)
    minted = [core.mint(spec, new, now=now, name=name)
              for name, spec in core.specs_from_document(doc, now=now, path=specs_path)]
    lines = "".join(json.dumps({"name": m.name, "token": m.token, "expires_at": m.expires_at},
                               separators=(",", ":")) + "\n" for m in minted)
    atomic_write(out, lines, mode=SECRET_MODE, overwrite=False)
    return len(minted)


def _finish(outcome: Any, fmt: Format) -> None:
    from qdrantsec.exit_codes import ExitCode
    from qdrantsec.output.rotate_progress import print_summary

    print_summary(outcome, fmt.value)
    if outcome.state == "paused":
        raise typer.Exit(int(ExitCode.PAUSED))


# -- run ------------------------------------------------------------------------------------------

@app.callback(invoke_without_command=True)
@_reflow
def rotate(
    ctx: typer.Context,
    inventory: Annotated[str | None, typer.Option(
        "--inventory", "-i", metavar="FILE", rich_help_panel=PEERS,
        help="YAML inventory: defaults + peers (name, url, driver, path/apply, restart).")] = None,
    peers: Annotated[list[str] | None, typer.Option(
        "--peers", metavar="URL[,URL...]", rich_help_panel=PEERS,
        help="The peers' REST URLs in rollout order (instead of --inventory).")] = None,
    driver: Annotated[str, typer.Option(
        "--driver", metavar="file|env-file|command", rich_help_panel=PEERS,
        help="With --peers: how each peer's keys change.")] = "file",
    config_path: Annotated[list[str] | None, typer.Option(
        "--config-path", metavar="PATH", rich_help_panel=PEERS,
        help="With --peers: the Qdrant config (file) or env file (env-file) of each peer, "
             "one per peer (repeatable or comma list) or one template with {name}/{index}/{host}.")] = None,
    apply_cmd: Annotated[str | None, typer.Option(
        "--apply-cmd", metavar="CMD", rich_help_panel=PEERS,
        help="With --peers --driver command: the hook that sets the keys (given as "
             "QDRANTSEC_API_KEY / QDRANTSEC_ALT_API_KEY in its environment).")] = None,
    restart_cmd: Annotated[str | None, typer.Option(
        "--restart-cmd", metavar="CMD", rich_help_panel=PEERS,
        help="With --peers: restart one peer; {name}, {url}, {host}, {index} are filled in.")] = None,
    api_key_file: opt.ApiKeyFile = None,
    api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None,
    qdrant_config: opt.QdrantConfig = None,
    new_key_file: NewKeyFile = None,
    generate_new_key: Annotated[str | None, typer.Option(
        "--generate-new-key", metavar="FILE", rich_help_panel=opt.KEYS,
        help="Generate the new key (32 random bytes) and write it to FILE (mode 0600, "
             "atomically) before anything else.")] = None,
    ca_cert: opt.CaCert = None,
    client_cert: opt.ClientCert = None,
    client_key: opt.ClientKey = None,
    insecure: opt.Insecure = False,
    timeout: opt.Timeout = 10.0,
    journal: JournalOpt = "qdrantsec-rotate.journal.json",
    yes: YesOpt = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", rich_help_panel=ROT,
        help="Check the peers (read-only) and print the whole plan; change nothing.")] = False,
    switch_cmd: SwitchCmd = None,
    pause: PauseOpt = False,
    switch_timeout: SwitchTimeout = 600.0,
    allow_downtime: Annotated[bool, typer.Option(
        "--allow-downtime", rich_help_panel=ROT,
        help="Rotate even when a collection has replication_factor < 2 (its shards are "
             "unavailable while their peer restarts), or a single node.")] = False,
    internal_auth: Annotated[InternalAuth | None, typer.Option(
        "--internal-auth", case_sensitive=False, rich_help_panel=ROT,
        help="Whether enforce_internal_auth is on, when the drivers cannot read it (on or "
             "unknown: the 4-step sequence).")] = None,
    peer_timeout: PeerTimeout = None,
    settle: Settle = None,
    remint: Annotated[str | None, typer.Option(
        "--remint", metavar="SPECS", rich_help_panel=ROT,
        help="Token specs (as 'token mint --from-file') to mint again with the new key "
             "before the old key is removed; needs --remint-out.")] = None,
    remint_out: Annotated[str | None, typer.Option(
        "--remint-out", metavar="FILE", rich_help_panel=ROT,
        help="Where --remint writes the new tokens (JSON lines, mode 0600).")] = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Rotate the API key across cluster peers with alt_api_key, zero downtime.

    Preflight (every peer healthy and accepting the current key), stage (the new key as
    alt_api_key, one peer at a time, each restart gated on /cluster, collections and internal
    calls), switch (move the clients), promote (the new key becomes api_key; with
    enforce_internal_auth on or unknown in two passes, as peers send only api_key on internal
    calls), done. A failure halts before the next peer (exit 20); 'rotate-key resume'
    continues from the journal, 'rotate-key abort' rolls back, 'rotate-key status' shows it.

    \b
    Examples:
      qdrantsec rotate-key --inventory peers.yaml --api-key-file old.key \\
          --generate-new-key new.key --dry-run
      qdrantsec rotate-key --peers https://n1:6333,https://n2:6333 \\
          --config-path /etc/qdrant/{name}.yaml \\
          --restart-cmd "ssh {host} systemctl restart qdrant" \\
          --api-key-file old.key --new-key-file new.key --ca-cert ca.pem --pause
      qdrantsec rotate-key resume --api-key-file old.key --new-key-file new.key
    """
    if ctx.invoked_subcommand is not None:
        return
    from qdrantsec.errors import UsageError
    from qdrantsec.output.rotate_progress import make, print_plan
    from qdrantsec.rotation import executor as X
    from qdrantsec.rotation import journal as J
    from qdrantsec.rotation.plan import build_plan
    from qdrantsec.rotation.preflight import run_preflight

    if (inventory is None) == (not peers):
        raise UsageError("give either --inventory FILE or --peers URL[,URL...]",
                         hint="try 'qdrantsec rotate-key --help'")
    if (new_key_file is None) == (generate_new_key is None):
        raise UsageError("give the new key with --new-key-file FILE or --generate-new-key FILE")
    if (remint is None) != (remint_out is None):
        raise UsageError("--remint and --remint-out go together")
    mode = _switch_mode(yes, switch_cmd, pause)
    if not dry_run and mode == "confirm" and not _interactive():
        raise UsageError("no terminal to confirm the switch phase on",
                         hint="pass --switch-cmd CMD, --pause (then 'rotate-key resume'), "
                              "or --yes")
    if inventory is not None:
        record: dict[str, Any] = {"file": os.path.abspath(inventory)}
        if peers or config_path or apply_cmd or restart_cmd:
            raise UsageError("--inventory cannot be combined with --peers/--config-path/"
                             "--apply-cmd/--restart-cmd")
    else:
        record = {"urls": _split(peers), "driver": driver,
                  "paths": [os.path.abspath(p) if "{" not in p else p for p in _split(config_path)]
                  or None, "apply": apply_cmd, "restart": restart_cmd}
    inv = _inventory(record)
    record["peers"] = [{"name": p.name, "url": p.url} for p in inv.peers]
    if generate_new_key is not None and not dry_run and os.path.lexists(generate_new_key):
        raise UsageError(f"{generate_new_key} already exists",
                         hint="use it with --new-key-file, or name another file")
    if not dry_run:
        fd = J.lock(journal)
        ctx.call_on_close(lambda: os.close(fd))
        J.Journal.check_free(journal)
    old = _old_key(literal=api_key, file=api_key_file, stdin=api_key_stdin, env=api_key_env,
                   qdrant_config=qdrant_config)
    new = None
    if new_key_file is not None:
        new = _new_key_from_file(new_key_file)
    elif not dry_run:
        from qdrantsec.fsutil import SECRET_MODE, atomic_write
        from qdrantsec.output import note
        from qdrantsec.secrets import Secret, fingerprint, generate_key

        value = generate_key(32)
        atomic_write(generate_new_key, value + "\n", mode=SECRET_MODE)  # type: ignore[arg-type]
        note(f"wrote the new key to {generate_new_key} (mode 0600), {fingerprint(value)}")
        new = Secret(value, f"file {generate_new_key}", "new api_key")
    if dry_run and new is None:
        from qdrantsec.secrets import Secret, generate_key

        new = Secret(generate_key(32), "generated at run time", "new api_key")
    tls = {"ca_cert": ca_cert, "client_cert": client_cert, "client_key": client_key,
           "insecure": insecure, "timeout": timeout}
    run_id = J.new_run_id()
    session = _Session(inventory=inv, old=old, new=new, tls=tls, run_id=run_id,
                       api_key_env=api_key_env)
    try:
        pre = run_preflight(gate=session.gate, drivers=session.drivers, old=old, new=new,
                            internal_auth_flag=internal_auth.value if internal_auth else None,
                            allow_downtime=allow_downtime)
        warnings = list(pre.warnings)
        if remint is None:
            warnings.append("JWTs signed with the old key stop working when it is removed at "
                            "the end; mint new ones with --remint SPECS --remint-out FILE")
        new_fp = new.fingerprint if new_key_file or not dry_run else "(generated at run time)"
        plan = build_plan(internal_auth=pre.internal_auth, internal_auth_source=pre.internal_auth_source,
                          peers=session.planned(), old_fingerprint=old.fingerprint,
                          new_fingerprint=new_fp,
                          settle=2.0 if settle is None else settle,
                          peer_timeout=120.0 if peer_timeout is None else peer_timeout,
                          warnings=tuple(warnings))
        if dry_run:
            print_plan(plan.as_dict(), fmt.value)
            return
        from qdrantsec.output import warn

        for w in warnings:
            warn(w)
        if not yes and _interactive():
            print_plan(plan.as_dict(), "text", sys.stderr)
            if not _confirm(f"Start the rotation of {len(plan.peers)} peers"):
                raise typer.Abort()
        options = {"tls": tls, "peer_timeout": plan.peer_timeout, "settle": plan.settle,
                   "single": pre.single}
        jr = J.Journal.create(journal, run_id=run_id, plan=plan.as_dict(), inventory=record,
                              old_fp=old.fingerprint, new_fp=new.fingerprint, options=options)
        emit = make(fmt.value, [p.name for p in plan.peers])
        rt = X.Runtime(plan=plan, journal=jr, drivers=session.drivers, gate=session.gate,
                       keys=session.probe.keys, emit=emit, switch_mode=mode,
                       run_switch_cmd=_switch_runner(switch_cmd, new, session.scrub, switch_timeout),
                       confirm=_confirm if _interactive() else None,
                       resume_hint=_resume_hint(journal, new_key_file or generate_new_key),
                       abort_hint=f"qdrantsec rotate-key abort --journal {journal}")
        rt.event("phase", f"preflight passed: {plan.sequence.value} sequence ({plan.reason})")
        if remint is not None:
            count = _remint(remint, remint_out, new)  # type: ignore[arg-type]
            rt.event("phase", f"wrote {count} tokens signed with the new key to {remint_out} (0600)")
        jr.save()
        outcome = _run(rt)
    finally:
        session.probe.close()
    _finish(outcome, fmt)


def _run(rt: Any) -> Any:
    from qdrantsec.rotation import executor as X

    try:
        return X.run(rt)
    except KeyboardInterrupt:
        from qdrantsec.cli.app import interrupt_handled

        interrupt_handled()  # the 'halted' event already said where it stopped and what to do
        raise


# -- status / resume / abort ----------------------------------------------------------------

def _status_dict(jr: Any) -> dict[str, Any]:
    d = jr.data
    return {"journal": str(jr.path), "run_id": d["run_id"], "state": d["state"],
            "phase": d.get("phase"), "sequence": d["sequence"], "reason": d.get("reason"),
            "keys": d["keys"], "switch": (d.get("switch") or {}).get("state"),
            "passes": d["passes"], "halt": d.get("halt"), "abort": d.get("abort"),
            "backups": d.get("backups") or [], "created": d.get("created"),
            "updated": d.get("updated"), "peers": d["inventory"].get("peers")}


@app.command("status")
@_reflow
def status_cmd(journal: JournalOpt = "qdrantsec-rotate.journal.json",
               fmt: FormatOpt = Format.text) -> None:
    """Show where a rotation stands: state, phase, each peer's step, why it halted.

    Reads only the journal (no key, no network).

    \b
    Examples:
      qdrantsec rotate-key status
      qdrantsec rotate-key status --journal /var/lib/qdrantsec/rotate.json --format json
    """
    from qdrantsec.output.rotate_progress import print_status
    from qdrantsec.rotation.journal import Journal

    print_status(_status_dict(Journal.load(journal)), fmt.value)


def _resumed(ctx: typer.Context, journal: str, *, inventory: str | None, restart_cmd: str | None,
             api_key: str | None,
             api_key_file: str | None, api_key_stdin: bool, api_key_env: str | None,
             qdrant_config: str | None, new_key_file: str | None, tls_flags: dict[str, Any],
             peer_timeout: float | None, settle: float | None, need_new: bool = True) -> Any:
    """The journal, a fresh session and the plan for resume/abort; checks the keys'
    fingerprints against the journal and the re-read inventory against its peers."""
    from qdrantsec.errors import InputError, UsageError
    from qdrantsec.rotation.journal import Journal, lock
    from qdrantsec.rotation.plan import build_plan

    jr = Journal.load(journal)
    fd = lock(journal)
    ctx.call_on_close(lambda: os.close(fd))
    d = jr.data
    old = _old_key(literal=api_key, file=api_key_file, stdin=api_key_stdin, env=api_key_env,
                   qdrant_config=qdrant_config)
    if old.fingerprint != d["keys"]["old"]:
        raise InputError(f"the current key given ({old.fingerprint}) is not the one this rotation "
                         f"started with ({d['keys']['old']})",
                         hint="pass the same --api-key-* option as the first run")
    if new_key_file is None:
        raise UsageError("give the new key with --new-key-file FILE (the journal has only its "
                         f"fingerprint, {d['keys']['new']})")
    new = _new_key_from_file(new_key_file)
    if new.fingerprint != d["keys"]["new"]:
        raise InputError(f"the new key in {new_key_file} ({new.fingerprint}) is not the one this "
                         f"rotation uses ({d['keys']['new']})")
    record = dict(d["inventory"])
    if inventory is not None:
        record = {"file": os.path.abspath(inventory), "peers": record.get("peers")}
    if restart_cmd is not None:
        if record.get("file"):
            raise UsageError("--restart-cmd applies to --peers runs; edit the inventory instead")
        record["restart"] = restart_cmd
    inv = _inventory(record)
    now = [{"name": p.name, "url": p.url} for p in inv.peers]
    if now != d["inventory"]["peers"]:
        raise InputError("the inventory's peers (names, URLs, order) are not the journal's",
                         hint="a rotation must finish on the peers it started on")
    options = d.get("options") or {}
    tls = dict(options.get("tls") or {})
    tls.update({k: v for k, v in tls_flags.items() if v})
    session = _Session(inventory=inv, old=old, new=new, tls=tls, run_id=jr.run_id,
                       api_key_env=api_key_env)
    session.gate.single = bool(options.get("single"))
    plan = build_plan(internal_auth=None, internal_auth_source="journal",
                      peers=session.planned(), old_fingerprint=old.fingerprint,
                      new_fingerprint=new.fingerprint,
                      settle=options.get("settle", 2.0) if settle is None else settle,
                      peer_timeout=options.get("peer_timeout", 120.0) if peer_timeout is None
                      else peer_timeout,
                      recorded=(d["sequence"], d.get("reason") or ""))
    jr.data["inventory"]["restart"] = record.get("restart")
    return jr, session, plan, new


def _common(journal: str, fmt: Format, session: Any, plan: Any, jr: Any, new: Any, *,
            mode: str, switch_cmd: str | None, switch_timeout: float, new_key_file: str | None) -> Any:
    from qdrantsec.output.rotate_progress import make
    from qdrantsec.rotation import executor as X

    return X.Runtime(plan=plan, journal=jr, drivers=session.drivers, gate=session.gate,
                     keys=session.probe.keys, emit=make(fmt.value, [p.name for p in plan.peers]),
                     switch_mode=mode,
                     run_switch_cmd=_switch_runner(switch_cmd, new, session.scrub, switch_timeout),
                     confirm=_confirm if _interactive() else None,
                     resume_hint=_resume_hint(journal, new_key_file),
                     abort_hint=f"qdrantsec rotate-key abort --journal {journal}")


def _resume_hint(journal: str, new_key_file: str | None) -> str:
    """The resume command to print. A key made with --generate-new-key is in that file now,
    and resume takes it as --new-key-file (it has no --generate-new-key)."""
    import shlex

    hint = f"qdrantsec rotate-key resume --journal {shlex.quote(journal)}"
    return hint + (f" --new-key-file {shlex.quote(new_key_file)}" if new_key_file else "")


@app.command("resume")
@_reflow
def resume_cmd(
    ctx: typer.Context,
    api_key_file: opt.ApiKeyFile = None,
    api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None,
    qdrant_config: opt.QdrantConfig = None,
    new_key_file: NewKeyFile = None,
    inventory: Annotated[str | None, typer.Option(
        "--inventory", "-i", metavar="FILE", rich_help_panel=PEERS,
        help="Re-read this inventory instead of the journal's (same peers, e.g. a fixed "
             "restart command).")] = None,
    restart_cmd: Annotated[str | None, typer.Option(
        "--restart-cmd", metavar="CMD", rich_help_panel=PEERS,
        help="For a --peers run: a new restart command template.")] = None,
    ca_cert: opt.CaCert = None,
    client_cert: opt.ClientCert = None,
    client_key: opt.ClientKey = None,
    insecure: opt.Insecure = False,
    journal: JournalOpt = "qdrantsec-rotate.journal.json",
    yes: YesOpt = False,
    switch_cmd: SwitchCmd = None,
    pause: PauseOpt = False,
    switch_timeout: SwitchTimeout = 600.0,
    peer_timeout: PeerTimeout = None,
    settle: Settle = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Continue a rotation from its journal: after a pause, a halt, a crash or Ctrl-C.

    Takes the same key options as the first run (the journal holds only fingerprints, which
    are checked) and re-reads the inventory, so a fixed restart command takes effect. Before
    acting it checks what every peer actually accepts; a step that was in flight is redone.
    After --pause, resuming means the clients have switched.

    \b
    Examples:
      qdrantsec rotate-key resume --api-key-file old.key --new-key-file new.key
      qdrantsec rotate-key resume --journal rotate.json --api-key-env OLD \\
          --new-key-file new.key --yes
    """
    from qdrantsec.errors import UsageError

    jr, session, plan, new = _resumed(
        ctx, journal, inventory=inventory, restart_cmd=restart_cmd, api_key=api_key,
        api_key_file=api_key_file, api_key_stdin=api_key_stdin, api_key_env=api_key_env,
        qdrant_config=qdrant_config, new_key_file=new_key_file,
        tls_flags={"ca_cert": ca_cert, "client_cert": client_cert, "client_key": client_key,
                   "insecure": insecure}, peer_timeout=peer_timeout, settle=settle)
    mode = _switch_mode(yes, switch_cmd, pause)
    switch_state = (jr.data.get("switch") or {}).get("state")
    if mode == "confirm" and switch_state not in ("done", "paused") and not _interactive():
        raise UsageError("no terminal to confirm the switch phase on",
                         hint="pass --switch-cmd CMD, --pause or --yes")
    try:
        rt = _common(journal, fmt, session, plan, jr, new, mode=mode, switch_cmd=switch_cmd,
                     switch_timeout=switch_timeout, new_key_file=new_key_file)
        from qdrantsec.rotation.executor import ensure_resumable

        ensure_resumable(rt)
        rt.event("phase", f"resuming run {jr.run_id} ({jr.state}, phase {jr.data.get('phase')})")
        outcome = _run(rt)
    finally:
        session.probe.close()
    _finish(outcome, fmt)


@app.command("abort")
@_reflow
def abort_cmd(
    ctx: typer.Context,
    api_key_file: opt.ApiKeyFile = None,
    api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None,
    qdrant_config: opt.QdrantConfig = None,
    new_key_file: NewKeyFile = None,
    inventory: Annotated[str | None, typer.Option(
        "--inventory", "-i", metavar="FILE", rich_help_panel=PEERS,
        help="Re-read this inventory instead of the journal's (same peers).")] = None,
    restart_cmd: Annotated[str | None, typer.Option(
        "--restart-cmd", metavar="CMD", rich_help_panel=PEERS,
        help="For a --peers run: a new restart command template.")] = None,
    ca_cert: opt.CaCert = None,
    client_cert: opt.ClientCert = None,
    client_key: opt.ClientKey = None,
    insecure: opt.Insecure = False,
    journal: JournalOpt = "qdrantsec-rotate.journal.json",
    yes: YesOpt = False,
    peer_timeout: PeerTimeout = None,
    settle: Settle = None,
    fmt: FormatOpt = Format.text,
) -> None:
    """Roll back what is safe to roll back, one peer at a time behind the same gates.

    Before the switch the clients hold the old key: the staged alt_api_key is removed from
    every peer. After it they hold the new key: it stays, and every peer is made to accept
    both keys (the clients' key and the one every other peer sends), nothing more. Peers
    already in that state are not restarted.

    \b
    Examples:
      qdrantsec rotate-key abort --api-key-file old.key --new-key-file new.key
      qdrantsec rotate-key abort --journal rotate.json --api-key-env OLD \\
          --new-key-file new.key --yes
    """
    from qdrantsec.errors import UsageError
    from qdrantsec.rotation import executor as X

    jr, session, plan, new = _resumed(
        ctx, journal, inventory=inventory, restart_cmd=restart_cmd, api_key=api_key,
        api_key_file=api_key_file, api_key_stdin=api_key_stdin, api_key_env=api_key_env,
        qdrant_config=qdrant_config, new_key_file=new_key_file,
        tls_flags={"ca_cert": ca_cert, "client_cert": client_cert, "client_key": client_key,
                   "insecure": insecure}, peer_timeout=peer_timeout, settle=settle)
    try:
        if not yes:
            if not _interactive():
                raise UsageError("abort restarts peers: confirm with --yes (no terminal to ask on)")
            if not _confirm("Roll the rotation back"):
                raise typer.Abort()
        rt = _common(journal, fmt, session, plan, jr, new, mode="yes", switch_cmd=None,
                     switch_timeout=1.0, new_key_file=new_key_file)
        outcome = X.abort(rt)
    finally:
        session.probe.close()
    _finish(outcome, fmt)
