"""The Chatwoot stand-in's account, in memory: conversations, messages and what changes them.

Each change returns the events Chatwoot would deliver to the agent bot for it; rendering
them (``standins.chatwoot_shapes``) and sending them (``standins.chatwoot_webhooks``) is
done elsewhere. Callers hold ``Account.lock`` around a change and the rendering of its
events, so each payload shows the state right after the change, as Chatwoot builds its
payload in the model's ``after_commit``.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STATUSES = ("open", "pending", "resolved", "snoozed")
INCOMING, OUTGOING, ACTIVITY, TEMPLATE = 0, 1, 2, 3
PAGE_SIZE = 25  # CONVERSATION_RESULTS_PER_PAGE
LATEST, BEFORE, AFTER, BETWEEN = 20, 20, 100, 1000  # app/finders/message_finder.rb
# app/services/messages/mention_service.rb; mentions only count in private notes.
MENTION = re.compile(r"\(mention://user/(\d+)/(.+?)\)")


class StandinError(Exception):
    """A request Chatwoot would refuse; ``status`` is the HTTP status it would answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Person:
    """A user (agent), the agent bot, or a team: an id and a display name."""

    id: int
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Inbox:
    """An inbox and its channel. ``window`` is the channel's messaging window in hours
    (Conversations::MessageWindowService, CONTRACT-NEXT §1), None where there is none."""

    id: int
    name: str
    channel: str
    window: float | None = None
    # How the channel names a contact (contact_inbox.source_id): Twilio's WhatsApp
    # contacts are "whatsapp:+E164", which is the only sign of the medium in a webhook.
    source_prefix: str = ""


# The stand-in's inboxes: the web widget the examples use, and one per windowed channel.
INBOXES = (
    Inbox(12, "Website Support", "Channel::WebWidget"),
    Inbox(13, "WhatsApp Sales", "Channel::Whatsapp", window=24),
    Inbox(14, "Instagram DMs", "Channel::Instagram", window=24),
    Inbox(15, "Twilio WhatsApp", "Channel::TwilioSms", window=24, source_prefix="whatsapp:+"),
    Inbox(16, "TikTok", "Channel::Tiktok", window=48),
    # An API inbox whose admin set agent_reply_time_window: only can_reply shows it.
    Inbox(17, "Shop API", "Channel::Api", window=12),
    # A channel newer than Wingman (it must fail closed).
    Inbox(18, "Voice", "Channel::Voice"),
)


@dataclass
class Contact:
    id: int
    name: str
    email: str | None
    contact_inbox_id: int
    source_id: str  # a UUID for the web widget
    created_at: float


@dataclass
class Message:
    id: int
    conversation_id: int  # the display id
    message_type: int
    content: str | None
    private: bool
    sender_type: str | None  # "Contact" | "User" | "AgentBot", Rails class names
    sender_id: int | None
    created_at: float
    content_attributes: dict[str, Any] = field(default_factory=dict)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    status: str = "sent"


@dataclass
class Conversation:
    id: int  # the per-account display id every REST path uses
    inbox_id: int
    contact: Contact
    status: str
    created_at: float
    updated_at: float
    last_activity_at: float
    waiting_since: float | None
    messages: list[Message] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    custom_attributes: dict[str, Any] = field(default_factory=dict)
    assignee: tuple[str, int] | None = None  # ("User" | "AgentBot", id)
    team_id: int | None = None
    snoozed_until: float | None = None
    first_reply_created_at: float | None = None
    mentions: list[dict[str, Any]] = field(default_factory=list)

    def touch(self, now: float) -> None:
        # Wingman applies conversation state forward only, by updated_at: it must grow.
        self.updated_at = max(now, self.updated_at + 0.001)

    def last_non_activity(self) -> Message | None:
        for message in reversed(self.messages):
            if message.message_type != ACTIVITY:
                return message
        return None

    def last_public(self) -> Message | None:
        """What Chatwoot puts in ``conversation.messages[]``: never a note or an activity."""
        for message in reversed(self.messages):
            if not message.private and message.message_type != ACTIVITY:
                return message
        return None


@dataclass(frozen=True)
class Change:
    """One event for the agent bot. ``changed`` feeds ``conversation_updated`` only."""

    event: str
    conversation: Conversation
    message: Message | None = None
    changed: dict[str, tuple[Any, Any]] | None = None


