"""`qdrantsec probe`: check a running Qdrant deployment from the outside.

What an attacker sees is what runs, not what is written: the probe asks a live server (or
every peer of a cluster) a few questions that cannot change anything and reports what it
saw as findings, in the linter's model and formats. ``engine.run_probe`` is the one entry
point; one module per family of checks lives in ``checks/``, listed in ``registry``.
"""
