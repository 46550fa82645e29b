"""The leaks guardrail: a reply must not echo the system prompt or the knowledge's internal
sections (pure).

Four signals, each tuned to keep false alarms rare:

1. A run of ``WINDOW`` (8) or more consecutive words, lowercased and stripped of
   punctuation, shared with the system prompt or an internal section. Runs the public
   knowledge also contains don't count: the bot is meant to quote that.
2. A figure only the internal sections contain ("219.00"), unless the prices check accepted
   it as a product's price and its sentence doesn't talk about limits ("lowest", "floor"):
   offering the floor is allowed, disclosing it as the floor is not. A figure the public
   knowledge or the price list also states is no secret.
3. Most of the distinctive words of one internal note in one bubble ("restock … late …
   supplier"): a near-verbatim paraphrase that slips past the 8-word window.
4. The reply quoting its instructions ("my instructions say", "I was told to"). Merely
   naming them ("I can't share my instructions") passes: that is the right answer to an
   injection attempt, and flagging it would cry wolf on every one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal

from core.knowledge import internal_sections
from workers.guardrails.amounts import numbers, scan, sentence_around

WINDOW = 8
# A note must share this many distinctive words with a bubble, and this share of its own.
NOTE_HITS = 3
NOTE_SHARE = 0.6

_WORD = re.compile(r"[^\W_]+")
_BLANK_LINES = re.compile(r"\n\s*\n")
_NOTE_END = re.compile(r"(?<=[.;!?])\s+|\n")
_LIMIT_TALK = re.compile(
    r"""(?ix)\b(?:
    lowest|low|floor|minimum|min\.|bottom|below|under|unter|lower|rock[-\s]bottom
    | allowed|permitted|authori[sz]ed|limit|can[’']?t\s+go|cannot\s+go|no\s+lower|any\s+lower
    | untergrenze|mindest\w*|niedrigst\w*|tiefst\w*|schmerzgrenze|darf|dürfen|erlaubt
    )\b"""
)
_SELF_TALK = re.compile(
    r"""(?ix)
    \bmy\s+(?:system\s+)?(?:instructions|prompt|guidelines|rules|notes)
        \s+(?:say|said|are|is|tell|state|read|were)\b
    | \bsystem\s*prompt\s+(?:says|said|is|reads|contains|was)\b
    | \bI(?:\s+was|\s+am|[’']m|\s+have\s+been|[’']ve\s+been)
        \s+(?:told|instructed|programmed|prompted)\s+to\b
    | \baccording\s+to\s+my\s+(?:instructions|prompt|guidelines|rules|notes)\b
    | \binternal\s+(?:notes?|section|guidelines)\s+(?:says?|said|are|is|tells?|states?)\b
    | \bmeine\s+(?:Anweisungen|Instruktionen|Vorgaben|Regeln)\s+(?:sagen|lauten|sind|besagen)\b
    | \bSystem-?prompt\s+(?:lautet|sagt|ist|besagt)\b
    | \bmir\s+wurde\s+(?:gesagt|aufgetragen|befohlen|vorgegeben)\b
    | \blaut\s+meinen\s+(?:Anweisungen|Vorgaben|Instruktionen)\b
    """
)
# Long function words, which say nothing about what a note is about.
_STOPWORDS = frozenset(
    """
    this that these those with from have will would could should your yours about only
    never always more less than then them they there their what when which while where
    also just into over under after before some such very much each other been were does
    done here anything something nothing everything even still must need like make made
    sure every same want please thanks thank customer customers
    dein deine diese dieser dieses eine einen einem einer nicht noch auch aber oder wenn
    dann sind wird werden haben kann können mehr sehr alle immer wir ihr ihre unsere kunde
    kunden
    """.split()
)


def split_knowledge(knowledge: str) -> tuple[str, list[str]]:
    """The knowledge without its ``## Internal`` sections, and the sections' bodies."""
    # internal_sections rejoins lines with "\n"; do the same so each body is a substring.
    text = "\n".join(knowledge.splitlines())
    internal = internal_sections(text)
    public = text
    for body in internal:
        public = public.replace(body, "")
    return public, internal


def check_leaks(
    text: str,
    *,
    system_prompt: str,
    public: str,
    internal: Sequence[str],
    list_prices: frozenset[Decimal] = frozenset(),
    offered: frozenset[Decimal] = frozenset(),
) -> list[str]:
    """Problems: where ``text`` echoes the system prompt or the internal sections."""
    internal = tuple(internal)
    problems = _echoes(text, system_prompt, public, internal)
    secret = _internal_figures(public, internal) - list_prices
    for amount in scan(text):
        if amount.value not in secret:
            continue
        start, end = sentence_around(text, amount.start)
        if amount.value in offered and not _LIMIT_TALK.search(text[start:end]):
            continue
        problems.append(f"mentions {amount.text}, a figure only the internal notes give")
    problems += _paraphrases(text, public, internal)
    talk = _SELF_TALK.search(text)
    if talk:
        problems.append(f"talks about its instructions (“{talk.group()}”)")
    return list(dict.fromkeys(problems))


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def _grams(text: str) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + WINDOW]) for i in range(len(words) - WINDOW + 1)}


