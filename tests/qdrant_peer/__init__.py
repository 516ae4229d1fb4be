"""A Qdrant-1.19-compatible test peer (REST only), independent of the ``qdrantsec`` package.

Run with ``python -m tests.qdrant_peer --config-path FILE``; see README.md in this directory.
"""

QDRANT_VERSION = "1.19.0"
