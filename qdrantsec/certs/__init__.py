"""Certificates for Qdrant TLS and mTLS: CA, server / peer / client leaves, inspect, verify.

Pure core: no typer, no rich, no printing. Functions return typed results and raise
``qdrantsec.errors`` subclasses. ``cryptography`` is imported by the modules that need it,
and this package's ``__init__`` imports nothing, so ``qdrantsec certs --help`` stays cheap.
"""
