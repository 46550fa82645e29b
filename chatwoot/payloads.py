"""The webhook bodies Wingman reads (CONTRACT.md §1.3-1.6), as pydantic shapes over the
validated values of ``chatwoot.values``; unknown keys are ignored."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from chatwoot.values import (
    Content,
    Flag,
    Id,
    JsonObject,
    JsonObjects,
    Labels,
    MessageType,
    OptionalFlag,
    OptionalId,
    Seconds,
    Shape,
    Text,
    Timestamp,
    WaitingSince,
    none_as_empty,
    short,
)

# Chatwoot's bodies nest about six levels. Python's json recurses once per level and fails
# near 1000, at a depth that depends on the caller's own stack: a cap makes a body that
# parses on the request path parse in the worker too.
MAX_BODY_DEPTH = 64
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"')
_BRACKET = re.compile(r"[\[\]{}]")


class BodyError(ValueError):
    """A request body that is not a JSON object Wingman can read."""


def load_body(text: str) -> dict[str, Any]:
    """The JSON object in ``text``; raises BodyError saying why it isn't one."""
    if _nesting_exceeds(text, MAX_BODY_DEPTH):
        raise BodyError(f"the body is nested deeper than {MAX_BODY_DEPTH} levels")
    try:
        payload = json.loads(text)
    except RecursionError:
        raise BodyError(f"the body is nested deeper than {MAX_BODY_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, or a number of more than 4300 digits
        raise BodyError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BodyError(f"the body must be a JSON object, not {type(payload).__name__}")
    return payload


def _nesting_exceeds(text: str, limit: int) -> bool:
    if text.count("{") + text.count("[") <= limit:
        return False  # the common case, without a scan
    depth = 0
    for bracket in _BRACKET.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


class Account(Shape):
    id: Id
    name: Text = None


class Inbox(Shape):
    id: OptionalId = None
    name: Text = None


class WidgetInbox(Shape):
    id: Id
    name: Text = None


class Contact(Shape):
    """A contact: a message's sender, ``conversation.meta.sender`` or the widget's visitor."""

    id: OptionalId = None
    name: Text = None
    email: Text = None
    phone_number: Text = None
    identifier: Text = None
    custom_attributes: JsonObject = Field(default_factory=dict)
    additional_attributes: JsonObject = Field(default_factory=dict)


class Sender(Contact):
    """A message's sender; contacts carry no ``type`` in webhooks (CONTRACT.md §1.3)."""

    type: Annotated[str | None, short(32)] = None


class Person(Shape):
    """An assignee (user or bot) or a team."""

    id: OptionalId = None
    name: Text = None
    type: Text = None


class Meta(Shape):
    sender: Contact | None = None
    assignee: Person | None = None
    assignee_type: Annotated[str | None, short(16)] = None
    team: Person | None = None


class ContactInbox(Shape):
    contact_id: OptionalId = None
    inbox_id: OptionalId = None
    source_id: Text = None


class PushConversation(Shape):
    contact_inbox: ContactInbox | None = None


class PushMessage(Shape):
    """``conversation.messages[0]``, push format: Wingman reads its status and the
    contact's ``source_id``."""

    id: OptionalId = None
    status: Text = None
    conversation: PushConversation | None = None


class Conversation(Shape):
    id: Id
    inbox_id: OptionalId = None
    channel: Annotated[str | None, short(64)] = None
    status: Annotated[str | None, short(16)] = None
    meta: Meta | None = None
    contact_inbox: ContactInbox | None = None
    messages: Annotated[list[PushMessage], BeforeValidator(none_as_empty)] = Field(
        default_factory=list
    )
    labels: Labels = Field(default_factory=list)
    custom_attributes: JsonObject = Field(default_factory=dict)
    can_reply: OptionalFlag = None
    waiting_since: WaitingSince = None
    updated_at: Seconds = None
    created_at: Timestamp = None


class ConversationEvent(Conversation):
    account: Account


class MessageEvent(Shape):
    id: Id
    account: Account
    conversation: Conversation
    inbox: Inbox | None = None
    message_type: MessageType
    sender: Sender | None = None
    private: Flag = False
    content: Content = None
    content_type: Annotated[str | None, short(32)] = None
    content_attributes: JsonObject = Field(default_factory=dict)
    additional_attributes: JsonObject = Field(default_factory=dict)
    attachments: JsonObjects = Field(default_factory=list)
    source_id: Text = None
    created_at: Timestamp = None


class WidgetEvent(Shape):
    account: Account
    inbox: WidgetInbox
    current_conversation: Conversation | None = None
    contact: Contact | None = None
