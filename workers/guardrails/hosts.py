"""Which names in a reply are hosts a browser can reach (pure).

A name is a domain when it ends in a suffix of the Public Suffix List ("evil.com",
"Evil.Io", "evil.shopping", "x.рф"), a special-use name (RFC 6761: "shop.example", RFC 7686:
"evil.onion"), or the ending of one of the inbox's link domains. The list comes from
``publicsuffixlist``, which bundles it in its wheel: it is read from that file once, at import,
and nothing here fetches it (the package's updater is a separate command we never run). A
suffix that appears after a release is missed until the dependency is upgraded; every
two-letter country code and the big generic ones have been on the list for years.

An IP literal ("203.0.113.7") is a host too: no domain to check, and a common phishing target.
"""

from __future__ import annotations

import ipaddress

from publicsuffixlist import PublicSuffixList


def load() -> PublicSuffixList:
    """The bundled list, ICANN section only: a private suffix ("github.io") ends in an ICANN
    one anyway. Unknown endings are no suffix, so "e.g" or "z.B" is no domain."""
    return PublicSuffixList(accept_unknown=False, only_icann=True)


_LIST = load()  # at import, so an RQ worker parses it once, before it forks its jobs
_SPECIAL = frozenset("example test invalid localhost local onion internal arpa alt".split())


def is_domain(name: str, endings: frozenset[str] = frozenset()) -> bool:
    """Whether ``name`` (two labels or more) ends in a public suffix, a special-use name or
    one of ``endings`` (lowercase last labels). A top-level label with letters outside ASCII
    that no list knows ("evil.cоm", with a Cyrillic "о") counts too: it is a look-alike."""
    labels = name.rstrip(".").lower().split(".")
    if len(labels) < 2 or not all(labels):
        return False
    top = labels[-1]
    if top in _SPECIAL or top in endings or not top.isascii():
        return True
    try:
        ascii_name = ".".join(labels).encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ".".join(labels)
    return _LIST.publicsuffix(ascii_name, accept_unknown=False) is not None


def is_ip(host: str) -> bool:
    """Whether ``host`` is an IPv4 or IPv6 literal (brackets allowed)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
