"""Turn the messages Wingman stored into the conversation the model reads.

A bot token can't list messages, so history comes from what the webhook stored. Images and
voice notes arrive with ``content: null``; the model is always told what arrived, never
nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from workers.llm import Role, Turn

# Enough context for a sales chat; older turns cost tokens and rarely change the answer.
MAX_MESSAGES = 60

_NOUNS = {
    "image": ("photo", "photos"),
    "audio": ("voice note", "voice notes"),
    "video": ("video", "videos"),
    "file": ("file", "files"),
    "location": ("location", "locations"),
    "contact": ("contact card", "contact cards"),
    "story_mention": ("story mention", "story mentions"),
    "ig_story": ("story", "stories"),
    "ig_reel": ("reel", "reels"),
    "ig_post": ("post", "posts"),
    "share": ("shared post", "shared posts"),
}


class StoredMessage(Protocol):
    """The fields of ``core.models.Message`` this module reads."""

    message_type: str
    sender_kind: str
    private: bool
    deleted: bool
    content: str | None
    attachments: list[dict[str, Any]]


def turns(messages: Sequence[StoredMessage], *, limit: int = MAX_MESSAGES) -> list[Turn]:
    """The public conversation as user/assistant turns, oldest first (input in that order).

    Private notes (drafts, commands) and activity messages are not part of what the
    customer saw, so they are left out. Consecutive messages of one side are kept as
    separate turns; the adapter merges them.
    """
    result: list[Turn] = []
    for message in messages[-limit:]:
        role = _role(message)
        if role is None:
            continue
        text = message_text(message)
        if text:
            result.append(Turn(role, text))
    # The Messages API wants a user turn first; an opening greeting becomes context.
    if result and result[0].role == "assistant":
        result[0] = Turn("user", f"[Before the customer wrote, we had said: {result[0].text}]")
    return result


def message_text(message: StoredMessage) -> str:
    """The message's text, with what was attached said in words."""
    if message.deleted:
        return "[The customer deleted this message]" if message.sender_kind == "customer" else ""
    parts = [describe_attachments(message.attachments, customer=message.sender_kind == "customer")]
    if message.content and message.content.strip():
        parts.append(message.content.strip())
    text = "\n".join(p for p in parts if p)
    if not text and message.sender_kind == "customer":
        return "[The customer sent a message with no text]"
    return text


def describe_attachments(attachments: Sequence[dict[str, Any]], *, customer: bool) -> str:
    """E.g. "[The customer sent 2 photos and a voice note: "Do you ship to Canada?"]"."""
    if not attachments:
        return ""
    counts: dict[str, int] = {}
    transcripts: list[str] = []
    for attachment in attachments:
        kind = str(attachment.get("file_type") or "file")
        counts[kind] = counts.get(kind, 0) + 1
        transcript = attachment.get("transcribed_text")
        if kind == "audio" and isinstance(transcript, str) and transcript.strip():
            transcripts.append(transcript.strip())
    items = []
    for kind, count in counts.items():
        singular, plural = _NOUNS.get(kind, ("attachment", "attachments"))
        items.append(f"a {singular}" if count == 1 else f"{count} {plural}")
    who = "The customer sent" if customer else "We sent"
    text = f"[{who} {_join(items)}"
    if transcripts:
        text += ". Transcript: " + " / ".join(f'"{t}"' for t in transcripts)
    elif "audio" in counts and customer:
        text += " (no transcript yet)"
    return text + "]"


def _role(message: StoredMessage) -> Role | None:
    if message.private or message.message_type == "activity":
        return None
    if message.sender_kind == "customer":
        return "user"
    if message.sender_kind in ("bot", "human") or message.message_type == "template":
        return "assistant"
    return None


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# How much of a returning customer's earlier conversations the model sees.
EARLIER_MESSAGES = 20


def earlier_context(messages: Sequence[StoredMessage]) -> Turn | None:
    """A returning customer's earlier conversations (imported or live), as one context turn.

    Only the public exchange, newest last; the model is told it is past context, so it
    doesn't answer old questions again.
    """
    lines = []
    for message in messages[-EARLIER_MESSAGES:]:
        role = _role(message)
        text = message_text(message)
        if role is None or not text:
            continue
        lines.append(("Customer: " if role == "user" else "Us: ") + text)
    if not lines:
        return None
    return Turn(
        "user",
        "[Earlier conversations with this customer, for context only; don't answer them again]\n"
        + "\n".join(lines),
    )
