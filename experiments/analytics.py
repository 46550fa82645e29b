"""The experiment report: per arm, per arm version, per inbox, and approvals per rep.

Every figure comes from here, so the CLI report (``experiments.report``) and any later admin
page show the same numbers. ``report`` loads the rows once (``experiments.dataset``) and
calls ``build``, which is pure like everything under it; ``experiments.metrics`` defines
each figure of a row.

- **Attribution.** A conversation belongs to the arm version that wrote its *first* draft
  (the arm it had when the bot first answered), or to "no experiment" if that draft had no
  arm. Everything in it counts there: its outcome, every draft (and its usage), its
  messages and handoffs. So the rows of one level partition the conversations and add up.
  Conversations the bot never drafted for are not in the report.
- **Rows.** ``arms``: one per arm key (all its versions), every arm in the database even
  with no conversations, then "no experiment" if any; ``versions``: the same per arm
  version; ``inboxes``: per inbox, the arms of each experiment seen there.
- **Filters.** ``since``/``until`` select conversations by their first draft's
  ``created_at`` (``since`` inclusive, ``until`` exclusive), so a conversation is never
  split across windows and its later drafts, messages, handoffs and outcome still count.
  ``inbox_id`` is ``conversations.inbox_id``; ``experiment`` keeps that experiment's arms
  and drops the no-experiment row.
- **p_best** is ``stats.prob_best`` among the rows of one experiment at one level (and, on
  inbox rows, one inbox), drawn from an injected ``random.Random``, seeded by default so
  the same data always gives the same report.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sqlmodel import Session

from core.pricing import Prices
from experiments.dataset import (
    ArmRef,
    ConversationRow,
    Dataset,
    DraftRow,
    FilterError,
    Filters,
    load,
)
from experiments.metrics import ConversationIndex, Metrics, RepApprovals, approvals, summarise
from experiments.stats import ArmStats, prob_best

__all__ = ["ArmReport", "FilterError", "Filters", "Report", "build", "load", "report"]

DEFAULT_SEED = 2026
DEFAULT_DRAWS = 10_000
ArmKey = tuple[str, str]  # (experiment, arm key); None stands for "no experiment"


@dataclass(frozen=True)
class ArmReport:
    """One row: an arm (``version`` None: all its versions), or no experiment (``arm`` None);
    ``inbox_id`` is set on the per-inbox rows only."""

    experiment: str | None
    arm: str | None
    version: int | None
    inbox_id: int | None
    metrics: Metrics
    p_best: float | None = None


@dataclass(frozen=True)
class Report:
    filters: Filters
    arms: list[ArmReport] = field(default_factory=list)
    versions: list[ArmReport] = field(default_factory=list)
    inboxes: list[ArmReport] = field(default_factory=list)
    reps: list[RepApprovals] = field(default_factory=list)

    @property
    def conversations(self) -> int:
        return sum(row.metrics.conversations for row in self.arms)


def report(
    session: Session,
    filters: Filters | None = None,
    *,
    prices: Prices,
    rng: random.Random | None = None,
    draws: int = DEFAULT_DRAWS,
) -> Report:
    """The whole report: load the rows, then ``build``. Raises FilterError."""
    return build(load(session, filters), prices=prices, rng=rng, draws=draws)


def build(
    data: Dataset, *, prices: Prices, rng: random.Random | None = None, draws: int = DEFAULT_DRAWS
) -> Report:
    """Every row of the report from loaded rows (pure; ``rng`` defaults to a seeded one)."""
    rng = rng or random.Random(DEFAULT_SEED)
    experiment = data.filters.experiment
    arms = [arm for arm in data.arms if experiment in (None, arm.experiment)]
    first = attribute(data.drafts, data.arms)
    conversations = [
        c
        for c in data.conversations
        if c.id in first and (experiment is None or _experiment(first[c.id]) == experiment)
    ]
    index = ConversationIndex.of(data, {c.id for c in conversations})
    keys = sorted(dict.fromkeys((arm.experiment, arm.key) for arm in arms), key=lambda k: k[0])

    by_key: dict[ArmKey | None, list[ConversationRow]] = defaultdict(list)
    by_version: dict[int | None, list[ConversationRow]] = defaultdict(list)
    by_inbox: dict[int | None, dict[ArmKey | None, list[ConversationRow]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for c in conversations:
        arm = first[c.id]
        key = (arm.experiment, arm.key) if arm else None
        by_key[key].append(c)
        by_version[arm.id if arm else None].append(c)
        by_inbox[c.inbox_id][key].append(c)

    def row(
        key: ArmKey | None,
        rows: list[ConversationRow],
        version: int | None = None,
        inbox: int | None = None,
    ) -> ArmReport:
        experiment_name, arm_key = key if key else (None, None)
        return ArmReport(experiment_name, arm_key, version, inbox, summarise(rows, index, prices))

    arm_rows = [row(key, by_key[key]) for key in keys]
    position = {key: i for i, key in enumerate(keys)}
    ordered = sorted(arms, key=lambda a: (position[(a.experiment, a.key)], a.version))
    version_rows = [
        row((a.experiment, a.key), by_version[a.id], version=a.version) for a in ordered
    ]
    if None in by_key:
        arm_rows.append(row(None, by_key[None]))
        version_rows.append(row(None, by_version[None]))
    inbox_rows = []
    for inbox in sorted(by_inbox, key=lambda i: (i is None, i or 0)):
        groups = by_inbox[inbox]
        seen = {key[0] for key in groups if key is not None}
        inbox_rows += [row(k, groups.get(k, []), inbox=inbox) for k in keys if k[0] in seen]
        if None in groups:
            inbox_rows.append(row(None, groups[None], inbox=inbox))
    return Report(
        data.filters,
        arms=with_p_best(arm_rows, rng, draws),
        versions=with_p_best(version_rows, rng, draws),
        inboxes=with_p_best(inbox_rows, rng, draws),
        reps=approvals([d for c in conversations for d in index.drafts.get(c.id, [])]),
    )


def attribute(drafts: Iterable[DraftRow], arms: Iterable[ArmRef]) -> dict[int, ArmRef | None]:
    """Each conversation's arm: that of its first draft (by ``created_at``, then id)."""
    by_id = {arm.id: arm for arm in arms}
    first: dict[int, DraftRow] = {}
    for draft in drafts:
        held = first.get(draft.conversation_id)
        if held is None or (draft.created_at, draft.id) < (held.created_at, held.id):
            first[draft.conversation_id] = draft
    return {
        conversation: by_id.get(draft.arm_id) if draft.arm_id is not None else None
        for conversation, draft in first.items()
    }


def with_p_best(rows: list[ArmReport], rng: random.Random, draws: int) -> list[ArmReport]:
    """Each experiment's rows (per inbox, on inbox rows) compete for ``p_best``, in order."""
    groups: dict[tuple[int | None, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        if r.experiment is not None:
            groups[(r.inbox_id, r.experiment)].append(i)
    result = list(rows)
    for members in groups.values():
        stats = [
            ArmStats(
                f"{rows[i].arm}@v{rows[i].version}" if rows[i].version else str(rows[i].arm),
                rows[i].metrics.conversions,
                rows[i].metrics.known_outcomes,
            )
            for i in members
        ]
        best = prob_best(stats, rng, draws)
        for i, arm in zip(members, stats, strict=True):
            result[i] = replace(rows[i], p_best=best[arm.key])
    return result


def _experiment(arm: ArmRef | None) -> str | None:
    return arm.experiment if arm else None
