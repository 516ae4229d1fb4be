"""rotate-key: zero-downtime rolling rotation of Qdrant's admin key across a cluster.

``inventory`` says which peers there are and how each one's config changes (``drivers``:
a Qdrant YAML file, an env file, or a command of the user's) and restarts (``runner``, which
runs the user's commands with keys only in their environment). ``plan`` chooses the key
sequence, ``executor`` walks it one peer at a time behind the ``gates``, and ``journal``
records every step so that ``rotate-key resume`` can continue after any failure.
"""
