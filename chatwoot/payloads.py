"""The payload shapes Wingman reads, validated: the one coercion layer for Chatwoot JSON.

Pydantic models of the parts of Chatwoot's bodies that Wingman uses (CONTRACT.md §1.3-1.6);
unknown keys are ignored. Every value is checked against what the database can hold, so
odd input is a named error here instead of a failure at storage time:

- ids are whole numbers from 1 to 2^63-1 (BIGINT); ASCII digit strings are read too;
- times are ISO-8601 strings or unix seconds between 2000 and 2100;
- text has its NUL characters removed (PostgreSQL text can't hold them, SQLite can, and
  both must store the same), and text that isn't valid Unicode (a lone surrogate from a
  ``\\ud800`` escape) is refused: neither database driver can encode it;
- JSON objects stored as they are (``content_attributes``, attachments, contact
  attributes) are cleaned the same way, recursively, and refused past ``MAX_DEPTH``
  levels or with a number no JSON column can hold.

Validation is lenient about what Chatwoot legally leaves out or nulls (``content``,
``sender``, ``meta``...): a null optional value reads as absent.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator
from pydantic_core import PydanticCustomError

MAX_ID = 2**63 - 1  # PostgreSQL's BIGINT
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Chatwoot's deepest stored object (an email's content_attributes) is a few levels deep.
MAX_DEPTH = 32
# Chatwoot's Message enum order; REST responses carry the integer.
MESSAGE_TYPES = ("incoming", "outgoing", "activity", "template")

# Chatwoot's bodies nest about six levels. Python's json recurses once per level and fails
# near 1000, at a depth that depends on the caller's own stack: a cap makes a body that
# parses on the request path parse in the worker too.
MAX_BODY_DEPTH = 64
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"')
_BRACKET = re.compile(r"[\[\]{}]")

# The error type of every problem found here; its message is the whole explanation.
INVALID = "wingman_invalid"
_FIRST_SECOND, _LAST_SECOND = EARLIEST.timestamp(), LATEST.timestamp()


def invalid(problem: str, value: Any = ...) -> PydanticCustomError:
    shown = "" if value is ... else f", got {show(value)}"
    return PydanticCustomError(INVALID, "{problem}", {"problem": problem + shown})


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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


# --- values -------------------------------------------------------------------------------


def _whole(value: Any) -> int:
    if type(value) is int:  # not bool, not float
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
    else:
        raise invalid("must be a whole number", value)
    if not 1 <= number <= MAX_ID:
        raise invalid("must be from 1 to 2^63-1", value)
    return number


def _id(value: Any) -> int:
    if value is None:
        raise invalid("is missing")
    return _whole(value)


def _optional_id(value: Any) -> int | None:
    # Chatwoot nulls an absent assignee or team; 0 never names anything either.
    return None if value is None or value == 0 else _whole(value)


def clean_text(value: str) -> str:
    """``value`` without NUL characters; refuses text neither database can encode."""
    if value.isascii():
        return value.replace("\x00", "") if "\x00" in value else value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise invalid("is not valid Unicode text (it holds a lone surrogate)") from None
    return value.replace("\x00", "") if "\x00" in value else value


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is not str:
        raise invalid("must be text", value)
    return clean_text(value) or None


def _content(value: Any) -> str | None:
    # Unlike other text, an empty content stays empty: it is what the message said.
    if value is None:
        return None
    if type(value) is not str:
        raise invalid("must be text", value)
    return clean_text(value)


def _label(value: Any) -> str:
    if type(value) is not str:
        raise invalid("must be text", value)
    return clean_text(value)


def _short(limit: int) -> PlainValidator:
    """Optional text of at most ``limit`` characters (the column's width)."""

    def validate(value: Any) -> str | None:
        text = _text(value)
        if text is not None and len(text) > limit:
            raise invalid(f"must be at most {limit} characters", value)
        return text

    return PlainValidator(validate)


def clean_json(value: Any, depth: int = 0) -> Any:
    """A JSON value with NUL characters removed from every string and key."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise invalid(f"is nested deeper than {MAX_DEPTH} levels")
        return {clean_text(str(k)): clean_json(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        if depth >= MAX_DEPTH:
            raise invalid(f"is nested deeper than {MAX_DEPTH} levels")
        return [clean_json(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise invalid("holds a number too large to store", value)
    return value


def _object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("must be an object", value)
    cleaned: dict[str, Any] = clean_json(value)
    return cleaned


def _item(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid("must be an object", value)
    cleaned: dict[str, Any] = clean_json(value)
    return cleaned


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if type(value) not in (int, float):
        raise invalid("must be a unix time in seconds", value)
    if not _FIRST_SECOND <= value < _LAST_SECOND:  # NaN fails this too
        raise invalid(f"must be a time from {EARLIEST.year} to {LATEST.year}", value)
    return float(value)


def _waiting_since(value: Any) -> int | None:
    # Chatwoot sends 0 for "not waiting".
    if value == 0 and type(value) is int:
        return 0
    seconds = _seconds(value)
    return None if seconds is None else int(seconds)


def timestamp(value: Any) -> datetime | None:
    """Chatwoot sends ISO-8601 strings on messages and unix seconds on conversations."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        seconds = _seconds(value)
        return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid("must be an ISO-8601 time", value) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if not EARLIEST <= parsed < LATEST:
        raise invalid(f"must be a time from {EARLIEST.year} to {LATEST.year}", value)
    return parsed.astimezone(UTC)


def _flag(value: Any) -> bool:
    return False if value is None else _optional_flag(value) or False


def _optional_flag(value: Any) -> bool | None:
    if value is None or type(value) is bool:
        return value
    raise invalid("must be true or false", value)


def _message_type(value: Any) -> str:
    if type(value) is int and 0 <= value < len(MESSAGE_TYPES):
        return MESSAGE_TYPES[value]
    if value in MESSAGE_TYPES:
        return str(value)
    raise invalid(f"must be one of {MESSAGE_TYPES}", value)


Id = Annotated[int, PlainValidator(_id)]
OptionalId = Annotated[int | None, PlainValidator(_optional_id)]
Text = Annotated[str | None, PlainValidator(_text)]
Content = Annotated[str | None, PlainValidator(_content)]
Labels = Annotated[list[Annotated[str, PlainValidator(_label)]], BeforeValidator(_none_as_empty)]
JsonObject = Annotated[dict[str, Any], PlainValidator(_object)]
JsonObjects = Annotated[
    list[Annotated[dict[str, Any], PlainValidator(_item)]], BeforeValidator(_none_as_empty)
]
Timestamp = Annotated[datetime | None, PlainValidator(timestamp)]
Seconds = Annotated[float | None, PlainValidator(_seconds)]
WaitingSince = Annotated[int | None, PlainValidator(_waiting_since)]
Flag = Annotated[bool, PlainValidator(_flag)]
OptionalFlag = Annotated[bool | None, PlainValidator(_optional_flag)]
MessageType = Annotated[str, PlainValidator(_message_type)]


# --- shapes -------------------------------------------------------------------------------


class Shape(BaseModel):
    model_config = ConfigDict(extra="ignore")


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

    type: Annotated[str | None, _short(32)] = None


class Person(Shape):
    """An assignee (user or bot) or a team."""

    id: OptionalId = None
    name: Text = None
    type: Text = None


class Meta(Shape):
    sender: Contact | None = None
    assignee: Person | None = None
    assignee_type: Annotated[str | None, _short(16)] = None
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
    channel: Annotated[str | None, _short(64)] = None
    status: Annotated[str | None, _short(16)] = None
    meta: Meta | None = None
    contact_inbox: ContactInbox | None = None
    messages: Annotated[list[PushMessage], BeforeValidator(_none_as_empty)] = Field(
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
    content_type: Annotated[str | None, _short(32)] = None
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
