"""What the Claude stand-in checks and says: request validation and deterministic answers.

Pure functions of the request body, so tests can call them without a server.
"""

from __future__ import annotations

import json
import re
from typing import Any

from standins.caching import MAX_BREAKPOINTS, TTL_SECONDS, iter_blocks
from standins.claude_thinking import thinking_problem

# Anthropic's error "type" for each status (docs: "Errors").
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ROLES = ("user", "assistant")
_HUMAN = re.compile(r"\b(human|agent|person|someone real|real person)\b", re.IGNORECASE)
_STOP = re.compile(r"\b(stop|unsubscribe)\b", re.IGNORECASE)


def validate(body: dict[str, Any]) -> str | None:
    """The first thing a real Messages API would reject, as its message, or None.

    One rule is stricter than Anthropic's: the API merges consecutive same-role messages,
    but the stand-in rejects them so an adapter that forgets to merge is caught.
    """
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 0:
        return "max_tokens: Field required (a non-negative integer)"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required (at least one message)"
    for index, message in enumerate(messages):
        problem = _message_problem(index, message)
        if problem is not None:
            return problem
    if messages[0]["role"] != "user":
        return "messages: the first message must use the user role"
    for index in range(1, len(messages)):
        if messages[index]["role"] == messages[index - 1]["role"]:
            return f"messages.{index}: roles must alternate between user and assistant"
    if messages[-1]["role"] == "assistant":
        return "This model does not support assistant message prefill."
    return (
        _system_problem(body.get("system"))
        or _cache_problem(body)
        or _format_problem(body)
        or thinking_problem(body)
    )


def _message_problem(index: int, message: object) -> str | None:
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        return f"messages.{index}.role: Input should be 'user' or 'assistant'"
    content = message.get("content")
    if isinstance(content, str):
        return None if content.strip() else f"messages.{index}: text content must be non-empty"
    if not isinstance(content, list) or not content:
        return f"messages.{index}.content: Field required"
    for block_index, block in enumerate(content):
        where = f"messages.{index}.content.{block_index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return f"{where}.type: Field required"
        if block["type"] == "text" and not str(block.get("text", "")).strip():
            return f"{where}: text content blocks must contain non-whitespace text"
    return None


def _system_problem(system: object) -> str | None:
    if system is None or isinstance(system, str):
        return None
    if not isinstance(system, list):
        return "system: Input should be a string or a list of text blocks"
    for index, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            return f"system.{index}.type: Input should be 'text'"
        if not str(block.get("text", "")).strip():
            return f"system.{index}: text content blocks must contain non-whitespace text"
    return None


def _cache_problem(body: dict[str, Any]) -> str | None:
    ttls = []
    for _, block in iter_blocks(body):
        control = block.get("cache_control")
        if control is None:
            continue
        if not isinstance(control, dict) or control.get("type") != "ephemeral":
            return "cache_control.type: Input should be 'ephemeral'"
        ttl = control.get("ttl", "5m")
        if ttl not in TTL_SECONDS:
            return "cache_control.ttl: Input should be '5m' or '1h'"
        ttls.append(ttl)
    if len(ttls) > MAX_BREAKPOINTS:
        return (
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {len(ttls)}."
        )
    # Anthropic requires longer-lived entries first: a 1h breakpoint after a 5m one fails.
    if "5m" in ttls and "1h" in ttls[ttls.index("5m") :]:
        return "a ttl='1h' cache_control block must not come after a ttl='5m' one"
    return None


def _format_problem(body: dict[str, Any]) -> str | None:
    output_config = body.get("output_config")
    if output_config is None:
        return None
    if not isinstance(output_config, dict):
        return "output_config: Input should be an object"
    output_format = output_config.get("format")
    if output_format is None:
        return None
    if not isinstance(output_format, dict) or output_format.get("type") != "json_schema":
        return "output_config.format.type: Input should be 'json_schema'"
    if not isinstance(output_format.get("schema"), dict):
        return "output_config.format.schema: Field required"
    return None


def wants_json(body: dict[str, Any]) -> bool:
    output_config = body.get("output_config") or {}
    output_format = output_config.get("format") or {}
    return output_format.get("type") == "json_schema"


def last_user_text(body: dict[str, Any]) -> str:
    """All text of the last user message (a hint block included)."""
    message = [m for m in body["messages"] if m["role"] == "user"][-1]
    content = message["content"]
    if isinstance(content, str):
        return content.strip()
    texts = [b["text"] for b in content if b.get("type") == "text"]
    return "\n".join(t.strip() for t in texts if t.strip())


def answer(body: dict[str, Any]) -> str:
    """A deterministic reply to a validated request: JSON in the REPLY_SCHEMA shape when a
    json_schema output format is asked for, otherwise plain paragraphs."""
    said = last_user_text(body)
    snippet = " ".join(said.split())
    if len(snippet) > 80:
        snippet = snippet[:77] + "..."
    bubbles = [
        "Thanks for your message!",
        f"You asked about: {snippet}" if snippet else "Happy to help.",
        "What would you like to know next?",
    ]
    if not wants_json(body):
        return "\n\n".join(bubbles)
    questions = [q.strip() for q in re.findall(r"[^.!?\n]*\?", said) if q.strip()]
    handoff = None
    if _HUMAN.search(said):
        handoff = {"reason": "asks_for_human", "note": "The customer asked for a person."}
    reply = {
        "bubbles": bubbles,
        "handoff": handoff,
        "answered_questions": questions,
        "do_not_contact": bool(_STOP.search(said)),
    }
    return json.dumps(reply)
