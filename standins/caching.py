"""Anthropic's prompt-caching arithmetic, for the Claude stand-in. Pure: the caller passes
the time, and tokens are estimated from text length.

The rules imitated (Anthropic's prompt-caching docs):
- the prompt is tools, then system blocks, then each message's content blocks, in order;
- a block with ``cache_control`` is a breakpoint; its prefix is everything up to and
  including it, and ``cache_control`` itself is not part of the content;
- a prefix below the model's minimum cacheable length is silently not cached;
- a request reads the longest live cached prefix ending at a breakpoint or at one of the
  block boundaries up to LOOKBACK_BLOCKS before it; a read refreshes the entry's TTL;
- breakpoints after the read that are long enough are written, each at its own TTL;
- ``input_tokens`` are the tokens after the last read or write.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Sonnet's minimum; other models differ (Haiku 2048, some Opus 4096), one number will do.
MIN_CACHEABLE_TOKENS = 1024
LOOKBACK_BLOCKS = 20
MAX_BREAKPOINTS = 4
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Block:
    """One content block: what identifies it in a prefix, its size, and its breakpoint TTL."""

    key: str
    tokens: int
    ttl: str | None = None


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int
    cache_read_input_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens


def prompt_blocks(body: dict[str, Any]) -> list[Block]:
    """The request's blocks in cache order. Assumes a request that passed validation."""
    return [_block(role, raw) for role, raw in iter_blocks(body)]


def iter_blocks(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(section or role, block) for every block; plain strings count as one text block."""
    for tool in body.get("tools") or []:
        yield "tools", tool
    system = body.get("system")
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system or []:
        yield "system", block
    for message in body.get("messages") or []:
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks or []:
            yield message.get("role", ""), block


def _block(role: str, raw: dict[str, Any]) -> Block:
    content = {k: v for k, v in raw.items() if k != "cache_control"}
    text = content.get("text") if isinstance(content.get("text"), str) else None
    key = json.dumps([role, content], sort_keys=True, separators=(",", ":"))
    control = raw.get("cache_control")
    ttl = control.get("ttl", "5m") if isinstance(control, dict) else None
    return Block(key, estimate_tokens(text if text is not None else key), ttl)


def prefix_keys(model: str, blocks: list[Block]) -> list[str]:
    """A running hash: entry i identifies the prefix ending with block i, for this model."""
    digest = hashlib.sha256(model.encode())
    keys = []
    for block in blocks:
        digest.update(b"\0" + block.key.encode())
        keys.append(digest.copy().hexdigest())
    return keys


@dataclass
class _Entry:
    ttl: str
    expires_at: float


class PromptCache:
    """The cached prefixes of every request seen, keyed by prefix hash and model."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def apply(self, model: str, blocks: list[Block], now: float) -> CacheUsage:
        """Read the longest live prefix, write the breakpoints after it, and account tokens."""
        self._entries = {k: e for k, e in self._entries.items() if e.expires_at > now}
        keys = prefix_keys(model, blocks)
        ends = _running_totals(blocks)
        breakpoints = [i for i, block in enumerate(blocks) if block.ttl is not None]
        candidates = {
            i for bp in breakpoints for i in range(max(0, bp - LOOKBACK_BLOCKS + 1), bp + 1)
        }
        hits = [i for i in candidates if keys[i] in self._entries]
        read_at = max(hits, default=-1)
        if read_at >= 0:
            entry = self._entries[keys[read_at]]
            entry.expires_at = now + TTL_SECONDS[entry.ttl]
        done = read_at
        written = {"5m": 0, "1h": 0}
        for bp in breakpoints:
            ttl = blocks[bp].ttl
            if bp <= read_at or ends[bp] < MIN_CACHEABLE_TOKENS or ttl is None:
                continue
            written[ttl] += ends[bp] - _end(ends, done)
            self._entries[keys[bp]] = _Entry(ttl, now + TTL_SECONDS[ttl])
            done = bp
        return CacheUsage(
            input_tokens=_end(ends, len(blocks) - 1) - _end(ends, done),
            cache_read_input_tokens=_end(ends, read_at),
            cache_write_5m_tokens=written["5m"],
            cache_write_1h_tokens=written["1h"],
        )


def _running_totals(blocks: list[Block]) -> list[int]:
    totals, total = [], 0
    for block in blocks:
        total += block.tokens
        totals.append(total)
    return totals


def _end(ends: list[int], index: int) -> int:
    """Tokens up to and including block ``index``; -1 means before the first block."""
    return ends[index] if index >= 0 else 0
