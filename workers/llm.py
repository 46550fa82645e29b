"""The one small interface Claude sits behind: what a reply job asks for and gets back.

Jobs depend on ``Composer`` only. ``workers.claude.ClaudeComposer`` is the real adapter;
tests use ``tests.composer.FakeComposer``, which replays a script and records every prompt.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeGuard, get_args

from integration.errors import IntegrationError

Role = Literal["user", "assistant"]
CacheTTL = Literal["5m", "1h"]
HandoffReason = Literal["asks_for_human", "upset", "ready_to_pay", "missing_knowledge"]
HANDOFF_REASONS: tuple[str, ...] = get_args(HandoffReason)
MAX_BUBBLES = 4

# Only what Anthropic's structured outputs accept: minItems of 0 or 1 and no maxItems, so
# the bubble cap is stated in the description and enforced by ``parse_reply``. It is also a
# fixed point of the SDK's ``transform_schema`` (checked in tests), so nothing is rewritten.
REPLY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "bubbles": {
            "type": "array",
            "description": "The reply as 1 to 4 short chat bubbles, the way a person types.",
            "items": {"type": "string"},
            "minItems": 1,
        },
        "handoff": {
            "description": "Set when a person on our team should take over, else null.",
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "reason": {"enum": list(HANDOFF_REASONS)},
                        "note": {"type": "string", "description": "One short line for the rep."},
                    },
                    "required": ["reason", "note"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ],
        },
        "answered_questions": {
            "type": "array",
            "description": "The customer's questions this reply answers, in their words.",
            "items": {"type": "string"},
        },
        "do_not_contact": {
            "type": "boolean",
            "description": "True when the customer asked not to be contacted again.",
        },
    },
    "required": ["bubbles", "handoff", "answered_questions", "do_not_contact"],
    "additionalProperties": False,
}


class ComposerError(IntegrationError):
    """Composing a reply failed.

    Transient: timeouts, overload, rate limits. Permanent: a rejected request, a refusal, a
    reply cut short, an empty reply. ``usage`` is set when Claude answered but the answer
    can't be used: Anthropic bills those tokens all the same, so the spend must count them.
    """

    def __init__(
        self,
        message: str,
        *,
        transient: bool,
        status: int | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(message, transient=transient, status=status)
        self.usage = usage


@dataclass(frozen=True)
class Turn:
    role: Role
    text: str


@dataclass(frozen=True)
class Prompt:
    """Everything one reply is composed from.

    ``history`` is oldest first, as stored; the adapter merges same-role neighbours.
    ``knowledge_version`` is not sent to Claude: it rides along so the caller can record
    which knowledge a reply was based on.
    """

    playbook: str
    knowledge: str
    knowledge_version: str
    history: Sequence[Turn]
    hint: str | None = None
    cache_ttl: CacheTTL = "1h"
    # Set for a follow-up to a dormant lead: what to write, after the cached prefix like a
    # hint (``workers.playbook.follow_up_text``).
    follow_up: str | None = None


@dataclass(frozen=True)
class Usage:
    """Tokens and timing of one API call. Cache writes are split because their prices differ.

    ``output_tokens`` is everything generated, thinking included: the total Anthropic bills
    at the output price. ``thinking_tokens`` is the part of it spent thinking, for
    observability only; pricing it as well would count it twice.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    thinking_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    model: str = ""
    latency_ms: int = 0
    request_id: str | None = None


@dataclass(frozen=True)
class Handoff:
    reason: HandoffReason
    note: str


@dataclass(frozen=True)
class Reply:
    """1 to 4 non-empty bubbles and what the model decided. ``structured`` is False when the
    text was not the expected JSON and was split into bubbles instead."""

    bubbles: list[str]
    handoff: Handoff | None = None
    answered_questions: list[str] = field(default_factory=list)
    do_not_contact: bool = False
    structured: bool = True
    usage: Usage = Usage()


class Composer(Protocol):
    def compose(self, prompt: Prompt) -> Reply:
        """Compose the next reply, or raise ComposerError."""
        ...


def parse_reply(text: str, usage: Usage) -> Reply:
    """The model's text as a Reply.

    Text that is (or contains) one JSON object of the REPLY_SCHEMA shape gives a structured
    reply; any text around that object is commentary and is dropped. Anything else is split
    into bubbles on blank lines, with paragraphs past the fourth merged into the fourth, so
    no customer-facing text is lost.

    Raises ComposerError(transient=False, usage=usage) when there is no text at all: a Reply
    always has a bubble to post, and an empty answer is better handed to a person than sent.
    """
    found = _structured(text)
    if found is not None:
        bubbles, handoff, answered, do_not_contact = found
        return Reply(_cap(bubbles), handoff, answered, do_not_contact, True, usage)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    if not paragraphs:
        raise ComposerError("Claude returned an empty reply", transient=False, usage=usage)
    return Reply(_cap(paragraphs), structured=False, usage=usage)


def _cap(bubbles: list[str]) -> list[str]:
    if len(bubbles) <= MAX_BUBBLES:
        return bubbles
    return [*bubbles[: MAX_BUBBLES - 1], "\n\n".join(bubbles[MAX_BUBBLES - 1 :])]


def _structured(text: str) -> tuple[list[str], Handoff | None, list[str], bool] | None:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            data, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        found = _from_json(data)
        if found is not None:
            return found
    return None


def _from_json(data: object) -> tuple[list[str], Handoff | None, list[str], bool] | None:
    if not isinstance(data, dict):
        return None
    bubbles = data.get("bubbles")
    answered = data.get("answered_questions")
    do_not_contact = data.get("do_not_contact")
    raw_handoff = data.get("handoff", ...)
    if not (_strings(bubbles) and _strings(answered) and isinstance(do_not_contact, bool)):
        return None
    bubbles = [b.strip() for b in bubbles if b.strip()]
    if not bubbles:
        return None
    if raw_handoff is None:
        handoff = None
    elif (
        isinstance(raw_handoff, dict)
        and raw_handoff.get("reason") in HANDOFF_REASONS
        and isinstance(raw_handoff.get("note"), str)
    ):
        handoff = Handoff(raw_handoff["reason"], raw_handoff["note"])
    else:
        return None
    return bubbles, handoff, list(answered), do_not_contact


def _strings(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)
