"""Arms declared in a file and loaded into the database, with versions (issue 6)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from core.db import session_scope
from core.models import Arm, Experiment
from core.tomlfile import ConfigError
from experiments import arms

NOW = datetime(2026, 6, 18, 9, 0, tzinfo=UTC)


def test_the_shipped_examples_load() -> None:
    [spec] = arms.load_file()
    assert spec.name == "sales-styles" and spec.mode == "thompson"
    keys = [arm.key for arm in spec.arms]
    assert keys == ["control", "wide-range", "answer-first", "price-points"]
    price_points = spec.arms[3]
    assert price_points.price_floor == Decimal("219.00")


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "experiments.toml"
    path.write_text(body)
    return path


BASE = """
[experiments.test]
mode = "fixed"
[experiments.test.arms.a]
instructions = "Be brief."
weight = 3
[experiments.test.arms.b]
instructions = "Be warm."
"""


def rows(engine: Engine) -> list[tuple[str, int, bool, str]]:
    with Session(engine) as session:
        return [
            (a.key, a.version, a.current, a.autonomy)
            for a in session.exec(select(Arm).order_by(Arm.key, Arm.version))  # type: ignore[arg-type]
        ]


def test_a_text_change_makes_a_new_version_back_in_draft(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        arms.sync(session, arms.load_file(write(tmp_path, BASE)), now=NOW)
    with session_scope(engine) as session:  # a promotion of version 1 …
        arms.current_arm(session, "test", "a").autonomy = "autopilot"  # type: ignore[union-attr]
    with session_scope(engine) as session:  # … resyncing the same file changes nothing
        assert arms.sync(session, arms.load_file(write(tmp_path, BASE)), now=NOW) == []
    edited = BASE.replace("Be brief.", "Be very brief.").replace("weight = 3", "weight = 5")
    with session_scope(engine) as session:
        created = arms.sync(session, arms.load_file(write(tmp_path, edited)), now=NOW)
        assert [(a.key, a.version) for a in created] == [("a", 2)]
    assert rows(engine) == [
        ("a", 1, False, "autopilot"),  # history is never rewritten
        ("a", 2, True, "draft"),
        ("b", 1, True, "draft"),
    ]
    with Session(engine) as session:
        assert session.get(Experiment, "test").mode == "fixed"  # type: ignore[union-attr]
        assert arms.current_arm(session, "test", "a").weight == 5  # type: ignore[union-attr]


def test_an_arm_dropped_from_the_file_gets_no_new_contacts(engine: Engine, tmp_path: Path) -> None:
    with session_scope(engine) as session:
        arms.sync(session, arms.load_file(write(tmp_path, BASE)), now=NOW)
    without_b = BASE.split("[experiments.test.arms.b]")[0]
    with session_scope(engine) as session:
        arms.sync(session, arms.load_file(write(tmp_path, without_b)), now=NOW)
    assert ("b", 1, False, "draft") in rows(engine)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[experiments.x]\nmode = "bandit"\n[experiments.x.arms.a]\n', "experiments.x.mode"),
        ("[experiments.x]\n", "at least one arm"),
        ('[experiments.x]\nmodes = "fixed"\n[experiments.x.arms.a]\n', "unknown key"),
        ("[experiments.x.arms.a]\nweight = 0\n", "experiments.x.arms.a.weight"),
        ("[experiments.x.arms.a]\nprice_floor = 300\nprice_ceiling = 200\n", "above price_ceiling"),
        ("[experiments.x.arms.a]\nprice_floor = -1\n", "price_floor"),
        (
            "[experiments.x.arms.a]\ninstructons = 'typo'\n",
            r"experiments\.x\.arms\.a\.instructons: unknown key; did you mean 'instructions'\?",
        ),
        ("[experiment.x.arms.a]\n", "experiment: unknown key; did you mean 'experiments'"),
        (
            "[experiments.x]\nmin_share = 0.6\n[experiments.x.arms.a]\n[experiments.x.arms.b]\n",
            "min_share",
        ),
        ("[experiments.x\n", "experiments.toml"),
    ],
)
def test_a_bad_file_names_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        arms.load_file(write(tmp_path, body))


def test_every_problem_is_reported_at_once_with_its_key_path(tmp_path: Path) -> None:
    """The same validator as wingman.toml: all problems, each on its own line."""
    body = (
        '[experiments.x]\nmode = "bandit"\ndraws = 0\n'
        "[experiments.x.arms.a]\nweight = -1\nshow_prices = [1]\n"
    )
    with pytest.raises(ConfigError) as caught:
        arms.load_file(write(tmp_path, body))
    assert [problem.split(":")[0] for problem in caught.value.problems] == [
        "experiments.x.mode",
        "experiments.x.draws",
        "experiments.x.arms.a.weight",
        "experiments.x.arms.a.show_prices[0]",
    ]
    assert str(caught.value).count(str(tmp_path)) == 4


def test_the_cli_syncs_the_shipped_file(make_app: Any, engine: Engine) -> None:
    runner = make_app().test_cli_runner()
    first = runner.invoke(args=["experiments", "sync"])
    assert first.exit_code == 0, first.output
    assert "new arm version: sales-styles/control v1 (draft)" in first.output
    again = runner.invoke(args=["experiments", "sync"])
    assert "new arm version" not in again.output and "1 experiment(s) in sync" in again.output
