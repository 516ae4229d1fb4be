"""`qdrantsec probe`: check a running Qdrant deployment from the outside. Thin glue: parse
options, resolve the keys, call ``qdrantsec.probe.engine.run_probe``, hand the result to
the lint formatters, pick the exit code. Heavy modules are imported inside the command."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from qdrantsec.cli import options as opt

PROBE_HELP = """Check a running Qdrant deployment from the outside (read-only, never destructive).

Asks each REST URL (and every peer named by --peers) what an attacker could: does it answer \
without credentials (GET /collections, /telemetry, /metrics), over plain HTTP, with a \
certificate that verifies, expires soon, matches the host name; does it accept TLS 1.0/1.1 \
or clients without a certificate; does it serve /dashboard, echo any CORS Origin, run a \
version that lacks a security fix; can the p2p port be reached (TCP connect only). Given \
keys, it also checks that the read-only key cannot write, that the keys are accepted and \
that the server treats a JWT as 'qdrantsec token explain' predicts. Findings are reported \
like lint findings (ID, severity, the request made and the answer seen, a fix).

Never destructive: only reads, TLS handshakes, TCP connects, and writes that name a \
collection that cannot exist (qdrantsec-probe-<random>: a 200 or 404 instead of 403 proves \
the write was allowed). At most --rate requests a second; every request carries \
x-request-id: qdrantsec-probe-<run id>, shown on stderr, so the run can be found in the \
audit log. Keys are never sent over plain http:// unless --allow-http-keys is given. With \
no key, only anonymous checks are made. The admin key comes from the usual sources \
(--api-key-file, --api-key-stdin, --api-key-env, --qdrant-config, $QDRANT__SERVICE__API_KEY, \
$QDRANT_API_KEY), never from a prompt.

Exit codes: 0 every URL probed, no finding at or above --fail-on; 1 findings at or above \
--fail-on; 2 usage error (bad URL, unreadable key file); 3 a URL could not be reached and \
nothing reached --fail-on (all of them: nothing could be probed).

\b
Examples:
  qdrantsec probe http://localhost:6333
  qdrantsec probe https://qdrant.example:6333 --ca-cert ca.pem --api-key-file admin.key
  qdrantsec probe https://q1:6333 --peers https://q2:6333,https://q3:6333 --format sarif -o probe.sarif
  qdrantsec probe https://qdrant.example:6333 --read-only-key-file ro.key --token-file app.jwt
  qdrantsec probe --explain QP301
