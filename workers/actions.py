"""What a routed delivery asks Wingman to do: one action per kind, and their union."""

from __future__ import annotations

from dataclasses import dataclass

from workers import commands


@dataclass(frozen=True)
class Touch:
    """A customer message arrived: start or extend the conversation's quiet period."""

    conversation_id: int
    at: float


@dataclass(frozen=True)
class RunCommand:
    """A rep typed a command in a private note."""

    conversation_id: int
    command: commands.Command
    message_id: int
    user_id: int | None


@dataclass(frozen=True)
class HandOff:
    """Give the conversation to humans, for a fixed reason; ``key`` makes it happen once."""

    conversation_id: int
    reason: str
    key: str
    # The note's reason for the team; None hands over silently (autonomy off).
    why: str | None = None


@dataclass(frozen=True)
class HumanReplied:
    """A human answered the customer publicly (in Chatwoot or from the phone app)."""

    conversation_id: int
    message_id: int
    text: str
    user_id: int | None


@dataclass(frozen=True)
class OwnEcho:
    """Chatwoot echoed a message Wingman posted (``key`` is its outbox marker).

    ``channel_error`` is the channel's refusal of a message Chatwoot had accepted
    (``content_attributes.external_error`` on ``message_updated``, CONTRACT-NEXT §2.5).
    """

    conversation_id: int
    message_id: int
    key: str
    channel_error: str | None = None


Action = Touch | RunCommand | HandOff | HumanReplied | OwnEcho
