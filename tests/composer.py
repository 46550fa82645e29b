"""The one scripted Composer of the tests (the simulation drives its own, SimComposer, from
its random steps)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from workers.llm import Prompt, Reply, Usage, parse_reply

Outcome = Reply | Exception | str | Callable[[Prompt], Reply]


class FakeComposer:
    """A scripted Composer for tests, like simonw/llm's MockModel.

    Each call takes the next scripted outcome: a Reply is returned, an exception raised, and
    a string goes through ``parse_reply`` as if Claude had written it, and a function is
    called with the prompt while "Claude thinks" (so a test can act meanwhile). Every prompt
    is kept in ``prompts``.
    """

    def __init__(self, *outcomes: Outcome) -> None:
        self._script: deque[Outcome] = deque(outcomes)
        self.prompts: list[Prompt] = []

    def add(self, *outcomes: Outcome) -> None:
        self._script.extend(outcomes)

    @property
    def remaining(self) -> int:
        return len(self._script)

    def compose(self, prompt: Prompt) -> Reply:
        self.prompts.append(prompt)
        if not self._script:
            raise AssertionError(
                f"FakeComposer has no scripted outcome for call {len(self.prompts)}"
            )
        outcome = self._script.popleft()
        if isinstance(outcome, Exception):
            raise outcome
        if isinstance(outcome, str):
            return parse_reply(outcome, Usage(model="fake"))
        if isinstance(outcome, Reply):
            return outcome
        return outcome(prompt)
