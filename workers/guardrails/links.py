"""The links guardrail: every link in a reply must point to an allow-listed domain (pure).

A link is anything a chat app may turn into one: a URL with a scheme, "www.…", a bare domain
("evil.com/login", "Evil.Io", "evil.shopping": any name ending in a public suffix, see
``.hosts``), a bare IP address ("203.0.113.7/login"), an e-mail address, a Markdown or HTML
link. WhatsApp and Markdown emphasis around it ("_evil.com_", "*evil.com*") doesn't hide it.

A host is allowed if it is one of the inbox's ``link_domains`` or a subdomain of one
(``help.acme-outdoor.example`` under ``acme-outdoor.example``): the shop controls its own
subdomains. Hosts are compared in their IDNA (punycode) form, so a Cyrillic "а" in
"аcme-outdoor.example" is a different host, as a browser sees it. An inbox with no
``link_domains`` allows no links, and an IP address is on no allowed domain. URL shorteners
hide their target and fail unless listed. A URL, domain or address inside a link's path or
query is where an open redirect leads ("acme-outdoor.example/go?to=evil.com",
".../out/evil.com", percent-encoded once or twice): it is checked as a link of its own. So is
a host shown as a link's text: "[acme-outdoor.example](https://evil.com)" is a lure.

The text comes normalised (``.text``): "evil\u200b.com" arrives as "evil.com", as a chat app
shows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from workers.guardrails import hosts

_SHORTENERS = frozenset(
    """
    bit.ly bitly.com t.co tinyurl.com goo.gl ow.ly is.gd v.gd buff.ly rebrand.ly cutt.ly
    shorturl.at t.ly rb.gy tiny.cc lnkd.in s.id bl.ink short.io adf.ly shorte.st amzn.to
    fb.me tiny.one surl.li
    """.split()
)
# Browsers read these as the dot between labels (UTS #46); NFKC leaves them alone.
_DOTS = str.maketrans({"。": ".", "．": ".", "｡": "."})

# Possessive quantifiers: a reply full of "[" and "](" must not make these backtrack for
# minutes.
_MARKDOWN = re.compile(
    r"\[(?P<text>[^\]\n]*+)\]\(\s*+<?(?P<target>[^)\s>]++)>?(?:\s++\"[^\"\n]*+\")?\s*+\)"
)
_ANCHOR = re.compile(
    r"<a\b[^>]*?\bhref\s*=\s*[\"']?(?P<target>[^\"'\s>]+)[^>]*>(?P<text>.*?)</a\s*>",
    re.IGNORECASE | re.DOTALL,
)
_LABEL = r"[^\W_](?:[\w-]*[^\W_])?"
# A bare host starts after no letter, digit, "@", "." or "-" (inside a link's path or
# query, a "/" starts one too), and ends before none: an underscore may touch it, as
# WhatsApp's _italics_ do. It takes the rest of its URL along.
_START = r"(?<![^\W_])(?<![@.{slash}-])"
_END = r"(?![^\W_])(?!-)"
_REST = r"(?:[/:?\#][^\s<>\"]*)?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_URL_PATTERN = rf"""
    (?<![\w.-])(?i:javascript|vbscript|data|mailto):[^\s<>"]+
    | (?:(?i:[a-z][a-z0-9+.-]*):)?//[^\s<>"]+              # https://…, //evil.com
    | {_START}(?i:www\d?)\.[^\s<>"]+                         # www.evil.com
    | (?P<email>[\w.+-]+@(?P<mailhost>(?:{_LABEL}\.)+[^\W\d_]{{2,63}}))
    | {_START}(?P<ip>(?:{_OCTET}\.){{3}}{_OCTET})(?!\.?\d){_END}{_REST}   # 203.0.113.7/pay
    | {_START}(?P<host>(?:{_LABEL}\.)+(?:[^\W\d_]{{2,63}}|xn--[a-z0-9-]+)){_END}{_REST}
    """
_URL = re.compile(_URL_PATTERN.replace("{slash}", "/"), re.VERBOSE)
_INNER = re.compile(_URL_PATTERN.replace("{slash}", ""), re.VERBOSE)
_TRAILING = ".,;:!?)]}'\"’”»_*~`"
# "tent.It's" is a missing space before "It's", not a link to Italy, and "Freiburg i.Br." is
# an abbreviation, not a link to Brazil. "Evil.Io" and "Evil.Io's" are links.
_IT_IS = re.compile(r"['’](?:s|ll|d)\b")
# A redirect to a redirect to a redirect is followed; a link nested deeper fails unread.
_MAX_DEPTH = 3


@dataclass(frozen=True)
class _Link:
    shown: str
    host: str | None  # IDNA form; None if it has none a browser could reach safely


@dataclass(frozen=True)
class LinkReport:
    """What the links check found: its problems, how many links it read, and where they are
    in the text (a Markdown or HTML link's target, not its text)."""

    problems: tuple[str, ...]
    count: int
    spans: tuple[tuple[int, int], ...]


def check_links(text: str, allowed: tuple[str, ...]) -> LinkReport:
    """Problems with the links in ``text`` (normalised), and how many links it has."""
    text = text.translate(_DOTS)
    endings = frozenset(d.rsplit(".", 1)[-1].lower() for d in allowed)
    problems: list[str] = []
    links: list[_Link] = []
    spans: list[tuple[int, int]] = []
    count = 0
    for pattern in (_MARKDOWN, _ANCHOR):
        for match in pattern.finditer(text):
            target, *onward = _followed(match["target"], endings)
            shown = _links_in(match["text"], endings)
            count += 1 + len(onward) + len(shown)
            spans.append(match.span("target"))
            lure = next((s for s in shown if _allowed(s.host, allowed)), None)
            if lure and not _allowed(target.host, allowed):
                problems.append(f"link text shows {lure.shown} but it goes to {target.shown}")
            else:
                links.append(target)
            links += onward + shown
        # Blanked to the same length, so the spans of what follows stay true.
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    bare = _links_in(text, endings, spans)
    seen: set[str | None] = set()
    for link in [*links, *bare]:
        # One line per host: five links to evil.com are one problem for the rep.
        if not _allowed(link.host, allowed) and (link.host is None or link.host not in seen):
            seen.add(link.host)
            problems.append(_why(link, allowed))
    return LinkReport(tuple(dict.fromkeys(problems)), count + len(bare), tuple(sorted(spans)))


def _links_in(
    text: str,
    endings: frozenset[str],
    spans: list[tuple[int, int]] | None = None,
    *,
    pattern: re.Pattern[str] = _URL,
    depth: int = 0,
) -> list[_Link]:
    links = []
    for match in pattern.finditer(text):
        found = match.group() if match["host"] is None else _domain(match, endings)
        if found is None:
            continue
        raw = found.rstrip(_TRAILING)
        if spans is not None:
            spans.append((match.start(), match.start() + len(raw)))
        links += _followed(raw, endings, depth)
    return links


def _domain(match: re.Match[str], endings: frozenset[str]) -> str | None:
    """The bare domain a match starts with, and the rest of its URL; None if it is none.
    "evil.com.Thanks" (a missing space) is still evil.com."""
    host = whole = match["host"]
    rest = match.group()[len(whole) :]
    while "." in host:
        *labels, top = host.split(".")
        it_is = top == "It" and _IT_IS.match(match.string, match.end("host"))
        typo = it_is or (top.istitle() and all(len(label) == 1 for label in labels))
        if not typo and hosts.is_domain(host, endings):
            return host + rest if host == whole else host
        host = host.rsplit(".", 1)[0]
    return None


def _followed(raw: str, endings: frozenset[str], depth: int = 0) -> list[_Link]:
    """The link, and every link in its path and query: where an open redirect on the shop's
    domain ("/go?to=evil.com") would send the customer."""
    link = _link(raw)
    rest = _after_host(raw)
    for _ in range(2):  # "%252F" is "%2F" once decoded, and "/" twice
        rest = unquote(rest)
    if depth < _MAX_DEPTH:
        return [link, *_links_in(rest, endings, pattern=_INNER, depth=depth + 1)]
    if _INNER.search(rest):
        return [link, _Link(f"{raw[:60]}…, a redirect nested {depth + 1} deep,", None)]
    return [link]


def _after_host(raw: str) -> str:
    """The path, query and fragment of a link; nothing for a script, data or mail link."""
    if re.match(r"(?i)(?:javascript|vbscript|data|mailto):", raw):
        return ""
    body = re.sub(r"^(?:[A-Za-z][\w+.-]*:)?//", "", raw.replace("\\", "/"))
    cut = re.search(r"[/?#]", body)
    return body[cut.start() :] if cut else ""


def _link(raw: str) -> _Link:
    scheme = raw.split(":", 1)[0].lower() if re.match(r"[A-Za-z][\w+.-]*:(?!\d)", raw) else ""
    if scheme in ("javascript", "vbscript", "data"):
        return _Link(raw[:40], None)
    if scheme == "mailto" or ("@" in raw and "/" not in raw and not scheme):
        return _Link(raw, _idna(raw.rsplit("@", 1)[-1].split("?", 1)[0]))
    if not scheme and not raw.startswith("//"):
        raw = "//" + raw  # a relative target ("/login") becomes "///login": no host
    # Browsers read "\" as "/" in http(s) URLs, so "https://evil.com\@shop.example" goes to
    # evil.com; urlsplit would say shop.example.
    try:
        host = urlsplit(raw.replace("\\", "/")).hostname
    except ValueError:
        host = None
    return _Link(raw.removeprefix("//"), _idna(host) if host else None)


def _idna(host: str) -> str | None:
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _allowed(host: str | None, allowed: tuple[str, ...]) -> bool:
    if host is None:
        return False
    if hosts.is_ip(host):
        return host in allowed  # "1.2.3.4" ends in no domain's labels
    return any(host == d or host.endswith("." + d) for d in allowed)


def _why(link: _Link, allowed: tuple[str, ...]) -> str:
    host = link.host
    if host is None and link.shown.lower().startswith(("javascript:", "vbscript:", "data:")):
        return f"{link.shown} is a script or data link, not a web page"
    if host is None:
        return f"{link.shown} is not a web link to an allowed domain"
    if host in _SHORTENERS:
        return f"{link.shown} is a URL shortener, which hides where it goes"
    if any(label.startswith("xn--") for label in host.split(".")):
        return f"{link.shown} uses look-alike letters ({host})"
    near = next((d for d in allowed if _squash(d) in _squash(host)), None)
    if near:
        return f"{link.shown} only looks like {near}"
    if not allowed:
        return f"{link.shown}: this inbox allows no links"
    # "https://shop.example@evil.com" shows one host and goes to another; an address
    # ("pay@evil.com") shows its host after the "@".
    shown = link.shown.lower()
    apparent = re.sub(r"^[a-z][\w+.-]*:/*", "", shown)
    if "://" not in shown:
        apparent = apparent.rsplit("@", 1)[-1]
    where = "" if apparent.startswith(host) else f" goes to {host}, which"
    return f"{link.shown}{where} is not on an allowed domain ({', '.join(allowed)})"


def _squash(host: str) -> str:
    # "acme-outdoor-example.com" and "acmeoutdoor.example.net" both contain the name.
    return re.sub(r"[^a-z0-9]", "", host)
