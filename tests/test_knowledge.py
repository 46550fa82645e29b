import os
from pathlib import Path

import pytest

from core.knowledge import NO_KNOWLEDGE, KnowledgeStore, internal_sections, version_of

ROOT = Path(__file__).resolve().parent.parent


def test_an_edit_takes_effect_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "k.md"
    path.write_text("# Shop\nTents: 249 EUR\n")
    store = KnowledgeStore()
    first = store.load(path)
    assert "249" in first.text and first.version == version_of(first.text)
    assert store.load(path) is first  # unchanged: served from the cache
    path.write_text("# Shop\nTents: 239 EUR\n")
    os.utime(path, ns=(1, path.stat().st_mtime_ns + 1_000_000))
    second = store.load(path)
    assert "239" in second.text
    assert second.version != first.version


def test_no_file_means_no_knowledge(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = KnowledgeStore()
    assert store.load(None) is NO_KNOWLEDGE
    assert store.load(tmp_path / "gone.md") is NO_KNOWLEDGE
    assert "gone.md" in caplog.text


def test_the_version_is_a_content_hash() -> None:
    assert version_of("a") == version_of("a") != version_of("b")
    assert len(version_of("a")) == 16


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# Shop\n## Internal\nfloor 219\n## FAQ\nq", ["floor 219"]),
        ("## Internal\nfloor 219\n### Detail\nmore", ["floor 219\n### Detail\nmore"]),
        ("## internal\nA\n# Next\n## Internal\nB", ["A", "B"]),
        ("## Internal notes\nnot a marker", []),
        ("## Internal\n\n", []),
        ("no sections at all", []),
    ],
)
def test_internal_sections(text: str, expected: list[str]) -> None:
    assert internal_sections(text) == expected


def test_the_shipped_example_marks_its_internal_section() -> None:
    knowledge = KnowledgeStore().load(ROOT / "knowledge" / "website.example.md")
    [internal] = knowledge.internal_sections
    assert "219.00" in internal
