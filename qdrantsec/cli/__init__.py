"""The command-line interface: one Typer module per command group, thin glue only."""
