"""Chatwoot's JSON values, validated: the one coercion layer for webhook bodies
(``chatwoot.payloads``) and REST answers (``chatwoot.answers``).

Each value is checked against what the database can hold, so odd input is a named error
here instead of a failure at storage time:

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

import math
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

MAX_ID = 2**63 - 1  # PostgreSQL's BIGINT
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
# Chatwoot's deepest stored object (an email's content_attributes) is a few levels deep.
MAX_DEPTH = 32
# Chatwoot's Message enum order; REST responses carry the integer.
MESSAGE_TYPES = ("incoming", "outgoing", "activity", "template")

# The error type of every problem found here; its message is the whole explanation.
INVALID = "wingman_invalid"
_FIRST_SECOND, _LAST_SECOND = EARLIEST.timestamp(), LATEST.timestamp()


def invalid(problem: str, value: Any = ...) -> PydanticCustomError:
    shown = "" if value is ... else f", got {show(value)}"
    return PydanticCustomError(INVALID, "{problem}", {"problem": problem + shown})


def show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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


def short(limit: int) -> PlainValidator:
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


def none_as_empty(value: Any) -> Any:
    return [] if value is None else value


def empty_as_none(value: Any) -> Any:
    # Chatwoot renders an absent partial as null, {} or [] depending on the serializer.
    return value or None


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


def _required_timestamp(value: Any) -> datetime:
    parsed = timestamp(value)
    if parsed is None:
        raise invalid("is missing")
    return parsed


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
RequiredText = Annotated[str, PlainValidator(_label)]
Labels = Annotated[list[Annotated[str, PlainValidator(_label)]], BeforeValidator(none_as_empty)]
JsonObject = Annotated[dict[str, Any], PlainValidator(_object)]
JsonObjects = Annotated[
    list[Annotated[dict[str, Any], PlainValidator(_item)]], BeforeValidator(none_as_empty)
]
Timestamp = Annotated[datetime | None, PlainValidator(timestamp)]
RequiredTimestamp = Annotated[datetime, PlainValidator(_required_timestamp)]
Seconds = Annotated[float | None, PlainValidator(_seconds)]
WaitingSince = Annotated[int | None, PlainValidator(_waiting_since)]
Flag = Annotated[bool, PlainValidator(_flag)]
OptionalFlag = Annotated[bool | None, PlainValidator(_optional_flag)]
MessageType = Annotated[str, PlainValidator(_message_type)]


# --- errors -------------------------------------------------------------------------------


class PayloadError(ValueError):
    """A payload lacks a field Wingman cannot store it without, or holds an unusable value.

    ``field`` is the value's dotted path, e.g. ``conversation.meta.assignee.id``.
    """

    def __init__(self, field_name: str, problem: str = "is missing") -> None:
        super().__init__(f"'{field_name}' {problem}")
        self.field = field_name


_PROBLEMS = {
    "missing": "is missing",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
}


def payload_error(exc: ValidationError) -> PayloadError:
    """The first problem, named by its dotted path."""
    first = exc.errors(include_url=False)[0]
    path = ".".join(str(part) for part in first["loc"]) or "body"
    kind, value = first["type"], first.get("input")
    if kind == INVALID:
        problem = first["msg"]
    elif kind in _PROBLEMS:
        problem = _PROBLEMS[kind]
        if kind != "missing":
            problem = "is missing" if value is None else f"{problem}, got {show(value)}"
    else:
        problem = first["msg"]
    return PayloadError(path, problem)


S = TypeVar("S", bound="Shape")


def parse(shape: type[S], data: Any) -> S:
    """``data`` as ``shape``; raises PayloadError naming the first bad field."""
    try:
        return shape.model_validate(data)
    except ValidationError as exc:
        raise payload_error(exc) from None


class Shape(BaseModel):
    """A Chatwoot JSON object: the keys Wingman reads, validated; unknown keys ignored."""

    model_config = ConfigDict(extra="ignore")
