"""Experiments and arms: declared in a versioned file, loaded into the database.

The file (``experiments/experiments.toml``) is the source of truth for an arm's text; the
database keeps every version that ever ran, because analytics compare versions and a
promotion to autopilot holds for one version only.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from core.models import Arm, Experiment

DEFAULT_FILE = Path(__file__).resolve().parent / "experiments.toml"
MODES = ("fixed", "thompson")
_EXPERIMENT_KEYS = {"mode", "min_share", "draws", "arms"}
_ARM_KEYS = {"instructions", "weight", "show_prices", "price_floor", "price_ceiling"}


class ExperimentFileError(ValueError):
    """The experiments file is invalid; the message names the file and the key."""


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
    try:
        # Decimal, so a price floor of 219.10 stays exactly that.
        data = tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise ExperimentFileError(f"{path}: can't be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExperimentFileError(f"{path}: {exc}") from None
    return [_experiment(path, name, raw) for name, raw in (data.get("experiments") or {}).items()]


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


def _experiment(path: Path, name: str, raw: Any) -> ExperimentSpec:
    where = f"{path}: experiments.{name}"
    if not isinstance(raw, dict):
        raise ExperimentFileError(f"{where} must be a table")
    unknown = set(raw) - _EXPERIMENT_KEYS
    if unknown:
        raise ExperimentFileError(
            f"{where}: unknown key(s) {sorted(unknown)}; valid: {sorted(_EXPERIMENT_KEYS)}"
        )
    mode = raw.get("mode", "fixed")
    if mode not in MODES:
        raise ExperimentFileError(f"{where}.mode: {mode!r} is not one of {MODES}")
    min_share = raw.get("min_share", 0.05)
    arms_raw = raw.get("arms") or {}
    if not isinstance(arms_raw, dict) or not arms_raw:
        raise ExperimentFileError(f"{where}.arms: an experiment needs at least one arm")
    share = _number(min_share)
    if share is None or not 0 <= share * len(arms_raw) <= 1:
        raise ExperimentFileError(
            f"{where}.min_share: {min_share!r} times {len(arms_raw)} arms must be from 0 to 1"
        )
    draws = raw.get("draws", 1000)
    if not isinstance(draws, int) or draws < 1:
        raise ExperimentFileError(f"{where}.draws: {draws!r} must be a positive whole number")
    arms = tuple(_arm(f"{where}.arms.{key}", key, value) for key, value in arms_raw.items())
    return ExperimentSpec(name, mode, float(share), draws, arms)


def _arm(where: str, key: str, raw: Any) -> ArmSpec:
    if not isinstance(raw, dict):
        raise ExperimentFileError(f"{where} must be a table")
    unknown = set(raw) - _ARM_KEYS
    if unknown:
        raise ExperimentFileError(
            f"{where}: unknown key(s) {sorted(unknown)}; valid: {sorted(_ARM_KEYS)}"
        )
    instructions = raw.get("instructions", "")
    if not isinstance(instructions, str):
        raise ExperimentFileError(f"{where}.instructions must be text")
    weight = _number(raw.get("weight", 1))
    if weight is None or weight <= 0:
        raise ExperimentFileError(
            f"{where}.weight: {raw.get('weight')!r} must be a positive number"
        )
    show = raw.get("show_prices", [])
    if not isinstance(show, list) or not all(isinstance(p, str) for p in show):
        raise ExperimentFileError(f"{where}.show_prices must be a list of product names")
    floor, ceiling = _money(where, "price_floor", raw), _money(where, "price_ceiling", raw)
    if floor is not None and ceiling is not None and floor > ceiling:
        raise ExperimentFileError(f"{where}: price_floor {floor} is above price_ceiling {ceiling}")
    return ArmSpec(key, instructions, float(weight), tuple(show), floor, ceiling)


def _number(value: Any) -> Decimal | None:
    """TOML numbers (int, or Decimal as parsed here), never booleans; else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    return Decimal(str(value))


def _money(where: str, name: str, raw: dict[str, Any]) -> Decimal | None:
    value = raw.get(name)
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ExperimentFileError(f"{where}.{name}: {value!r} is not an amount") from None
    if isinstance(value, bool) or not amount.is_finite() or amount <= 0:
        raise ExperimentFileError(f"{where}.{name}: {value!r} must be a positive amount")
    return amount
