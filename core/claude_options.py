"""What a Claude call may be asked for: the default model, thinking modes and effort levels."""

from __future__ import annotations

from typing import Literal, get_args

# A Sonnet the installed SDK knows and does not list as deprecated (checked in tests).
DEFAULT_MODEL = "claude-sonnet-5-5"


# Anthropic's thinking types a chat reply may use (manual "enabled" budgets are gone on the
# 5.5 models), and its effort levels, lowest first.
ThinkingMode = Literal["adaptive", "between_tools", "disabled"]
Effort = Literal["low", "medium", "high", "xhigh", "max"]
THINKING_MODES: tuple[ThinkingMode, ...] = get_args(ThinkingMode)
EFFORTS: tuple[Effort, ...] = get_args(Effort)
