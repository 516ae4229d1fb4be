"""Options shared by many commands, declared once.

Key options feed ``qdrantsec.secrets`` (one resolution order for every command);
connection options feed ``qdrantsec.qdrant.client``. Commands declare the aliases below as
parameters and pass them to ``key_options``/``connection_settings``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from qdrantsec.secrets import KeyOptions, SecretResolver

F = TypeVar("F", bound=Callable[..., Any])


def reflow(func: F) -> F:
    """Join the wrapped lines of each prose paragraph of a docstring (Typer's Rich help keeps
    single line breaks); paragraphs starting with \\b stay verbatim."""
    from inspect import cleandoc

    paragraphs = cleandoc(func.__doc__ or "").split("\n\n")
    func.__doc__ = "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in paragraphs)
    return func


KEYS = "Keys"
CONN = "Connection"

ApiKeyFile = Annotated[str | None, typer.Option(
    "--api-key-file", metavar="PATH", rich_help_panel=KEYS,
    help="Read the admin API key (the HS256 signing secret) from PATH; a trailing newline is stripped.")]
ApiKeyStdin = Annotated[bool, typer.Option(
    "--api-key-stdin", rich_help_panel=KEYS, help="Read the admin API key from the first line of stdin.")]
ApiKeyEnv = Annotated[str | None, typer.Option(
    "--api-key-env", metavar="NAME", rich_help_panel=KEYS,
    help="Read the admin API key from environment variable NAME.")]
ApiKeyLiteral = Annotated[str | None, typer.Option(
    "--api-key", metavar="VALUE", rich_help_panel=KEYS,
    help="The admin API key itself. Discouraged: argv is visible to other users (ps).")]
QdrantConfig = Annotated[str | None, typer.Option(
    "--qdrant-config", metavar="FILE", rich_help_panel=KEYS,
    help="Read service.api_key / service.alt_api_key from a Qdrant config file "
         "(QDRANT__SERVICE__* environment overrides applied as Qdrant does).")]
AltApiKeyFile = Annotated[str | None, typer.Option(
    "--alt-api-key-file", metavar="PATH", rich_help_panel=KEYS,
    help="Read the alt_api_key (second signing secret during rotation) from PATH.")]
AltApiKeyEnv = Annotated[str | None, typer.Option(
    "--alt-api-key-env", metavar="NAME", rich_help_panel=KEYS,
    help="Read the alt_api_key from environment variable NAME.")]

KEY_SOURCES_HELP = (
    "Key sources, first match wins: --api-key-file, --api-key-stdin, --api-key-env, "
    "--qdrant-config, $QDRANT__SERVICE__API_KEY, $QDRANT_API_KEY, then a hidden prompt on a terminal."
)


def resolver(*, stdin_in_use: bool = False) -> SecretResolver:
    """A resolver wired to the real process: env, stdin, and a hidden prompt on a TTY."""
    prompt = None
    if not stdin_in_use and sys.stdin is not None and sys.stdin.isatty():
        def prompt(text: str) -> str:
            return typer.prompt(text.rstrip(": "), hide_input=True, err=True)
    return SecretResolver(prompt=prompt)


def key_options(
    *, literal: str | None = None, file: str | None = None, stdin: bool = False,
    env_name: str | None = None, qdrant_config: str | None = None,
) -> KeyOptions:
    return KeyOptions(literal=literal, file=file, stdin=stdin, env_name=env_name,
                      qdrant_config=qdrant_config)


# -- connection -----------------------------------------------------------------------
Url = Annotated[str, typer.Option(
    "--url", envvar="QDRANT_URL", rich_help_panel=CONN,
    help="Qdrant REST URL, e.g. https://qdrant.example:6333 [env QDRANT_URL].")]
CaCert = Annotated[str | None, typer.Option(
    "--ca-cert", metavar="FILE", rich_help_panel=CONN,
    help="Trust only this CA (PEM) for the server's certificate (default: the system CAs).")]
ClientCert = Annotated[str | None, typer.Option(
    "--client-cert", metavar="FILE", rich_help_panel=CONN,
    help="Client certificate (PEM) for servers with verify_https_client_certificate.")]
ClientKey = Annotated[str | None, typer.Option(
    "--client-key", metavar="FILE", rich_help_panel=CONN, help="Private key for --client-cert.")]
Insecure = Annotated[bool, typer.Option(
    "--insecure", rich_help_panel=CONN,
    help="Do not verify the server's TLS certificate. Never use in production.")]
Timeout = Annotated[float, typer.Option(
    "--timeout", min=0.1, metavar="SECONDS", rich_help_panel=CONN,
    help="Timeout for each request to Qdrant.")]


def connection_settings(
    *, url: str, ca_cert: str | None, client_cert: str | None, client_key: str | None,
    insecure: bool, timeout: float,
) -> Any:
    from qdrantsec.qdrant.client import ConnectionSettings

    return ConnectionSettings(url=url, ca_cert=ca_cert, client_cert=client_cert,
                              client_key=client_key, insecure=insecure, timeout=timeout)
