"""`qdrantsec lint`: the Qdrant security linter for configs, compose files, Kubernetes
manifests, Helm values and env files. Thin glue: parse options, call
``qdrantsec.lint.engine.lint_paths``, hand the result to the formatters, pick the exit code.
Heavy modules are imported inside the command so that ``--help`` stays fast."""

from __future__ import annotations

import os
import sys
from typing import Annotated, TextIO

import typer

LINT_HELP = """Lint Qdrant configs, compose files, Kubernetes manifests and Helm values.

Finds the files under PATH (default: the current directory) by content, builds the \
configuration each Qdrant instance really runs with (Qdrant's defaults, config files in \
Qdrant's order, QDRANT__ environment overrides) and reports security problems with the \
file, line and column (or the environment variable) that causes them.

A file named on the command line must be one of those kinds (--kind says which when the \
content does not); files found in a directory that are none of them are skipped (-v lists \
them). A run that finds no Qdrant deployment at all fails, so a CI step cannot pass having \
linted nothing: give --allow-empty where the paths may hold none yet.

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above --fail-on; \
2 usage or input error (unreadable path, a named file of no known kind, no Qdrant \
deployment found, unknown rule ID, bad --format/--output).

\b
Examples:
  qdrantsec lint
  qdrantsec lint deploy/ --fail-on medium
  qdrantsec lint config/ --env-file prod.env
  qdrantsec lint . --format sarif --output qdrantsec.sarif --format text
  qdrantsec lint --write-baseline .qdrantsec-baseline.json
  qdrantsec lint --baseline .qdrantsec-baseline.json
  qdrantsec lint --explain QS201
  qdrantsec lint --kind qdrant-config conf/qdrant.yml
  qdrantsec lint --ignore-unknown --allow-empty $(git diff --name-only -- '*.yaml')
"""

OUT = "Output"
SCOPE = "Inputs"
EXT_FORMATS = {".sarif": "sarif", ".json": "json", ".xml": "junit", ".txt": "text"}

