"""Qdrant JWTs: pure functions over claims, no I/O and no printing.

* :mod:`~qdrantsec.token.claims`: the claim model, building claims for mint, and every
  reason Qdrant 1.19 refuses a claim set (facts 3.2-3.4), with the kind of refusal
* :mod:`~qdrantsec.token.jws`: HS256 compact JWS, encoded and strictly decoded as Qdrant does
* :mod:`~qdrantsec.token.durations`: ``7d``-style durations, ISO-8601 instants, relative times
* :mod:`~qdrantsec.token.mint`: token specs from options or batch files, signed tokens
* :mod:`~qdrantsec.token.verify`: Qdrant's verdict with api_key and alt_api_key, in its order
* :mod:`~qdrantsec.token.inspect`: a report of everything a token says and every problem
* :mod:`~qdrantsec.token.explain`: what a token or plain key may do (on top of
  :mod:`qdrantsec.qdrant.access`)
"""
