"""SAN parsing and webpki-style matching."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qdrantsec.certs.names import SanName, dns_matches, matches, parse_name, parse_names, parse_reference
from qdrantsec.errors import InputError


@pytest.mark.parametrize(("raw", "kind", "value"), [
    ("localhost", "dns", "localhost"), ("Qdrant-0.Example.COM", "dns", "qdrant-0.example.com"),
    ("127.0.0.1", "ip", "127.0.0.1"), ("::1", "ip", "::1"), ("[fd00::1]", "ip", "fd00::1"),
    ("::ffff:10.0.0.1", "ip", "10.0.0.1"), ("*.qdrant.example.com", "dns", "*.qdrant.example.com"),
    ("qdrant_0.lan", "dns", "qdrant_0.lan"), ("2001:DB8::1", "ip", "2001:db8::1"),
])
def test_parse_name(raw: str, kind: str, value: str) -> None:
    assert parse_name(raw) == SanName(kind, value)


@pytest.mark.parametrize("raw", [
    "", " localhost", "bad host", "a..b", ".a.b", "a.b.", "*.com", "*", "x*.a.b", "a.*.b.c", "-a.b", "a-.b",
    "1.2.3", "qdrant:6333", "https://x", "ünïcode.example", "a" * 64 + ".b", "fe80::1%eth0",
])
def test_parse_name_rejects(raw: str) -> None:
    with pytest.raises(InputError):
        parse_name(raw)


def test_parse_names_dedupes_keeping_order() -> None:
    names = parse_names(["b.lan", "10.0.0.1", "B.LAN", "10.0.0.1"])
    assert [str(n) for n in names] == ["DNS:b.lan", "IP:10.0.0.1"]


# (presented, reference, expected) from webpki's own test table (rustls/webpki dns_name.rs)
@pytest.mark.parametrize(("presented", "reference", "ok"), [
    ("a", "a", True), ("b", "a", False), ("*.b.a", "c.b.a", True), ("*.b.a", "b.a", False),
    ("*.b.a", "b.a.", False), ("d.*.b.a", "d.c.b.a", False), ("d.c*.b.a", "d.c.b.a", False),
    ("aBc", "Abc", True), ("example.com", "example.com.", True), ("example.com.", "example.com", False),
    ("*.example.com", "foo.example.com", True), ("*.example.com", "bar.foo.example.com", False),
    ("*.example.com", "example.com", False), ("baz*.example.net", "baz1.example.net", False),
    ("*.example", "test.example", False), ("*.co.uk", "example.co.uk", True), ("*", "foo", False),
    ("*.*.com", "foo.example.com", False), ("*.bar.foo.com", "www-3.bar.foo.com.", True),
    ("*.test.FR", "wwW.tESt.fr", True), ("c*.b.a", "c.b.a", False),
])
def test_dns_matches_like_webpki(presented: str, reference: str, ok: bool) -> None:
    assert dns_matches(presented, reference) is ok


def test_ip_and_dns_never_cross_match() -> None:
    sans = [SanName("dns", "127.0.0.1.nip.io"), SanName("ip", "10.0.0.1")]
    assert matches(sans, parse_reference("10.0.0.1"))
    assert not matches(sans, parse_reference("127.0.0.1"))
    assert not matches([SanName("dns", "localhost")], parse_reference("127.0.0.1"))
    assert matches([SanName("ip", "::1")], parse_reference("[0:0::1]"))


@given(st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True), min_size=2, max_size=5))
def test_generated_names_match_themselves_and_wildcards_one_label(labels: list[str]) -> None:
    name = ".".join(labels)
    assert parse_name(name).value == name
    assert dns_matches(name, name.upper())
    wildcard = "*." + ".".join(labels[1:])
    if len(labels) >= 3:
        assert dns_matches(wildcard, name)
        assert not dns_matches(wildcard, "x." + name)
