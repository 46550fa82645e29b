import pytest

from core.autonomy_levels import Autonomy
from workers.gate import effective_autonomy, may_answer

ANSWERABLE = {
    "message_type": "incoming",
    "sender_kind": "customer",
    "private": False,
    "status": "pending",
    "autonomy": Autonomy.DRAFT,
    "muted": False,
}


def test_an_incoming_customer_message_in_a_pending_conversation_is_answered() -> None:
    assert may_answer(**ANSWERABLE).answer  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"message_type": "outgoing", "sender_kind": "bot"}, "not a customer message"),
        ({"message_type": "template", "sender_kind": "system"}, "not a customer message"),
        ({"message_type": "activity", "sender_kind": "system"}, "not a customer message"),
        ({"message_type": "outgoing", "sender_kind": "human"}, "not a customer message"),
        ({"private": True, "message_type": "outgoing", "sender_kind": "human"}, "private"),
        ({"status": "open"}, "open, not pending"),
        ({"status": "snoozed"}, "snoozed, not pending"),
        ({"status": "resolved"}, "resolved, not pending"),
        ({"autonomy": Autonomy.OFF}, "autonomy is off"),
        ({"muted": True}, "muted"),
    ],
)
def test_never(change: dict[str, object], reason: str) -> None:
    verdict = may_answer(**{**ANSWERABLE, **change})  # type: ignore[arg-type]
    assert not verdict.answer
    assert reason in verdict.reason


@pytest.mark.parametrize(
    ("inbox", "human", "expected"),
    [
        (Autonomy.AUTOPILOT, True, Autonomy.DRAFT),
        (Autonomy.AUTOPILOT, False, Autonomy.AUTOPILOT),
        (Autonomy.DRAFT, True, Autonomy.DRAFT),
        (Autonomy.OFF, True, Autonomy.OFF),
    ],
)
def test_a_human_assignee_caps_autonomy_at_draft(
    inbox: Autonomy, human: bool, expected: Autonomy
) -> None:
    assert effective_autonomy(inbox, human_assignee=human) is expected
