"""What customers do to the Chatwoot stand-in's account (the test controls): start a
conversation and write in it. Reps write through ``AccountChanges.post``, as in Chatwoot.
"""

from __future__ import annotations

import uuid
from typing import Any

from standins.chatwoot_changes import AccountChanges, Change
from standins.chatwoot_records import (
    INCOMING,
    Contact,
    Conversation,
    Message,
    Person,
    StandinError,
)


class CustomerChanges(AccountChanges):
    """The customers' side of ``standins.chatwoot_state.Account``."""

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

    # --- pieces -------------------------------------------------------------------------

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
