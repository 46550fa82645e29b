"""Experiments and arms: declared in a versioned file, loaded into the database.

The file (``experiments/experiments.toml``) is the source of truth for an arm's text; the
database keeps every version that ever ran, because analytics compare versions and a
promotion to autopilot holds for one version only.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from core import tomlfile
from core.models import Arm, Experiment
from core.tomlfile import (
    Invalid,
    any_text,
    join,
    list_of,
    money,
    number,
    one_of,
    positive_int,
    positive_number,
    text,
)

DEFAULT_FILE = Path(__file__).resolve().parent / "experiments.toml"
MODES = ("fixed", "thompson")
_MIN_SHARE = Decimal("0.05")
_EXPERIMENT_KEYS = ("mode", "min_share", "draws", "arms")
_ARM_KEYS = ("instructions", "weight", "show_prices", "price_floor", "price_ceiling")


@dataclass(frozen=True)
class ArmSpec:
    key: str
    instructions: str
    weight: float
    show_prices: tuple[str, ...]
    price_floor: Decimal | None
    price_ceiling: Decimal | None

    @property
    def content_hash(self) -> str:
        """What makes a new version: any change to the text or the price policy."""
        body = json.dumps(
            [
                self.instructions.strip(),
                list(self.show_prices),
                str(self.price_floor) if self.price_floor is not None else None,
                str(self.price_ceiling) if self.price_ceiling is not None else None,
            ]
        )
        return hashlib.sha256(body.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    mode: str
    min_share: float
    draws: int
    arms: tuple[ArmSpec, ...]


def load_file(path: Path = DEFAULT_FILE) -> list[ExperimentSpec]:
    """Read and validate the file; raises ConfigError listing every problem."""
    reader = _ExperimentReader()
    specs = reader.document(tomlfile.read(path))
    reader.check(path)
    return specs


def sync(session: Session, specs: list[ExperimentSpec], *, now: datetime) -> list[Arm]:
    """Bring the database in line with the file; returns the arm versions it created."""
    created = []
    for spec in specs:
        experiment = session.get(Experiment, spec.name)
        if experiment is None:
            experiment = Experiment(name=spec.name, mode=spec.mode, updated_at=now)
            session.add(experiment)
        experiment.mode, experiment.min_share, experiment.draws = (
            spec.mode,
            spec.min_share,
            spec.draws,
        )
        experiment.updated_at = now
        session.flush()
        for arm in spec.arms:
            latest = current_arm(session, spec.name, arm.key)
            if latest is not None:
                latest.weight = arm.weight  # the allocation, not the treatment
                if latest.content_hash == arm.content_hash:
                    continue
                latest.current = False
            version = Arm(
                experiment=spec.name,
                key=arm.key,
                version=(latest.version + 1) if latest else 1,
                content_hash=arm.content_hash,
                instructions=arm.instructions.strip(),
                show_prices=list(arm.show_prices),
                price_floor=str(arm.price_floor) if arm.price_floor is not None else None,
                price_ceiling=str(arm.price_ceiling) if arm.price_ceiling is not None else None,
                weight=arm.weight,
                autonomy="draft",  # fresh evidence: a new version starts in draft
                current=True,
                created_at=now,
            )
            session.add(version)
            created.append(version)
        keys = {arm.key for arm in spec.arms}
        for stale in current_arms(session, spec.name):
            if stale.key not in keys:
                stale.current = False  # dropped from the file: no new assignments
    session.flush()
    return created


def current_arm(session: Session, experiment: str, key: str) -> Arm | None:
    query = select(Arm).where(Arm.experiment == experiment, Arm.key == key, col(Arm.current))
    return session.exec(query.with_for_update()).first()


def current_arms(session: Session, experiment: str) -> list[Arm]:
    query = select(Arm).where(Arm.experiment == experiment, col(Arm.current))
    return list(session.exec(query.order_by(col(Arm.key))))


class _ExperimentReader(tomlfile.Reader):
    def document(self, data: dict[str, Any]) -> list[ExperimentSpec]:
        self.table(data, "", ("experiments",))
        specs = []
        for name, raw in self.tables(data.get("experiments", {}), "experiments").items():
            read = functools.partial(self.experiment, name)
            spec = self.attempt(read, raw, join("experiments", name))
            if spec is not None:
                specs.append(spec)
        return specs

    def experiment(self, name: str, value: Any, path: str) -> ExperimentSpec:
        t = self.table(value, path, _EXPERIMENT_KEYS)
        mode = self.get(one_of(MODES), t, "mode", path) or "fixed"
        arms_path = join(path, "arms")
        arms_raw = self.tables(t.get("arms", {}), arms_path)
        if not arms_raw:
            raise Invalid(f"{arms_path}: an experiment needs at least one arm")
        share = self.get(number, t, "min_share", path) if "min_share" in t else _MIN_SHARE
        if share is not None and not 0 <= share * len(arms_raw) <= 1:
            self.problems.append(
                f"{path}.min_share: {share} times {len(arms_raw)} arms must be from 0 to 1"
            )
        draws = self.get(positive_int, t, "draws", path) or 1000
        arms = []
        for key, raw in arms_raw.items():
            arm = self.attempt(functools.partial(self.arm, key), raw, join(arms_path, key))
            if arm is not None:
                arms.append(arm)
        return ExperimentSpec(name, mode, float(share or 0), draws, tuple(arms))

    def arm(self, key: str, value: Any, path: str) -> ArmSpec:
        t = self.table(value, path, _ARM_KEYS)
        instructions = self.get(any_text, t, "instructions", path) or ""
        weight = self.get(positive_number, t, "weight", path) or Decimal(1)
        show = self.get(list_of(text), t, "show_prices", path) or ()
        floor = self.get(money, t, "price_floor", path)
        ceiling = self.get(money, t, "price_ceiling", path)
        if floor is not None and ceiling is not None and floor > ceiling:
            raise Invalid(f"{path}: price_floor {floor} is above price_ceiling {ceiling}")
        return ArmSpec(key, instructions, float(weight), show, floor, ceiling)
