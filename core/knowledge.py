"""Each inbox's knowledge file: Markdown the bot answers from, re-read when it changes.

Every draft records the version (a content hash) it was written with, so an analyst can
tell which answers came from which edit of the file.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Sections under this heading are for the bot's eyes only (floors, supplier trouble…);
# the guardrails check that no reply echoes them.
INTERNAL_HEADING = "## Internal"


@dataclass(frozen=True)
class Knowledge:
    text: str
    version: str
    path: Path | None = None

    @property
    def internal_sections(self) -> list[str]:
        return internal_sections(self.text)


NO_KNOWLEDGE = Knowledge(text="", version="none")


def version_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def internal_sections(text: str) -> list[str]:
    """The bodies of every ``## Internal`` section, up to the next heading of level 1 or 2."""
    sections: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        heading = line.startswith("# ") or line.startswith("## ")
        if heading and current is not None:
            sections.append("\n".join(current).strip())
            current = None
        if line.strip().lower() == INTERNAL_HEADING.lower():
            current = []
        elif current is not None:
            current.append(line)
    if current is not None:
        sections.append("\n".join(current).strip())
    return [s for s in sections if s]


class KnowledgeStore:
    """Reads knowledge files, caching each until its modification time or size changes."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple[int, int], Knowledge]] = {}
        self._lock = threading.Lock()

    def load(self, path: Path | None) -> Knowledge:
        """The file's current content, or NO_KNOWLEDGE (logged) if there is none to read.

        A file that vanishes after start-up must not stop replies: the playbook tells the
        model to offer a human when it knows nothing.
        """
        if path is None:
            return NO_KNOWLEDGE
        try:
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            with self._lock:
                cached = self._cache.get(path)
                if cached and cached[0] == stamp:
                    return cached[1]
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            log.error("knowledge file %s can't be read (%s); answering without it", path, exc)
            return NO_KNOWLEDGE
        knowledge = Knowledge(text=text, version=version_of(text), path=path)
        with self._lock:
            self._cache[path] = (stamp, knowledge)
        log.info("loaded knowledge %s (version %s)", path, knowledge.version)
        return knowledge
