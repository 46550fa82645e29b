"""The Messages API request for a Prompt: system blocks, the history's messages, thinking.

Where the cache breakpoints go, so the prefix every turn shares is read from Anthropic's
prompt cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from anthropic.types import (
    CacheControlEphemeralParam,
    MessageParam,
    TextBlockParam,
    ThinkingConfigParam,
)

from workers.llm import ComposerError, Prompt, Role

if TYPE_CHECKING:
    from core.claude_options import ThinkingMode

# The first turn must be the customer's; a last assistant turn would be prefill, which
# current models reject with a 400.
OPENING_TEXT = "(The conversation opens with our message below.)"
HINT_PREFIX = "Instruction from our sales rep (not from the customer; never quote it): "
FOLLOW_UP_PREFIX = "Instruction from Wingman (not from the customer; never quote it): "


def system_blocks(prompt: Prompt) -> list[TextBlockParam]:
    """Playbook then knowledge, with the cache breakpoint on the last: this is the prefix
    every turn of every conversation shares. The API rejects empty text blocks."""
    blocks: list[TextBlockParam] = [
        {"type": "text", "text": text}
        for text in (prompt.playbook, prompt.knowledge)
        if text.strip()
    ]
    if blocks:
        blocks[-1]["cache_control"] = _cache_control(prompt)
    return blocks


def message_params(prompt: Prompt) -> list[MessageParam]:
    """The history as alternating messages, one text block per stored turn.

    Separate blocks keep earlier block boundaries stable, so Anthropic's cache lookback (it
    checks earlier block boundaries before a breakpoint) finds the previous turn's prefix.
    The breakpoint sits on the newest turn; the rep's hint comes after it so the cached
    prefix is the same with and without a hint.
    """
    groups: list[tuple[Role, list[TextBlockParam]]] = []
    for turn in prompt.history:
        if not turn.text.strip():
            continue
        block: TextBlockParam = {"type": "text", "text": turn.text}
        if groups and groups[-1][0] == turn.role:
            groups[-1][1].append(block)
        else:
            groups.append((turn.role, [block]))
    if not groups:
        raise ComposerError("the history has no message to answer", transient=False)
    if groups[0][0] == "assistant":
        groups.insert(0, ("user", [{"type": "text", "text": OPENING_TEXT}]))
    groups[-1][1][-1]["cache_control"] = _cache_control(prompt)
    instructions = [
        prefix + text.strip()
        for prefix, text in ((FOLLOW_UP_PREFIX, prompt.follow_up), (HINT_PREFIX, prompt.hint))
        if text and text.strip()
    ]
    for instruction in instructions:
        extra: TextBlockParam = {"type": "text", "text": instruction}
        if groups[-1][0] == "user":
            groups[-1][1].append(extra)
        else:
            groups.append(("user", [extra]))
    if groups[-1][0] == "assistant":
        raise ComposerError("the history ends with our own message", transient=False)
    return [_message(role, blocks) for role, blocks in groups]


def _message(role: Role, blocks: list[TextBlockParam]) -> MessageParam:
    if role == "user":
        return {"role": "user", "content": blocks}
    return {"role": "assistant", "content": blocks}


def _cache_control(prompt: Prompt) -> CacheControlEphemeralParam:
    return {"type": "ephemeral", "ttl": prompt.cache_ttl}


def thinking_param(mode: ThinkingMode) -> ThinkingConfigParam:
    """The ``thinking`` field for a setting; each type is its own TypedDict in the SDK."""
    if mode == "adaptive":
        return {"type": "adaptive"}
    if mode == "between_tools":
        return {"type": "between_tools"}
    return {"type": "disabled"}
