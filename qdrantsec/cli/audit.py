"""`qdrantsec audit ...`: query, tail and summarise Qdrant audit logs, from the server's
``POST /audit/logs`` or from the audit files. Thin glue: options become a Filter, a Window
and a source (``qdrantsec.audit``); entries stream to ``qdrantsec.output.audit_*``.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated, Any

import typer

from qdrantsec.cli import options as opt

_reflow = opt.reflow


SRC = "Sources"
FLT = "Filters"
TIME = "Time"
OUT = "Output"

app = typer.Typer(
    name="audit",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
@_reflow
def _group() -> None:
    """Query, tail and summarise Qdrant audit logs (API or local files).

    Sources: the server's POST /audit/logs (--url, or --peers to ask several peers
    separately), or the audit files themselves (--dir DIR, FILE ..., or - for stdin;
    audit.YYYY-MM-DD.log, audit.YYYY-MM-DD-HH.log, audit.log and .gz copies).

    \b
    Examples:
      qdrantsec audit query --dir /qdrant/storage/audit --result denied --since 1h
      qdrantsec audit query --url https://qdrant:6333 --api-key-file admin.key --collection docs
      qdrantsec audit tail --dir /qdrant/storage/audit -f --no-internal
      qdrantsec audit summary --dir /qdrant/storage/audit --since 1d
    """


class Result(str, Enum):
    ok = "ok"
    denied = "denied"


class Fmt(str, Enum):
    auto = "auto"
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class SumFmt(str, Enum):
    text = "text"
    json = "json"


# -- options shared by the commands ------------------------------------------------------
Paths = Annotated[list[str] | None, typer.Argument(
    metavar="[FILE]...", show_default=False,
    help="Audit files to read (plain or .gz), or - for standard input.")]
Dir = Annotated[str | None, typer.Option(
    "--dir", "-d", metavar="DIR", rich_help_panel=SRC,
    help="Read Qdrant's audit directory (audit.dir): every audit*.log and audit*.log.gz in it.")]
Url = Annotated[str | None, typer.Option(
    "--url", envvar="QDRANT_URL", rich_help_panel=SRC,
    help="Ask a Qdrant server (POST /audit/logs, needs manage access); QDRANT_URL is "
         "ignored when files or --dir are given.")]
Peers = Annotated[str | None, typer.Option(
    "--peers", metavar="URL,URL,...", rich_help_panel=SRC,
    help="Ask each of these peers separately and at once; entries are tagged with their peer "
         "and merged by time. A peer that fails is a warning and the exit code is 6.")]
Method = Annotated[list[str] | None, typer.Option(
    "--method", metavar="NAME", rich_help_panel=FLT,
    help="Same as --filter method=NAME (repeatable: any of).")]
Api = Annotated[list[str] | None, typer.Option(
    "--api", metavar="PATH", rich_help_panel=FLT,
    help="Same as --filter api=PATH, e.g. /collections/docs/points.")]
Collection = Annotated[list[str] | None, typer.Option(
    "--collection", "-c", metavar="NAME", rich_help_panel=FLT, help="Same as --filter collection=NAME.")]
Subject = Annotated[list[str] | None, typer.Option(
    "--subject", metavar="SUBJECT", rich_help_panel=FLT,
    help="Same as --filter subject=SUBJECT (the JWT claim).")]
Remote = Annotated[list[str] | None, typer.Option(
    "--remote", metavar="IP", rich_help_panel=FLT, help="Same as --filter remote=IP.")]
ResultOpt = Annotated[Result | None, typer.Option(
    "--result", rich_help_panel=FLT, help="Same as --filter result=ok or result=denied.")]
AuthType = Annotated[list[str] | None, typer.Option(
    "--auth-type", metavar="TYPE", rich_help_panel=FLT,
    help="Same as --filter auth_type=TYPE: ApiKey, Jwt or None.")]
TracingId = Annotated[list[str] | None, typer.Option(
    "--tracing-id", metavar="ID", rich_help_panel=FLT,
    help="Same as --filter tracing_id=ID (the x-request-id a client sent).")]
ErrorOpt = Annotated[list[str] | None, typer.Option(
    "--error", metavar="TEXT", rich_help_panel=FLT,
    help="Same as --filter error=TEXT (exact; use --filter 'error~REGEX' to search).")]
FilterOpt = Annotated[list[str] | None, typer.Option(
    "--filter", "-F", metavar="EXPR", rich_help_panel=FLT,
    help="FIELD=VALUE (the same field repeated: any of them; different fields: all), "
         "FIELD!=VALUE or FIELD~REGEX. Fields: method, api, auth_type, subject, remote, "
         "collection, tracing_id, result, error.")]
NoInternal = Annotated[bool, typer.Option(
    "--no-internal", rich_help_panel=FLT,
    help="Hide the peers' own traffic (replica operations, /qdrant.*Internal/ calls).")]
Since = Annotated[str | None, typer.Option(
    "--since", metavar="WHEN", rich_help_panel=TIME,
    help="Entries at or after WHEN: an age (15m, 1h, 2d), a date (2026-12-01, UTC) or an "
         "RFC 3339 time (2026-12-01T10:00:00Z).")]
Until = Annotated[str | None, typer.Option(
    "--until", metavar="WHEN", rich_help_panel=TIME, help="Entries before WHEN (same forms as --since).")]
TimeFrom = Annotated[str | None, typer.Option(
    "--time-from", metavar="TIME", rich_help_panel=TIME, help="Qdrant's time_from: inclusive (same forms).")]
TimeTo = Annotated[str | None, typer.Option(
    "--time-to", metavar="TIME", rich_help_panel=TIME, help="Qdrant's time_to: exclusive (same forms).")]
Local = Annotated[bool, typer.Option(
    "--local", rich_help_panel=OUT, help="Show times in the local time zone (default UTC).")]
ConnTimeout = Annotated[float, typer.Option(
    "--timeout", min=1.0, metavar="SECONDS", rich_help_panel=opt.CONN,
    help="Timeout for each request to Qdrant (the server's per-peer wait is one second less).")]


def _shortcuts(**kw: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in kw.items():
        if value is None:
            continue
        values = [value.value] if isinstance(value, Enum) else list(value)
        if values:
            out[name] = values
    return out


def _window(since: str | None, until: str | None, time_from: str | None, time_to: str | None) -> Any:
    import time

    from qdrantsec.audit.filters import Window
    from qdrantsec.audit.timeparse import parse_when
    from qdrantsec.errors import UsageError

    if since and time_from:
        raise UsageError("--since and --time-from both set the start; give one")
    if until and time_to:
        raise UsageError("--until and --time-to both set the end; give one")
    now = time.time_ns()
    lo_text, lo_opt = (since, "--since") if since else (time_from, "--time-from")
    hi_text, hi_opt = (until, "--until") if until else (time_to, "--time-to")
    lo = parse_when(lo_text, now_ns=now, option=lo_opt) if lo_text else None
    hi = parse_when(hi_text, now_ns=now, option=hi_opt) if hi_text else None
    window = Window(lo, hi)
    if window.empty:
        raise UsageError(f"the time window is empty: {lo_opt} is not before {hi_opt}")
    return window


class Source:
    """Where entries come from: ``kind`` is files, api or peers. A --dir is kept as its name
    and listed only when the entries are read (``_entries``), after every option has been
    checked: a bad --filter is a usage error even when the directory is empty."""

    def __init__(self, kind: str, paths: list[str] | None = None, urls: list[str] | None = None,
                 directory: str | None = None) -> None:
        self.kind = kind
        self.paths = paths or []
        self.urls = urls or []
        self.directory = directory


def _source(ctx: typer.Context, paths: list[str] | None, directory: str | None, url: str | None,
            peers: str | None) -> Source:
    from typer._click.core import ParameterSource

    from qdrantsec.errors import UsageError

    url_given = url is not None and ctx.get_parameter_source("url") != ParameterSource.ENVIRONMENT
    local = bool(paths) or directory is not None
    if sum([local, url_given, peers is not None]) > 1:
        raise UsageError("give one source: FILE/--dir, --url or --peers")
    if paths and directory is not None:
        raise UsageError("give either FILE arguments or --dir, not both")
    if paths:
        if "-" in paths and len(paths) > 1:
            raise UsageError("- (standard input) cannot be combined with other files")
        return Source("files", paths=list(paths))
    if directory is not None:
        return Source("files", directory=directory)
    if peers is not None:
        urls = [u.strip() for u in peers.split(",") if u.strip()]
        if not urls:
            raise UsageError("--peers needs at least one URL")
        if len(set(urls)) != len(urls):
            raise UsageError("--peers names the same URL twice")
        return Source("peers", urls=urls)
    if url:
        return Source("api", urls=[url])
    raise UsageError("no audit source given",
                     hint="pass audit files, --dir DIR (Qdrant's audit.dir), --url URL or --peers URL,URL")


def _stats() -> Any:
    from qdrantsec.audit.model import RunStats
    from qdrantsec.output import warn

    return RunStats(report=warn)


def _entries(src: Source, q: Any, stats: Any, conn: dict[str, Any], keys: dict[str, Any],
             transport: Any = None) -> Any:
    from qdrantsec.audit import query as Q

    if src.kind == "files":
        if keys.get("stdin"):
            from qdrantsec.errors import UsageError

            raise UsageError("--api-key-stdin is for --url/--peers; audit files need no key")
        if src.directory is not None:
            from qdrantsec.audit import files

            src.paths = files.list_dir(src.directory)
        stdin = sys.stdin.buffer if src.paths == ["-"] and sys.stdin is not None else None
        if src.paths == ["-"] and stdin is None:
            from qdrantsec.errors import InputError

            raise InputError("standard input is not available (it is closed)")
        return Q.from_files(src.paths, q, stats, stdin=stdin)
    timeout = conn["timeout"]
    server_timeout = max(1, int(timeout) - 1)
    peers = []
    for u in src.urls:  # every URL is checked before the key is read
        settings = _with_prefix(opt.connection_settings(url=u, **conn))
        settings.base_url()
        peers.append((u.rstrip("/"), settings))
    key = _key(keys)
    if src.kind == "api":
        return Q.from_api(peers[0][1], key, q, stats, server_timeout=server_timeout,
                          transport=transport)
    return Q.from_peers(peers, key, q, stats, server_timeout=server_timeout, transport=transport)


def _with_prefix(settings: Any) -> Any:
    import dataclasses

    return dataclasses.replace(settings, request_id_prefix="qdrantsec-audit")


def _key(keys: dict[str, Any]) -> Any:
    resolver = opt.resolver(stdin_in_use=bool(keys.get("stdin")))
    return resolver.resolve(opt.key_options(**keys), role="api_key", required=False,
                            allow_prompt=False)


def _finish(stats: Any) -> int:
    from qdrantsec.exit_codes import ExitCode
    from qdrantsec.output import warn

    if stats.malformed > stats.max_reported:
        warn(f"{stats.malformed} malformed lines skipped in all")
    if stats.files_read and stats.malformed and not stats.valid and not stats.prefiltered:
        # every line read was malformed: not an audit log (Qdrant's own log, a wrong file),
        # so "0 entries" would be a silent pass
        from qdrantsec.errors import InputError

        lines = "line" if stats.malformed == 1 else f"{stats.malformed} lines"
        raise InputError(f"no audit entries read: the {lines} read "
                         f"{'is' if stats.malformed == 1 else 'are all'} malformed",
                         hint="is this Qdrant's audit log? It writes audit.YYYY-MM-DD.log or "
                              "audit.YYYY-MM-DD-HH.log in audit.dir, one JSON object per line")
    if stats.partial:
        return int(ExitCode.PARTIAL)
    return 0


#: transport for tests (httpx.MockTransport): the CLI's one seam to the network
TRANSPORT: Any = None


@app.command("query")
@_reflow
def query(
    ctx: typer.Context,
    paths: Paths = None,
    directory: Dir = None,
    url: Url = None,
    peers: Peers = None,
    method: Method = None, api: Api = None, collection: Collection = None, subject: Subject = None,
    remote: Remote = None, result: ResultOpt = None, auth_type: AuthType = None,
    tracing_id: TracingId = None, error: ErrorOpt = None, filters: FilterOpt = None,
    no_internal: NoInternal = False,
    since: Since = None, until: Until = None, time_from: TimeFrom = None, time_to: TimeTo = None,
    limit: Annotated[int, typer.Option(
        "--limit", "-n", min=0, metavar="N", rich_help_panel=OUT,
        help="At most N entries (0: all of them).")] = 100,
    oldest_first: Annotated[bool, typer.Option(
        "--oldest-first", rich_help_panel=OUT,
        help="Oldest entries first (default: newest first, like Qdrant).")] = False,
    fmt: Annotated[Fmt, typer.Option(
        "--format", "-f", case_sensitive=False, rich_help_panel=OUT,
        help="table (for people), jsonl (each line exactly as Qdrant wrote it, plus \"peer\" "
             "with --peers), json or csv; auto: table on a terminal, else jsonl.")] = Fmt.auto,
    local: Local = False,
    api_key_file: opt.ApiKeyFile = None, api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None, qdrant_config: opt.QdrantConfig = None,
    ca_cert: opt.CaCert = None, client_cert: opt.ClientCert = None, client_key: opt.ClientKey = None,
    insecure: opt.Insecure = False, timeout: ConnTimeout = 30.0,
) -> None:
    """Find audit entries by any field, time range and source, newest first.

    Filters: a shortcut such as --collection docs is --filter collection=docs; the same
    field repeated matches any of its values, different fields must all match;
    FIELD!=VALUE and FIELD~REGEX are applied by qdrantsec. Against the API, exact
    single-value filters, the time window and the limit are sent to Qdrant and everything
    else is applied here; more than 10,000 entries are paged through automatically.

    Exit codes: 0 done (even with no entries or skipped malformed lines); 2 bad options or
    files; 3 server unreachable or timed out (408); 4 server error (audit not configured,
    500); 5 credentials refused; 6 partial answer (a --peers peer failed).

    \b
    Examples:
      qdrantsec audit query --dir ./storage/audit --result denied --since 1h
      qdrantsec audit query audit.2026-12-01.log.gz --filter 'error~Write access' -n 0
      qdrantsec audit query --dir ./storage/audit -F method=upsert_points -F method=delete_points
      qdrantsec audit query --url https://qdrant:6333 --api-key-file admin.key \\
          --collection docs --subject alice --format jsonl | jq .
      qdrantsec audit query --peers https://n1:6333,https://n2:6333 --api-key-file admin.key
    """
    from qdrantsec.audit.filters import build_filter
    from qdrantsec.audit.query import Query
    from qdrantsec.output.audit_formats import make_writer

    src = _source(ctx, paths, directory, url, peers)
    filt = build_filter(filters or [], _shortcuts(
        method=method, api=api, collection=collection, subject=subject, remote=remote,
        result=result, auth_type=auth_type, tracing_id=tracing_id, error=error), no_internal=no_internal)
    q = Query(filt=filt, window=_window(since, until, time_from, time_to), limit=limit,
              oldest_first=oldest_first)
    stats = _stats()
    conn = dict(ca_cert=ca_cert, client_cert=client_cert, client_key=client_key, insecure=insecure,
                timeout=timeout)
    keys = dict(literal=api_key, file=api_key_file, stdin=api_key_stdin, env_name=api_key_env,
                qdrant_config=qdrant_config)
    stream = _entries(src, q, stats, conn, keys, TRANSPORT)
    name = fmt.value
    if name == "auto":
        name = "table" if sys.stdout.isatty() else "jsonl"
    writer = make_writer(name, with_peer=src.kind == "peers" and len(src.urls) > 1, local=local,
                         width=_terminal_width())
    writer.begin()
    try:
        for entry in stream:
            writer.write(entry)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    writer.end()
    raise typer.Exit(_finish(stats))


def _terminal_width() -> int | None:
    import shutil

    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size((100, 24)).columns


def _filter_from(filters: list[str] | None, no_internal: bool, **shortcuts: Any) -> Any:
    from qdrantsec.audit.filters import build_filter

    return build_filter(filters or [], _shortcuts(**shortcuts), no_internal=no_internal)


@app.command("summary")
@_reflow
def summary(
    ctx: typer.Context,
    paths: Paths = None,
    directory: Dir = None,
    url: Url = None,
    peers: Peers = None,
    method: Method = None, api: Api = None, collection: Collection = None, subject: Subject = None,
    remote: Remote = None, result: ResultOpt = None, auth_type: AuthType = None,
    tracing_id: TracingId = None, error: ErrorOpt = None, filters: FilterOpt = None,
    no_internal: NoInternal = False,
    since: Since = None, until: Until = None, time_from: TimeFrom = None, time_to: TimeTo = None,
    burst: Annotated[str, typer.Option(
        "--burst", metavar="N/MIN", rich_help_panel=OUT,
        help="Flag a remote with more than N denied entries within one minute (possible "
             "credential guessing).")] = "30/min",
    top: Annotated[int, typer.Option(
        "--top", min=1, metavar="N", rich_help_panel=OUT, help="Denied subjects and remotes to list.")] = 10,
    fmt: Annotated[SumFmt, typer.Option(
        "--format", "-f", case_sensitive=False, rich_help_panel=OUT, help="text or json.")] = SumFmt.text,
    api_key_file: opt.ApiKeyFile = None, api_key_stdin: opt.ApiKeyStdin = False,
    api_key_env: opt.ApiKeyEnv = None,
    api_key: opt.ApiKeyLiteral = None, qdrant_config: opt.QdrantConfig = None,
    ca_cert: opt.CaCert = None, client_cert: opt.ClientCert = None, client_key: opt.ClientKey = None,
    insecure: opt.Insecure = False, timeout: ConnTimeout = 30.0,
) -> None:
    """Count audit entries by result, method, collection, subject, remote and auth type.

    Over the same sources, filters and time window as query (all matching entries). Also:
    the subjects and remotes denied most, an hourly histogram, and bursts of denied
    requests from one remote above --burst. The peers' own traffic is counted apart.
    --format json gives {"total", "by_result", "by_method", "by_collection",
    "by_subject", "by_remote", "by_auth_type", "bursts", "hourly", ...}.

    \b
    Examples:
      qdrantsec audit summary --dir ./storage/audit --since 1d
      qdrantsec audit summary --dir ./storage/audit --burst 10/min --format json
      qdrantsec audit summary --url https://qdrant:6333 --api-key-file admin.key -c docs
    """
    from qdrantsec.audit.query import Query
    from qdrantsec.audit.summary import Summary

    per_minute = _parse_burst(burst)
    src = _source(ctx, paths, directory, url, peers)
    filt = _filter_from(filters, no_internal, method=method, api=api, collection=collection,
                        subject=subject, remote=remote, result=result, auth_type=auth_type,
                        tracing_id=tracing_id, error=error)
    q = Query(filt=filt, window=_window(since, until, time_from, time_to), limit=0, oldest_first=True)
    stats = _stats()
    conn = dict(ca_cert=ca_cert, client_cert=client_cert, client_key=client_key, insecure=insecure,
                timeout=timeout)
    keys = dict(literal=api_key, file=api_key_file, stdin=api_key_stdin, env_name=api_key_env,
                qdrant_config=qdrant_config)
    agg = Summary(burst_per_minute=per_minute)
    for entry in _entries(src, q, stats, conn, keys, TRANSPORT):
        agg.add(entry)
    data = agg.as_dict(top=top)
    if fmt is SumFmt.json:
        from qdrantsec.output import print_json

        print_json(data)
    else:
        from qdrantsec.output.audit_summary import render

        sys.stdout.write(render(data))
    raise typer.Exit(_finish(stats))


def _parse_burst(text: str) -> int:
    import re

    from qdrantsec.errors import UsageError

    m = re.fullmatch(r"\s*([0-9]{1,9})\s*(?:/\s*(?:min|m|minute))?\s*", text)
    if not m or int(m.group(1)) < 1:
        raise UsageError(f"bad --burst {text!r}", hint="write it as N/min, e.g. 30/min")
    return int(m.group(1))


@app.command("tail")
@_reflow
def tail(
    directory: Annotated[str, typer.Option(
        "--dir", "-d", metavar="DIR", rich_help_panel=SRC, help="Qdrant's audit directory (audit.dir).")],
    follow: Annotated[bool, typer.Option(
        "--follow", "-f", help="Keep printing entries as Qdrant writes them, across rotation; "
                               "Ctrl-C ends (exit 130).")] = False,
    lines: Annotated[int, typer.Option(
        "--lines", "-n", min=0, metavar="N", rich_help_panel=OUT,
        help="Start with the newest N entries.")] = 10,
    method: Method = None, api: Api = None, collection: Collection = None, subject: Subject = None,
    remote: Remote = None, result: ResultOpt = None, auth_type: AuthType = None,
    tracing_id: TracingId = None, error: ErrorOpt = None, filters: FilterOpt = None,
    no_internal: NoInternal = False,
    since: Since = None,
    fmt: Annotated[Fmt, typer.Option(
        "--format", case_sensitive=False, rich_help_panel=OUT,
        help="table, jsonl or csv (json is not a stream); auto: table on a terminal, "
             "else jsonl.")] = Fmt.auto,
    local: Local = False,
    poll: Annotated[float, typer.Option(
        "--poll", min=0.05, metavar="SECONDS", rich_help_panel=OUT,
        help="How often to look for new lines.")] = 0.25,
) -> None:
    """Show the newest audit entries of a directory, oldest of them first; with -f, follow.

    The same filters as query apply. Following survives Qdrant's rotation: when the next
    period's file appears the old one is read to its end and the new one from its start,
    also when the old one is deleted by retention.

    \b
    Examples:
      qdrantsec audit tail --dir ./storage/audit
      qdrantsec audit tail --dir ./storage/audit -f --result denied
      qdrantsec audit tail --dir ./storage/audit -f -n 0 --no-internal --format jsonl
    """
    from qdrantsec.audit import files
    from qdrantsec.audit.filters import Window
    from qdrantsec.audit.tail import Follower, newest
    from qdrantsec.errors import UsageError
    from qdrantsec.output.audit_formats import make_writer

    filt = _filter_from(filters, no_internal, method=method, api=api, collection=collection,
                        subject=subject, remote=remote, result=result, auth_type=auth_type,
                        tracing_id=tracing_id, error=error)
    window = _window(since, None, None, None) if since else Window()
    name = fmt.value
    if name == "json":
        raise UsageError("tail cannot write json (one array); use --format jsonl")
    if name == "auto":
        name = "table" if sys.stdout.isatty() else "jsonl"
    stats = _stats()
    parser = files.LineParser(filt, window, stats)
    first, offsets = newest(directory, parser, lines, allow_empty=follow)
    writer = make_writer(name, local=local, width=_terminal_width())
    writer.begin()
    for entry in first:
        writer.write(entry)
    if not follow:
        writer.end()
        raise typer.Exit(_finish(stats))
    writer.flush()
    try:
        for entry in Follower(directory, parser, offsets, poll=poll):
            writer.write(entry)
            writer.flush()  # whoever reads a follower reads it as it goes
    except KeyboardInterrupt:
        from qdrantsec.cli.app import interrupt_handled

        writer.flush()
        interrupt_handled()  # Ctrl-C is how -f ends: exit 130, but no error line
        raise typer.Exit(130) from None