class Account:
    """One Chatwoot account with a web-widget inbox (the default), a few windowed channels,
    and one agent bot."""

    def __init__(self, account_id: int, *, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.id = account_id
        self.name = "Acme Outdoor"
        self.inboxes = {inbox.id: inbox for inbox in INBOXES}
        self.inbox = self.inboxes[12]
        self.bot = Person(7, "Aria (AI)")
        self.clock = clock
        self.reset()

    def inbox_of(self, conversation: Conversation) -> Inbox:
        return self.inboxes[conversation.inbox_id]

    def can_reply(self, conversation: Conversation) -> bool:
        """Chatwoot's ``can_reply``: on a windowed channel, only while the customer's last
        incoming message in this conversation is younger than the window."""
        window = self.inbox_of(conversation).window
        if window is None:
            return True
        incoming = [m for m in conversation.messages if m.message_type == INCOMING]
        return bool(incoming) and self.clock() < incoming[-1].created_at + window * 3600

    def reset(self) -> None:
        with self.lock:
            self.conversations: dict[int, Conversation] = {}
            # The owner of the user token (an admin), and the rep the examples use.
            self.admin = Person(1, "Stand-in Admin", "admin@acme-outdoor.example")
            self.users = {
                1: self.admin,
                21: Person(21, "Daniel Ortiz", "daniel.ortiz@acme-outdoor.example"),
            }
            self.teams = {2: Person(2, "Sales")}
            # Just below the ids in tests/fixtures/chatwoot/events, so the first ones look familiar.
            self._ids = {
                "message": 918_272,
                "contact": 4_816,
                "contact_inbox": 5_119,
                "attachment": 55_300,
            }

    def next_id(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def conversation(self, display_id: int) -> Conversation:
        found = self.conversations.get(display_id)
        if found is None:
            raise StandinError(404, "Resource could not be found")
        return found

    def user(self, spec: dict[str, Any]) -> Person:
        """A user named by a control request ({id, name}); remembered for assignments."""
        user_id, name = spec.get("id"), spec.get("name")
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise StandinError(400, "a user needs a positive integer id")
        known = self.users.get(user_id)
        if known is None or (isinstance(name, str) and name and name != known.name):
            label = name if isinstance(name, str) and name else f"Agent {user_id}"
            email = spec.get("email") if isinstance(spec.get("email"), str) else None
            known = self.users[user_id] = Person(user_id, label, email)
        return known

    # --- what customers and reps do (test controls) -----------------------------------

    def open_conversation(
        self,
        display_id: int | None,
        *,
        contact: dict[str, Any],
        assignee: Person | None,
        now: float,
        inbox_id: int | None = None,
    ) -> Conversation:
        """A visitor starts a chat. Bot inboxes start conversations ``pending``."""
        if display_id is None:
            display_id = max(self.conversations, default=1422) + 1
        inbox = self.inboxes.get(inbox_id or self.inbox.id)
        if inbox is None:
            raise StandinError(404, f"no inbox {inbox_id}")
        contact_id = self.next_id("contact")
        source_id = (
            f"{inbox.source_prefix}1555{contact_id:07d}"
            if inbox.source_prefix or inbox.window
            else str(uuid.uuid4())
        )
        person = Contact(
            id=contact_id,
            name=str(contact.get("name") or "Maya Chen"),
            email=str(contact["email"]) if contact.get("email") else "maya.chen@example.com",
            contact_inbox_id=self.next_id("contact_inbox"),
            source_id=source_id,
            created_at=now,
        )
        conversation = Conversation(
            id=display_id,
            inbox_id=inbox.id,
            contact=person,
            status="pending",
            created_at=now,
            updated_at=now,
            last_activity_at=now,
            waiting_since=now,
            assignee=("User", assignee.id) if assignee else None,
        )
        self.conversations[display_id] = conversation
        return conversation

    def customer_says(
        self,
        conversation: Conversation,
        content: str | None,
        attachments: list[dict[str, Any]],
        *,
        now: float,
    ) -> tuple[Message, list[Change]]:
        message = self._add(
            conversation, INCOMING, content, False, ("Contact", conversation.contact.id), now
        )
        message.attachments = [self._attachment(message, spec) for spec in attachments]
        changes = [Change("message_created", conversation, message)]
        # Message#reopen_conversation: a bot inbox takes a resolved conversation back to
        # pending; a snoozed one opens.
        reopened = {"resolved": "pending", "snoozed": "open"}.get(conversation.status)
        if reopened:
            changes += self._status(conversation, reopened, by_bot=False, now=now)
        if conversation.waiting_since is None:
            conversation.waiting_since = now
            changes.append(self._updated(conversation, waiting_since=(None, int(now))))
        return message, changes

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

    # --- reads --------------------------------------------------------------------------

    def find_conversations(
        self, *, status: str, inbox_id: int | None, updated_within: float | None, now: float
    ) -> list[Conversation]:
        """Matching conversations, most recently active first (Chatwoot's default sort)."""
        found = [
            c
            for c in self.conversations.values()
            if (status == "all" or c.status == status)
            and (inbox_id is None or c.inbox_id == inbox_id)
            and (updated_within is None or c.updated_at >= now - updated_within)
        ]
        return sorted(found, key=lambda c: (c.last_activity_at, c.id), reverse=True)

    @staticmethod
    def page_of_messages(
        conversation: Conversation, *, before: int | None, after: int | None
    ) -> list[Message]:
        """Chatwoot's MessageFinder: ascending; latest 20, 20 before, 100 after, 1000 between."""
        messages = conversation.messages  # ids grow with time, as Chatwoot's do
        if before is not None and after is not None:
            return [m for m in messages if after < m.id < before][:BETWEEN]
        if before is not None:
            return [m for m in messages if m.id < before][-BEFORE:]
        if after is not None:
            return [m for m in messages if m.id > after][:AFTER]
        return messages[-LATEST:]

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

    def _attachment(self, message: Message, spec: dict[str, Any]) -> dict[str, Any]:
        file_type = str(spec.get("file_type") or "image")
        extension = str(
            spec.get("extension") or {"image": "jpg", "audio": "ogg"}.get(file_type, "bin")
        )
        url = f"https://support.acme-outdoor.example/rails/active_storage/blobs/{uuid.uuid4().hex}"
        attachment: dict[str, Any] = {
            "id": self.next_id("attachment"),
            "message_id": message.id,
            "file_type": file_type,
            "account_id": self.id,
            "extension": extension,
            "content_type": spec.get("content_type") or f"{file_type}/{extension}",
            "data_url": spec.get("data_url") or f"{url}/file.{extension}",
            "thumb_url": spec.get("thumb_url") or f"{url}/thumb.{extension}",
            "file_size": spec.get("file_size") or 123_456,
            "width": None,
            "height": None,
        }
        if file_type == "audio":
            attachment["transcribed_text"] = spec.get("transcribed_text", "")
        return attachment

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
