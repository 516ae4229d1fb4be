"""One module per family of probe checks; each declares its checks (ID, severity, docs) and
a ``run(ctx)`` that yields findings. ``qdrantsec.probe.registry`` lists them all."""
