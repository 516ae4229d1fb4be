"""The compact containers a streaming lint run keeps its per-file results in read like the
lists and sets they replace."""

from __future__ import annotations

import pickle

import pytest

from qdrantsec.lint import compact
from qdrantsec.lint.compact import HashSet, StringList, TargetList, TargetSummary


def _names(n: int) -> list[str]:
    # file names of every shape: empty, non-ASCII, undecodable bytes (surrogates), long
    out = []
    for i in range(n):
        name = f"dir{i % 7}/file-{i}.yaml"
        if i % 5 == 0:
            name = "é/" + name
        if i % 11 == 0:
            name += "\udcff"
        if i % 13 == 0:
            name = ""
        if i % 17 == 0:
            name *= 20
        out.append(name)
    return out


def test_string_list_reads_like_the_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compact, "PIECE", 8)  # many sealed pieces and a partial tail
    items = _names(203)
    got = StringList()
    for i, s in enumerate(items):
        got.append(s)
        assert len(got) == i + 1 and got[i] == s and got[-1] == s
    assert list(got) == items and got == items and items == got and got == tuple(items)
    assert got != items[:-1] and got != [*items[:-1], "other"]
    for start in range(0, 210, 9):
        for stop in (start, start + 1, start + 8, start + 30, 500):
            assert got[start:stop] == items[start:stop]
    assert got[::3] == items[::3] and got[-5:] == items[-5:]
    assert items[100] in got and "not there" not in got
    with pytest.raises(IndexError):
        got[203]
    again = pickle.loads(pickle.dumps(got))
    assert again == items
    again.extend(["x", "y"])
    assert list(again) == [*items, "x", "y"]


def test_string_list_is_smaller_than_the_list() -> None:
    import sys

    items = [f"k8s/set{i // 10}/qdrant-{i}.yaml" for i in range(10_000)]
    packed = StringList(items)
    size = sum(sys.getsizeof(p) for p in packed._pieces) + sum(sys.getsizeof(s) for s in packed._tail)
    assert size * 10 < sum(sys.getsizeof(s) for s in items) + sys.getsizeof(items)


def test_target_list_gives_back_each_target() -> None:
    got = TargetList()
    want = [TargetSummary(kind, f"{kind}/{i}.yaml") for i in range(600)
            for kind in ("compose", "k8s", "qdrant-config")]
    got.extend(want[:10])
    for t in want[10:]:
        got.append(t.kind, t.file)
    assert len(got) == len(want) and list(got) == want and got[5] == want[5] and got[3:9] == want[3:9]
    assert list(pickle.loads(pickle.dumps(got))) == want


def test_hash_set_never_forgets_a_member() -> None:
    members = _names(10_000)
    seen = HashSet(members[:100])
    seen.update(members[100:])
    assert all(m in seen for m in members)
    others = [f"elsewhere/{i}" for i in range(10_000)]
    assert sum(o in seen for o in others) == 0  # (a wrong yes is possible, but 1 in 10**15)
    copy = HashSet()
    copy.add_hashes(seen.hashes())
    assert all(m in copy for m in members) and len(copy) == len(set(members))
    assert all(m in pickle.loads(pickle.dumps(seen)) for m in members[:50])
