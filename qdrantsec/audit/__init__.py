"""Qdrant audit logs: sources (the server's ``POST /audit/logs``, local rotated files),
filters, time ranges, ordering, merging and aggregation.

Core only: nothing here prints, prompts or exits, and nothing imports typer or rich. The
``audit`` commands (``qdrantsec.cli.audit``) wire these pieces to the renderers in
``qdrantsec.output.audit_*``.
"""
