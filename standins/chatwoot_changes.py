"""What the REST API changes in the Chatwoot stand-in's account (what customers do is in
``standins.chatwoot_customers``).

Each change returns the events Chatwoot would deliver to the agent bot for it; rendering
them (``standins.chatwoot_webhook_bodies``) and sending them (``standins.chatwoot_webhooks``)
is done elsewhere. Callers hold ``Account.lock`` around a change and the rendering of its
events, so each payload shows the state right after the change, as Chatwoot builds its
payload in the model's ``after_commit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from standins.chatwoot_records import (
    OUTGOING,
    STATUSES,
    Conversation,
    Inbox,
    Message,
    Person,
    StandinError,
)

# app/services/messages/mention_service.rb; mentions only count in private notes.
MENTION = re.compile(r"\(mention://user/(\d+)/(.+?)\)")


@dataclass(frozen=True)
class Change:
    """One event for the agent bot. ``changed`` feeds ``conversation_updated`` only."""

    event: str
    conversation: Conversation
    message: Message | None = None
    changed: dict[str, tuple[Any, Any]] | None = None


class AccountChanges:
    """The REST API's changes, mixed into ``standins.chatwoot_state.Account``, which holds
    the attributes declared here."""

    id: int
    inboxes: dict[int, Inbox]
    inbox: Inbox
    users: dict[int, Person]
    conversations: dict[int, Conversation]
    _ids: dict[str, int]

    def next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    # --- what the REST API does ---------------------------------------------------------

    def post(
        self,
        conversation: Conversation,
        content: str | None,
        *,
        private: bool,
        sender: tuple[str, int] | None,
        content_attributes: dict[str, Any],
        now: float,
    ) -> tuple[Message, list[Change]]:
        """An outgoing message or private note by the bot or a user.

        ``sender`` None is a reply typed in the WhatsApp/Instagram phone app: Chatwoot
        stores the channel's echo with no sender and ``external_echo`` set.
        """
        if not content or not content.strip():
            raise StandinError(422, "Content can't be blank")
        message = self._add(conversation, OUTGOING, content, private, sender, now)
        message.content_attributes = dict(content_attributes)
        changes = [Change("message_created", conversation, message)]
        if private:
            for user_id, _ in MENTION.findall(content):
                user = self.users.get(int(user_id))
                if user is not None:
                    conversation.mentions.append(
                        {"user_id": user.id, "name": user.name, "message_id": message.id}
                    )
        else:
            # A reply clears waiting_since and stamps the first reply; both are noticed.
            changed: dict[str, tuple[Any, Any]] = {}
            if conversation.waiting_since is not None:
                changed["waiting_since"] = (int(conversation.waiting_since), None)
                conversation.waiting_since = None
            if conversation.first_reply_created_at is None:
                conversation.first_reply_created_at = now
                changed["first_reply_created_at"] = (None, now)
            if changed:
                changes.append(self._updated(conversation, **changed))
        return message, changes

    def set_status(
        self,
        conversation: Conversation,
        status: str | None,
        *,
        snoozed_until: float | None,
        by_bot: bool,
        now: float,
    ) -> list[Change]:
        if status is None:  # Chatwoot toggles without a status
            status = "resolved" if conversation.status == "open" else "open"
        if status not in STATUSES:
            raise StandinError(422, f"'{status}' is not a valid status")
        conversation.snoozed_until = snoozed_until if status == "snoozed" else None
        if status == conversation.status:
            return []
        return self._status(conversation, status, by_bot=by_bot, now=now)

    def set_labels(
        self, conversation: Conversation, labels: list[str], *, now: float
    ) -> list[Change]:
        """Chatwoot replaces the whole label set on POST."""
        wanted = list(dict.fromkeys(labels))
        if wanted == conversation.labels:
            return []
        before, conversation.labels = conversation.labels, wanted
        conversation.touch(now)
        return [self._updated(conversation, label_list=(before, wanted))]

    def set_custom_attributes(
        self, conversation: Conversation, attrs: dict[str, Any], *, now: float
    ) -> list[Change]:
        """Chatwoot replaces the whole hash on POST."""
        if attrs == conversation.custom_attributes:
            return []
        before, conversation.custom_attributes = conversation.custom_attributes, dict(attrs)
        conversation.touch(now)
        return [self._updated(conversation, custom_attributes=(before, dict(attrs)))]

    def assign(
        self, conversation: Conversation, assignee: tuple[str, int] | None, *, now: float
    ) -> list[Change]:
        if assignee == conversation.assignee:
            return []
        before, conversation.assignee = conversation.assignee, assignee
        conversation.touch(now)
        bot = any(a is not None and a[0] == "AgentBot" for a in (before, assignee))
        name = "assignee_agent_bot_id" if bot else "assignee_id"
        return [self._updated(conversation, **{name: (_id(before), _id(assignee))})]

    def set_team(
        self, conversation: Conversation, team_id: int | None, *, now: float
    ) -> list[Change]:
        if team_id == conversation.team_id:
            return []
        before, conversation.team_id = conversation.team_id, team_id
        conversation.touch(now)
        return [self._updated(conversation, team_id=(before, team_id))]

    def channel_failed(
        self, conversation: Conversation, message: Message, error: str, *, now: float
    ) -> list[Change]:
        """The channel refused a message Chatwoot had accepted (Meta outside the window, a
        Twilio error): Chatwoot marks it failed and says why in ``external_error``, a
        ``message_updated`` for the bot (CONTRACT-NEXT §2.4-2.5)."""
        message.status = "failed"
        message.content_attributes = {**message.content_attributes, "external_error": error}
        conversation.touch(now)
        return [Change("message_updated", conversation, message)]

    # --- pieces -------------------------------------------------------------------------

    def _add(
        self,
        conversation: Conversation,
        message_type: int,
        content: str | None,
        private: bool,
        sender: tuple[str, int] | None,
        now: float,
    ) -> Message:
        message = Message(
            id=self.next_id("message"),
            conversation_id=conversation.id,
            message_type=message_type,
            content=content,
            private=private,
            sender_type=sender[0] if sender else None,
            sender_id=sender[1] if sender else None,
            created_at=now,
        )
        conversation.messages.append(message)
        if not private:
            conversation.last_activity_at = now
        conversation.touch(now)
        return message

    def _status(
        self, conversation: Conversation, status: str, *, by_bot: bool, now: float
    ) -> list[Change]:
        before = conversation.status
        # Conversation#bot_handoff!: a bot opening a pending conversation starts the wait.
        if by_bot and before == "pending" and status == "open":
            conversation.waiting_since = conversation.waiting_since or now
        conversation.status = status
        conversation.touch(now)
        changes = [Change("conversation_status_changed", conversation)]
        if status in ("open", "resolved"):
            changes.append(
                Change(f"conversation_{'opened' if status == 'open' else 'resolved'}", conversation)
            )
        changes.append(self._updated(conversation, status=(before, status)))
        return changes

    @staticmethod
    def _updated(conversation: Conversation, **changed: tuple[Any, Any]) -> Change:
        return Change("conversation_updated", conversation, changed=changed)


def _id(assignee: tuple[str, int] | None) -> int | None:
    return assignee[1] if assignee else None
