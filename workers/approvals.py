"""What a rep's command in a private note does: /send, /send <text>, /skip, /redo,
/handoff, /bot, /optout."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, select

from core.db import session_scope
from core.models import Conversation, Draft
from core.opt_outs import opt_out
from workers import (
    drafts,
    follow_up_decisions,
    follow_ups,
    handoffs,
    notes,
    notify,
    outbox,
    takeover,
)
from workers.commands import Command
from workers.context import WorkerContext
from workers.outgoing import post
from workers.text import join_bubbles, normalised_distance, split_bubbles

log = logging.getLogger(__name__)

_WHY_NOT = {
    "replaced": "D{id} was replaced by a newer draft.",
    "sent": "D{id} was already sent.",
    "edited": "D{id} was already sent (edited).",
    "skipped": "D{id} was skipped.",
    "superseded": "D{id} was superseded by a reply from the team.",
    "discarded": "D{id} was dropped.",
    "expired": "D{id} expired: its messaging window closed.",
    "failed": "D{id} could not be written.",
}


def handle(
    conversation_id: int,
    command: Command,
    *,
    message_id: int,
    user_id: int | None,
    deps: WorkerContext,
    redo: Callable[[int, str], None],
) -> None:
    """Carry out one command. Idempotent: running it twice changes nothing more.

    ``message_id`` (the note's Chatwoot id) keys every note this writes, so a repeated run
    posts nothing twice. ``redo`` enqueues a fresh draft with the rep's hint.
    """
    handed_off = False
    with session_scope(deps.engine) as session:
        if not command.known:
            _note(session, conversation_id, message_id, notes.unknown_command(command.name), deps)
        elif command.name == "bot":
            _bot(session, conversation_id, command, message_id=message_id, deps=deps)
        elif command.name == "optout":
            _optout(session, conversation_id, message_id=message_id, user_id=user_id, deps=deps)
        elif command.name == "handoff":
            _handoff(session, conversation_id, message_id=message_id, user_id=user_id, deps=deps)
            handed_off = True
        elif command.name == "redo":
            # Without a draft id, /redo asks for a fresh draft whether or not one is pending.
            _, refusal = _target(session, conversation_id, command)
            if command.draft_ref is not None and refusal is not None:
                _note(session, conversation_id, message_id, refusal, deps)
            else:
                redo(conversation_id, command.text)
        else:
            target, refusal = _target(session, conversation_id, command)
            if refusal is not None:
                _note(session, conversation_id, message_id, refusal, deps)
            elif target is not None and command.name == "send":
                template = follow_up_decisions.template_of(session, target)
                closed = None if template else _window_closed(session, conversation_id, deps)
                if template and command.text:
                    refusal = notes.refusal(
                        f"D{target.id} is an approved WhatsApp template: it goes out as it is. "
                        "Reply /send, or /skip it and write your own message.",
                        current=target.id,
                    )
                    _note(session, conversation_id, message_id, refusal, deps)
                elif template:
                    _send_template(session, target, template, user_id=user_id, deps=deps)
                elif closed is None:
                    _send(session, target, command, user_id=user_id, deps=deps)
                else:
                    drafts.retire(session, target, "expired", now=deps.now())
                    follow_up_decisions.decided(session, target, "expired", now=deps.now())
                    refusal = notes.refusal(f"D{target.id} expired: {closed}.", current=None)
                    _note(session, conversation_id, message_id, refusal, deps)
            elif target is not None and command.name == "skip":
                drafts.retire(session, target, "skipped", now=deps.now())
                target.decided_by = user_id
                follow_up_decisions.decided(session, target, "skipped", now=deps.now())
    if handed_off:  # after the commit: a notice never reports a rolled-back handoff
        body = notify.notice(
            "handoff", at=deps.now(), conversation=conversation_id, reason="rep_command"
        )
        deps.notify(body)
    post(conversation_id, deps)


def _bot(
    session: Session,
    conversation_id: int,
    command: Command,
    *,
    message_id: int,
    deps: WorkerContext,
) -> None:
    switch = command.text.lower()
    if switch == "off":
        takeover.mute(
            session,
            conversation_id,
            reason="rep_command",
            key=f"bot-off:{message_id}",
            now=deps.now(),
        )
    elif switch == "on":
        takeover.unmute(session, conversation_id, key=f"bot-on:{message_id}", now=deps.now())
    else:
        usage = f"↩️ /bot takes on or off, not {command.text!r}." if command.text else None
        _note(session, conversation_id, message_id, usage or "↩️ /bot on or /bot off?", deps)


def _optout(
    session: Session,
    conversation_id: int,
    *,
    message_id: int,
    user_id: int | None,
    deps: WorkerContext,
) -> None:
    """A rep records the contact's opt-out: no follow-up goes to them again."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or conversation.contact_id is None:
        _note(session, conversation_id, message_id, "↩️ This conversation has no contact.", deps)
        return
    new = opt_out(
        session,
        conversation.contact_id,
        source="rep",
        conversation_id=conversation_id,
        actor=str(user_id) if user_id is not None else None,
        now=deps.now(),
    )
    follow_ups.cancel_for_contact(
        session,
        conversation.contact_id,
        reason="opted_out: a rep opted the contact out",
        now=deps.now(),
    )
    text = (
        "✅ Opted out: Wingman will send this contact no follow-up, ever."
        if new
        else "✅ This contact had already opted out: no follow-up goes to them."
    )
    _note(session, conversation_id, message_id, text, deps)


def _handoff(
    session: Session,
    conversation_id: int,
    *,
    message_id: int,
    user_id: int | None,
    deps: WorkerContext,
) -> None:
    """The rep decides the bot's suggested handoff (or their own): hand to the team now."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return
    pending = drafts.pending_draft(session, conversation_id, lock=True)
    wants = pending.handoff_note if pending and pending.handoff_note else None
    if pending is not None:
        drafts.retire(session, pending, "discarded", now=deps.now())
    waiting = drafts.waiting_messages(session, conversation_id)
    handoffs.hand_off(
        session,
        conversation_id,
        reason="rep_command",
        key=f"handoff:{message_id}",
        now=deps.now(),
        inbox=deps.config.inbox(conversation.inbox_id or 0),
        note=notes.handoff_note("a rep handed this conversation to the team", wants, waiting),
        draft_id=pending.id if pending else None,
        actor=user_id,
    )


def _window_closed(session: Session, conversation_id: int, deps: WorkerContext) -> str | None:
    """Why a free-form message can't go out now, or None if it can."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        return None
    result = drafts.conversation_window(session, conversation, deps.now())
    return None if result.open else result.reason


def _target(
    session: Session, conversation_id: int, command: Command
) -> tuple[Draft | None, str | None]:
    """The draft a command means, or why it can't act on it."""
    current = drafts.pending_draft(session, conversation_id, lock=True)
    if command.draft_ref is None:
        if current is None:
            return None, notes.refusal("There is no draft waiting.", current=None)
        return current, None
    named = None
    if command.draft_id is not None:  # else the number is out of any draft's range
        named = session.exec(
            select(Draft)
            .where(Draft.id == command.draft_id, Draft.conversation_id == conversation_id)
            .with_for_update()
        ).first()
    current_id = current.id if current else None
    if named is None:
        return None, notes.refusal(f"{command.draft_ref} is not a draft here.", current=current_id)
    if named.state != "pending":
        reason = _WHY_NOT.get(named.state, "D{id} can't be used.").format(id=named.id)
        return None, notes.refusal(reason, current=current_id)
    return named, None


def _send(
    session: Session, draft: Draft, command: Command, *, user_id: int | None, deps: WorkerContext
) -> None:
    assert draft.id is not None
    bubbles = split_bubbles(command.text) if command.text else list(draft.bubbles)
    distance = normalised_distance(join_bubbles(draft.bubbles), join_bubbles(bubbles))
    now = deps.now()
    drafts.retire(session, draft, "edited" if distance > 0 else "sent", now=now)
    draft.decided_by = user_id
    draft.sent_text = join_bubbles(bubbles)
    draft.edit_distance = distance
    for position, bubble in enumerate(bubbles):
        outbox.add(
            session,
            key=f"draft:{draft.id}:bubble:{position}",
            conversation_id=draft.conversation_id,
            draft_id=draft.id,
            content=bubble,
            private=False,
            position=position,
            now=now,
        )
    follow_up_decisions.decided(session, draft, "sent", now=now)
    log.info("D%s approved by user %s (edit distance %.2f)", draft.id, user_id, distance)


def _send_template(
    session: Session,
    draft: Draft,
    template: dict[str, Any],
    *,
    user_id: int | None,
    deps: WorkerContext,
) -> None:
    """An approved WhatsApp template, as the follow-up wrote it: no window holds it back."""
    assert draft.id is not None
    now = deps.now()
    drafts.retire(session, draft, "sent", now=now)
    draft.decided_by, draft.sent_text, draft.edit_distance = user_id, draft.bubbles[0], 0.0
    outbox.add(
        session,
        key=f"draft:{draft.id}:bubble:0",
        conversation_id=draft.conversation_id,
        draft_id=draft.id,
        content=draft.bubbles[0],
        private=False,
        action="template",
        template_params=template,
        now=now,
    )
    follow_up_decisions.decided(session, draft, "sent", now=now)
    log.info("D%s (a template) approved by user %s", draft.id, user_id)


def _note(
    session: Session, conversation_id: int, message_id: int, text: str, deps: WorkerContext
) -> None:
    outbox.add(
        session,
        key=f"reply-to:{message_id}",
        conversation_id=conversation_id,
        content=text,
        now=deps.now(),
    )