command = typer.Typer(
    name="lint",
    help=LINT_HELP,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _pairs(formats: list[str], outputs: list[str]) -> list[tuple[str, str | None]]:
    """``--format``/``--output`` pairs in order; a format without an output goes to stdout."""
    from qdrantsec.errors import UsageError

    known = ("auto", "text", "json", "sarif", "github", "junit")
    if not formats and outputs:
        inferred = []
        for out in outputs:
            fmt = EXT_FORMATS.get(os.path.splitext(out)[1].lower())
            if fmt is None:
                raise UsageError(f"cannot tell the format of --output {out}",
                                 hint="give a --format before each --output")
            inferred.append(fmt)
        formats = inferred
    if len(outputs) > len(formats):
        raise UsageError(f"{len(outputs)} --output given for {len(formats)} --format",
                         hint="pair them in order: --format sarif --output a.sarif --format text")
    pairs: list[tuple[str, str | None]] = []
    for i, fmt in enumerate(formats or ["auto"]):
        if fmt not in known:
            raise UsageError(f"unknown format {fmt!r} (use one of: {', '.join(known)})")
        pairs.append((fmt, outputs[i] if i < len(outputs) else None))
    if sum(1 for _, out in pairs if out is None) > 1:
        raise UsageError("only one --format can go to stdout",
                         hint="give the others an --output FILE")
    targets = [out for _, out in pairs if out is not None]
    if len(set(targets)) != len(targets):
        raise UsageError("the same --output file is given twice")
    return pairs


_STD_PATHS = {"/dev/stdout": 1, "/dev/fd/1": 1, "/proc/self/fd/1": 1,
              "/dev/stderr": 2, "/dev/fd/2": 2, "/proc/self/fd/2": 2}


def _std_stream(out: str | None) -> TextIO | None:
    """sys.stdout or sys.stderr when ``out`` names one of them, else None."""
    if out is None:
        return None
    fd = _STD_PATHS.get(os.path.abspath(out))
    return None if fd is None else (sys.stdout if fd == 1 else sys.stderr)


def _check_peer_uris(uris: list[str]) -> None:
    """--peer-uri must be a URL with a host (QS307 checks the certificate against it)."""
    from urllib.parse import urlsplit

    from qdrantsec.errors import UsageError

    for uri in uris:
        try:
            host = urlsplit(uri).hostname
        except ValueError as exc:
            raise UsageError(f"--peer-uri {uri} is not a valid URL ({exc})") from None
        if not host:
            raise UsageError(f"--peer-uri {uri} has no host", hint="e.g. --peer-uri https://node1.internal:6335")


def explain_text(rule: object) -> str:
    """The rule's docs under the fixed headings (what/why/example/use instead/references)."""
    r = rule
    parts = [f"{r.id} {r.name} (default severity: {r.severity.label})", "",  # type: ignore[attr-defined]
             "What it does", f"  {r.summary}", "", "Why it matters", f"  {r.rationale}"]  # type: ignore[attr-defined]
    example = getattr(r, "example", "")
    if example:
        parts += ["", "Example", *(f"  {line}" for line in example.rstrip("\n").splitlines())]
    parts += ["", "Use instead", f"  {r.fix}"]  # type: ignore[attr-defined]
    refs = getattr(r, "references", ())
    if refs:
        parts += ["", "References", *(f"  - {ref}" for ref in refs)]
    return "\n".join(parts) + "\n"


def list_rules_text(rules: list[object]) -> str:
    rows = [(r.id, r.name, r.severity.label, r.summary) for r in rules]  # type: ignore[attr-defined]
    width = max((len(n) for _, n, _, _ in rows), default=4)
    lines = [f"{'ID':<6} {'NAME':<{width}} {'SEVERITY':<9} SUMMARY"]
    lines += [f"{i:<6} {n:<{width}} {s:<9} {summary}" for i, n, s, summary in rows]
    return "\n".join(lines) + "\n"


@command.command("lint", help=LINT_HELP)
def lint(
    paths: Annotated[list[str] | None, typer.Argument(
        metavar="PATH", help="Files or directories to lint (default: .).", show_default=False)] = None,
    kind: Annotated[str | None, typer.Option(
        "--kind", metavar="KIND", rich_help_panel=SCOPE,
        help="Treat every given file as KIND: qdrant-config, compose, k8s, helm-values or env "
             "(default: detect by content; e.g. --kind qdrant-config for a config the content "
             "does not give away).")] = None,
    ignore_unknown: Annotated[bool, typer.Option(
        "--ignore-unknown", rich_help_panel=SCOPE,
        help="Skip a named file that is none of the kinds instead of failing (as files found in a "
             "directory are), e.g. for a pre-commit hook given every changed YAML file.")] = False,
    allow_empty: Annotated[bool, typer.Option(
        "--allow-empty", rich_help_panel=SCOPE,
        help="Exit 0 (or 1 for findings) when the paths hold no Qdrant deployment at all, instead "
             "of 2 (e.g. qdrantsec lint --allow-empty . in a repository that has none yet).")] = False,
    env_file: Annotated[list[str] | None, typer.Option(
        "--env-file", metavar="FILE", rich_help_panel=SCOPE,
        help="Apply the QDRANT__ variables in FILE to the Qdrant config files linted (repeatable).")] = None,
    formats: Annotated[list[str] | None, typer.Option(
        "--format", "-f", metavar="FORMAT", rich_help_panel=OUT,
        help="auto, text, json, sarif, github or junit (repeatable; default auto: GitHub annotations "
             "under GitHub Actions, else text, coloured on a terminal).")] = None,
    outputs: Annotated[list[str] | None, typer.Option(
        "--output", "-o", metavar="FILE", rich_help_panel=OUT,
        help="Write the Nth --format to the Nth --output FILE; a format left without one goes to "
             "stdout. Alone, the format follows the extension (.sarif, .json, .xml, .txt).")] = None,
    fail_on: Annotated[str | None, typer.Option(
        "--fail-on", metavar="SEVERITY", rich_help_panel=OUT,
        help="Exit 1 when an unsuppressed finding is at or above SEVERITY: info, low, medium, high, "
             "critical (default: fail_on in .qdrantsec.yaml, else high).")] = None,
    exit_zero: Annotated[bool, typer.Option(
        "--exit-zero", rich_help_panel=OUT,
        help="Exit 0 even with findings (input errors still exit 2).")] = False,
    show_suppressed: Annotated[bool, typer.Option(
        "--show-suppressed", rich_help_panel=OUT, help="List suppressed findings too.")] = False,
    list_rules: Annotated[bool, typer.Option("--list-rules", help="List the rules and exit.")] = False,
    explain: Annotated[str | None, typer.Option(
        "--explain", metavar="ID", help="Show a rule's documentation (e.g. QS201) and exit.")] = None,
    baseline: Annotated[str | None, typer.Option(
        "--baseline", metavar="FILE", help="Suppress the findings recorded in FILE.")] = None,
    write_baseline: Annotated[str | None, typer.Option(
        "--write-baseline", metavar="FILE",
        help="Record the current findings in FILE (to adopt qdrantsec in an existing repository).")] = None,
    cert_expiry_days: Annotated[int, typer.Option(
        "--cert-expiry-days", metavar="N", min=0,
        help="Report certificates that expire within N days (QS306).")] = 30,
    peer_uri: Annotated[list[str] | None, typer.Option(
        "--peer-uri", metavar="URI",
        help="A peer URI the certificate must cover, e.g. https://node1.internal:6335 "
             "(QS307; repeatable).")] = None,
    verbose: Annotated[int, typer.Option(
        "--verbose", "-v", count=True, help="Also list skipped files and other notes on stderr.")] = 0,
    jobs: Annotated[int, typer.Option(
        "--jobs", "-j", metavar="N", min=1, max=2,
        help="1: one process; 2: a run of 400 files or more lints its second half in a second "
             "process while a core is idle (same findings either way).")] = 2,
) -> None:
    from qdrantsec.lint.registry import all_rules, get_rule

    if explain is not None:  # --explain "" is an unknown rule, not "run the linter"
        typer.echo(explain_text(get_rule(explain.strip().upper())), nl=False)
        raise typer.Exit(0)
    rules = all_rules()
    if list_rules:
        typer.echo(list_rules_text(list(rules)), nl=False)
        raise typer.Exit(0)
    raise typer.Exit(_run(
        paths or ["."], kind=kind, env_files=env_file or [], formats=formats or [], outputs=outputs or [],
        fail_on=fail_on, exit_zero=exit_zero, show_suppressed=show_suppressed, baseline=baseline,
        write_baseline=write_baseline, cert_expiry_days=cert_expiry_days, peer_uris=peer_uri or [],
        verbose=verbose, rules=list(rules), ignore_unknown=ignore_unknown, allow_empty=allow_empty,
        jobs=jobs,
    ))


def _run(
    paths: list[str], *, kind: str | None, env_files: list[str], formats: list[str], outputs: list[str],
    fail_on: str | None, exit_zero: bool, show_suppressed: bool, baseline: str | None,
    write_baseline: str | None, cert_expiry_days: int, peer_uris: list[str], verbose: int,
    rules: list[object], ignore_unknown: bool = False, allow_empty: bool = False, jobs: int = 2,
) -> int:
    from qdrantsec import __version__
    from qdrantsec.errors import InputError
    from qdrantsec.exit_codes import ExitCode
    from qdrantsec.fsutil import atomic_write
    from qdrantsec.lint import suppress
    from qdrantsec.lint.engine import lint_paths
    from qdrantsec.lint.model import Severity
    from qdrantsec.output import error, note, shorten
    from qdrantsec.output.lint_formats import pick_auto_format, render_chunks

    pairs = _pairs(formats, outputs)
    _check_peer_uris(peer_uris)
    threshold = Severity.parse(fail_on) if fail_on is not None else None
    project = suppress.load_project_config(paths, known_rules={r.id for r in rules})  # type: ignore[attr-defined]
    if threshold is None:
        threshold = project.fail_on or Severity.HIGH
    known = suppress.load_baseline(baseline) if baseline else None
    result = lint_paths(paths, kind=kind, env_files=env_files, rules=rules, project=project,  # type: ignore[arg-type]
                        cert_expiry_days=cert_expiry_days, peer_uris=peer_uris, baseline=known,
                        ignore_unknown=ignore_unknown, stream=True,  # memory flat in the file count
                        jobs=jobs)  # 2: a large run's second half in a second process
    if verbose:
        for line in result.notes:
            note(f"qdrantsec: {line}")
        note(f"qdrantsec: {len(result.files)} files, {len(result.targets)} Qdrant deployments linted")
    for err in result.errors:
        error(f"{shorten(err.file)}: {err.message}")  # escaped: a file name can hold a newline
    # an output that does not exist yet cannot be a linted file: resolve the linted files'
    # paths (a few syscalls each) only when one exists
    existing = [t for t in [out for _, out in pairs if out is not None] + [write_baseline or ""]
                if t and os.path.lexists(t)]
    # (the outputs against each file, not a set of every linted file's path: memory flat)
    reals = {os.path.realpath(t): t for t in existing}
    clash = next((reals[r] for r in map(os.path.realpath, result.files if reals else ()) if r in reals), None)
    if clash is not None:
        raise InputError(f"{clash} is one of the files linted; refusing to overwrite it",
                         hint="write the report to another file")
    if env_files and not result.errors and not any(t.kind == "qdrant-config" for t in result.targets):
        from qdrantsec.output import warn

        warn(f"--env-file {', '.join(env_files)} applied to nothing: it sets QDRANT__ variables for Qdrant "
             "config files, and none was linted (compose services, Kubernetes workloads and Helm releases "
             "take their environment from their own files)")
    if known and not any(f.suppressed and f.suppression == "baseline" for f in result.findings):
        from qdrantsec.output import warn

        warn(f"the baseline {baseline} matched none of this run's findings, so it suppressed nothing: "
             "it was written for other paths (or from another directory), or everything in it is fixed; "
             "write it again with --write-baseline")
    if write_baseline:
        keep = [f for f in result.findings if not f.suppressed or f.suppression == "baseline"]
        count = suppress.write_baseline(write_baseline, keep)
        note(f"qdrantsec: wrote {count} findings to {write_baseline}")
    # a run with nothing to lint is refused (exit 2) after the reports are written, and
    # they say so (SARIF: executionSuccessful false)
    refused = None
    if not result.errors and not result.targets and not allow_empty:
        refused = _nothing_linted(paths, len(result.files))
    for fmt, out in pairs:
        color = False
        if fmt == "auto":
            fmt, color = pick_auto_format(os.environ, out is None and sys.stdout.isatty())
            color = color and out is None
        # the report in pieces (JSON a finding at a time): a large run's is never held whole
        text = render_chunks(result, fmt, color=color, show_suppressed=show_suppressed,
                             rules=rules, tool_version=__version__, refused=refused)  # type: ignore[arg-type]
        stream = _std_stream(out)
        if out is None or stream is not None:
            # -o /dev/stdout writes through sys.stdout: a second open of the same file
            # would not share its offset and would overwrite what stdout already wrote
            stream = stream or sys.stdout
            for piece in text:
                stream.write(piece)
            stream.flush()
        else:
            parent = os.path.dirname(out)
            if parent:
                try:
                    os.makedirs(parent, exist_ok=True)
                except OSError as exc:
                    raise InputError(f"cannot create the directory of {out}: {exc.strerror}") from None
            atomic_write(out, text, overwrite=True, stream_ok=True)  # -o /dev/stdout works
    if result.errors:
        return int(ExitCode.USAGE)
    if refused is not None:
        raise InputError(refused, hint=(
            "-v lists the files skipped and why; --kind KIND lints a file as KIND; --allow-empty "
            "accepts a run with nothing to lint"))
    return suppress.exit_code_for(result.findings, threshold, exit_zero)


def _nothing_linted(paths: list[str], files: int) -> str:
    """The error for a run that found no Qdrant deployment: a CI step that linted nothing
    must not pass."""
    from qdrantsec.output import shorten

    where = ", ".join(shorten(p) for p in paths[:3]) + (", ..." if len(paths) > 3 else "")
    if files:
        return (f"no Qdrant deployment found in {where}: {files} file{'s' if files != 1 else ''} linted, "
                "with no Qdrant config, no env file with QDRANT__ variables and no compose service, "
                "Kubernetes workload or Helm release running Qdrant")
    return (f"no Qdrant deployment found in {where}: no Qdrant config, env file with QDRANT__ "
            "variables, compose file, Kubernetes manifest or Helm values there")
