"""Whether a customer's message asks not to be contacted again, in the inbox's languages
(pure).

This runs on every customer message, so an opt-out is caught where no Claude call happens
(the bot muted, a human assigned, Claude down); Claude's ``do_not_contact`` catches the
rest. Two kinds of phrase, per language:

- **whole**: the message is only this, give or take punctuation, emoji and a "please" or
  "thanks" ("Stop!", "no thanks 🙏"). "No thanks, but is the blue one in stock?" is a
  question, not an opt-out, so these never match inside a longer message.
- **anywhere**: phrases nobody uses except to opt out ("unsubscribe", "stop messaging me").

English is always checked: it is what customers fall back on, and "STOP" is the keyword
carriers and Meta teach. A missed opt-out costs a customer's trust; a false one costs only
follow-ups to one contact, so the lists lean towards catching.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

WHOLE: dict[str, tuple[str, ...]] = {
    "en": (
        "stop",
        "stop it",
        "no thanks",
        "no thank you",
        "no thx",
        "unsubscribe",
        "opt out",
        "not interested",
        "leave me alone",
        "remove me",
    ),
    "de": ("stop", "stopp", "nein danke", "abmelden", "kein interesse", "abbestellen"),
    "es": ("stop", "basta", "no gracias", "baja", "no me interesa"),
    "fr": ("stop", "non merci", "arrêtez", "arrete", "pas intéressé", "pas intéressée"),
    "pt": ("stop", "pare", "parar", "não obrigado", "não obrigada", "sair", "não tenho interesse"),
    "it": ("stop", "basta", "no grazie", "non mi interessa"),
    "nl": ("stop", "nee dank je", "nee bedankt", "afmelden", "geen interesse"),
}
ANYWHERE: dict[str, tuple[str, ...]] = {
    "en": (
        "unsubscribe",
        "stop messaging",
        "stop texting",
        "stop writing to me",
        "stop contacting",
        "stop sending",
        "dont contact me",
        "do not contact me",
        "dont message me",
        "do not message me",
        "dont text me",
        "do not text me",
        "remove me from",
        "opt me out",
        "no more messages",
    ),
    "de": (
        "nicht mehr kontaktieren",
        "nicht mehr schreiben",
        "keine nachrichten mehr",
        "lassen sie mich in ruhe",
        "lass mich in ruhe",
        "abmelden",
        "abbestellen",
    ),
    "es": (
        "no me escribas",
        "no me escriban",
        "no me contactes",
        "no me contacten",
        "deja de escribir",
        "dejen de escribir",
        "darme de baja",
        "dame de baja",
        "no quiero mas mensajes",
    ),
    "fr": (
        "ne me contactez plus",
        "ne m ecrivez plus",
        "arretez de m ecrire",
        "desabonner",
        "desinscrire",
        "plus de messages",
    ),
    "pt": (
        "nao me mande",
        "nao me mandem",
        "nao me contate",
        "nao me contatem",
        "pare de mandar",
        "parem de mandar",
        "descadastrar",
        "cancelar inscricao",
    ),
    "it": (
        "non contattatemi",
        "non scrivetemi",
        "smettete di scrivere",
        "smetti di scrivere",
        "disiscrivimi",
        "cancellami",
    ),
    "nl": (
        "niet meer contacteren",
        "stop met sturen",
        "geen berichten meer",
        "afmelden",
        "uitschrijven",
    ),
}
# Politeness around a whole-message phrase: "stop please", "no thanks, bye".
_FILLERS = (
    "please",
    "pls",
    "thanks",
    "thank you",
    "bye",
    "bitte",
    "danke",
    "por favor",
    "gracias",
    "merci",
    "obrigado",
    "obrigada",
    "grazie",
    "alsjeblieft",
    "ok",
)


def normalise(text: str) -> str:
    """Casefolded words without accents, punctuation or emoji, one space apart; an
    apostrophe joins nothing ("don't" becomes "dont", "m'écrire" becomes "m ecrire")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = re.sub(r"(?<=\w)['’](?=t\b)", "", plain)  # English n't: don't -> dont
    return " ".join(re.findall(r"\w+", plain))


def languages(locales: Iterable[str]) -> tuple[str, ...]:
    """The languages to check for these locales ("de-DE" -> "de"), English always first."""
    found = ["en"]
    for locale in locales:
        language = locale.split("-")[0].lower()
        if language in WHOLE and language not in found:
            found.append(language)
    return tuple(found)


def opt_out_phrase(text: str | None, locales: Iterable[str] = ()) -> str | None:
    """The phrase by which ``text`` asks not to be contacted again, or None."""
    if not text:
        return None
    words = normalise(text)
    if not words:
        return None
    variants = _without_fillers(words)
    for language in languages(locales):
        for phrase in WHOLE.get(language, ()):
            if normalise(phrase) in variants:
                return phrase
        for phrase in ANYWHERE.get(language, ()):
            if re.search(rf"\b{re.escape(normalise(phrase))}\b", words):
                return phrase
    return None


def _without_fillers(words: str) -> set[str]:
    """``words``, and every version of it with politeness taken off either end."""
    fillers = [normalise(f) for f in _FILLERS]
    seen, todo = {words}, [words]
    while todo:
        current = todo.pop()
        for filler in fillers:
            for pattern in (rf"^{re.escape(filler)}\b\s*", rf"\s*\b{re.escape(filler)}$"):
                stripped = re.sub(pattern, "", current)
                if stripped and stripped not in seen:
                    seen.add(stripped)
                    todo.append(stripped)
    return seen