"""

OUT = "Output"
CHECKS = "Checks"
FORMATS = ("auto", "text", "json", "sarif", "github")

command = typer.Typer(
    name="probe",
    help=PROBE_HELP,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _split_peers(values: list[str]) -> list[str]:
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def list_checks_text(checks: list[object]) -> str:
    rows = [(c.id, c.name, c.severity.label, c.summary) for c in checks]  # type: ignore[attr-defined]
    width = max(len(n) for _, n, _, _ in rows)
    lines = [f"{'ID':<6} {'NAME':<{width}} {'SEVERITY':<9} SUMMARY"]
    lines += [f"{i:<6} {n:<{width}} {s:<9} {' '.join(summary.split())}" for i, n, s, summary in rows]
    return "\n".join(lines) + "\n"


@command.command("probe", help=PROBE_HELP)
def probe(
    urls: Annotated[list[str] | None, typer.Argument(
        metavar="URL", show_default=False,
        help="REST base URLs to probe, e.g. https://qdrant.example:6333.")] = None,
    peers: Annotated[list[str] | None, typer.Option(
        "--peers", metavar="URL,...",
        help="Every peer of the cluster (REST URLs, comma-separated or repeated): each is probed, "
             "and their versions are compared.")] = None,
    api_key_file: opt.ApiKeyFile = None,
    api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None,
    qdrant_config: opt.QdrantConfig = None,
    read_only_key_file: Annotated[str | None, typer.Option(
        "--read-only-key-file", metavar="PATH", rich_help_panel=opt.KEYS,
        help="The read_only_api_key: checked that it can read and that a write is refused (403).")] = None,
    token_file: Annotated[str | None, typer.Option(
        "--token-file", metavar="PATH", rich_help_panel=opt.KEYS,
        help="A JWT: the server's answers to a few read and non-mutating write requests are "
             "compared with what 'qdrantsec token explain' predicts.")] = None,
    allow_http_keys: Annotated[bool, typer.Option(
        "--allow-http-keys", rich_help_panel=opt.KEYS,
        help="Send the keys and the token to http:// URLs too (in plain text: test setups only).")] = False,
    ca_cert: opt.CaCert = None,
    client_cert: opt.ClientCert = None,
    client_key: opt.ClientKey = None,
    insecure: Annotated[bool, typer.Option(
        "--insecure", rich_help_panel=opt.CONN,
        help="Make the HTTP checks even when the certificate does not verify (the TLS findings "
             "are still reported). Never use in production.")] = False,
    timeout: opt.Timeout = 10.0,
    rate: Annotated[float, typer.Option(
        "--rate", min=0.01, metavar="N", rich_help_panel=opt.CONN,
        help="At most N requests (and handshakes, TCP connects) a second, over the whole run.")] = 4.0,
    metrics_url: Annotated[list[str] | None, typer.Option(
        "--metrics-url", metavar="URL", rich_help_panel=CHECKS,
        help="A metrics port to check for unauthenticated access, e.g. http://q1:9090 (repeatable).")] = None,
    metrics_port: Annotated[int | None, typer.Option(
        "--metrics-port", metavar="PORT", min=1, max=65535, rich_help_panel=CHECKS,
        help="service.metrics_port: check it on every URL's host.")] = None,
    p2p_port: Annotated[int | None, typer.Option(
        "--p2p-port", metavar="PORT", min=1, max=65535, rich_help_panel=CHECKS,
        help="The p2p port tried (TCP connect only) on every URL's host (default: the port "
             "GET /cluster gives for the URL's peer, else 6335); peer URIs from GET /cluster "
             "are tried too.")] = None,
    cert_expiry_days: Annotated[int, typer.Option(
        "--cert-expiry-days", metavar="N", min=0, rich_help_panel=CHECKS,
        help="Report a server certificate that expires within N days (QP203).")] = 30,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", metavar="FORMAT", rich_help_panel=OUT,
        help="auto, text, json, sarif or github (auto: GitHub annotations under GitHub Actions, "
             "else text, coloured on a terminal).")] = "auto",
    output: Annotated[str | None, typer.Option(
        "--output", "-o", metavar="FILE", rich_help_panel=OUT,
        help="Write the report to FILE (atomically) instead of stdout.")] = None,
    fail_on: Annotated[str, typer.Option(
        "--fail-on", metavar="SEVERITY", rich_help_panel=OUT,
        help="Exit 1 when a finding is at or above SEVERITY: info, low, medium, high, critical.")] = "high",
    list_checks: Annotated[bool, typer.Option("--list-checks", help="List the checks and exit.")] = False,
    explain: Annotated[str | None, typer.Option(
        "--explain", metavar="ID", help="Show a check's documentation (e.g. QP301) and exit.")] = None,
) -> None:
    from qdrantsec.errors import UsageError

    if explain is not None:
        from qdrantsec.lint.registry import explain as explain_text
        from qdrantsec.probe.registry import get_check

        typer.echo(explain_text(get_check(explain)), nl=False)  # type: ignore[arg-type]
        raise typer.Exit(0)
    if list_checks:
        from qdrantsec.probe.registry import all_checks

        typer.echo(list_checks_text(list(all_checks())), nl=False)
        raise typer.Exit(0)
    targets = list(urls or []) + _split_peers(peers or [])
    if not targets:
        raise UsageError("no URL to probe", hint="e.g. qdrantsec probe https://qdrant.example:6333")
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (use one of: {', '.join(FORMATS)})")
    raise typer.Exit(_run(
        targets, fmt=fmt, output=output, fail_on=fail_on, rate=rate, timeout=timeout,
        tls=(ca_cert, client_cert, client_key, insecure),
        admin=(api_key, api_key_file, api_key_stdin, api_key_env, qdrant_config),
        read_only_key_file=read_only_key_file, token_file=token_file, allow_http_keys=allow_http_keys,
        metrics_urls=metrics_url or [], metrics_port=metrics_port, p2p_port=p2p_port,
        cert_expiry_days=cert_expiry_days,
    ))


def _keys(admin: tuple[str | None, str | None, bool, str | None, str | None],
          read_only_key_file: str | None, token_file: str | None) -> object:
    from qdrantsec.probe.model import ProbeKeys

    literal, file, stdin, env, qdrant_config = admin
    resolver = opt.resolver(stdin_in_use=True)  # never prompt: no key means anonymous checks
    admin_key = resolver.resolve(
        opt.key_options(literal=literal, file=file, stdin=stdin, env_name=env, qdrant_config=qdrant_config),
        role="api_key", required=False, allow_prompt=False)
    read_only = None
    if read_only_key_file is not None:
        from qdrantsec.errors import QdrantsecError

        try:
            read_only = resolver.resolve(opt.key_options(file=read_only_key_file),
                                         role="read_only_api_key", required=True, allow_prompt=False)
        except QdrantsecError as exc:
            if exc.hint and "--api-key" in exc.hint:
                # the resolver's hints name the admin key's options (--api-key-file, -env,
                # -stdin); this key has only --read-only-key-file
                exc.hint = ("--read-only-key-file takes a path; to pass the key from a variable, "
                            "use --read-only-key-file <(printenv NAME)")
            raise
    token = None
    if token_file is not None:
        from qdrantsec.errors import InputError
        from qdrantsec.fsutil import read_text
        from qdrantsec.secrets import key_like_argument, shown_argument
        from qdrantsec.token.jws import clean_token, decode, require_readable

        with key_like_argument(token_file, "--token-file"):
            token = clean_token(read_text(token_file, what="token file", limit=64 * 1024))
        if not token:
            raise InputError(f"token file {shown_argument(token_file)} is empty")
        require_readable(decode(token))
    return ProbeKeys(admin_key, read_only, token)


def _run(targets: list[str], *, fmt: str, output: str | None, fail_on: str, rate: float, timeout: float,
         tls: tuple[str | None, str | None, str | None, bool],
         admin: tuple[str | None, str | None, bool, str | None, str | None],
         read_only_key_file: str | None, token_file: str | None, allow_http_keys: bool,
         metrics_urls: list[str], metrics_port: int | None, p2p_port: int | None,
         cert_expiry_days: int) -> int:
    from qdrantsec import __version__
    from qdrantsec.errors import UsageError
    from qdrantsec.exit_codes import ExitCode
    from qdrantsec.lint.model import Severity
    from qdrantsec.lint.suppress import exit_code_for
    from qdrantsec.output import error, note
    from qdrantsec.output.lint_formats import pick_auto_format, render
    from qdrantsec.probe.engine import normalise, run_probe
    from qdrantsec.probe.model import ProbeOptions
    from qdrantsec.probe.registry import all_checks

    threshold = Severity.parse(fail_on)
    normalise(targets)  # a bad URL is a usage error before any key is read
    ca_cert, client_cert, client_key, insecure = tls
    if client_key and not client_cert:
        raise UsageError("--client-key needs --client-cert")
    from qdrantsec.fsutil import read_bytes

    for path, what in ((ca_cert, "CA certificate"), (client_cert, "client certificate"),
                       (client_key, "client key")):
        if path is not None:  # a FIFO, a device or a huge file fails here, not in OpenSSL
            read_bytes(path, what=what, limit=1024 * 1024)
    keys = _keys(admin, read_only_key_file, token_file)
    settings = opt.connection_settings(url=targets[0], ca_cert=ca_cert, client_cert=client_cert,
                                       client_key=client_key, insecure=insecure, timeout=timeout)
    options = ProbeOptions(cert_expiry_days=cert_expiry_days, p2p_port=p2p_port,
                           metrics_urls=tuple(metrics_urls), allow_http_keys=allow_http_keys)
    result = run_probe(targets, keys=keys, settings=settings, options=options, rate=rate,  # type: ignore[arg-type]
                       metrics_port=metrics_port)
    note(f"qdrantsec: probe {result.request_id}: {result.requests} "
         f"request{'' if result.requests == 1 else 's'}, each with "
         f"x-request-id: {result.request_id}")
    for line in result.notes:
        note(f"qdrantsec: note: {line}")
    for err in result.errors:
        error(f"{err.file}: {err.message}")
    color = False
    if fmt == "auto":
        fmt, color = pick_auto_format(os.environ, output is None and sys.stdout.isatty())
    text = render(result, fmt, color=color and output is None, show_suppressed=False,
                  rules=all_checks(), tool_version=__version__)  # type: ignore[arg-type]
    if output is None:
        sys.stdout.write(text)
    else:
        from qdrantsec.fsutil import atomic_write

        atomic_write(output, text, overwrite=True, stream_ok=True)
    code = exit_code_for(result.findings, threshold, exit_zero=False)
    if code == ExitCode.OK and result.errors:
        return int(ExitCode.NETWORK)
    if not result.files:  # no URL answered: nothing was probed
        return int(ExitCode.NETWORK)
    return code
