"""The address policy for IPv6 forms that embed an IPv4 address: each is judged by the IPv4
address it carries, and the obsolete or local-use forms are refused whatever they carry."""

from __future__ import annotations

import ipaddress

import pytest

from bot.ingest.netguard import BlockedAddress, _Policy, describe_address, embedded_ipv4, is_public_address

# (address, what it embeds) for every form that embeds loopback, link-local or private IPv4.
EMBEDDING_PRIVATE = [
    ("2002:7f00:1::", "127.0.0.1"),                 # 6to4 of loopback
    ("2002:a9fe:a9fe::", "169.254.169.254"),        # 6to4 of the cloud metadata address
    ("2002:c0a8:101::1", "192.168.1.1"),            # 6to4 of a private address
    ("64:ff9b::7f00:1", "127.0.0.1"),               # NAT64 well-known prefix
    ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
    ("64:ff9b::a00:1", "10.0.0.1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "127.0.0.1"),  # Teredo: client 127.0.0.1 (obfuscated)
    ("2001:0:7f00:1::", "127.0.0.1"),               # Teredo: server 127.0.0.1
    ("::ffff:127.0.0.1", "127.0.0.1"),              # IPv4-mapped
    ("::ffff:169.254.169.254", "169.254.169.254"),
    ("::ffff:10.1.2.3", "10.1.2.3"),
    ("::127.0.0.1", "127.0.0.1"),                   # IPv4-compatible (deprecated)
    ("::a9fe:a9fe", "169.254.169.254"),
    ("::ffff:0:7f00:1", "127.0.0.1"),               # IPv4-translated (SIIT)
]


@pytest.mark.parametrize("addr,inner", EMBEDDING_PRIVATE)
def test_every_ipv6_form_embedding_a_private_ipv4_is_refused(addr, inner):
    ip = ipaddress.ip_address(addr)
    assert ipaddress.IPv4Address(inner) in embedded_ipv4(ip)
    assert is_public_address(ip) is False


@pytest.mark.parametrize("addr", ["64:ff9b:1::7f00:1", "64:ff9b:1::808:808", "2001:0:808:808::f7f7:f7f7",
                                  "::8.8.8.8", "::ffff:0:808:808"])
def test_local_use_and_obsolete_forms_are_refused_whatever_they_embed(addr):
    assert is_public_address(ipaddress.ip_address(addr)) is False


@pytest.mark.parametrize("addr", ["2002:808:808::", "64:ff9b::808:808", "::ffff:8.8.8.8", "2606:4700::1111",
                                  "2a00:1450:4007:80f::200e"])
def test_forms_embedding_a_public_ipv4_and_plain_public_ipv6_pass(addr):
    assert is_public_address(ipaddress.ip_address(addr)) is True


@pytest.mark.parametrize("addr", ["::", "::1", "2606:4700::1111"])
def test_ordinary_addresses_embed_nothing(addr):
    assert embedded_ipv4(ipaddress.ip_address(addr)) == []


def test_the_refusal_names_the_embedded_address():
    with pytest.raises(BlockedAddress) as info:
        _Policy(False, ()).checked("evil.example", ["2002:a9fe:a9fe::"])
    assert str(info.value) == ("evil.example resolves to 2002:a9fe:a9fe:: (which embeds 169.254.169.254), "
                               "a loopback/private/reserved address")
    assert describe_address("2606:4700::1111") == "2606:4700::1111"


def test_allowing_private_networks_allows_them_all():
    assert _Policy(True, ()).checked("h", ["2002:7f00:1::"]) == ["2002:7f00:1::"]
