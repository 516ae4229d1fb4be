"""Compose ``extends: {file: ...}`` and top-level ``include:``: services from other files,
merged as compose merges them, with findings on inherited values in the file that set them."""

from __future__ import annotations

from pathlib import Path

from qdrantsec.lint.engine import lint_paths
from qdrantsec.lint.model import Finding
from tests.lint.filehelpers import unsuppressed as by_rule
from tests.lint.filehelpers import where, write


def at(f: Finding) -> tuple[str, int | None, int | None]:
    return (Path(f.location.file or "").name, f.location.line, f.location.column)


def test_extends_from_another_file(tmp_path: Path) -> None:
    write(tmp_path, "common/services.yml", """
        services:
          qdrant-base:
            image: qdrant/qdrant:latest
            environment:
              - QDRANT__SERVICE__API_KEY=short
              - QDRANT__TELEMETRY_DISABLED=true
            env_file: base.env
            ports:
              - "6333:6333"
            volumes:
              - ./config/production.yaml:/qdrant/config/production.yaml
              - ./storage:/qdrant/storage
        """)
    write(tmp_path, "common/base.env", "QDRANT__SERVICE__ENABLE_CORS=false\n")
    write(tmp_path, "common/config/production.yaml", """
        service:
          enable_tls: false
          api-key: typo
        """)
    path = write(tmp_path, "app/docker-compose.yml", """
        services:
          qdrant:
            extends:
              file: ../common/services.yml
              service: qdrant-base
            environment:
              QDRANT__TELEMETRY_DISABLED: "false"
            ports:
              - "127.0.0.1:6334:6334"
            volumes:
              - ./data:/qdrant/storage
        """)
    result = lint_paths([path])
    (t,) = result.targets
    assert t.compose_service_name == "qdrant"
    # environment merged by key: the own map wins over the base's list entry
    assert t.config.get("telemetry_disabled") is False
    assert where(t, "telemetry_disabled") == ("docker-compose.yml", 7, 35, "QDRANT__TELEMETRY_DISABLED")
    # inherited values point into the file that set them
    assert t.config.get("service.api_key") == "short"
    assert where(t, "service.api_key") == ("services.yml", 5, 9, "QDRANT__SERVICE__API_KEY")
    # env_file and the mounted config resolve from the base file's directory
    assert where(t, "service.enable_cors") == ("base.env", 1, 1, "QDRANT__SERVICE__ENABLE_CORS")
    assert [Path(f).name for f in t.config_files] == ["production.yaml"]
    assert where(t, "service.enable_tls") == ("production.yaml", 2, 15, None)
    # ports appended; volumes merged by container path (./data replaces ./storage)
    assert [(p.container_port, at_file(p.location.file)) for p in t.ports] == [
        (6333, "services.yml"), (6334, "docker-compose.yml")]
    storage = [local for c, local in t.mounts if c == "/qdrant/storage"]
    assert storage == [str(tmp_path / "app" / "data")]
    (weak,) = by_rule(result.findings, "QS203")
    assert at(weak) == ("services.yml", 5, 9)
    (unknown,) = by_rule(result.findings, "QS208")
    assert at(unknown) == ("production.yaml", 3, 3)
    (latest,) = by_rule(result.findings, "QS504")
    assert at(latest)[:2] == ("services.yml", 3)
    published = [at(f) for f in by_rule(result.findings, "QS102")]
    assert ("services.yml", 9, 9) in published


def at_file(file: str | None) -> str:
    return Path(file or "").name


def test_extends_chain_and_missing_file(tmp_path: Path) -> None:
    write(tmp_path, "base.yml", """
        services:
          root:
            image: qdrant/qdrant:v1.15.0
            environment: {QDRANT__LOG_LEVEL: DEBUG}
          mid:
            extends: root
            command: ["./qdrant", "--uri", "http://a"]
        """)
    path = write(tmp_path, "compose.yaml", """
        services:
          db:
            extends: {file: base.yml, service: mid}
            command: ["./qdrant"]
          lost:
            image: qdrant/qdrant:v1.15.0
            extends: {file: nowhere.yml, service: x}
        """)
    result = lint_paths([path], rules=[])
    by_name = {t.compose_service_name: t for t in result.targets}
    db = by_name["db"]
    assert where(db, "log_level") == ("base.yml", 4, 38, "QDRANT__LOG_LEVEL")
    command = db.compose_service.get("command")  # type: ignore[union-attr]
    assert command is not None and command.plain() == ["./qdrant"]  # replaced, not appended
    assert "lost" in by_name
    assert any("extends x from nowhere.yml" in n and "file not found" in n for n in result.notes)


def test_include_brings_services_into_the_project(tmp_path: Path) -> None:
    write(tmp_path, "stack/qdrant.yml", """
        services:
          vectors:
            image: qdrant/qdrant:v1.15.0
            configs:
              - source: qdrant_cfg
                target: /qdrant/config/production.yaml
            ports:
              - "6333:6333"
        configs:
          qdrant_cfg:
            file: ./qdrant-config.yaml
        """)
    write(tmp_path, "stack/qdrant-config.yaml", """
        service:
          api_key: ""
        """)
    write(tmp_path, "other/more.yml", """
        services:
          web:
            image: nginx:1.27
        """)
    path = write(tmp_path, "compose.yaml", """
        include:
          - stack/qdrant.yml
          - path: other/more.yml
        """)
    result = lint_paths([str(tmp_path)])
    (t,) = result.targets  # the included file is not linted again as a project of its own
    assert t.file == path and t.compose_service_name == "vectors"
    assert "included from" in t.label
    assert [Path(f).name for f in t.config_files] == ["qdrant-config.yaml"]
    (empty,) = by_rule(result.findings, "QS202")
    assert at(empty) == ("qdrant-config.yaml", 2, 12)
    (published,) = by_rule(result.findings, "QS102")
    assert at(published) == ("qdrant.yml", 8, 9)


def test_include_missing_and_nested(tmp_path: Path) -> None:
    write(tmp_path, "a/inner.yml", """
        services:
          qdrant:
            image: qdrant/qdrant:v1.15.0
            environment: [QDRANT__SERVICE__API_KEY=tiny]
        """)
    write(tmp_path, "a/outer.yml", """
        include: [inner.yml]
        """)
    path = write(tmp_path, "docker-compose.yml", """
        include:
          - a/outer.yml
          - gone.yml
        services:
          app:
            image: busybox
        """)
    result = lint_paths([path])
    (t,) = result.targets
    assert where(t, "service.api_key") == ("inner.yml", 4, 19, "QDRANT__SERVICE__API_KEY")
    assert any("include gone.yml: file not found" in n for n in result.notes)
