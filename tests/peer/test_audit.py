"""Unit tests of the test peer's audit log (facts section 5); no server needed."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import re
import threading
from email.message import Message
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.qdrant_peer.audit import (
    FIELD_ORDER,
    AuditLog,
    format_timestamp,
    parse_timestamp,
    remote_from_request,
    tracing_id_from_headers,
)

UTC = dt.timezone.utc
# chrono's RFC 3339 `SecondsFormat::AutoSi` in UTC: no fraction, or 3, 6 or 9 digits
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(\d{3}|\d{6}|\d{9}))?Z$")


class FakeClock:
    """Injectable clock returning epoch nanoseconds."""

    def __init__(self, start: dt.datetime) -> None:
        self.ns = int(start.timestamp()) * 1_000_000_000 + start.microsecond * 1000

    def __call__(self) -> int:
        return self.ns

    def set(self, when: dt.datetime, extra_ns: int = 0) -> None:
        self.ns = int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1000 + extra_ns

    def advance(self, seconds: float) -> None:
        self.ns += int(seconds * 1_000_000_000)


def _write(log: AuditLog, **kw: Any) -> None:
    base: dict[str, Any] = {
        "method": "upsert_points",
        "api": "/collections/docs/points",
        "auth_type": "ApiKey",
        "subject": None,
        "remote": "10.0.0.5",
        "collection": "docs",
        "tracing_id": None,
        "result": "ok",
        "error": None,
    }
    base.update(kw)
    log.write(**base)


def _lines(path: pathlib.Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _files(d: pathlib.Path) -> list[str]:
    return sorted(p.name for p in d.iterdir())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 3, 26, 10, 15, 30, tzinfo=UTC))


def make(tmp_path: pathlib.Path, clock: FakeClock | None = None, **section: Any) -> AuditLog:
    cfg: dict[str, Any] = {"enabled": True}
    cfg.update(section)
    return AuditLog(cfg, tmp_path, clock=clock)


# --------------------------------------------------------------------------- format


def test_field_order_omission_and_compact_separators(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    clock.set(dt.datetime(2026, 3, 26, 10, 15, 30, tzinfo=UTC), extra_ns=123456789)
    log = make(tmp_path, clock)
    log.write(
        method="upsert_points",
        api="/collections/docs/points",
        auth_type="Jwt",
        subject="alice",
        remote="10.0.0.6",
        collection="docs",
        tracing_id="req-42",
        result="denied",
        error="Forbidden: Write access to collection docs is required",
    )
    log.write(
        method=None,
        api="/collections",
        auth_type="None",
        subject=None,
        remote="10.0.0.7",
        collection=None,
        tracing_id=None,
        result="denied",
        error="Unauthorized: Must provide an API key or an Authorization bearer token",
    )
    log.write(
        method="create_collection",
        api=None,
        auth_type="Jwt",
        subject="",
        remote=None,
        collection=None,
        tracing_id="",
        result="ok",
        error=None,
    )
    log.close()
    lines = _lines(tmp_path / "storage/audit/audit.2026-03-26.log")
    assert lines[0] == (
        '{"timestamp":"2026-03-26T10:15:30.123456789Z","method":"upsert_points",'
        '"api":"/collections/docs/points","auth_type":"Jwt","subject":"alice",'
        '"remote":"10.0.0.6","collection":"docs","tracing_id":"req-42","result":"denied",'
        '"error":"Forbidden: Write access to collection docs is required"}'
    )
    assert lines[1] == (
        '{"timestamp":"2026-03-26T10:15:30.123456789Z","api":"/collections","auth_type":"None",'
        '"remote":"10.0.0.7","result":"denied",'
        '"error":"Unauthorized: Must provide an API key or an Authorization bearer token"}'
    )
    # empty strings are written as is, None omitted
    assert lines[2] == (
        '{"timestamp":"2026-03-26T10:15:30.123456789Z","method":"create_collection",'
        '"auth_type":"Jwt","subject":"","tracing_id":"","result":"ok"}'
    )
    for line in lines:
        keys = list(json.loads(line))
        assert keys == [k for k in FIELD_ORDER if k in keys]
        assert "null" not in line


def test_timestamp_format_and_parse() -> None:
    ns = 1_774_520_130 * 1_000_000_000 + 5
    text = format_timestamp(ns)
    assert TS_RE.match(text)
    assert text == "2026-03-26T10:15:30.000000005Z"
    # AutoSi: the fewest of 0, 3, 6 or 9 digits that show the value exactly
    whole = ns - 5
    assert format_timestamp(whole) == "2026-03-26T10:15:30Z"
    assert format_timestamp(whole + 500_000_000) == "2026-03-26T10:15:30.500Z"
    assert format_timestamp(whole + 1_000_000) == "2026-03-26T10:15:30.001Z"
    assert format_timestamp(whole + 123_456_000) == "2026-03-26T10:15:30.123456Z"
    assert format_timestamp(whole + 1_000) == "2026-03-26T10:15:30.000001Z"
    assert format_timestamp(whole + 123_456_780) == "2026-03-26T10:15:30.123456780Z"
    assert format_timestamp(0) == "1970-01-01T00:00:00Z"
    assert parse_timestamp(text) == ns
    assert parse_timestamp("2026-03-26T10:15:30Z") == ns - 5
    assert parse_timestamp("2026-03-26T10:15:30.5Z") == ns - 5 + 500_000_000
    assert parse_timestamp("2026-03-26T12:15:30+02:00") == ns - 5
    assert parse_timestamp("2026-03-26T05:15:30.000-05:00") == ns - 5
    for bad in ("2026-03-26 10:15", "yesterday", "2026-13-01T00:00:00Z", "2026-03-26T10:15:30"):
        with pytest.raises(ValueError):
            parse_timestamp(bad)


def test_written_timestamps_use_autosi(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    # the writer renders `timestamp` as chrono's serde does for DateTime<Utc> (AutoSi)
    log = make(tmp_path, clock)
    clock.set(dt.datetime(2026, 3, 26, 10, 15, 30, tzinfo=UTC))
    _write(log, tracing_id="whole")
    clock.set(dt.datetime(2026, 3, 26, 10, 15, 31, 250000, tzinfo=UTC))
    _write(log, tracing_id="milli")
    clock.set(dt.datetime(2026, 3, 26, 10, 15, 32, 250001, tzinfo=UTC))
    _write(log, tracing_id="micro")
    clock.set(dt.datetime(2026, 3, 26, 10, 15, 33, tzinfo=UTC), extra_ns=7)
    _write(log, tracing_id="nano")
    log.close()
    lines = _lines(log.dir / "audit.2026-03-26.log")
    stamps = {json.loads(x)["tracing_id"]: json.loads(x)["timestamp"] for x in lines}
    assert stamps == {
        "whole": "2026-03-26T10:15:30Z",
        "milli": "2026-03-26T10:15:31.250Z",
        "micro": "2026-03-26T10:15:32.250001Z",
        "nano": "2026-03-26T10:15:33.000000007Z",
    }
    assert lines[0].startswith('{"timestamp":"2026-03-26T10:15:30Z","method":')
    # the reader hands them back unchanged
    got = log.query(time_from=None, time_to=None, limit=10, filters={})
    assert [e["timestamp"] for e in got] == [stamps[k] for k in ("nano", "micro", "milli", "whole")]


def test_real_clock_timestamps_are_autosi(tmp_path: pathlib.Path) -> None:
    log = make(tmp_path)
    _write(log)
    log.close()
    (path,) = list((tmp_path / "storage/audit").iterdir())
    assert re.match(r"^audit\.\d{4}-\d{2}-\d{2}\.log$", path.name)
    entry = json.loads(_lines(path)[0])
    assert TS_RE.match(entry["timestamp"])
    assert path.name == f"audit.{entry['timestamp'][:10]}.log"


# --------------------------------------------------------------------------- config


def test_defaults_and_dir_relative_to_workdir(tmp_path: pathlib.Path) -> None:
    log = AuditLog({"enabled": True}, tmp_path)
    assert log.dir == tmp_path / "storage/audit"
    assert log.dir.is_dir()
    assert log.rotation == "daily"
    assert log.max_log_files == 7
    assert log.trust_forwarded_headers is False
    assert log.log_api is True
    assert log.telemetry() == {
        "enabled": True,
        "dir": "./storage/audit",
        "rotation": "daily",
        "max_log_files": 7,
        "trust_forwarded_headers": False,
        "log_api": True,
    }
    log.close()


def test_disabled_creates_nothing_and_ignores_writes(tmp_path: pathlib.Path) -> None:
    log = AuditLog({}, tmp_path)
    assert log.enabled is False
    _write(log)
    assert not (tmp_path / "storage").exists()
    assert log.query(time_from=None, time_to=None, limit=10, filters={}) == []


@pytest.mark.parametrize("rotation", ["Daily", "weekly", "HOURLY", "", 1])
def test_bad_rotation_is_value_error(tmp_path: pathlib.Path, rotation: Any) -> None:
    with pytest.raises(ValueError):
        AuditLog({"enabled": True, "rotation": rotation}, tmp_path)
    with pytest.raises(ValueError):  # a type error aborts start-up even when disabled
        AuditLog({"enabled": False, "rotation": rotation}, tmp_path)


def test_uncreatable_dir_raises(tmp_path: pathlib.Path) -> None:
    (tmp_path / "blocker").write_text("a file, not a directory")
    with pytest.raises(RuntimeError, match="Audit logger must be initialized"):
        AuditLog({"enabled": True, "dir": "blocker/audit"}, tmp_path)


def test_absolute_dir(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "abs" / "audit"
    log = AuditLog({"enabled": True, "dir": str(target)}, tmp_path / "elsewhere")
    assert log.dir == target and target.is_dir()
    log.close()


# --------------------------------------------------------------------------- files, rotation


def test_hourly_names_and_rotation_across_hour_boundary(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    clock.set(dt.datetime(2026, 3, 26, 10, 59, 59, 999999, tzinfo=UTC))
    log = make(tmp_path, clock, rotation="hourly")
    d = log.dir
    assert _files(d) == ["audit.2026-03-26-10.log"]  # created at start
    _write(log, tracing_id="a")
    clock.advance(0.000002)  # crosses 11:00
    assert _files(d) == ["audit.2026-03-26-10.log"]  # no rotation without a write
    _write(log, tracing_id="b")
    assert _files(d) == ["audit.2026-03-26-10.log", "audit.2026-03-26-11.log"]
    clock.set(dt.datetime(2026, 3, 26, 23, 30, tzinfo=UTC))
    _write(log, tracing_id="c")
    clock.set(dt.datetime(2026, 3, 27, 0, 0, tzinfo=UTC))
    _write(log, tracing_id="d")
    log.close()
    assert _files(d) == [
        "audit.2026-03-26-10.log",
        "audit.2026-03-26-11.log",
        "audit.2026-03-26-23.log",
        "audit.2026-03-27-00.log",
    ]
    assert [json.loads(x)["tracing_id"] for x in _lines(d / "audit.2026-03-26-10.log")] == ["a"]
    assert [json.loads(x)["tracing_id"] for x in _lines(d / "audit.2026-03-26-11.log")] == ["b"]
    first_b = json.loads(_lines(d / "audit.2026-03-26-11.log")[0])
    assert first_b["timestamp"] == "2026-03-26T11:00:00.000001Z"


def test_daily_rotation_uses_utc_dates(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    clock.set(dt.datetime(2026, 3, 26, 23, 59, 59, tzinfo=UTC))
    log = make(tmp_path, clock)
    _write(log)
    clock.set(dt.datetime(2026, 3, 27, 0, 0, 0, tzinfo=UTC))
    _write(log)
    # datetime with another offset: still filed by the UTC date
    tz = dt.timezone(dt.timedelta(hours=5))
    clock.set(dt.datetime(2026, 3, 28, 2, 0, tzinfo=tz))  # = 2026-03-27T21:00Z
    _write(log)
    log.close()
    assert _files(log.dir) == ["audit.2026-03-26.log", "audit.2026-03-27.log"]
    assert len(_lines(log.dir / "audit.2026-03-27.log")) == 2


def test_restart_appends_to_current_file(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    log = make(tmp_path, clock)
    _write(log, tracing_id="first")
    log.close()
    clock.advance(60)
    log2 = make(tmp_path, clock)
    _write(log2, tracing_id="second")
    log2.close()
    assert _files(log2.dir) == ["audit.2026-03-26.log"]
    ids = [json.loads(x)["tracing_id"] for x in _lines(log2.dir / "audit.2026-03-26.log")]
    assert ids == ["first", "second"]


def _touch(path: pathlib.Path, age_rank: int) -> None:
    """Create `path` with an mtime that orders it by `age_rank` (lower = older)."""
    path.write_text("")
    t = 1_700_000_000 + age_rank
    os.utime(path, (t, t))


def test_pruning_on_rotation_keeps_max_minus_one_plus_new(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    clock.set(dt.datetime(2026, 3, 26, 0, 30, tzinfo=UTC))
    log = make(tmp_path, clock, rotation="hourly", max_log_files=3)
    for hour in range(1, 6):
        clock.set(dt.datetime(2026, 3, 26, hour, 30, tzinfo=UTC))
        _write(log)
    log.close()
    assert _files(log.dir) == [
        "audit.2026-03-26-03.log",
        "audit.2026-03-26-04.log",
        "audit.2026-03-26-05.log",
    ]


def test_pruning_at_startup_counts_foreign_audit_log_files(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    d = tmp_path / "storage/audit"
    d.mkdir(parents=True)
    _touch(d / "audit-foreign.log", 0)  # oldest: a foreign file matching audit*log
    _touch(d / "audit.2026-03-20.log", 1)
    _touch(d / "audit.2026-03-21.log", 2)
    _touch(d / "auditXlog", 3)  # starts with audit, ends with log: counts too
    _touch(d / "other.log", 4)  # does not count, never deleted
    _touch(d / "audit.2026-03-22.log.gz", 5)  # does not end with log
    log = make(tmp_path, clock, max_log_files=3)
    log.close()
    # 4 counted files >= 3: the 2 oldest go, 2 remain, then the new file is opened
    assert _files(d) == [
        "audit.2026-03-21.log",
        "audit.2026-03-22.log.gz",
        "audit.2026-03-26.log",
        "auditXlog",
        "other.log",
    ]


def test_pruning_below_one_behaves_as_one(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    for value in (0, -5):
        clock.set(dt.datetime(2026, 3, 26, 10, 0, tzinfo=UTC))
        log = make(tmp_path / str(value), clock, rotation="hourly", max_log_files=value)
        assert log.max_log_files == 1
        assert log.telemetry()["max_log_files"] == value
        _write(log)
        clock.advance(3600)
        _write(log)
        log.close()
        assert _files(log.dir) == ["audit.2026-03-26-11.log"]


def test_restart_with_max_one_starts_a_fresh_current_file(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    # start-up retention counts the current period's file too: with max_log_files 1 it is
    # pruned before the (new, empty) current file is opened
    log = make(tmp_path, clock, max_log_files=1)
    _write(log, tracing_id="before")
    log.close()
    log2 = make(tmp_path, clock, max_log_files=1)
    _write(log2, tracing_id="after")
    log2.close()
    ids = [json.loads(x)["tracing_id"] for x in _lines(log2.dir / "audit.2026-03-26.log")]
    assert ids == ["after"]


def test_pruning_order_falls_back_to_name_date_on_equal_times(
    tmp_path: pathlib.Path, clock: FakeClock
) -> None:
    d = tmp_path / "storage/audit"
    d.mkdir(parents=True)
    for name in ("audit.2026-03-23.log", "audit.2026-03-21.log", "audit.2026-03-22.log"):
        _touch(d / name, 0)  # identical mtimes
    log = make(tmp_path, clock, max_log_files=3)
    log.close()
    assert _files(d) == ["audit.2026-03-22.log", "audit.2026-03-23.log", "audit.2026-03-26.log"]


def test_concurrent_writes_are_whole_lines(tmp_path: pathlib.Path) -> None:
    log = make(tmp_path)

    def worker(n: int) -> None:
        for i in range(200):
            _write(log, tracing_id=f"{n}-{i}", subject="x" * (i % 50))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    (path,) = list(log.dir.iterdir())
    lines = _lines(path)
    assert len(lines) == 1600
    assert len({json.loads(x)["tracing_id"] for x in lines}) == 1600


def test_lines_are_flushed_immediately(tmp_path: pathlib.Path, clock: FakeClock) -> None:
    log = make(tmp_path, clock)
    _write(log, tracing_id="now")
    # visible to another reader before close()
    assert json.loads(_lines(log.dir / "audit.2026-03-26.log")[0])["tracing_id"] == "now"
    log.close()


# --------------------------------------------------------------------------- query


@pytest.fixture
def populated(tmp_path: pathlib.Path) -> AuditLog:
    """Hourly files 10:00..12:00 with entries every 10 minutes."""
    clock = FakeClock(dt.datetime(2026, 3, 26, 10, 0, tzinfo=UTC))
    log = make(tmp_path, clock, rotation="hourly", max_log_files=100)
    for i in range(18):  # 10:00 .. 12:50
        _write(
            log,
            method="scroll" if i % 2 else "upsert_points",
            auth_type="Jwt" if i % 3 == 0 else "ApiKey",
            subject="alice" if i % 3 == 0 else None,
            collection="docs" if i % 4 else None,
            tracing_id=f"t{i}",
            result="denied" if i % 5 == 0 else "ok",
            error="Forbidden: x" if i % 5 == 0 else None,
        )
        clock.advance(600)
    return log


def _ids(entries: list[dict[str, Any]]) -> list[str]:
    return [e["tracing_id"] for e in entries]


def test_query_newest_first_and_limit(populated: AuditLog) -> None:
    got = populated.query(time_from=None, time_to=None, limit=100, filters={})
    assert _ids(got) == [f"t{i}" for i in range(17, -1, -1)]
    got = populated.query(time_from=None, time_to=None, limit=4, filters={})
    assert _ids(got) == ["t17", "t16", "t15", "t14"]
    assert list(got[0]) == [k for k in FIELD_ORDER if k in got[0]]


def test_query_window_from_inclusive_to_exclusive(populated: AuditLog) -> None:
    got = populated.query(
        time_from="2026-03-26T10:20:00Z", time_to="2026-03-26T11:10:00Z", limit=100, filters={}
    )
    assert _ids(got) == ["t6", "t5", "t4", "t3", "t2"]
    # offsets are honoured
    got = populated.query(time_from="2026-03-26T12:20:00+02:00", time_to=None, limit=100, filters={})
    assert _ids(got) == [f"t{i}" for i in range(17, 1, -1)]
    got = populated.query(time_from=None, time_to="2026-03-26T10:00:00Z", limit=10, filters={})
    assert got == []
    with pytest.raises(ValueError):
        populated.query(time_from="nonsense", time_to=None, limit=10, filters={})


def test_query_filters(populated: AuditLog) -> None:
    def q(filters: dict[str, Any]) -> list[str]:
        return _ids(populated.query(time_from=None, time_to=None, limit=100, filters=filters))

    assert q({"subject": "alice"}) == ["t15", "t12", "t9", "t6", "t3", "t0"]
    assert q({"subject": "alice", "method": "upsert_points"}) == ["t12", "t6", "t0"]
    assert q({"result": "denied"}) == ["t15", "t10", "t5", "t0"]
    assert q({"error": "Forbidden: x", "auth_type": "Jwt"}) == ["t15", "t0"]
    assert q({"collection": "docs"})[:3] == ["t17", "t15", "t14"]
    assert q({"method": "Scroll"}) == []  # case-sensitive
    assert q({"timestamp": "2026-03-26T10:00:00.000000000Z"}) == []  # unknown key
    assert q({"bogus": "x"}) == []
    assert q({"subject": ""}) == []  # absent field never matches
    assert q({"api": "/collections/docs/points", "tracing_id": "t7"}) == ["t7"]
    with pytest.raises(ValueError):
        q({"limit": 3})


def test_query_skips_files_outside_window_and_bad_lines(populated: AuditLog) -> None:
    d = populated.dir
    # corrupt the 10:00 file: if it were read for a window after 11:00 this would show up
    with open(d / "audit.2026-03-26-10.log", "a", encoding="utf-8") as fh:
        fh.write(
            '{"timestamp":"2026-03-26T11:30:00.000000000Z","tracing_id":"planted",'
            '"auth_type":"None","result":"ok"}\n'
        )
    got = populated.query(time_from="2026-03-26T11:00:00Z", time_to=None, limit=100, filters={})
    assert "planted" not in _ids(got)
    # unparsable lines are skipped, reading goes on
    with open(d / "audit.2026-03-26-12.log", "a", encoding="utf-8") as fh:
        fh.write('not json\n[1,2]\n{"no":"timestamp"}\n\n')
        fh.write(
            '{"timestamp":"2026-03-26T12:55:00Z","auth_type":"None","result":"ok","tracing_id":"late"}\n'
        )
    got = populated.query(time_from="2026-03-26T12:00:00Z", time_to=None, limit=100, filters={})
    assert _ids(got)[0] == "late"


def test_query_stops_within_file_at_time_to(tmp_path: pathlib.Path) -> None:
    d = tmp_path / "storage/audit"
    d.mkdir(parents=True)
    (d / "audit.2026-03-26.log").write_text(
        '{"timestamp":"2026-03-26T10:00:00Z","tracing_id":"a","auth_type":"None","result":"ok"}\n'
        '{"timestamp":"2026-03-26T12:00:00Z","tracing_id":"b","auth_type":"None","result":"ok"}\n'
        # out of order after a line >= time_to: the reader has stopped already
        '{"timestamp":"2026-03-26T10:30:00Z","tracing_id":"c","auth_type":"None","result":"ok"}\n'
    )
    log = AuditLog({"enabled": False}, tmp_path)
    got = log.query(time_from=None, time_to="2026-03-26T11:00:00Z", limit=10, filters={})
    assert _ids(got) == ["a"]
    got = log.query(time_from=None, time_to=None, limit=10, filters={})
    assert _ids(got) == ["c", "b", "a"]


def test_query_reads_undated_audit_files_first(tmp_path: pathlib.Path) -> None:
    # audit_reader.rs sorts every `audit*.log` without a parsable date ("current" files) before
    # the dated ones, whatever their contents; each group in descending name order
    d = tmp_path / "storage/audit"
    d.mkdir(parents=True)
    line = '{{"timestamp":"{ts}","tracing_id":"{tid}","auth_type":"None","result":"ok"}}\n'
    (d / "audit.log").write_text(line.format(ts="2026-03-01T00:00:00Z", tid="old"))
    (d / "audit.imported.log").write_text(line.format(ts="2026-02-01T00:00:00Z", tid="older"))
    (d / "audit.2026-03-26.log").write_text(line.format(ts="2026-03-26T00:00:00Z", tid="new"))
    (d / "audit.2026-03-25.log").write_text(line.format(ts="2026-03-25T00:00:00Z", tid="mid"))
    (d / "notes.log").write_text(line.format(ts="2026-03-27T00:00:00Z", tid="foreign"))
    log = AuditLog({"enabled": False}, tmp_path)
    got = log.query(time_from=None, time_to=None, limit=10, filters={})
    # "audit.log" > "audit.imported.log" by name, then the dated files newest first
    assert _ids(got) == ["old", "older", "new", "mid"]
    # the limit is filled from the undated files before any dated one is read
    assert _ids(log.query(time_from=None, time_to=None, limit=2, filters={})) == ["old", "older"]
    # undated files are never skipped by the window; their lines are still filtered by time
    got = log.query(time_from="2026-02-15T00:00:00Z", time_to=None, limit=10, filters={})
    assert _ids(got) == ["old", "new", "mid"]


def test_query_dated_files_in_descending_name_order(tmp_path: pathlib.Path) -> None:
    # Qdrant orders dated files by path, newest name first: after a switch from hourly to
    # daily rotation the daily file of a day is read before that day's hourly files
    d = tmp_path / "storage/audit"
    d.mkdir(parents=True)
    line = '{{"timestamp":"{ts}","tracing_id":"{tid}","auth_type":"None","result":"ok"}}\n'
    (d / "audit.2026-03-26-10.log").write_text(line.format(ts="2026-03-26T10:30:00Z", tid="h10"))
    (d / "audit.2026-03-26.log").write_text(line.format(ts="2026-03-26T01:00:00Z", tid="day"))
    (d / "audit.2026-03-27-00.log").write_text(line.format(ts="2026-03-27T00:30:00Z", tid="h00"))
    log = AuditLog({"enabled": False}, tmp_path)
    got = log.query(time_from=None, time_to=None, limit=10, filters={})
    assert _ids(got) == ["h00", "day", "h10"]


def test_query_re_renders_timestamps_like_qdrant(tmp_path: pathlib.Path) -> None:
    # the reader deserialises into DateTime<Utc> and serialises again: UTC, `Z`, AutoSi
    d = tmp_path / "storage/audit"
    d.mkdir(parents=True)
    line = '{{"timestamp":"{ts}","tracing_id":"{tid}","auth_type":"None","result":"ok"}}\n'
    (d / "audit.2026-03-26.log").write_text(
        line.format(ts="2026-03-26T12:00:00.500000000+02:00", tid="offset")
        + line.format(ts="2026-03-26T11:00:00.000Z", tid="zeros")
        + line.format(ts="2026-03-26T11:30:00.1234567z", tid="seven")
    )
    log = AuditLog({"enabled": False}, tmp_path)
    entries = log.query(time_from=None, time_to=None, limit=10, filters={})
    got = {e["tracing_id"]: e["timestamp"] for e in entries}
    assert got == {
        "offset": "2026-03-26T10:00:00.500Z",
        "zeros": "2026-03-26T11:00:00Z",
        "seven": "2026-03-26T11:30:00.123456700Z",
    }


def test_query_limit_zero(populated: AuditLog) -> None:
    assert populated.query(time_from=None, time_to=None, limit=0, filters={}) == []


# --------------------------------------------------------------------------- tracing, remote


def _msg(pairs: list[tuple[str, str]]) -> Message:
    m = Message()
    for k, v in pairs:
        m[k] = v
    return m


def test_tracing_id_header_precedence() -> None:
    assert tracing_id_from_headers({}) is None
    assert tracing_id_from_headers({"traceparent": "tp"}) == "tp"
    assert tracing_id_from_headers({"X-Tracing-Id": "tr", "traceparent": "tp"}) == "tr"
    hdrs = {"x-request-id": "rq", "X-Tracing-Id": "tr", "traceparent": "tp"}
    assert tracing_id_from_headers(hdrs) == "rq"
    assert tracing_id_from_headers(_msg([("X-Request-ID", "m1"), ("x-request-id", "m2")])) == "m1"
    assert tracing_id_from_headers([("TRACEPARENT", "pairs")]) == "pairs"


def test_tracing_id_empty_invisible_and_long() -> None:
    assert tracing_id_from_headers({"x-request-id": ""}) == ""
    # non-visible ASCII counts as absent: next header wins
    assert tracing_id_from_headers({"x-request-id": "caf\u00e9", "traceparent": "tp"}) == "tp"
    assert tracing_id_from_headers({"x-request-id": "a\x01b"}) is None
    assert tracing_id_from_headers({"x-request-id": "with space\tand tab"}) == "with space\tand tab"
    long = "x" * 300
    assert tracing_id_from_headers({"x-request-id": long}) == "x" * 256


def test_remote_rules() -> None:
    hdrs = {"Forwarded": "for=192.0.2.60;proto=http", "X-Forwarded-For": "203.0.113.1, 10.0.0.1"}
    assert remote_from_request("10.0.0.5", hdrs, False) == "10.0.0.5"
    assert remote_from_request("10.0.0.5", hdrs, True) == "for=192.0.2.60;proto=http"
    xff = {"X-Forwarded-For": "203.0.113.1, 10.0.0.1"}
    assert remote_from_request("10.0.0.5", xff, True) == "203.0.113.1, 10.0.0.1"
    assert remote_from_request("10.0.0.5", {}, True) == "10.0.0.5"
    assert remote_from_request("::1", {}, False) == "::1"
    assert remote_from_request(None, {}, False) is None
    assert remote_from_request("127.0.0.1", _msg([("forwarded", "for=x")]), True) == "for=x"


def test_written_entries_round_trip_through_query(tmp_path: pathlib.Path) -> None:
    log = make(tmp_path)
    hdrs = {"x-request-id": "rt-1", "X-Forwarded-For": "198.51.100.7"}
    log.write(
        method="scroll",
        api="/collections/c/points/scroll",
        auth_type="ApiKey",
        subject=None,
        remote=remote_from_request("127.0.0.1", hdrs, log.trust_forwarded_headers),
        collection="c",
        tracing_id=tracing_id_from_headers(hdrs),
        result="ok",
        error=None,
    )
    (entry,) = log.query(time_from=None, time_to=None, limit=5, filters={"tracing_id": "rt-1"})
    assert entry["remote"] == "127.0.0.1"
    assert entry["collection"] == "c"
    log.close()


# --------------------------------------------------------------------------- properties


@given(st.integers(min_value=0, max_value=253402300799 * 1_000_000_000 + 999_999_999))
def test_timestamp_round_trip(ns: int) -> None:
    text = format_timestamp(ns)
    assert TS_RE.match(text)
    assert parse_timestamp(text) == ns
    # the fewest AutoSi digits: a shorter form would not be exact
    frac = text[20:-1]
    shorter = {9: 6, 6: 3, 3: 0}.get(len(frac))
    if shorter is not None:
        assert frac[shorter:].strip("0") != ""
    else:
        assert ns % 1_000_000_000 == 0


@given(st.text(max_size=400))
def test_tracing_id_is_visible_ascii_and_short(value: str) -> None:
    got = tracing_id_from_headers({"x-request-id": value})
    visible = all(c == "\t" or 32 <= ord(c) < 127 for c in value)
    if visible:
        assert got == value[:256]
    else:
        assert got is None
