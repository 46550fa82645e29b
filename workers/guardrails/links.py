"""The links guardrail: every link in a reply must point to an allow-listed domain (pure).

A link is anything a chat app may turn into one: a URL with a scheme, "www.…", a bare host
name with a known top-level domain ("evil.com/login"), an e-mail address, a Markdown or HTML
link. A host is allowed if it is one of the inbox's ``link_domains`` or a subdomain of one
(``help.acme-outdoor.example`` under ``acme-outdoor.example``): the shop controls its own
subdomains. Hosts are compared in their IDNA (punycode) form, so a Cyrillic "а" in
"аcme-outdoor.example" is a different host, as a browser sees it. An inbox with no
``link_domains`` allows no links. URL shorteners hide their target and fail unless listed.
A URL inside a link (a redirect's target) is checked too, and so is a host shown as a link's
text: "[acme-outdoor.example](https://evil.com)" is a lure. Invisible characters are dropped
first, as a chat app would render "evil\u200b.com".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

# Two-letter country domains plus the generic ones a scam link is likely to use. A bare
# "word.word" counts as a link only with one of these (or a link domain's own) endings, so
# "e.g." or "2.1kg" is never one.
_TLDS = frozenset(
    """
    ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo
    br bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm
    do dz ec ee eg er es et eu fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs
    gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km
    kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp
    mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk
    pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss
    st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va
    vc ve vg vi vn vu wf ws ye yt za zm zw
    com net org info biz name pro mobi app dev edu gov mil int shop store online site
    website xyz top club live life link click email tech cloud page blog news world today
    space fun icu vip win travel studio design digital network support guru zone center
    company agency media eco bio green berlin bayern koeln hamburg wien swiss paris london
    nyc outdoor camp deals sale discount bargains cheap promo gift coupons zip mov art lol
    download review stream country
    example test invalid localhost local onion internal arpa
    """.split()
)
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
_URL = re.compile(
    rf"""
    (?<![\w.-])(?i:javascript|vbscript|data|mailto):[^\s<>"]+
    | (?:(?i:[a-z][a-z0-9+.-]*):)?//[^\s<>"]+            # https://…, //evil.com
    | (?<![\w@.-])(?i:www\d?)\.[^\s<>"]+                  # www.evil.com
    | (?P<email>[\w.+-]+@(?P<mailhost>(?:{_LABEL}\.)+[^\W\d_]{{2,63}}))
    | (?<![\w@./-])(?P<host>(?:{_LABEL}\.)+(?P<tld>[^\W\d_]{{2,63}}|xn--[a-z0-9-]+))
      (?![\w-])(?:[/:?\#][^\s<>"]*)?                       # evil.com/login
    """,
    re.VERBOSE,
)
_TRAILING = ".,;:!?)]}'\"’”»"
_NESTED = re.compile(r"(?i)\bhttps?://[^\s&#\"<>]+")


@dataclass(frozen=True)
class _Link:
    shown: str
    host: str | None  # IDNA form; None if it has none a browser could reach safely


def check_links(text: str, allowed: tuple[str, ...]) -> tuple[list[str], int]:
    """Problems with the links in ``text`` (normalised), and how many links it has."""
    text = text.translate(_DOTS)
    extra = frozenset(d.rsplit(".", 1)[-1] for d in allowed)
    problems: list[str] = []
    links: list[_Link] = []
    count = 0
    for pattern in (_MARKDOWN, _ANCHOR):
        for match in pattern.finditer(text):
            target, *onward = _followed(match["target"])
            shown = _links_in(match["text"], extra)
            count += 1 + len(onward) + len(shown)
            lure = next((s for s in shown if _allowed(s.host, allowed)), None)
            if lure and not _allowed(target.host, allowed):
                problems.append(f"link text shows {lure.shown} but it goes to {target.shown}")
            else:
                links.append(target)
            links += onward + shown
        text = pattern.sub(" ", text)
    bare = _links_in(text, extra)
    seen: set[str | None] = set()
    for link in [*links, *bare]:
        # One line per host: five links to evil.com are one problem for the rep.
        if not _allowed(link.host, allowed) and (link.host is None or link.host not in seen):
            seen.add(link.host)
            problems.append(_why(link, allowed))
    return list(dict.fromkeys(problems)), count + len(bare)


def _links_in(text: str, extra: frozenset[str]) -> list[_Link]:
    links = []
    for match in _URL.finditer(text):
        tld = match["tld"]
        if tld is not None and not _is_tld(tld, extra):
            continue
        links += _followed(match.group().rstrip(_TRAILING))
    return links


def _followed(raw: str) -> list[_Link]:
    """The link, and any URL in it: a shop page that redirects ("?to=https%3A%2F%2Fevil.com")
    leads on to that URL."""
    return [_link(raw), *(_link(m.group()) for m in _NESTED.finditer(unquote(raw), 1))]


def _is_tld(tld: str, extra: frozenset[str]) -> bool:
    # "tent.It's" is a typo, not Italy; a longer ending is one in any case ("Evil.Com").
    if len(tld) == 2 and tld[0].isupper() and tld[1].islower():
        return False
    lower = tld.lower()
    return lower in _TLDS or lower in extra or not lower.isascii() or lower.startswith("xn--")


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
    return host is not None and any(host == d or host.endswith("." + d) for d in allowed)


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
