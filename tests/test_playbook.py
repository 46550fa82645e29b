import pytest

from workers.playbook import PLAYBOOK, knowledge_text, system_text


@pytest.mark.parametrize(
    "promise",
    [
        "actual questions first, and all of them",  # it ignored the customer's question
        "warm and human, not scripted",  # robotic tone
        "exactly one question",  # it didn't draw the customer in
        "Don't jump to price or the offer",  # jumped straight to the offer
        "Never invent facts",  # lacked information, so don't make it up
        "missing_knowledge",  # …and hand off instead
        "1 to 4 short chat bubbles",
        "## Internal",
    ],
)
def test_the_playbook_answers_each_complaint(promise: str) -> None:
    assert promise in PLAYBOOK


def test_system_text_is_stable_and_names_the_inbox() -> None:
    first = system_text(inbox_name="Website Support", locales=("en", "de-DE"))
    assert first == system_text(inbox_name="Website Support", locales=("en", "de-DE"))
    assert "Website Support" in first and "en, de-DE" in first
    assert system_text(inbox_name=None, locales=()) == PLAYBOOK


def test_no_knowledge_is_said_plainly() -> None:
    assert "none is configured" in knowledge_text("  \n")
    assert knowledge_text("# Shop\nTents").endswith("# Shop\nTents")
