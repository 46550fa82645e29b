"""Whom the bot answers: one pure decision, used when a message arrives and again when
the draft is written (a rep may have taken over in between).

Chatwoot never checks the conversation's status before delivering to a bot (maintainers
confirmed in chatwoot#11429), so every gate is Wingman's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.autonomy_levels import Autonomy


@dataclass(frozen=True)
class Verdict:
    answer: bool
    reason: str


def may_answer(
    *,
    message_type: str,
    sender_kind: str,
    private: bool,
    status: str | None,
    autonomy: Autonomy,
    muted: bool,
) -> Verdict:
    """Answer only an incoming customer message, in a pending (bot-owned) conversation,
    in an inbox whose autonomy isn't off, where the bot isn't muted."""
    if private:
        return Verdict(False, "a private note")
    if message_type != "incoming" or sender_kind != "customer":
        return Verdict(False, f"not a customer message ({message_type}, {sender_kind})")
    return bot_may_act(status=status, autonomy=autonomy, muted=muted)


def bot_may_act(*, status: str | None, autonomy: Autonomy, muted: bool) -> Verdict:
    """The conversation's half of the rule, re-checked when the draft is written."""
    if status != "pending":
        return Verdict(False, f"the conversation is {status}, not pending")
    if autonomy is Autonomy.OFF:
        return Verdict(False, "autonomy is off in this inbox")
    if muted:
        return Verdict(False, "the bot is muted in this conversation")
    return Verdict(True, "an incoming customer message in a pending conversation")


def effective_autonomy(inbox: Autonomy, *, human_assignee: bool) -> Autonomy:
    """A human assignee caps autonomy at draft: the bot never speaks for them."""
    if human_assignee and inbox is Autonomy.AUTOPILOT:
        return Autonomy.DRAFT
    return inbox
