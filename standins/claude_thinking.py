"""How the Claude stand-in thinks, and where max_tokens cuts it short (pure).

The rules imitated are the 5.5 models' (Anthropic's "Migrating to Claude Sonnet 5.5"), for
whatever model a request names:

- a request without ``thinking`` runs with adaptive thinking, as with ``{"type":
  "adaptive"}``; ``{"type": "between_tools"}`` turns up-front thinking off; ``disabled`` and
  manual ``enabled`` budgets are rejected with a 400;
- ``output_config.effort`` is low, medium, high (the default), xhigh or max, and
  ``between_tools`` refuses xhigh and max;
- sampling parameters (temperature, top_p, top_k) and a forced ``tool_choice`` are rejected;
- thinking comes first: a ``thinking`` block (display ``omitted`` by default: empty text
  with a signature) or a ``redacted_thinking`` block, then the text;
- thinking counts toward ``max_tokens``: a response that reaches it stops with
  ``stop_reason: "max_tokens"``, the text cut where the budget ran out, or missing;
- ``usage.output_tokens`` is everything generated, thinking included (the billed total);
  ``usage.output_tokens_details.thinking_tokens`` is the thinking part.

Unscripted, adaptive thinking takes ``THINKING_BY_EFFORT`` tokens, so every answer shows a
thinking block; ``/_standin/think`` scripts a longer (or redacted) one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from standins.caching import CHARS_PER_TOKEN, estimate_tokens

EFFORTS = ("low", "medium", "high", "xhigh", "max")
DEFAULT_EFFORT = "high"
THINKING_TYPES = ("adaptive", "between_tools")
THINKING_BY_EFFORT = {"low": 24, "medium": 96, "high": 384, "xhigh": 768, "max": 1536}
SAMPLING = ("temperature", "top_p", "top_k")
SIGNATURE = "c3RhbmRpbi1zaWduYXR1cmU="  # opaque, like Anthropic's
REDACTED = "c3RhbmRpbi1yZWRhY3RlZA=="


def thinking_problem(body: dict[str, Any]) -> str | None:
    """What a 5.5 model would reject about thinking, effort, sampling or tool choice."""
    thinking = body.get("thinking")
    kind = "adaptive"
    if thinking is not None:
        if not isinstance(thinking, dict) or not isinstance(thinking.get("type"), str):
            return "thinking.type: Field required"
        kind = thinking["type"]
        if kind == "disabled":
            return (
                "thinking.type 'disabled' is not supported on this model; "
                "use 'between_tools' to turn off up-front thinking"
            )
        if kind == "enabled":
            return (
                "thinking.type 'enabled' is not supported on this model; "
                "use 'adaptive' with output_config.effort"
            )
        if kind not in THINKING_TYPES:
            return f"thinking.type: Input should be one of {', '.join(THINKING_TYPES)}"
        display = thinking.get("display")
        if display is not None and (kind != "adaptive" or display not in ("summarized", "omitted")):
            return "thinking.display: Input should be 'summarized' or 'omitted' (adaptive only)"
    output_config = body.get("output_config")
    effort = output_config.get("effort") if isinstance(output_config, dict) else None
    if effort is not None and effort not in EFFORTS:
        return f"output_config.effort: Input should be one of {', '.join(EFFORTS)}"
    if kind == "between_tools" and effort in ("xhigh", "max"):
        return f"effort '{effort}' needs adaptive thinking; between_tools allows low to high"
    for name in SAMPLING:
        if name in body and not (name == "temperature" and body[name] == 1):
            return f"{name}: sampling parameters are not supported on this model"
    tool_choice = body.get("tool_choice")
    if isinstance(tool_choice, dict) and tool_choice.get("type") in ("any", "tool"):
        return "tool_choice: forced tool use is not supported on this model"
    return None


def planned_thinking(body: dict[str, Any]) -> int:
    """Tokens the stand-in thinks, unscripted, for a request that passed validation."""
    thinking = body.get("thinking") or {"type": "adaptive"}
    if thinking["type"] != "adaptive":
        return 0
    effort = (body.get("output_config") or {}).get("effort") or DEFAULT_EFFORT
    return THINKING_BY_EFFORT[effort]


@dataclass(frozen=True)
class Output:
    content: list[dict[str, Any]]
    stop_reason: str
    output_tokens: int
    thinking_tokens: int


def generate(body: dict[str, Any], text: str, *, thinking: int, redacted: bool = False) -> Output:
    """Think, then write ``text``, within the request's ``max_tokens``."""
    budget: int = body["max_tokens"]
    thought = min(thinking, budget)
    content: list[dict[str, Any]] = []
    if thought:
        content.append(_thinking_block(body, redacted))
    room = budget - thought
    needed = estimate_tokens(text)
    if needed <= room:
        content.append({"type": "text", "text": text})
        return Output(content, "end_turn", thought + needed, thought)
    cut = text[: room * CHARS_PER_TOKEN]
    if cut:
        content.append({"type": "text", "text": cut})
    return Output(content, "max_tokens", budget, thought)


def _thinking_block(body: dict[str, Any], redacted: bool) -> dict[str, Any]:
    if redacted:
        return {"type": "redacted_thinking", "data": REDACTED}
    display = (body.get("thinking") or {}).get("display") or "omitted"
    summary = "" if display == "omitted" else "The stand-in did not really think."
    return {"type": "thinking", "thinking": summary, "signature": SIGNATURE}
