"""Reading Claude's answer: the reply and its usage, and SDK failures as ComposerError."""

from __future__ import annotations

import anthropic
from anthropic.types import Message

from workers.llm import ComposerError, Reply, Usage, parse_reply

# Anthropic's own retry policy (the SDK's _should_retry): timeouts, lock conflicts, rate
# limits and every 5xx, which includes 529 overloaded.
RETRY_4XX = frozenset({408, 409, 429})


def usage_from(message: Message, *, requested_ttl: str, latency_ms: int) -> Usage:
    """Usage of one response. When only the total cache write is reported, it was written
    with the TTL we asked for, since every breakpoint we send uses that one TTL.

    ``output_tokens`` stays Anthropic's billed total; ``output_tokens_details`` splits out
    the thinking part (absent on models that don't report it: then 0)."""
    u = message.usage
    details = u.output_tokens_details
    if u.cache_creation is not None:
        write_5m = u.cache_creation.ephemeral_5m_input_tokens
        write_1h = u.cache_creation.ephemeral_1h_input_tokens
    else:
        total = u.cache_creation_input_tokens or 0
        write_5m, write_1h = (0, total) if requested_ttl == "1h" else (total, 0)
    return Usage(
        input_tokens=u.input_tokens,
        output_tokens=u.output_tokens,
        thinking_tokens=details.thinking_tokens if details is not None else 0,
        cache_read_input_tokens=u.cache_read_input_tokens or 0,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        model=message.model,
        latency_ms=latency_ms,
        request_id=message._request_id,
    )


def translate(exc: anthropic.AnthropicError) -> ComposerError:
    """The one translation of SDK failures: transient ones are worth another attempt."""
    if isinstance(exc, anthropic.APITimeoutError):
        return ComposerError("Claude did not answer in time", transient=True)
    if isinstance(exc, anthropic.APIConnectionError):
        return ComposerError(f"could not reach Claude: {exc}", transient=True)
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        # Anthropic marks its errors with x-should-retry; the SDK obeys it, and so do we.
        should_retry = exc.response.headers.get("x-should-retry")
        if should_retry in ("true", "false"):
            transient = should_retry == "true"
        else:
            transient = status in RETRY_4XX or status >= 500
        detail = exc.api_message or exc.message
        return ComposerError(
            f"Claude API {status} {exc.type or 'error'}: {detail} (request {exc.request_id})",
            transient=transient,
            status=status,
        )
    return ComposerError(f"Claude call failed: {exc}", transient=False)


def reply_from(message: Message, usage: Usage) -> Reply:
    """The reply in a response, read from its text blocks (thinking blocks come first).

    A response that stopped early raises a permanent ComposerError carrying the usage:
    asking again won't help, and Anthropic bills the tokens anyway.
    """
    request = f"request {usage.request_id}"
    if message.stop_reason == "max_tokens":
        raise ComposerError(
            f"Claude's reply was cut short: it reached the {usage.output_tokens}-token limit "
            f"(max_tokens; {usage.thinking_tokens} of them thinking) before its JSON was "
            f"complete ({request})",
            transient=False,
            usage=usage,
        )
    if message.stop_reason == "refusal":
        raise ComposerError(f"Claude declined to answer ({request})", transient=False, usage=usage)
    if message.stop_reason not in (None, "end_turn", "stop_sequence"):
        # model_context_window_exceeded; tool_use and pause_turn need tools we never send.
        raise ComposerError(
            f"Claude stopped with {message.stop_reason} ({request})", transient=False, usage=usage
        )
    text = "".join(block.text for block in message.content if block.type == "text")
    return parse_reply(text, usage)
