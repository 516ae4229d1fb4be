"""`qdrantsec certs ...`: CA, server, peer and client certificates for Qdrant TLS and mTLS.

Thin glue over ``qdrantsec.certs``: parse, call one core function, print. Plain text (no
Rich) on purpose: ``certs generate`` is benchmarked against mkcert, and start-up is most
of its time.
"""

# No `from __future__ import annotations` here: Typer reads the Annotated options of every
# command when the group is built, and with string annotations it evaluates each of them
# again for each command (a few ms of `certs generate`'s start-up).
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from qdrantsec.exit_codes import ExitCode

app = typer.Typer(
    name="certs",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

Format = Annotated[str, typer.Option(
    "--format", "-f", metavar="text|json", help="Output format: text or json.")]


@app.callback()
def _group() -> None:
    """Generate, inspect and verify TLS and mTLS certificates for Qdrant.

    \b
    Examples:
      qdrantsec certs generate --out tls --peers 3 --client app
      qdrantsec certs verify --ca tls/ca.pem tls/server.pem --host localhost
    """


def _format(value: str) -> str:
    from qdrantsec.errors import UsageError

    if value not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {value!r}")
    return value


def _out(text: str) -> None:
    from qdrantsec.output import printable  # names in a (remote) certificate are untrusted

    lines = text[:-1] if text.endswith("\n") else text
    sys.stdout.write("\n".join(printable(ln) for ln in lines.split("\n")) + "\n")


def _v(value: object) -> str:
    """A value (path, name from a certificate) escaped before it is joined into a line: a
    newline inside it must not start a line of its own."""
    from qdrantsec.output import printable

    return printable(str(value))


@app.command("generate")
def generate(
    out: Annotated[str, typer.Option(
        "--out", "-o", metavar="DIR", help="Directory for the files (created mode 0700 if missing).")],
    host: Annotated[list[str] | None, typer.Option(
        "--host", metavar="NAME",
        help="Name or IP clients use to reach Qdrant (repeatable). DNS names and IPs become the "
             "right SAN types. Also added to every peer certificate.",
        show_default="localhost, 127.0.0.1, ::1")] = None,
    peer: Annotated[list[str] | None, typer.Option(
        "--peer", metavar="NAME[,NAME...]",
        help="A cluster peer (repeatable): the host of its p2p URI, then any other names or IPs "
             "it is reached under, comma-separated. Files: peer-<first label>.pem.")] = None,
    peers: Annotated[int, typer.Option(
        "--peers", metavar="N", help="Add N peers named by --peer-template with {i} = 0..N-1.")] = 0,
    peer_template: Annotated[str, typer.Option(
        "--peer-template", metavar="TEMPLATE",
        help="Names for --peers (StatefulSet pod DNS names; commas for several names).")]
        = "qdrant-{i}.qdrant-headless",
    client: Annotated[list[str] | None, typer.Option(
        "--client", metavar="NAME",
        help="A client certificate (clientAuth only) for verify_https_client_certificate (repeatable).")]
        = None,
    key_type: Annotated[str, typer.Option(
        "--key-type", metavar="TYPE",
        help="ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096 or ed25519.")] = "ecdsa-p256",
    days: Annotated[int, typer.Option(
        "--days", metavar="N",
        help="Validity of the leaf certificates in days (1-3650). The CA gets 10 years.")] = 397,
    ca_cert: Annotated[Path | None, typer.Option(
        "--ca-cert", metavar="FILE", help="Issue from this existing CA certificate (with --ca-key).")] = None,
    ca_key: Annotated[Path | None, typer.Option(
        "--ca-key", metavar="FILE", help="Private key of --ca-cert (unencrypted PEM).")] = None,
    new_ca: Annotated[bool, typer.Option(
        "--new-ca", help="Make a new CA even if DIR holds one (with --force to replace it).")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace existing files; each old file is kept as FILE.bak.")] = False,
    tls_dir: Annotated[str | None, typer.Option(
        "--tls-dir", metavar="PATH",
        help="Where Qdrant will find the files, for the printed config, e.g. /qdrant/tls.",
        show_default="DIR as an absolute path")] = None,
    fmt: Format = "text",
) -> None:
    """Make a CA, server, peer and client certificates, and print the Qdrant config.

    A CA already in DIR (ca.pem + ca-key.pem) is reused: adding a peer later
    keeps the other certificates valid. Keys are unencrypted PKCS#8 PEM,
    mode 0600 (the CA key 0400). Nothing is overwritten without --force.
    The files are written as one set: a run that fails or is killed leaves
    DIR with the whole old set or the whole new one (an existing DIR is
    swapped for a new directory; a container that mounts DIR itself sees
    the new files after a restart), and the next run clears what it left.

    \b
    Examples:
      qdrantsec certs generate --out tls
      qdrantsec certs generate --out tls --peers 3 --client app
      qdrantsec certs generate --out tls --host qdrant.example.com \\
          --peer node1.lan,10.0.0.11 --peer node2.lan,10.0.0.12 \\
          --tls-dir /qdrant/tls
    """
    from qdrantsec.certs import bundle
    from qdrantsec.certs.snippets import RELOAD_WARNING, build
    from qdrantsec.errors import UsageError
    from qdrantsec.output import warn

    fmt = _format(fmt)
    if not out.strip():  # Path("") would be the current directory
        raise UsageError("--out is empty", hint="give the directory for the files, e.g. --out tls")
    from qdrantsec.fsutil import check_path

    check_path(out, "--out")  # a name over 255 bytes: pathlib would raise ENAMETOOLONG
    for flag, value in (("--out", out), ("--tls-dir", tls_dir or "")):
        if _v(value) != value:  # it would go into the printed config and kubectl lines as is
            raise UsageError(f"{flag} {value} holds a control or bidi character",
                             hint="choose a directory name of printable characters")
    req = bundle.Request(out=Path(out), hosts=list(host or []), peers=list(peer or []), peer_count=peers,
                  peer_template=peer_template, clients=list(client or []), key_type=key_type, days=days,
                  ca_cert=ca_cert, ca_key=ca_key, new_ca=new_ca, force=force)
    for line in bundle.recover(req.out):  # a killed run's leftovers, said before anything else
        warn(line)
    cs = bundle.generate(req)
    snippets = build(cs, tls_dir or str(Path(out).absolute()))
    if fmt == "json":
        from qdrantsec.output import print_json

        print_json(_generate_json(cs, snippets))
    else:
        _out(_generate_text(cs, snippets))
    for b in cs.backups:
        warn(f"kept the previous file as {b}")
    warn(RELOAD_WARNING)


def _cert_line(role: str, path: Path, end: Any, sans: list[str]) -> list[str]:
    lines = [f"  {role:<7} {_v(path)}  expires {end:%Y-%m-%d}"]
    if sans:
        lines.append(f"          SANs: {_v(', '.join(sans))}")
    return lines


def _sans(issued: Any) -> list[str]:
    return [str(s) for s in issued.leaf.sans]


def _generate_text(cs: Any, snippets: Any) -> str:
    lines = []
    for f in cs.files:
        if f.unchanged:
            lines.append(f"kept     {_v(f.path)} ({f.what}, unchanged)")
        else:
            verb = "replaced" if f.exists else "wrote   "
            lines.append(f"{verb} {_v(f.path)} ({f.what}, mode {f.mode:04o})")
    if cs.ca.reused:
        lines.append(f"CA {_v(cs.ca_origin)}: {_v(cs.ca.cert.subject.rfc4514_string())}")
    lines += ["", "Certificates:"]
    lines += _cert_line("CA", cs.ca_path, cs.ca.not_after, [])
    for i in cs.leaves:
        lines += _cert_line(i.leaf.profile.name, i.cert_path, i.leaf.not_after, _sans(i))
    lines += ["", "Qdrant config (YAML):", "", snippets.yaml.rstrip(), "",
              "Or as environment variables:", "", snippets.env.rstrip(), "",
              "Kubernetes secrets:", "", snippets.kubectl.rstrip()]
    return "\n".join(lines)


def _generate_json(cs: Any, snippets: Any) -> dict[str, Any]:
    return {
        "out": str(cs.out),
        "ca": {"origin": cs.ca_origin, "cert": str(cs.ca_path),
               "subject": cs.ca.cert.subject.rfc4514_string(),
               "not_after": cs.ca.not_after.isoformat()},
        "files": [{"path": str(f.path), "what": f.what, "mode": f"{f.mode:04o}",
                   "written": not f.unchanged} for f in cs.files],
        "backups": [str(b) for b in cs.backups],
        "certificates": [{"profile": i.leaf.profile.name, "name": i.leaf.name, "cert": str(i.cert_path),
                          "key": str(i.key_path), "sans": _sans(i),
                          "not_after": i.leaf.not_after.isoformat()} for i in cs.leaves],
        "config": {"yaml": {"single_node": snippets.single_yaml, "cluster_peer": snippets.cluster_yaml},
                   "env": snippets.env, "kubectl": snippets.kubectl},
    }


@app.command("inspect")
def inspect(
    source: Annotated[str, typer.Argument(
        metavar="FILE|https://HOST:PORT",
        help="A PEM/DER certificate file, or a TLS server to fetch the chain from.")],
    fmt: Format = "text",
    timeout: Annotated[float, typer.Option(
        "--timeout", min=0.1, metavar="SECONDS", help="Connect and handshake timeout for https://.")] = 10.0,
) -> None:
    """Show subject, SANs, issuer, key, validity, EKU and fingerprints.

    A file holding several certificates is checked for chain order (leaf
    first, then each issuer); exit 1 when the order is wrong. For https://
    the chain is fetched without verification: this is an inspection, use
    `certs verify` to judge a certificate.

    \b
    Examples:
      qdrantsec certs inspect tls/server.pem
      qdrantsec certs inspect https://localhost:6333 --format json
    """
    from qdrantsec.certs import inspect as core

    fmt = _format(fmt)
    if source.startswith("https://") or source.startswith("http://"):
        result = core.inspect_url(source, timeout=timeout)
    else:
        result = core.inspect_file(source)
    if fmt == "json":
        from qdrantsec.output import print_json

        print_json(result.to_dict())
    else:
        _out(_inspect_text(result))
    if not result.chain_ok:
        raise typer.Exit(int(ExitCode.FAILED))


def _inspect_text(result: Any) -> str:
    n = len(result.certificates)
    lines: list[str] = []
    for c in result.certificates:
        left = "EXPIRED" if c.expired else "NOT YET VALID" if c.not_yet_valid else f"{c.days_left} days left"
        ca = f"yes (pathlen {c.path_length})" if c.is_ca and c.path_length is not None else \
            "yes" if c.is_ca else "no"
        eku = "(none: any purpose)" if c.eku is None else ", ".join(c.eku) or "(empty)"
        lines += [
            f"certificate {c.index} of {n}: {_v(result.source)}",
            f"  subject:    {_v(c.subject)}",
            f"  issuer:     {_v(c.issuer)}{'  (self-signed)' if c.self_signed else ''}",
            f"  SANs:       {_v(', '.join(c.sans)) or '(none)'}",
            f"  key:        {c.key_type} ({c.key_bits} bits)",
            f"  signature:  {c.signature}",
            f"  valid:      {c.not_before} to {c.not_after} ({left})",
            f"  CA:         {ca}",
            f"  key usage:  {', '.join(c.key_usage) or '(none)'}",
            f"  EKU:        {eku}",
            f"  serial:     {c.serial}",
            f"  SHA-256:    {c.sha256}",
            f"  SHA-1:      {c.sha1}",
        ]
    if n > 1:
        lines.append("chain order: " + ("ok (leaf first, each followed by its issuer)" if result.chain_ok
                                        else "WRONG"))
        lines += [f"  - {_v(p)}" for p in result.chain_problems]
    return "\n".join(lines)


@app.command("verify")
def verify(
    cert: Annotated[str, typer.Argument(
        metavar="CERT", help="Certificate file (leaf first, then intermediates).")],
    ca: Annotated[str, typer.Option(
        "--ca", metavar="CA", help="Trusted CA certificate(s) (PEM), like tls.ca_cert.")],
    host: Annotated[list[str] | None, typer.Option(
        "--host", metavar="NAME",
        help="A host name or IP clients or peers use; must match a SAN (repeatable).")] = None,
    purpose: Annotated[str, typer.Option(
        "--purpose", metavar="server|client|peer",
        help="server: serverAuth; client: clientAuth; peer: both (p2p mutual TLS).")] = "server",
    fmt: Format = "text",
) -> None:
    """Check a certificate as Qdrant (rustls/webpki) would: chain, validity, EKU, SANs.

    Exit 0 when valid, 1 when not (with the reasons), 2 when a file cannot
    be read. The Common Name is ignored, as webpki does: hosts must match a
    subjectAltName of their own type (DNS name or IP address).

    \b
    Examples:
      qdrantsec certs verify --ca tls/ca.pem tls/server.pem --host localhost
      qdrantsec certs verify --ca tls/ca.pem tls/peer-qdrant-0.pem \\
          --purpose peer --host qdrant-0.qdrant-headless
    """
    from qdrantsec.certs.verify import verify as run

    fmt = _format(fmt)
    result = run(cert, ca, hosts=list(host or []), purpose=purpose)
    if fmt == "json":
        from qdrantsec.output import print_json

        print_json(result.to_dict())
    else:
        head = "valid" if result.valid else "INVALID"
        lines = [f"{head}: {_v(cert)} for purpose {_v(purpose)}",
                 f"  chain:   {_v(' <- '.join(result.chain))}",
                 f"  expires: {result.not_after} ({result.days_left} days)"]
        lines += [f"  host {_v(h.host)}: {'ok' if h.ok else 'no match'}" for h in result.hosts]
        if not result.hosts and purpose != "client":
            lines.append("  hosts:   not checked (give --host NAME)")
        lines += [f"  - {_v(p)}" for p in result.problems]
        _out("\n".join(lines))
    if not result.valid:
        raise typer.Exit(int(ExitCode.FAILED))


@app.command("check-expiry")
def check_expiry(
    paths: Annotated[list[str], typer.Argument(
        metavar="FILE|DIR...", help="Certificate files or directories.")],
    within: Annotated[str, typer.Option(
        "--within", metavar="DURATION",
        help="Window, e.g. 30d, 12h, 2w (a bare number means days).")] = "30d",
    fmt: Format = "text",
) -> None:
    """List certificates; fail when one expires within the window (cron, CI).

    Exit 0 when nothing expires within the window, 1 when something does
    (or already has), 2 on errors (unreadable file, no certificate found).
    Directories are searched recursively for *.pem, *.crt, *.cer and *.der;
    files holding only keys are skipped.

    \b
    Examples:
      qdrantsec certs check-expiry --within 30d tls/
      qdrantsec certs check-expiry --within 14d --format json cert.pem
    """
    from qdrantsec.certs.expiry import check, parse_duration
    from qdrantsec.output import error, note

    fmt = _format(fmt)
    report = check(paths, parse_duration(within))
    if fmt == "json":
        from qdrantsec.output import print_json

        print_json(report.to_dict())
    else:
        for e in report.entries:
            label = {"ok": "ok", "expiring": "EXPIRING", "expired": "EXPIRED"}[e.status]
            when = f"{e.not_after[:10]} ({e.days_left} days)"
            index = f" #{e.index}" if e.index > 1 else ""
            _out(f"{label:<9} {when:<24} {_v(e.file)}{index}  {_v(e.subject)}")
        if report.entries and not report.errors:
            n, total = len(report.flagged), len(report.entries)
            note(f"{n} of {total} certificate(s) expire within {within}")
    for err in report.errors:
        error(err)  # escaped and shortened: paths come from the command line and the walk
    if report.errors:
        raise typer.Exit(int(ExitCode.USAGE))
    if report.flagged:
        raise typer.Exit(int(ExitCode.FAILED))
