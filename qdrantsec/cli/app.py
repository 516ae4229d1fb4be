"""The root command and the one error boundary.

Command groups are registered by module path and loaded only when used, so
``qdrantsec --help`` and shell completion never import a group's dependencies (or even the
group's module, for --help). The root help is rendered without Rich for the same reason;
the groups' own help uses Rich.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import Any

import typer
from typer.core import TyperGroup

from qdrantsec import __version__
from qdrantsec.errors import QdrantsecError
from qdrantsec.exit_codes import ExitCode

PROG = "qdrantsec"

#: name -> (module, attribute, one-line help). The help is repeated here so that the root
#: --help needs no imports; tests/test_cli_app.py checks it matches each group's own help.
GROUPS: dict[str, tuple[str, str, str]] = {
    "key": ("qdrantsec.cli.key", "app", "Generate API keys and JWT signing secrets."),
    "token": ("qdrantsec.cli.token", "app",
              "Mint, inspect, verify and explain Qdrant JWTs (granular access)."),
    "lint": ("qdrantsec.cli.lint", "command",
             "Lint Qdrant configs, compose files, Kubernetes manifests and Helm values."),
    "certs": ("qdrantsec.cli.certs", "app",
              "Generate, inspect and verify TLS and mTLS certificates for Qdrant."),
    "audit": ("qdrantsec.cli.audit", "app",
              "Query, tail and summarise Qdrant audit logs (API or local files)."),
    "rotate-key": ("qdrantsec.cli.rotate", "app",
                   "Rotate the API key across cluster peers with alt_api_key, zero downtime."),
    "probe": ("qdrantsec.cli.probe", "command",
              "Check a running Qdrant deployment from the outside (read-only, never destructive)."),
}

ROOT_HELP = f"""qdrantsec {__version__}: make a self-hosted Qdrant deployment secure and keep it so.

\b
Examples:
  qdrantsec key generate --out qdrant.key
  qdrantsec token mint --api-key-file qdrant.key --collection docs:r --expires-in 7d
  qdrantsec lint deploy/ --format sarif --output qdrantsec.sarif
