"""`qdrantsec key ...`: new API keys and JWT signing secrets."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

#: the file name --out DIR/ writes in DIR
DEFAULT_NAME = "qdrant.key"

app = typer.Typer(
    name="key",
    help="Generate API keys and JWT signing secrets.\n\n"
         "Example: qdrantsec key generate --out qdrant.key",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _group() -> None:
    """Generate API keys and JWT signing secrets.

    \b
    Example:
      qdrantsec key generate --out qdrant.key
    """


@app.command("generate")
def generate(
    out: Annotated[str | None, typer.Option(
        "--out", "-o", metavar="FILE",
        help="Write the key to FILE (mode 0600, atomically) instead of stdout; a directory "
             "(DIR/ or an existing DIR) gets DIR/qdrant.key.")] = None,
    nbytes: Annotated[int, typer.Option(
        "--bytes", metavar="N", help="Bytes of entropy (at least 32).")] = 32,
    force: Annotated[bool, typer.Option(
        "--force", help="Replace FILE if it exists (the old one is kept as FILE.bak).")] = False,
) -> None:
    """Generate a random key (URL-safe text) for api_key, alt_api_key or read_only_api_key.

    The key goes to stdout (or --out FILE, mode 0600); its fingerprint goes to stderr.

    \b
    Examples:
      qdrantsec key generate --out qdrant.key
      qdrantsec key generate --bytes 48 > alt.key
    """
    from qdrantsec.errors import UsageError
    from qdrantsec.fsutil import SECRET_MODE, atomic_write
    from qdrantsec.output import note
    from qdrantsec.secrets import fingerprint, generate_key

    if nbytes < 32:
        raise UsageError(f"--bytes {nbytes} is too small; use at least 32")
    if nbytes > 4096:
        raise UsageError(f"--bytes {nbytes} is too large; use at most 4096")
    key = generate_key(nbytes)
    if out is not None:  # an empty --out "$UNSET" must not send the key to stdout
        if out.endswith(("/", os.sep)) or os.path.isdir(out):  # --out keys/: keys/qdrant.key
            out = os.path.join(out, DEFAULT_NAME)
        atomic_write(out, key + "\n", mode=SECRET_MODE, overwrite=force, backup=force)
        note(f"wrote {out} (mode 0600), key {fingerprint(key)}")
    else:
        sys.stdout.write(key + "\n")
        note(f"key {fingerprint(key)}")
