"""The private notes reps read: drafts, refusals and hand-offs (pure formatting)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol
from urllib.parse import quote

from core.config import InboxConfig
from core.models import Conversation
from workers.commands import help_text
from workers.text import join_bubbles


class HasContent(Protocol):
    content: str | None


HANDOFF_LABELS = {
    "asks_for_human": "the customer asks for a person",
    "upset": "the customer seems upset",
    "ready_to_pay": "the customer looks ready to buy",
    "missing_knowledge": "the knowledge doesn't cover the question",
}


# Chatwoot's MentionService notifies anyone named as (mention://user|team/<id>/<name>) in a
# private note; its pattern is case-sensitive, ours is not, to be safe.
_MENTION_SCHEME = re.compile(r"mention://", re.IGNORECASE)


def defang(text: str) -> str:
    """Text from a customer, the model or a message, made safe to put in a private note.

    Mention syntax in it is defanged (``mention[:]//``), so it can't page anyone: only
    ``mention()`` below, which Wingman writes itself, notifies a user.
    """
    return _MENTION_SCHEME.sub("mention[:]//", text)


def mention(user_id: int, name: str) -> str:
    """Chatwoot's mention syntax; it notifies the user (a push on their phone).

    Chatwoot's MentionService matches ``(mention://user/<id>/<name>)`` in private notes.
    """
    return f"[@{name}](mention://user/{user_id}/{quote(name, safe='')})"


def draft_note(
    draft_id: int,
    bubbles: list[str],
    *,
    mention_of: str | None,
    handoff_reason: str | None = None,
    handoff_note: str | None = None,
    warnings: str = "",
    follow_up: str | None = None,
    template: bool = False,
) -> str:
    """The note a rep approves a draft from. ``follow_up`` names a follow-up's step ("step
    2 of 3"); a ``template`` goes out as approved, so it offers no edit or retry."""
    kind = f"🔁 Follow-up D{draft_id} ({follow_up})" if follow_up else f"💬 Draft D{draft_id}"
    lines = [kind + (f" for {mention_of}" if mention_of else "")]
    lines += ["", defang(join_bubbles(bubbles)), ""]
    if template:
        lines.append(
            f"Approve: /send (an approved template goes out as it is) · discard: /skip"
            f" (or name it: /send D{draft_id})"
        )
        return "\n".join(lines)
    if warnings:
        lines += ["Failed checks (this would not go out on autopilot):", defang(warnings), ""]
    if handoff_reason:
        label = HANDOFF_LABELS.get(handoff_reason, handoff_reason)
        suffix = f": {defang(handoff_note)}" if handoff_note else ""
        lines.append(f"⚠️ Suggests a handoff: {label}{suffix}")
    lines.append(
        f"Approve: /send · your own text: /send <text> · discard: /skip · retry: /redo <hint>"
        f" (or name it: /send D{draft_id})"
    )
    return "\n".join(lines)


def refusal(message: str, *, current: int | None) -> str:
    pointer = f" The current draft is D{current}." if current else " There is no pending draft."
    return f"↩️ {message}{pointer}"


def unknown_command(name: str) -> str:
    return f"↩️ Unknown command /{name}. {help_text()}"


def handoff_note(why: str, wants: str | None, waiting: Sequence[HasContent]) -> str:
    """The reason, and two lines on what the customer wants, for whoever picks it up."""
    last = next((defang(m.content) for m in reversed(waiting) if m.content), None)
    excerpt = (last[:157] + "…") if last and len(last) > 160 else last
    wants = defang(wants) if wants else None
    lines = [f"🤝 Handed to the team: {why}."]
    lines.append(f"What the customer wants: {wants or excerpt or 'see the conversation'}")
    if wants and excerpt:
        lines.append(f"Their last message: {excerpt}")
    return "\n".join(lines)


def undelivered_note(*, draft_id: int | None, error: str, text: str) -> str:
    """A reply the customer never got, for whoever picks the conversation up."""
    what = f"D{draft_id}'s reply" if draft_id else "this reply"
    return (
        f"⚠️ The customer did not get {what}: {defang(error)}. Handed to the team: please "
        "answer them yourself (on WhatsApp, outside the 24-hour window only an approved "
        f"template reaches them).\n\n{defang(text)}"
    )


def unposted_draft_note(*, draft_id: int | None, error: str) -> str:
    """A draft no rep could see, because Chatwoot refused its note."""
    return (
        f"⚠️ Wingman wrote draft D{draft_id} but Chatwoot refused to show it "
        f"({defang(error)}). Handed to the team: please answer the customer yourself."
    )


def mention_for(conversation: Conversation, inbox: InboxConfig) -> str | None:
    """Whom the draft note notifies: the assignee, else the inbox's on-duty agent."""
    if conversation.assignee_type == "User" and conversation.assignee_id:
        name = conversation.assignee_name or f"agent {conversation.assignee_id}"
        return mention(conversation.assignee_id, name)
    if inbox.on_duty_agent is not None:
        return mention(inbox.on_duty_agent.id, inbox.on_duty_agent.name)
    return None
