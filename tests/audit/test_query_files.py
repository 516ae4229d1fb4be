# ruff: noqa: E501
"""`audit query` over files: order, every filter form, time windows, file selection,
robustness (malformed and half-written lines, .gz, stdin), output formats."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from qdrantsec.audit import files
from tests.audit.helpers import qline, run, write

DENY = "Forbidden: Write access to collection docs is required"


@pytest.fixture
def audit_dir(tmp_path: Path) -> Path:
    d = tmp_path / "audit"
    d.mkdir()
    write(d / "audit.2026-11-30.log.gz", [
        qline("2026-11-30T09:00:00Z", method="create_collection", remote="10.0.0.5"),
    ], gz=True)
    write(d / "audit.2026-12-01.log", [
        qline("2026-12-01T10:00:00.000000001Z", method="upsert_points", api="/collections/docs/points",
              remote="10.0.0.5", collection="docs", tracing_id="req-1"),
        qline("2026-12-01T10:00:00.000000002Z", method="scroll", remote="10.0.0.5", collection="logs"),
        qline("2026-12-01T11:00:00Z", method="upsert_points", auth_type="Jwt", subject="alice",
              remote="10.0.0.6", collection="docs", result="denied", error=DENY),
    ])
    write(d / "audit.2026-12-02-10.log", [
        qline("2026-12-02T10:00:00.5Z", api="/collections", auth_type="None", remote="10.0.0.7",
              result="denied", error="Unauthorized: Must provide an API key or an Authorization bearer token"),
        qline("2026-12-02T10:30:00.25Z", method="scroll", auth_type="Jwt", subject="böb",
              remote="10.0.0.7", collection="döcs"),
    ])
    return d


def stamps(res: object) -> list[str]:
    return [o["timestamp"] for o in res.objects]  # type: ignore[attr-defined]


ALL_NEWEST = ["2026-12-02T10:30:00.25Z", "2026-12-02T10:00:00.5Z", "2026-12-01T11:00:00Z",
              "2026-12-01T10:00:00.000000002Z", "2026-12-01T10:00:00.000000001Z", "2026-11-30T09:00:00Z"]


def test_newest_first_over_daily_hourly_and_gz_files(audit_dir: Path) -> None:
    res = run("audit", "query", "--dir", str(audit_dir))
    assert res.code == 0 and res.err == ""
    assert stamps(res) == ALL_NEWEST


def test_oldest_first_and_limits(audit_dir: Path) -> None:
    assert stamps(run("audit", "query", "--dir", str(audit_dir), "--oldest-first")) == ALL_NEWEST[::-1]
    assert stamps(run("audit", "query", "--dir", str(audit_dir), "-n", "2")) == ALL_NEWEST[:2]
    assert stamps(run("audit", "query", "--dir", str(audit_dir), "-n", "2", "--oldest-first")) == \
        ALL_NEWEST[::-1][:2]
    assert stamps(run("audit", "query", "--dir", str(audit_dir), "--limit", "0")) == ALL_NEWEST


def test_jsonl_is_byte_exact(tmp_path: Path) -> None:
    # whatever the spacing and escapes of a line, jsonl gives it back as it was written
    odd = '{"timestamp": "2026-12-01T10:00:00Z",  "method":"scroll","auth_type":"Jwt","subject":"b\\u00f6b","result":"ok"}\n'
    plain = qline("2026-12-01T10:00:01Z", method="scroll", subject="böb", collection="a/b")
    f = write(tmp_path / "audit.log", [odd, plain])
    res = run("audit", "query", str(f), "--oldest-first")
    assert res.out == odd + plain


@pytest.mark.parametrize(("args", "expected"), [
    (["--method", "scroll"], [ALL_NEWEST[0], ALL_NEWEST[3]]),
    (["--api", "/collections/docs/points"], [ALL_NEWEST[4]]),
    (["--collection", "docs"], [ALL_NEWEST[2], ALL_NEWEST[4]]),
    (["-c", "döcs"], [ALL_NEWEST[0]]),
    (["--subject", "alice"], [ALL_NEWEST[2]]),
    (["--remote", "10.0.0.7"], ALL_NEWEST[:2]),
    (["--result", "denied"], ALL_NEWEST[1:3]),
    (["--result", "ok"], [ALL_NEWEST[0], *ALL_NEWEST[3:]]),
    (["--auth-type", "None"], [ALL_NEWEST[1]]),
    (["--tracing-id", "req-1"], [ALL_NEWEST[4]]),
    (["--error", DENY], [ALL_NEWEST[2]]),
    # the same field repeated: any of; different fields: all
    (["--method", "scroll", "--method", "create_collection"], [ALL_NEWEST[0], ALL_NEWEST[3], ALL_NEWEST[5]]),
    (["-F", "collection=docs", "-F", "collection=logs"], ALL_NEWEST[2:5]),
    (["-F", "collection=docs", "--result", "denied"], [ALL_NEWEST[2]]),
    (["-F", "result!=ok"], ALL_NEWEST[1:3]),
    (["-F", "collection!=docs", "-F", "collection!=logs"], [ALL_NEWEST[0], ALL_NEWEST[1], ALL_NEWEST[5]]),
    (["-F", "error~^Unauthorized"], [ALL_NEWEST[1]]),
    (["-F", "subject~."], [ALL_NEWEST[0], ALL_NEWEST[2]]),
    (["-F", "method~points$", "-F", "remote=10.0.0.5"], [ALL_NEWEST[4]]),
    (["-F", "subject="], []),
])
def test_filters(audit_dir: Path, args: list[str], expected: list[str]) -> None:
    res = run("audit", "query", "--dir", str(audit_dir), *args)
    assert res.code == 0, res
    assert stamps(res) == expected


def test_prefilter_never_drops_an_escaped_match(tmp_path: Path) -> None:
    # the same values spelled with JSON escapes (as an ensure_ascii writer would): a byte
    # test for "docs" or "böb" alone would miss them
    lines = [
        '{"timestamp":"2026-12-01T10:00:00Z","auth_type":"Jwt","subject":"b\\u00f6b","collection":"d\\u006fcs","result":"denied"}\n',
        '{"timestamp":"2026-12-01T10:00:01Z","auth_type":"Jwt","subject":"q\\"uote","collection":"a\\/b","result":"ok"}\n',
        qline("2026-12-01T10:00:02Z", subject="böb", collection="docs", result="denied"),
    ]
    f = write(tmp_path / "audit.2026-12-01.log", lines)
    res = run("audit", "query", str(f), "--subject", "böb", "--collection", "docs", "--result", "denied")
    assert stamps(res) == ["2026-12-01T10:00:02Z", "2026-12-01T10:00:00Z"]
    assert stamps(run("audit", "query", str(f), "--subject", 'q"uote')) == ["2026-12-01T10:00:01Z"]
    assert stamps(run("audit", "query", str(f), "-c", "a/b")) == ["2026-12-01T10:00:01Z"]


def test_unknown_field_names_the_known_ones(audit_dir: Path) -> None:
    res = run("audit", "query", "--dir", str(audit_dir), "-F", "timestamp=x")
    assert res.code == 2 and res.out == ""
    assert res.err == ("qdrantsec: error: unknown audit field 'timestamp'\n"
                       "qdrantsec: hint: known fields: method, api, auth_type, subject, remote, "
                       "collection, tracing_id, result, error\n")


@pytest.mark.parametrize(("expr", "message"), [
    ("novalue", "bad --filter 'novalue'"),
    ("error~(", "bad regular expression in error~("),
])
def test_bad_filter_expressions(audit_dir: Path, expr: str, message: str) -> None:
    res = run("audit", "query", "--dir", str(audit_dir), "-F", expr)
    assert res.code == 2
    assert res.err.startswith(f"qdrantsec: error: {message}")


def test_result_shortcut_accepts_only_ok_or_denied(audit_dir: Path) -> None:
    res = run("audit", "query", "--dir", str(audit_dir), "--result", "allowed")
    assert res.code == 2 and "'allowed' is not one of" in res.err
    res = run("audit", "query", "--dir", str(audit_dir), "--auth-type", "apikey")
    assert res.code == 2
    assert res.err == ("qdrantsec: error: Qdrant never writes auth_type 'apikey'\n"
                       "qdrantsec: hint: auth_type is one of ApiKey, Jwt, None, Internal (case-sensitive)\n")
    assert run("audit", "query", "--dir", str(audit_dir), "-F", "result!=maybe").code == 2


def test_time_window_bounds_are_inclusive_then_exclusive(audit_dir: Path) -> None:
    d = str(audit_dir)
    res = run("audit", "query", "--dir", d, "--time-from", "2026-12-01T10:00:00.000000002Z",
              "--time-to", "2026-12-02T10:00:00.5Z")
    assert stamps(res) == ["2026-12-01T11:00:00Z", "2026-12-01T10:00:00.000000002Z"]
    # offsets and dates are understood; --since/--until are the same bounds
    res = run("audit", "query", "--dir", d, "--since", "2026-12-01T11:00:00.000000002+01:00", "--until", "2026-12-02")
    assert stamps(res) == ["2026-12-01T11:00:00Z", "2026-12-01T10:00:00.000000002Z"]


def test_relative_since(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)

    def at(delta: dt.timedelta) -> str:
        return (now - delta).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    old, recent = at(dt.timedelta(hours=3)), at(dt.timedelta(minutes=5))
    f = write(tmp_path / "audit.log", [qline(old), qline(recent)])
    assert stamps(run("audit", "query", str(f), "--since", "1h")) == [recent]
    assert stamps(run("audit", "query", str(f), "--since", "1d", "--until", "2h")) == [old]
    assert stamps(run("audit", "query", str(f), "--since", "1h30m")) == [recent]


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "yesterday"], "--since: bad time 'yesterday'"),
    (["--until", "2026-12-01T10:00:00"], "--until: time '2026-12-01T10:00:00' has no time zone"),
    (["--time-from", "2026-02-30"], "--time-from: bad date '2026-02-30'"),
    (["--since", "1h", "--time-from", "2h"], "--since and --time-from both set the start; give one"),
    (["--time-from", "2026-12-02", "--time-to", "2026-12-01"],
     "the time window is empty: --time-from is not before --time-to"),
])
def test_bad_times(audit_dir: Path, args: list[str], message: str) -> None:
    res = run("audit", "query", "--dir", str(audit_dir), *args)
    assert res.code == 2, res
    assert res.err.splitlines()[0] == f"qdrantsec: error: {message}"


def test_files_outside_the_window_are_not_opened(tmp_path: Path) -> None:
    d = tmp_path / "a"
    d.mkdir()
    # garbage in a file whose period cannot overlap: never read, so never reported
    write(d / "audit.2026-11-01.log", ["not json\n"])
    write(d / "audit.2026-12-01-10.log", ["not json either\n", qline("2026-12-01T10:00:00Z")])
    res = run("audit", "query", "--dir", str(d), "--since", "2026-12-01T10:00:00Z")
    assert stamps(res) == ["2026-12-01T10:00:00Z"]
    assert res.err == f"qdrantsec: warning: {d}/audit.2026-12-01-10.log:1: skipped malformed line (not JSON)\n"
    res = run("audit", "query", "--dir", str(d), "--since", "2026-12-02")
    assert res.code == 0 and res.out == ""
    assert res.err == "qdrantsec: warning: none of the 2 audit file(s) can hold entries of the time window\n"


@pytest.mark.parametrize("block", [64, 1 << 20])
def test_undated_and_overlapping_files_are_merged_by_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          block: int) -> None:
    monkeypatch.setattr(files, "BLOCK", block)
    d = tmp_path / "a"
    d.mkdir()
    write(d / "audit.log", [qline("2026-12-01T10:00:01Z"), qline("2026-12-01T10:00:03Z")])
    write(d / "audit.2026-12-01.log", [qline("2026-12-01T10:00:00Z"), qline("2026-12-01T10:00:02Z")])
    write(d / "audit.2026-12-01-10.log.gz", [qline("2026-12-01T10:00:02.5Z")], gz=True)
    want = ["2026-12-01T10:00:00Z", "2026-12-01T10:00:01Z", "2026-12-01T10:00:02Z",
            "2026-12-01T10:00:02.5Z", "2026-12-01T10:00:03Z"]
    assert stamps(run("audit", "query", "--dir", str(d), "--oldest-first")) == want
    assert stamps(run("audit", "query", "--dir", str(d))) == want[::-1]


@pytest.mark.parametrize("block", [64, 97, 1 << 20])
def test_block_boundaries_both_directions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          block: int) -> None:
    monkeypatch.setattr(files, "BLOCK", block)
    lines = [qline(f"2026-12-01T10:00:{i:02d}Z", method="scroll" if i % 3 else "upsert_points",
                   collection=f"c{i % 4}", subject="x" * (i * 7 % 50)) for i in range(60)]
    lines.insert(20, "{broken\n")
    f = write(tmp_path / "audit.2026-12-01.log", lines)
    want = [json.loads(x)["timestamp"] for x in lines if x.startswith('{"')]
    fwd = run("audit", "query", str(f), "-n", "0", "--oldest-first")
    back = run("audit", "query", str(f), "-n", "0")
    assert stamps(fwd) == want and stamps(back) == want[::-1]
    msg = f"qdrantsec: warning: {f}:21: skipped malformed line (not JSON)\n"
    assert fwd.err == msg and back.err == msg
    sel = [json.loads(x)["timestamp"] for x in lines if '"c2"' in x and "upsert" in x]
    assert stamps(run("audit", "query", str(f), "-n", "0", "-c", "c2", "--method", "upsert_points")) == sel[::-1]


def test_half_written_last_line_is_tolerated(tmp_path: Path) -> None:
    f = write(tmp_path / "audit.2026-12-01.log",
              [qline("2026-12-01T10:00:00Z"), '{"timestamp":"2026-12-01T10:00:01Z","meth'])
    for order in ([], ["--oldest-first"]):
        res = run("audit", "query", str(f), *order)
        assert res.code == 0 and res.err == ""
        assert stamps(res) == ["2026-12-01T10:00:00Z"]


@pytest.mark.parametrize(("line", "reason"), [
    ("[1, 2]\n", "not a JSON object"),
    ('{"timestamp":"yesterday","auth_type":"ApiKey","result":"ok"}\n', "no valid timestamp"),
    ('{"timestamp":"2026-12-01T10:00:00Z","auth_type":"Root","result":"ok"}\n',
     "auth_type or result is not one Qdrant writes"),
])
def test_malformed_lines_are_counted_with_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    f = write(tmp_path / "audit.log", [qline("2026-12-01T09:00:00Z"), line, qline("2026-12-01T10:00:01Z")])
    res = run("audit", "query", str(f))
    assert res.code == 0
    assert stamps(res) == ["2026-12-01T10:00:01Z", "2026-12-01T09:00:00Z"]
    assert res.err == f"qdrantsec: warning: {f}:2: skipped malformed line ({reason})\n"


def test_many_malformed_lines_are_summed_up(tmp_path: Path) -> None:
    f = write(tmp_path / "audit.log", ["junk\n"] * 30 + [qline("2026-12-01T10:00:00Z")])
    res = run("audit", "query", str(f))
    assert res.code == 0 and len(res.lines) == 1
    err = res.err.splitlines()
    assert len(err) == 22
    assert err[0] == f"qdrantsec: warning: {f}:1: skipped malformed line (not JSON)"
    assert err[-1] == "qdrantsec: warning: 30 malformed lines skipped in all"


@pytest.mark.parametrize("command", ["query", "summary"])
def test_a_file_without_one_audit_entry_is_an_error(tmp_path: Path, command: str) -> None:
    # Qdrant's own log given by mistake: "0 entries" and exit 0 was a silent pass
    f = write(tmp_path / "qdrant.log", [f"2026-12-01T10:00:0{i}Z INFO qdrant: started\n" for i in range(3)])
    res = run("audit", command, str(f))
    assert res.code == 2
    err = res.err.splitlines()
    assert err[:3] == [f"qdrantsec: warning: {f}:{i}: skipped malformed line (not JSON)" for i in (1, 2, 3)]
    assert err[3:] == ["qdrantsec: error: no audit entries read: the 3 lines read are all malformed",
                       "qdrantsec: hint: is this Qdrant's audit log? It writes audit.YYYY-MM-DD.log or "
                       "audit.YYYY-MM-DD-HH.log in audit.dir, one JSON object per line"]
    # one audit entry is enough (outside the window or not matching, it still is one), and
    # an empty file or a half-written line alone is no error
    good = write(tmp_path / "audit.log", ["junk\n", qline("2026-12-01T10:00:00Z")])
    assert run("audit", command, str(good), "--since", "2026-12-02").code == 0
    assert run("audit", command, str(write(tmp_path / "e.log", []))).code == 0
    assert run("audit", command, str(write(tmp_path / "h.log", ['{"timestamp":"2026-12-01T1']))).code == 0


def test_gz_and_stdin(tmp_path: Path) -> None:
    lines = [qline(f"2026-12-01T10:00:0{i}Z", result="denied" if i % 2 else "ok") for i in range(6)]
    gz = write(tmp_path / "audit.2026-12-01.log.gz", lines, gz=True)
    res = run("audit", "query", str(gz), "--result", "denied")
    assert stamps(res) == ["2026-12-01T10:00:05Z", "2026-12-01T10:00:03Z", "2026-12-01T10:00:01Z"]
    res = run("audit", "query", "-", "--oldest-first", "-n", "2", stdin="".join(lines).encode())
    assert stamps(res) == ["2026-12-01T10:00:00Z", "2026-12-01T10:00:01Z"]
    res = run("audit", "query", "-", stdin="".join(lines).encode())
    assert len(res.lines) == 6 and stamps(res)[0] == "2026-12-01T10:00:05Z"


def test_a_corrupt_gz_is_a_warning_and_a_partial_answer(tmp_path: Path) -> None:
    good = write(tmp_path / "audit.2026-12-02.log", [qline("2026-12-02T10:00:00Z")])
    bad = tmp_path / "audit.2026-12-01.log.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    res = run("audit", "query", str(good), str(bad))
    assert res.code == 6
    assert stamps(res) == ["2026-12-02T10:00:00Z"]
    assert res.err.startswith(f"qdrantsec: warning: {bad}: read error after byte 0:")


@pytest.mark.parametrize(("setup", "message", "code"), [
    ("missing", "audit directory not found: {d}", 2),
    ("empty", "no audit files in {d}", 2),
    ("file", "--dir {d} is not a directory", 2),
])
def test_directory_errors(tmp_path: Path, setup: str, message: str, code: int) -> None:
    d = tmp_path / "audit"
    if setup == "empty":
        d.mkdir()
        (d / "other.txt").write_text("x")
    elif setup == "file":
        d.write_text("x")
    res = run("audit", "query", "--dir", str(d))
    assert res.code == code and res.out == ""
    assert res.err.splitlines()[0] == "qdrantsec: error: " + message.format(d=d)


def test_source_errors(tmp_path: Path) -> None:
    res = run("audit", "query")
    assert res.code == 2 and res.err.startswith("qdrantsec: error: no audit source given\n")
    res = run("audit", "query", str(tmp_path / "nope.log"))
    assert res.code == 2 and res.err == f"qdrantsec: error: audit file not found: {tmp_path}/nope.log\n"
    res = run("audit", "query", "-", "x.log")
    assert res.code == 2 and "cannot be combined" in res.err
    res = run("audit", "query", "x.log", "--url", "http://127.0.0.1:1")
    assert res.code == 2 and res.err.startswith("qdrantsec: error: give one source")


def test_no_internal_hides_peer_traffic(tmp_path: Path) -> None:
    lines = [
        qline("2026-12-01T10:00:00Z", method="upsert_points", auth_type="None", collection="docs"),
        qline("2026-12-01T10:00:01Z", method="upsert_points", api="/qdrant.PointsInternal/Upsert",
              collection="docs"),
        qline("2026-12-01T10:00:02Z", method="internal_collection_access", auth_type="Internal",
              collection="docs"),
        qline("2026-12-01T10:00:03Z", method="upsert_points", api="/collections/docs/points",
              remote="10.0.0.5", collection="docs"),
        qline("2026-12-01T10:00:04Z", method="upsert_points", auth_type="None", remote="10.0.0.9",
              collection="docs"),
    ]
    f = write(tmp_path / "audit.log", lines)
    res = run("audit", "query", str(f), "--no-internal", "--oldest-first")
    assert stamps(res) == ["2026-12-01T10:00:03Z", "2026-12-01T10:00:04Z"]


def test_table_csv_and_json(audit_dir: Path) -> None:
    res = run("audit", "query", "--dir", str(audit_dir), "-f", "table", "-n", "3")
    assert res.code == 0
    assert all(len(line) <= 100 for line in res.lines)
    assert res.lines[0].split() == ["TIME", "RESULT", "AUTH", "WHO", "METHOD", "COLLECTION"]
    assert res.lines[1].split() == ["2026-12-02T10:30:00.250Z", "ok", "Jwt", "böb", "scroll", "döcs"]
    assert res.lines[2].split()[:5] == ["2026-12-02T10:00:00.500Z", "denied", "None", "10.0.0.7", "/collections"]
    assert res.lines[3].strip().startswith("Unauthorized: Must provide an API key")
    res = run("audit", "query", "--dir", str(audit_dir), "-f", "csv", "-n", "1", "-c", "docs")
    assert res.lines == ["timestamp,method,api,auth_type,subject,remote,collection,tracing_id,result,error",
                         f"2026-12-01T11:00:00Z,upsert_points,,Jwt,alice,10.0.0.6,docs,,denied,{DENY}"]
    res = run("audit", "query", "--dir", str(audit_dir), "-f", "json", "-n", "2")
    assert [o["timestamp"] for o in json.loads(res.out)] == ALL_NEWEST[:2]
    assert json.loads(run("audit", "query", "--dir", str(audit_dir), "-f", "json", "-c", "none").out) == []


def test_csv_defuses_formulas(tmp_path: Path) -> None:
    f = write(tmp_path / "audit.log", [qline("2026-12-01T10:00:00Z", subject="=HYPERLINK(1)")])
    res = run("audit", "query", str(f), "-f", "csv")
    assert res.lines[1].split(",")[4] == "'=HYPERLINK(1)"


def test_table_escapes_control_characters(tmp_path: Path) -> None:
    f = write(tmp_path / "audit.log", [qline("2026-12-01T10:00:00Z", subject="evil\x1b[2Jx")])
    res = run("audit", "query", str(f), "-f", "table")
    assert "\x1b" not in res.out and "evil\\x1b[2Jx" in res.out


def test_local_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        f = write(tmp_path / "audit.log", [qline("2026-12-01T10:00:00.5Z", method="scroll")])
        res = run("audit", "query", str(f), "-f", "table", "--local")
        assert res.lines[1].split()[:2] == ["2026-12-01T11:00:00.500+01:00", "ok"]
        assert all(len(line) <= 100 for line in res.lines)
        assert run("audit", "query", str(f), "-f", "table").lines[1].split()[0] == "2026-12-01T10:00:00.500Z"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_hostile_paths_are_one_line_errors(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "audit.fifo.log"
    os.mkfifo(fifo)
    res = run("audit", "query", str(fifo))  # checked before it is opened: never blocks
    assert res.code == 2 and res.err.startswith(f"qdrantsec: error: audit file {fifo} is not a regular file\n")
    res = run("audit", "query", "/dev/zero")
    assert res.code == 2 and res.err.startswith("qdrantsec: error: audit file /dev/zero is not a regular file")
    long = "n" * 300
    res = run("audit", "query", long)
    assert res.code == 2 and "File name too long" in res.err and len(res.err.splitlines()) == 1
    res = run("audit", "tail", "--dir", long)
    assert res.code == 2 and "File name too long" in res.err
    res = run("audit", "query", "--url", "https://127.0.0.1:1", "--ca-cert", str(fifo))
    assert res.code == 2 and res.err == f"qdrantsec: error: --ca-cert {fifo} is not a regular file\n"
    res = run("audit", "query", "--peers", "https://127.0.0.1:1,https://127.0.0.1:2", "--ca-cert", str(fifo))
    assert res.code == 2 and res.err == f"qdrantsec: error: --ca-cert {fifo} is not a regular file\n"


def test_absurd_nesting_is_a_malformed_line(tmp_path: Path) -> None:
    f = write(tmp_path / "audit.log", ["[" * 200000 + "\n", qline("2026-12-01T10:00:00Z")])
    res = run("audit", "query", str(f), "-F", "result~ok")
    assert res.code == 0 and len(res.lines) == 1
    assert res.err == f"qdrantsec: warning: {f}:1: skipped malformed line (not JSON)\n"


def test_help_texts_survive_rich_markup() -> None:
    # "[env QDRANT_URL; ...]" in a help string is a Rich markup tag: --help printed "access) ."
    import typer
    from rich.text import Text

    from qdrantsec.cli.app import app

    group = typer.main.get_command(app).get_command(None, "audit")  # type: ignore[attr-defined]
    helps = [(f"{c.name} {p.opts[0]}", p.help) for c in group.commands.values() for p in c.params
             if getattr(p, "help", None)]
    assert len(helps) > 30
    for name, text in helps:
        assert Text.from_markup(text).plain == text, name
    res = run("audit", "query", "--help")
    assert res.code == 0 and res.err == ""
    assert "ignored when files or --dir are given" in " ".join(res.out.replace("│", " ").split())


@pytest.mark.parametrize("command", ["query", "summary"])
@pytest.mark.parametrize(("option", "message"), [
    (["--filter", "bogus=1"], "unknown audit field 'bogus'"),
    (["--since", "yesterdayish"], "--since: bad time 'yesterdayish'"),
    (["--api-key-stdin"], "--api-key-stdin is for --url/--peers; audit files need no key"),
])
def test_option_errors_come_before_the_inputs(tmp_path: Path, command: str, option: list[str],
                                              message: str) -> None:
    # the directory is empty (an input error), but the option is wrong: the usage error wins
    d = tmp_path / "audit"
    d.mkdir()
    res = run("audit", command, "--dir", str(d), *option)
    assert res.code == 2 and res.out == ""
    assert res.err.splitlines()[0] == "qdrantsec: error: " + message


def test_a_bad_url_is_reported_before_the_key_file_is_read(tmp_path: Path) -> None:
    res = run("audit", "query", "--url", "nourl", "--api-key-file", str(tmp_path / "missing.key"))
    assert res.code == 2
    assert res.err.splitlines()[0] == "qdrantsec: error: --url 'nourl' has no scheme"
