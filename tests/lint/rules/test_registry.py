"""The registry: every rule module registered, documented, uniquely named; docs render."""

import importlib
import pkgutil
import re

import pytest

import qdrantsec.lint.rules as rules_pkg
from qdrantsec.errors import UsageError
from qdrantsec.lint.model import Rule, Severity
from qdrantsec.lint.registry import (
    ALL_RULES,
    HEADINGS,
    all_rules,
    explain,
    get_rule,
    rules_man_section,
    rules_markdown_table,
)

ISSUE_IDS = {
    "QS101": "bind-all-interfaces", "QS102": "port-published-publicly", "QS103": "p2p-port-exposed",
    "QS104": "metrics-port-unauthenticated", "QS201": "no-authentication", "QS202": "empty-key",
    "QS203": "weak-key", "QS204": "key-reused", "QS205": "rotation-unfinished",
    "QS206": "jwt-rbac-without-key", "QS207": "plaintext-secret", "QS208": "unknown-setting",
    "QS209": "internal-auth-off", "QS301": "api-key-over-plaintext", "QS302": "tls-incomplete",
    "QS303": "p2p-tls-disabled", "QS304": "ca-cert-missing", "QS305": "tls-file-problem",
    "QS306": "cert-expiry", "QS307": "cert-san-mismatch", "QS308": "cert-reload-disabled",
    "QS309": "mtls-not-on-grpc", "QS401": "audit-disabled", "QS402": "audit-trusts-forwarded-headers",
    "QS403": "audit-short-retention", "QS501": "runs-as-root", "QS502": "writable-root-filesystem",
    "QS503": "privileged-container", "QS504": "unpinned-image", "QS505": "no-network-policy",
    "QS601": "cors-any-origin", "QS602": "snapshot-url-recovery", "QS603": "telemetry-enabled",
}


def test_public_ids_and_names_are_kept() -> None:
    registered = {cls.id: cls.name for cls in ALL_RULES}
    for rule_id, name in ISSUE_IDS.items():
        assert registered.get(rule_id) == name


def test_ids_and_names_are_unique_and_well_formed() -> None:
    ids = [cls.id for cls in ALL_RULES]
    names = [cls.name for cls in ALL_RULES]
    assert len(set(ids)) == len(ids)
    assert len(set(names)) == len(names)
    assert ids == sorted(ids)
    for cls in ALL_RULES:
        assert re.fullmatch(r"QS\d{3}", cls.id), cls.id
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", cls.name), cls.name


@pytest.mark.parametrize("cls", ALL_RULES, ids=lambda c: c.id)
def test_every_rule_is_documented(cls: type[Rule]) -> None:
    assert isinstance(cls.severity, Severity)
    for attr in ("summary", "rationale", "example", "fix"):
        value = getattr(cls, attr)
        assert isinstance(value, str) and value.strip(), f"{cls.id}.{attr} is empty"
    assert cls.references and all(isinstance(r, str) and r.strip() for r in cls.references)
    assert cls.summary.strip().endswith((".", ")")), f"{cls.id} summary should be a sentence"


def test_every_module_in_the_rules_package_is_registered() -> None:
    registered = {cls.__module__ for cls in ALL_RULES}
    modules = {f"{rules_pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(rules_pkg.__path__)
               if re.fullmatch(r"qs\d{3}_\w+", m.name)}
    assert modules == registered
    for module_name in modules:
        module = importlib.import_module(module_name)
        rule_classes = [v for v in vars(module).values()
                        if isinstance(v, type) and issubclass(v, Rule) and v is not Rule
                        and v.__module__ == module_name]
        assert len(rule_classes) == 1, module_name
        assert module_name.split(".")[-1][:5] == rule_classes[0].id.lower(), module_name


def test_module_names_match_rule_names() -> None:
    for cls in ALL_RULES:
        assert cls.__module__.endswith(f"{cls.id.lower()}_{cls.name.replace('-', '_')}")


def test_all_rules_returns_instances_in_order() -> None:
    rules = all_rules()
    assert [r.id for r in rules] == [cls.id for cls in ALL_RULES]
    assert all(isinstance(r, Rule) for r in rules)


def test_get_rule_by_id_case_insensitive_and_by_name() -> None:
    assert get_rule("qs201").id == "QS201"
    assert get_rule(" QS101 ").name == "bind-all-interfaces"
    assert get_rule("weak-key").id == "QS203"


def test_unknown_rule_id_is_a_usage_error_with_close_ids() -> None:
    with pytest.raises(UsageError) as err:
        get_rule("QS999")
    assert "unknown rule ID QS999" in err.value.message
    assert err.value.hint is not None and "QS" in err.value.hint and "--list-rules" in err.value.hint
    with pytest.raises(UsageError) as err:
        get_rule("QS2O1")
    assert err.value.hint is not None and "QS201" in err.value.hint


@pytest.mark.parametrize("cls", ALL_RULES, ids=lambda c: c.id)
def test_explain_renders_every_heading(cls: type[Rule]) -> None:
    text = explain(cls())
    assert text.startswith(f"{cls.id} {cls.name} (default severity: {cls.severity.label})")
    positions = [text.index(f"\n{h}\n") for h in HEADINGS]
    assert positions == sorted(positions)
    assert cls.references[0] in text


def test_markdown_table_has_a_row_per_rule() -> None:
    table = rules_markdown_table()
    lines = table.strip().splitlines()
    assert lines[0].startswith("| ID | Name |")
    assert len(lines) == 2 + len(ALL_RULES)
    assert all(line.count(" | ") >= 3 for line in lines[2:])
    assert '| <a id="qs201-no-authentication"></a>QS201 | `no-authentication` | high |' in table


def test_man_section_is_escaped_troff() -> None:
    man = rules_man_section()
    assert man.startswith(".SH RULES\n")
    assert man.count(".TP\n") == len(ALL_RULES)
    assert "\\fBQS305\\fR tls\\-file\\-problem (high)" in man
    for line in man.splitlines():
        assert not line.startswith("'")
        assert not line.startswith(".") or line.split()[0] in (".SH", ".TP", ".br")
