from pathlib import Path

import pytest

from qdrantsec.lint.model import Severity
from qdrantsec.lint.rules.qs207_plaintext_secret import PlaintextSecret, meant_to_be_committed

from .helpers import at, config_target, env_target, helm_target, k8s_target, run

RULE = PlaintextSecret()


@pytest.mark.parametrize(
    ("name", "committed"),
    [(".env", False), ("qdrant.env", False), (".env.local", False), (".env.example", True),
     ("janus.env.pc2.example", True), ("prod.env.sample", True), ("config.yaml", True),
     ("docker-compose.yml", True), ("values.yaml", True)],
)
def test_meant_to_be_committed(name: str, committed: bool) -> None:
    assert meant_to_be_committed(f"deploy/{name}") is committed


def test_literal_in_config() -> None:
    text = ("service:\n  api_key: abc\nstorage:\n  snapshots_config:\n    s3_config:\n"
            "      bucket: b\n      secret_key: s3cr3t\ninference:\n  token: tok\n")
    found = run(RULE, config_target(text))
    assert [at(f) for f in found] == [(2, 12), (7, 19), (9, 10)]
    assert {f.severity for f in found} == {Severity.HIGH}


def test_env_file_is_fine_but_example_is_not() -> None:
    assert run(RULE, env_target("QDRANT__SERVICE__API_KEY=abc\n", file=".env")) == []
    [f] = run(RULE, env_target("QDRANT__SERVICE__API_KEY=abc\n", file=".env.example"))
    assert f.location.env_var == "QDRANT__SERVICE__API_KEY"


def test_k8s_value_literal() -> None:
    text = """kind: Deployment
metadata: {name: q}
spec:
  template:
    spec:
      containers:
        - name: q
          image: qdrant/qdrant:v1.19.0
          env:
            - name: QDRANT__SERVICE__API_KEY
              value: hunter2hunter2
"""
    [f] = run(RULE, k8s_target(text))
    assert at(f) == (11, 22)


def test_helm_literal_and_generated() -> None:
    [f] = run(RULE, helm_target('apiKey: "literal-key"\n'))
    assert at(f) == (1, 9)
    assert run(RULE, helm_target("apiKey: true\n")) == []


def test_references_pass() -> None:
    assert run(RULE, config_target("", env={"QDRANT__SERVICE__API_KEY": "${K}"})) == []


def test_value_resolved_from_dotenv_is_not_in_the_compose_file(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  qdrant:\n    image: qdrant/qdrant\n    environment:\n"
                       "      - QDRANT__SERVICE__API_KEY=${QDRANT_API_KEY}\n"
                       "      - QDRANT__SERVICE__READ_ONLY_API_KEY=ro-literal\n")
    t = config_target("")
    # what the engine builds when .env beside the compose file defines QDRANT_API_KEY
    t.config.apply_env({"QDRANT__SERVICE__API_KEY": "from-dotenv",
                        "QDRANT__SERVICE__READ_ONLY_API_KEY": "ro-literal"},
                       file=str(compose), positions={"QDRANT__SERVICE__API_KEY": (5, 9),
                                                     "QDRANT__SERVICE__READ_ONLY_API_KEY": (6, 9)})
    [f] = run(RULE, t)
    assert "read_only_api_key" in f.message
    assert at(f) == (6, 9)