@functools.lru_cache(maxsize=32)
def _secret_grams(
    system_prompt: str, public: str, internal: tuple[str, ...]
) -> tuple[frozenset[tuple[str, ...]], frozenset[tuple[str, ...]]]:
    shared = _grams(public)
    notes: set[tuple[str, ...]] = set()
    for section in internal:
        notes |= _grams(section)
    notes -= shared
    return frozenset(_grams(system_prompt) - shared - notes), frozenset(notes)


def _echoes(text: str, system_prompt: str, public: str, internal: tuple[str, ...]) -> list[str]:
    prompt, notes = _secret_grams(system_prompt, public, internal)
    secret = prompt | notes
    words = _words(text)
    problems = []
    i = 0
    while i <= len(words) - WINDOW:
        gram = tuple(words[i : i + WINDOW])
        if gram not in secret:
            i += 1
            continue
        source = "the internal notes" if gram in notes else "the system prompt"
        end = i + WINDOW
        while end < len(words) and tuple(words[end - WINDOW + 1 : end + 1]) in secret:
            end += 1
        run = words[i:end]
        quote = " ".join(run[:10]) + (" …" if len(run) > 10 else "")
        problems.append(f"repeats {len(run)} words of {source}: “{quote}”")
        i = end
    return problems


@functools.lru_cache(maxsize=32)
def _internal_figures(public: str, internal: tuple[str, ...]) -> frozenset[Decimal]:
    figures = {a.value for section in internal for a in scan(section)}
    return frozenset(figures - numbers(public))


@functools.lru_cache(maxsize=32)
def _notes(public: str, internal: tuple[str, ...]) -> tuple[frozenset[str], ...]:
    """The distinctive words of each internal note: not in the public knowledge, not short,
    not a function word, not a number."""
    vocabulary = set(_words(public)) | _STOPWORDS
    notes = []
    for section in internal:
        for note in _NOTE_END.split(section):
            words = {
                w for w in _words(note) if len(w) >= 4 and not w.isdigit() and w not in vocabulary
            }
            if len(words) >= NOTE_HITS:
                notes.append(frozenset(words))
    return tuple(notes)


def _paraphrases(text: str, public: str, internal: tuple[str, ...]) -> list[str]:
    problems = []
    for bubble in _BLANK_LINES.split(text):
        words = set(_words(bubble))
        for note in _notes(public, internal):
            hits = note & words
            if len(hits) >= NOTE_HITS and len(hits) >= NOTE_SHARE * len(note):
                shown = ", ".join(sorted(hits))
                problems.append(f"echoes an internal note ({shown})")
    return problems
