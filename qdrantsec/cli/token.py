"""`qdrantsec token ...`: mint, inspect, verify and explain Qdrant JWTs.

Thin glue: options are parsed here, the work is done in ``qdrantsec.token`` and
``qdrantsec.qdrant.access``. Heavy imports (yaml, rich) happen inside the commands that
render with them; ``token mint`` needs neither.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from qdrantsec.cli import options as opt

app = typer.Typer(
    name="token",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, Enum):
    text = "text"
    json = "json"


class KeyType(str, Enum):
    admin = "admin"
    read_only = "read-only"


FormatOpt = Annotated[Format, typer.Option(
    "--format", "-f", case_sensitive=False, help="Output format.")]
TokenArg = Annotated[str | None, typer.Argument(
    metavar="TOKEN|-", show_default=False,
    help="The JWT; '-' (or nothing, when stdin is not a terminal) reads it from stdin, which "
         "keeps it out of the process list. A leading 'Bearer ' is ignored.")]


_reflow = opt.reflow


@app.callback()
@_reflow
def _group() -> None:
    """Mint, inspect, verify and explain Qdrant JWTs (granular access).

    Tokens are HS256 JWTs signed with Qdrant's api_key (or alt_api_key during a rotation);
    qdrantsec builds only claims Qdrant accepts, and judges tokens exactly as Qdrant 1.19 does.

    \b
    Examples:
      qdrantsec token mint --api-key-file qdrant.key -c docs:r --expires-in 7d
      qdrantsec token inspect - < token.jwt
      qdrantsec token verify --api-key-file qdrant.key "$TOKEN" && echo ok
      qdrantsec token explain "$TOKEN" --action upsert_points -c docs
    """


# -- shared helpers -----------------------------------------------------------------------

def _now() -> int:
    import time

    return int(time.time())


def _warn_all(messages: list[str], prefix: str = "") -> None:
    from qdrantsec.output import warn

    for m in messages:
        warn(prefix + m)


def _read_token(token: str | None, key_stdin: bool) -> str:
    """The token from the argument or stdin; refuses when --api-key-stdin wants stdin too."""
    from qdrantsec.errors import InputError, UsageError
    from qdrantsec.token.jws import clean_token

    if token is None or token == "-":
        if key_stdin:
            raise UsageError("the token and --api-key-stdin cannot both read standard input",
                             hint="pass the key with --api-key-file or --api-key-env, or the "
                                  "token as an argument")
        if token is None and (sys.stdin is None or sys.stdin.isatty()):
            raise UsageError("no token given", hint="pass TOKEN, or '-' to read it from stdin")
        from qdrantsec.fsutil import MAX_KEY_BYTES, read_stdin

        token = read_stdin(what="the token on standard input", limit=MAX_KEY_BYTES)
    text = clean_token(token)
    if not text:
        raise InputError("the token is empty")
    return text


def _keys(*, literal: str | None, file: str | None, stdin: bool, env: str | None,
          qdrant_config: str | None, alt_file: str | None, alt_env: str | None,
          required: bool, stdin_in_use: bool, warn_weak: bool = True,
          with_alt: bool = True) -> list[Any]:
    """api_key then alt_api_key (Qdrant's order), each optional unless ``required``.
    Without ``with_alt`` (minting) only the api_key chain is used."""
    from qdrantsec.errors import SecretError
    from qdrantsec.secrets import signing_key_warnings

    resolver = opt.resolver(stdin_in_use=stdin_in_use)
    alt = None
    if with_alt:
        alt = resolver.resolve(opt.key_options(file=alt_file, env_name=alt_env,
                                               qdrant_config=qdrant_config),
                               role="alt_api_key", required=False, allow_prompt=False)
    api = resolver.resolve(opt.key_options(literal=literal, file=file, stdin=stdin, env_name=env,
                                           qdrant_config=qdrant_config),
                           role="api_key", required=False, allow_prompt=required and alt is None)
    keys = [k for k in (api, alt) if k is not None]
    if qdrant_config is not None and not keys:
        # asked to check against a config that has no key: "unverified" would hide that
        # Qdrant runs that config without authentication (it then reads no JWT at all)
        from qdrantsec.output import shorten

        raise SecretError(f"{shorten(qdrant_config)} sets no service.api_key or service.alt_api_key "
                          "(nor does a QDRANT__SERVICE__ variable)",
                          hint="Qdrant runs such a config without authentication and ignores tokens; "
                               "'qdrantsec lint' on the file says more")
    if required and not keys:
        raise SecretError("no signing key given",
                          hint="use --api-key-file PATH (and --alt-api-key-file during a "
                               "rotation), --api-key-env NAME, --qdrant-config FILE or "
                               "set QDRANT_API_KEY")
    if warn_weak:
        for k in keys:
            _warn_all(signing_key_warnings(k))
    return keys


def _decode(text: str) -> Any:
    from qdrantsec.token.jws import decode

    return decode(text)


# -- mint -------------------------------------------------------------------------------------

@app.command("mint")
@_reflow
def mint(
    access: Annotated[str | None, typer.Option(
        "--access", "-a", metavar="r|m", rich_help_panel="Access",
        help="Global access: r (read everything) or m (manage: everything, like the api_key; "
             "must be asked for explicitly).")] = None,
    collection: Annotated[list[str] | None, typer.Option(
        "--collection", "-c", metavar="NAME:MODE", rich_help_panel="Access",
        help="Access to one collection, repeatable. MODE: r (read), rw (read-write, incl. "
             "snapshots and payload indexes, never manage) or prw (points read-write only). "
             "Split on the last colon.")] = None,
    expires_in: Annotated[str | None, typer.Option(
        "--expires-in", "-e", metavar="DURATION", rich_help_panel="Expiry",
        help="Lifetime: 90s, 30m, 12h, 7d, 2w (or combined, 1d12h). Default: 24h.")] = None,
    expires_at: Annotated[str | None, typer.Option(
        "--expires-at", metavar="TIME", rich_help_panel="Expiry",
        help="Expiry as ISO-8601 with Z or an offset, e.g. 2026-12-31T23:59:59Z.")] = None,
    no_expiry: Annotated[bool, typer.Option(
        "--no-expiry", rich_help_panel="Expiry",
        help="No exp claim: the token never expires (warns). Prefer a revocation condition.")] = False,
    value_exists: Annotated[str | None, typer.Option(
        "--value-exists", metavar="COLLECTION", rich_help_panel="Revocation",
        help="Qdrant accepts the token only while COLLECTION has a point matching every "
             "--match (checked on every request): delete or change the point to revoke.")] = None,
    match: Annotated[list[str] | None, typer.Option(
        "--match", "-m", metavar="KEY=VALUE", rich_help_panel="Revocation",
        help="A payload condition for --value-exists, repeatable. VALUE is a JSON integer or "
             "boolean when it parses as one (quote it, KEY='\"42\"', for the string), else a "
             "string; floats are refused, as Qdrant refuses them.")] = None,
    subject: Annotated[str | None, typer.Option(
        "--subject", rich_help_panel="Identity",
        help="The 'subject' claim: Qdrant writes it to the audit log's subject field.")] = None,
    sub: Annotated[str | None, typer.Option(
        "--sub", rich_help_panel="Identity",
        help="The 'sub' claim: Qdrant uses it only as an inference token, NOT in the audit "
             "log (use --subject for that).")] = None,
    from_file: Annotated[str | None, typer.Option(
        "--from-file", metavar="FILE",
        help="Mint a batch from a YAML or JSON list of token specs (fields: name, access, "
             "collections, expires_in, expires_at, no_expiry, value_exists, subject, sub; "
             "optionally {defaults: ..., tokens: [...]}); prints JSON lines "
             "{name, token, expires_at}.")] = None,
    fmt: FormatOpt = Format.text,
    api_key_file: opt.ApiKeyFile = None,
    api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None,
    qdrant_config: opt.QdrantConfig = None,
) -> None:
    """Mint a token Qdrant accepts: explicit access, an expiry, HS256 signed with the api_key.

    The token alone goes to stdout (so TOKEN=$(qdrantsec token mint ...) works); warnings go
    to stderr. A token without access would get full manage in Qdrant, so an access option
    is required. Claims: access, value_exists, subject, sub, iat, exp (an integer).

    \b
    Examples:
      qdrantsec token mint --api-key-file qdrant.key -c docs:r --expires-in 7d
      qdrantsec token mint --api-key-env QDRANT_API_KEY \\
          -c tenant_a:rw -c shared:r --subject alice@example.com \\
          --value-exists users --match user_id=42 --match active=true
      qdrantsec token mint --api-key-file qdrant.key --access r \\
          --expires-at 2026-12-31T00:00:00Z
      qdrantsec token mint --api-key-file qdrant.key \\
          --from-file tenants.yaml > tokens.jsonl
    """
    from qdrantsec.errors import UsageError
    from qdrantsec.output import print_json
    from qdrantsec.token import mint as core

    now = _now()
    if from_file is not None:
        per_token = {"--access": access, "--collection": collection, "--expires-in": expires_in,
                     "--expires-at": expires_at, "--no-expiry": no_expiry or None,
                     "--value-exists": value_exists, "--match": match, "--subject": subject,
                     "--sub": sub}
        clash = [name for name, value in per_token.items() if value]
        if clash:
            raise UsageError(f"--from-file cannot be combined with {', '.join(clash)}",
                             hint="put those fields in the file (per token or under 'defaults')")
        if from_file == "-" and api_key_stdin:
            raise UsageError("--from-file - and --api-key-stdin cannot both read standard input")
        specs = _load_batch(from_file, now)
    else:
        from qdrantsec.token import claims as C

        spec = core.make_spec(
            access=access, grants=[C.parse_grant(c) for c in collection or []],
            expires_in=expires_in, expires_at=expires_at, no_expiry=no_expiry,
            value_exists=value_exists, matches=[C.parse_match(m) for m in match or []],
            subject=subject, sub=sub, now=now)
        specs = [(None, spec)]

    keys = _keys(literal=api_key, file=api_key_file, stdin=api_key_stdin, env=api_key_env,
                 qdrant_config=qdrant_config, alt_file=None, alt_env=None, required=True,
                 stdin_in_use=from_file == "-", with_alt=False)
    key = keys[0]
    for name, spec in specs:
        _warn_all(core.spec_warnings(spec, now), prefix=f"{name}: " if name else "")
    minted = [core.mint(spec, key, now=now, name=name) for name, spec in specs]
    if from_file is not None:
        for m in minted:
            if fmt == Format.json:
                print_json(m.as_dict(), pretty=False)
            else:
                print_json({"name": m.name, "token": m.token, "expires_at": m.expires_at},
                           pretty=False)
    elif fmt == Format.json:
        print_json(minted[0].as_dict())
    else:
        sys.stdout.write(minted[0].token + "\n")


def _load_batch(path: str, now: int) -> list[tuple[str, Any]]:
    from qdrantsec.errors import InputError
    from qdrantsec.fsutil import MAX_DOCUMENT_BYTES, read_text
    from qdrantsec.token import mint as core

    if path == "-":
        from qdrantsec.fsutil import read_stdin

        text = read_stdin(what="the batch on standard input", limit=MAX_DOCUMENT_BYTES)
        name = "<stdin>"
    else:
        text = read_text(path, what="batch file", limit=MAX_DOCUMENT_BYTES, pipe_ok=True)
        name = path
    if not text.strip():
        raise InputError(f"{name} is empty")
    doc = core.load_batch_document(text, name)
    return list(core.specs_from_document(doc, now=now, path=name))


# -- inspect ------------------------------------------------------------------------------

@app.command("inspect")
@_reflow
def inspect_cmd(
    token: TokenArg = None,
    fmt: FormatOpt = Format.text,
    api_key_file: opt.ApiKeyFile = None,
    api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None,
    qdrant_config: opt.QdrantConfig = None,
    alt_api_key_file: opt.AltApiKeyFile = None,
    alt_api_key_env: opt.AltApiKeyEnv = None,
) -> None:
    """Show a token's header and claims, and every reason Qdrant would refuse it.

    exp is shown as ISO-8601 UTC and relative time, judged with Qdrant's 30 s leeway. The
    signature is checked only when a key is given (api_key, then alt_api_key, as Qdrant
    does); otherwise the report says UNVERIFIED. Rejections: not HS256, bad signature,
    expired, padded or non-canonical base64url, non-integer exp, unknown access mode,
    duplicate collection, deprecated payload, malformed value_exists. Warnings: no exp, no
    access (= manage), lifetime over 90 days, sub where subject was meant, ignored claims.
    Exits 0 whenever the claims could be decoded, whatever Qdrant would answer (use 'token
    verify' for a verdict); exits 12 (TOKEN_MALFORMED) after showing what could be read when
    they cannot (the payload is not base64url, not JSON, or not a JSON object), and 2 when
    the text is not a JWT at all.

    \b
    Examples:
      qdrantsec token inspect "$TOKEN"
      qdrantsec token inspect --api-key-file qdrant.key \\
          --alt-api-key-file new.key - < token.jwt
      qdrantsec token inspect --format json "$TOKEN" | jq .rejections
    """
    from qdrantsec.output import print_json
    from qdrantsec.token.inspect import inspect as run_inspect
    from qdrantsec.token.jws import require_readable

    text = _read_token(token, api_key_stdin)
    decoded = require_readable(_decode(text))
    keys = _keys(literal=api_key, file=api_key_file, stdin=api_key_stdin, env=api_key_env,
                 qdrant_config=qdrant_config, alt_file=alt_api_key_file, alt_env=alt_api_key_env,
                 required=False, stdin_in_use=token in (None, "-"))
    report = run_inspect(decoded, keys, now=_now())
    if fmt == Format.json:
        print_json(report.as_dict())
    else:
        render_report(report)
    if report.claims_error is not None:
        from qdrantsec.errors import InputError
        from qdrantsec.exit_codes import ExitCode

        raise InputError(f"the token's claims cannot be decoded ({report.claims_error}); Qdrant "
                         "answers 401 Invalid API key or JWT", exit_code=ExitCode.TOKEN_MALFORMED)


# -- verify -------------------------------------------------------------------------------

@app.command("verify")
@_reflow
def verify(
    token: TokenArg = None,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Say why (on stdout), and warn about weak keys.")] = False,
    fmt: Annotated[Format | None, typer.Option(
        "--format", "-f", case_sensitive=False,
        help="Print the verdict as text (implies --verbose) or JSON.")] = None,
    api_key_file: opt.ApiKeyFile = None,
    api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None,
    qdrant_config: opt.QdrantConfig = None,
    alt_api_key_file: opt.AltApiKeyFile = None,
    alt_api_key_env: opt.AltApiKeyEnv = None,
) -> int:
    """Exit 0 if Qdrant would accept the token with the given key(s), else one code per reason.

    Quiet by default. Checks run in Qdrant's order: header and alg, signature, claims,
    exp (30 s leeway), claim validation; api_key is tried before alt_api_key and the first
    error is reported, as Qdrant does. value_exists is checked by Qdrant on each request and
    cannot be checked offline.

    \b
    Exit codes:
      0   accepted
      10  bad signature (Qdrant: 403 InvalidSignature)
      11  expired beyond the 30 s leeway (403 ExpiredSignature)
      12  malformed: not a usable HS256 JWT (401 Invalid API key or JWT)
      13  claims Qdrant rejects (401)
      2   usage error (no key, unreadable key file, ...)

    \b
    Examples:
      qdrantsec token verify --api-key-file qdrant.key "$TOKEN" && echo ok
      qdrantsec token verify -v --api-key-file old.key \\
          --alt-api-key-file new.key - < token.jwt
    """
    from qdrantsec.output import print_json
    from qdrantsec.token.verify import qdrant_verdict

    text = _read_token(token, api_key_stdin)
    keys = _keys(literal=api_key, file=api_key_file, stdin=api_key_stdin, env=api_key_env,
                 qdrant_config=qdrant_config, alt_file=alt_api_key_file, alt_env=alt_api_key_env,
                 required=True, stdin_in_use=token in (None, "-"),
                 warn_weak=verbose or fmt is not None)
    verdict = qdrant_verdict(_decode(text), keys, _now())
    if fmt == Format.json:
        print_json(verdict.as_dict())
    elif verbose or fmt == Format.text:
        from qdrantsec.output import printable

        sys.stdout.write("\n".join(map(printable, verdict.explanation().splitlines())) + "\n")
    return int(verdict.exit_code)


# -- explain ------------------------------------------------------------------------------

@app.command("explain")
@_reflow
def explain(
    token: TokenArg = None,
    key_type: Annotated[KeyType | None, typer.Option(
        "--key-type", case_sensitive=False,
        help="Explain a plain key instead of a token: admin (api_key, alt_api_key) or "
             "read-only (read_only_api_key).")] = None,
    action: Annotated[str | None, typer.Option(
        "--action", metavar="NAME",
        help="Ask about one action (a docs table row in snake_case, e.g. upsert_points, "
             "create_collection, list_collections, telemetry; see --list-actions).")] = None,
    request: Annotated[str | None, typer.Option(
        "--request", metavar="'METHOD /path'",
        help="Ask about one REST request, e.g. 'PUT /collections/docs/points'.")] = None,
    collection: Annotated[str | None, typer.Option(
        "--collection", "-c", metavar="NAME",
        help="The collection for --action; without --action, show the table for this "
             "collection only.")] = None,
    list_actions: Annotated[bool, typer.Option(
        "--list-actions", help="List the action names and their REST routes, then exit.")] = False,
    fmt: FormatOpt = Format.text,
    api_key_file: opt.ApiKeyFile = None,
    api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None,
    qdrant_config: opt.QdrantConfig = None,
    alt_api_key_file: opt.AltApiKeyFile = None,
    alt_api_key_env: opt.AltApiKeyEnv = None,
) -> int:
    """What a token (or plain key) may do: allowed, denied or allowed-but-filtered.

    Without a question: the access table (the docs table's rows plus the endpoints the
    source adds), one column per listed collection and one for every other collection.
    With --action or --request: one answer, exit 0 when allowed (filtered counts as
    allowed), 1 when denied. value_exists is shown as a condition Qdrant checks on every
    request. Give keys to check the signature too; a token Qdrant refuses outright may call
    only the public endpoints.

    Where Qdrant's docs table and its source differ, this follows the source (Qdrant 1.19):
    collection tokens may call /telemetry (filtered; the docs say denied); list endpoints
    show only the token's collections; the prw (points read-write) mode exists and is denied
    snapshots, payload indexes, named vectors and collection cluster info.

    \b
    Examples:
      qdrantsec token explain "$TOKEN"
      qdrantsec token explain "$TOKEN" --action upsert_points -c docs
      qdrantsec token explain - --request "PUT /collections/docs/points" < t.jwt
      qdrantsec token explain --key-type read-only --action create_snapshot -c d
      qdrantsec token explain --list-actions
    """
    from qdrantsec.errors import UsageError
    from qdrantsec.exit_codes import ExitCode
    from qdrantsec.output import print_json
    from qdrantsec.qdrant import access as acc
    from qdrantsec.token import explain as core

    if list_actions:
        if fmt == Format.json:
            print_json([a.as_dict() for a in acc.actions()])
        else:
            render_actions(acc.actions())
        return 0
    if action is not None and request is not None:
        raise UsageError("give either --action or --request, not both")
    # Resolve the question first, so a typo fails before any key is read.
    what: Any = None
    if action is not None:
        what = acc.get_action(action)
    elif request is not None:
        what = acc.match_request(request)
    if key_type is not None:
        if token is not None:
            raise UsageError("give either a token or --key-type, not both")
        subject = core.subject_for_key_type(key_type.value)
    else:
        from qdrantsec.token.inspect import inspect as run_inspect
        from qdrantsec.token.jws import require_readable

        text = _read_token(token, api_key_stdin)
        decoded = require_readable(_decode(text))
        keys = _keys(literal=api_key, file=api_key_file, stdin=api_key_stdin, env=api_key_env,
                     qdrant_config=qdrant_config, alt_file=alt_api_key_file,
                     alt_env=alt_api_key_env, required=False, stdin_in_use=token in (None, "-"))
        subject = core.subject_for_report(run_inspect(decoded, keys, now=_now()))
        _warn_all([n for n in subject.notes if n.startswith("UNVERIFIED")])
        if subject.refused is not None:
            from qdrantsec.output import warn

            warn(f"Qdrant refuses this token ({subject.refused.qdrant_answer}): "
                 f"{subject.refused.message}")

    if what is not None:
        if isinstance(what, acc.Action) and what.collection_scoped and collection is None \
                and subject.access.global_mode is None and subject.refused is None:
            raise UsageError(f"{what.name} acts on one collection: name it",
                             hint="add --collection NAME")
        result = core.answer(subject, what, collection)
        if fmt == Format.json:
            print_json(result.as_dict())
        else:
            render_answer(result)
        return int(ExitCode.OK if result.allowed else ExitCode.FAILED)

    columns, rows = core.access_table(subject, [collection] if collection else None)
    if fmt == Format.json:
        print_json(core.table_as_dict(subject, columns, rows))
    else:
        render_table(subject, columns, rows)
    return 0

# -- human rendering (Rich only here, never in qdrantsec.token) ----------------------------

_STYLE = {"allowed": "green", "filtered": "yellow", "denied": "red"}


def render_report(report: Any) -> None:
    import json

    from rich.text import Text

    from qdrantsec.output import console, printable

    out = console()

    def line(label: str, value: str | Text, style: str = "") -> None:
        text = Text(f"{label:<11}", style="bold")
        text.append(value if isinstance(value, Text) else Text(printable(value), style=style))
        out.print(text)

    vw = report.verified_with
    if report.signature == "verified" and vw:
        line("Signature:", f"verified with {vw[0]} {vw[1]}", "green")
    elif report.signature == "invalid":
        line("Signature:", "INVALID for the given key(s)", "bold red")
    else:
        line("Signature:", "UNVERIFIED (no key given; the signature was not checked)", "yellow")
    line("Header:", json.dumps(report.header, ensure_ascii=False))
    if report.claims_error is not None and report.claims is None:
        line("Claims:", f"cannot be decoded ({report.claims_error})", "bold red")
    else:
        out.print(Text("Claims:", style="bold"))
        for ln in json.dumps(report.claims, indent=2, ensure_ascii=False).splitlines():
            out.print(Text("  " + printable(ln)))
    claims = report.claims if isinstance(report.claims, dict) else {}
    if report.claims_error is None:  # undecodable claims say nothing about expiry
        if report.expires_at:
            style = "red" if report.expired else ""
            line("Expires:", f"{report.expires_at} ({report.expires_relative})", style)
        elif "exp" not in claims or claims.get("exp") is None:
            line("Expires:", "never (no exp)", "yellow")
        elif report.exp is not None:
            line("Expires:", f"exp {report.exp}: after the year 9999")
    if isinstance(claims.get("subject"), str):
        line("Subject:", f"{claims['subject']} (written to the audit log)")
    if report.accepted is True:
        line("Qdrant:", "accepts it", "green")
    elif report.accepted is False:
        first = report.problems[0]
        line("Qdrant:", f"refuses it: {first.qdrant_answer}", "bold red")
    else:
        line("Qdrant:", "accepts it if the signature is right (not checked)", "yellow")
    if report.problems:
        out.print(Text("Rejections (every reason Qdrant would refuse it):", style="bold red"))
        for p in report.problems:
            out.print(Text(printable(f"  - {p.message} [{p.code}; {p.qdrant_answer}]")))
    if report.verdict is not None and report.verdict.root_cause is not None:
        out.print(Text("  " + printable(report.verdict.explanation().splitlines()[-1])))
    if report.warnings:
        out.print(Text("Warnings:", style="bold yellow"))
        for w in report.warnings:
            out.print(Text(printable(f"  - {w}")))


def render_answer(answer: Any) -> None:
    from qdrantsec.output import printable

    def emit(line: str) -> None:  # collection names and messages come from the token
        sys.stdout.write(printable(line) + "\n")

    d = answer.decision
    what = answer.action.name
    if answer.request:
        what = f"{answer.request} ({answer.action.name})"
    if answer.collection is not None and answer.collection != "*":
        what += f" on collection {answer.collection}"
    if d.outcome == "denied":
        text = d.forbidden if d.message and d.status == 403 and d.forbidden and \
            not d.message.startswith(("InvalidSignature", "ExpiredSignature")) else d.message
        emit(f"denied: {what}: {d.status} {text}")
    elif d.outcome == "filtered":
        emit(f"filtered: {what}: allowed, but {d.message}")
    else:
        emit(f"allowed: {what}")
    if answer.condition:
        emit(f"condition: {answer.condition}")
    if answer.action.docs_differs:
        emit(f"note: {answer.action.docs_differs}")


def render_table(subject: Any, columns: list[str], rows: list[Any]) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from qdrantsec.output import console, printable

    out = console()
    out.print(Text(printable(f"{subject.label}: {subject.access.describe()}"), style="bold"))
    if subject.refused is not None:
        out.print(Text(printable(f"Qdrant refuses this token ({subject.refused.qdrant_answer}): "
                                 f"{subject.refused.message}; only public endpoints answer"),
                       style="red"))
    for note in subject.notes:
        out.print(Text(printable(note), style="yellow"))
    cond = subject.condition()
    if cond:
        out.print(Text(printable("Condition: " + cond), style="yellow"))
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    table.add_column("action", no_wrap=True)
    # The request column only when it fits; --list-actions always shows the routes.
    show_request = out.width >= 32 + 30 + 11 * len(columns)
    if show_request:
        table.add_column("request", overflow="fold")
    for c in columns:
        table.add_column("any collection" if c == "*" and len(columns) == 1 else
                         ("others" if c == "*" else printable(c)), no_wrap=True, min_width=8)
    for action, cells in rows:
        name = action.name + (" *" if action.docs_differs else "") + \
            ("" if action.docs_row else " +")
        route = _short_route(str(action.routes[0])) if action.routes else (action.grpc or "")
        if len(action.routes) > 1:
            route += f" (+{len(action.routes) - 1})"
        outcomes = [Text(cells[c].outcome, style=_STYLE[cells[c].outcome]) for c in columns]
        table.add_row(name, *([route] if show_request else []), *outcomes)
    out.print(table)
    out.print(Text("* the docs table says otherwise; this follows Qdrant 1.19's source.  "
                   "+ not in the docs table (from the source).  filtered = allowed, with a "
                   "filtered answer.  'token explain --action NAME' gives the exact message; "
                   "'token explain --list-actions' the routes."))


def _short_route(route: str) -> str:
    for long, short in (("{collection_name}", "{c}"), ("{shard_id}", "{shard}"),
                        ("{snapshot_name}", "{s}"), ("/collections", "/coll")):
        route = route.replace(long, short)
    return route


def render_actions(actions: Any) -> None:
    width = max(len(a.name) for a in actions)
    for a in actions:
        routes = ", ".join(str(r) for r in a.routes) or f"gRPC {a.grpc}"
        flag = "docs" if a.docs_row else "source"
        sys.stdout.write(f"{a.name:<{width}}  {a.requirement.label:<15}  {flag:<6}  {routes}\n")