"""


def _available(name: str) -> bool:
    module = GROUPS[name][0]
    from importlib.util import find_spec

    return find_spec(module) is not None


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands are imported on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return [n for n in GROUPS if _available(n)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        spec = GROUPS.get(cmd_name)
        if spec is None or not _available(cmd_name):
            return None
        module = import_module(spec[0])
        obj = getattr(module, spec[1])
        cmd = typer.main.get_command(obj) if isinstance(obj, typer.Typer) else obj
        cmd.name = cmd_name
        return cmd

    def shell_complete(self, ctx: Any, incomplete: str) -> list[Any]:
        """Complete group names from GROUPS, so that a completion request imports no group
        module (start-up speed); option names are completed as usual."""
        from typer._click.shell_completion import CompletionItem

        results = [CompletionItem(name, help=GROUPS[name][2])
                   for name in self.list_commands(ctx) if name.startswith(incomplete)]
        results.extend(super(TyperGroup, self).shell_complete(ctx, incomplete))
        return results

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, GROUPS[name][2]) for name in self.list_commands(ctx)]
        if not rows:
            return
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit()


app = typer.Typer(
    cls=LazyGroup,
    name=PROG,
    help=ROOT_HELP,
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show a traceback on unexpected errors.", envvar="QDRANTSEC_DEBUG"
    ),
) -> None:
    """Root options."""


def _err(message: str, hint: str | None = None) -> None:
    from qdrantsec.output import error  # messages quote tokens, names, file content: escaped, shortened

    error(message, hint)


class _ClosedStdout:
    """Stands in for a closed fd 1 (``sys.stdout`` is None): writing data fails loudly
    instead of vanishing, and ``print()`` aimed at a None stderr cannot fall back to it."""

    def write(self, _text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


#: errno values of a failed write to stdout (everything else unexpected is a bug)
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF})


def _guard_std_streams() -> None:
    # With fd 2 closed (2>&-) sys.stderr is None and print(file=sys.stderr) writes to
    # stdout: diagnostics (a key's fingerprint) would be mixed into the data.
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    if sys.stdout is None:
        sys.stdout = _ClosedStdout()  # type: ignore[assignment]


class _Interrupt:
    """Ctrl-C seen by this process. Typer turns a KeyboardInterrupt into a silent exit 130
    before it reaches the boundary, so a SIGINT handler notes it and the boundary says
    ``interrupted`` unless the command ended on it as its normal way out (``audit tail -f``)."""

    seen = False
    handled = False


def interrupt_handled() -> None:
    """Called by a command for which Ctrl-C is the normal end: no error line."""
    _Interrupt.handled = True


def _on_sigint(signum: int, frame: Any) -> None:
    _Interrupt.seen = True
    raise KeyboardInterrupt


def _install_sigint() -> None:
    import signal
    import threading

    if threading.current_thread() is threading.main_thread() \
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return (and exit with) its exit code. The only error boundary."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("QDRANTSEC_DEBUG", "") not in ("", "0")
    _guard_std_streams()
    _Interrupt.seen = _Interrupt.handled = False
    _install_sigint()
    command = typer.main.get_command(app)
    try:
        rv = command.main(args=args, prog_name=PROG, standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
        if code == ExitCode.INTERRUPTED and _Interrupt.seen and not _Interrupt.handled:
            _err("interrupted")
        sys.stdout.flush()  # a full disk or closed pipe is reported here, not at exit
    except QdrantsecError as exc:
        if debug:
            raise
        _err(exc.message, exc.hint)
        code = int(exc.exit_code)
    except typer.Abort:
        _err("aborted")
        code = int(ExitCode.INTERRUPTED)
    except KeyboardInterrupt:
        _err("interrupted")
        code = int(ExitCode.INTERRUPTED)
    except typer.TyperException as exc:  # usage errors from the parser
        if type(exc).__name__ == "NoArgsIsHelpError":
            # a bare `qdrantsec` or `qdrantsec key`: the help, not an error line (the Rich
            # help of a group is already printed; the root's plain help is the message)
            text = exc.format_message() if hasattr(exc, "format_message") else ""
            if text:
                sys.stdout.write(text.rstrip("\n") + "\n")
            return int(ExitCode.USAGE)
        fmt = getattr(exc, "format_message", None)
        message = fmt() if callable(fmt) else str(exc)
        from qdrantsec.secrets import redact_key_like  # the parser quotes argv: a key given by mistake

        message = redact_key_like(message)
        ctx = getattr(exc, "ctx", None)
        hint = f"try '{ctx.command_path} --help'" if ctx is not None else None
        _err(message[:1].lower() + message[1:] if message else "usage error", hint)
        code = int(getattr(exc, "exit_code", ExitCode.USAGE))
    except BrokenPipeError:
        # stdout closed early (e.g. `| head`): not an error worth a message. Exit 1, as
        # click and rich do when they meet EPIPE first (and as Python's docs advise):
        # the output was cut short, so success must not be claimed.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        code = int(ExitCode.FAILED)
    except OSError as exc:
        if debug:
            raise
        if exc.errno in _OUTPUT_ERRNOS:
            # Core turns file errors into InputErrors; what is left is writing the output
            # (a full disk, a closed stdout). strerror only: no path, no data.
            with contextlib.suppress(OSError):
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            _err(f"cannot write the output: {exc.strerror}")
            code = int(ExitCode.USAGE)
        else:
            code = _internal(exc)
    except Exception as exc:
        if debug:
            raise
        code = _internal(exc)
    return code


def _internal(exc: BaseException) -> int:
    # The message of an arbitrary library error might contain secrets; show its type.
    _err(
        f"internal error ({type(exc).__name__})",
        "this is a bug in qdrantsec; run again with --debug for a traceback and report it",
    )
    return int(ExitCode.INTERNAL)


def run() -> None:
    raise SystemExit(main())
