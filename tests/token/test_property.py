"""Property: any valid claim set survives mint then inspect unchanged (core and CLI)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qdrantsec.secrets import Secret
from qdrantsec.token import claims as C
from qdrantsec.token.durations import MAX_TIMESTAMP, iso
from qdrantsec.token.inspect import inspect
from qdrantsec.token.jws import decode
from qdrantsec.token.mint import mint
from qdrantsec.token.verify import qdrant_verdict
from tests.token.conftest import Runner
from tests.token.helpers import now, pyjwt_decode

KEY = Secret("property-test-key-" + "p" * 32, "test")
NOW = now()

names = st.text(min_size=1, max_size=20)
grants = st.lists(st.tuples(names, st.sampled_from(C.COLLECTION_MODES)), min_size=1, max_size=4,
                  unique_by=lambda g: g[0]).map(lambda gs: tuple(C.Grant(n, m) for n, m in gs))
access = st.one_of(st.sampled_from(C.GLOBAL_MODES), grants)
values = st.one_of(st.text(max_size=20), st.integers(C.I64_MIN, C.I64_MAX), st.booleans())
# value_exists keys must be Qdrant JSON paths (raw or quoted keys, [N], []), or Qdrant refuses
# the token (lib/segment/src/json_path/parse.rs)
json_paths = st.one_of(
    st.from_regex(r"[A-Za-z0-9_-]{1,6}(\.[A-Za-z0-9_-]{1,6}|\[[0-9]{1,3}\]|\[\])*", fullmatch=True),
    st.text(max_size=8).filter(lambda t: not set(t) & set('"\\=')).map(lambda t: f'"{t}"'),
)
matches = st.lists(st.builds(C.Match, json_paths, values), min_size=1, max_size=3)
value_exists = st.one_of(st.none(), st.builds(lambda c, ms: C.ValueExists(c, tuple(ms)), names,
                                              matches))
texts = st.one_of(st.none(), st.text(min_size=1, max_size=30).filter(lambda s: s.strip() != ""))
# NOW is taken at import: the earliest exp must outlast a slow full-suite run (minutes), or
# pyjwt and the CLI (which use the real clock) see the token as expired
exps = st.one_of(st.none(), st.integers(NOW + 86400, min(NOW + 60 * 365 * 86400, MAX_TIMESTAMP)))
specs = st.builds(C.TokenSpec, access=access, exp=exps, value_exists=value_exists,
                  subject=texts, sub=texts)


@given(specs)
@settings(max_examples=300, deadline=None)
def test_mint_then_inspect_is_identity(spec: C.TokenSpec) -> None:
    minted = mint(spec, KEY, now=NOW)
    expected = spec.claims(iat=NOW)
    report = inspect(decode(minted.token), [KEY], now=NOW)
    assert report.claims == expected
    assert json.dumps(report.claims) == json.dumps(expected)  # same order, same types
    assert report.problems == [] and report.accepted is True
    assert qdrant_verdict(decode(minted.token), [KEY], NOW).accepted
    assert pyjwt_decode(minted.token, KEY.value) == expected


def _argv(spec: C.TokenSpec) -> list[str]:
    argv: list[str] = []
    if isinstance(spec.access, str):
        argv += ["--access", spec.access]
    else:
        argv += [f"--collection={g.collection}:{g.mode}" for g in spec.access]
    argv += ["--no-expiry"] if spec.exp is None else ["--expires-at", iso(spec.exp)]
    if spec.value_exists:
        argv.append(f"--value-exists={spec.value_exists.collection}")
        for m in spec.value_exists.matches:
            v: Any = m.value
            raw = json.dumps(v) if isinstance(v, (str, bool, int)) else str(v)
            argv.append(f"--match={m.key}={raw}")
    if spec.subject is not None:
        argv.append(f"--subject={spec.subject}")
    if spec.sub is not None:
        argv.append(f"--sub={spec.sub}")
    return argv


@given(specs)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_cli_mint_then_cli_inspect(run: Runner, key_file: Any, spec: C.TokenSpec) -> None:
    t0 = now()
    r = run("token", "mint", "--api-key-file", str(key_file), *_argv(spec))
    assert r.code == 0, r.err
    t1 = now()
    report = run("token", "inspect", "--format", "json", "--api-key-file", str(key_file),
                 r.out.strip()).json()
    claims = dict(report["claims"])
    assert t0 <= claims.pop("iat") <= t1
    expected = spec.claims(iat=0)
    expected.pop("iat")
    assert claims == expected
    assert report["rejections"] == [] and report["accepted"] is True
