"""A tenant's implementation plan as validated data, and its YAML form.

A plan is a list of milestones: a stable key, a title in nb and nn, the responsible role (a role
key such as ``bts-koordinator``, optionally in one unit), the due date and the date it was
completed (*fullført dato*, empty while open). Built-in plans made from the seeds live in
``content/milestone_plans/<name>.yaml`` (one file carries both languages). Loading reports every
problem as ``file:line: message``, also a role the tenant does not have. This module only reads
and writes text: no database, no platform.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, model_validator

from dialogs.arshjul.model import KEY_PATTERN
from dialogs.bilingual import Strict, Text
from dialogs.yaml_source import ContentFileError, Problem, parse_model, read_text, read_yaml
from storage.milestones import MilestoneRecord

PLANS_DIR = Path(__file__).resolve().parents[1] / "content" / "milestone_plans"
BUILTIN_PLANS = ("strand", "sirdal")
TITLE_MAX = 300
MILESTONES_MAX = 200


class PlanError(ContentFileError):
    """A plan file cannot be used; ``errors`` are ``file:line: message`` lines."""


class Milestone(Strict):
    """One milestone of the plan."""

    key: str = Field(pattern=KEY_PATTERN)
    title: Text
    role: str = Field(pattern=KEY_PATTERN)
    unit: str | None = Field(default=None, min_length=1, max_length=200)
    due: dt.date
    completed: dt.date | None = None

    @model_validator(mode="after")
    def _check(self) -> Milestone:
        if max(len(self.title.nb), len(self.title.nn)) > TITLE_MAX:
            raise ValueError(f"a title has at most {TITLE_MAX} characters")
        return self


class MilestonePlan(Strict):
    """A whole plan: the built-in plan it came from (if any), a name and the milestones."""

    plan: str = Field(default="", max_length=40)
    name: Text | None = None
    milestones: list[Milestone] = Field(max_length=MILESTONES_MAX)

    @model_validator(mode="after")
    def _unique_keys(self) -> MilestonePlan:
        seen: set[str] = set()
        for milestone in self.milestones:
            if milestone.key in seen:
                raise ValueError(f"milestone key {milestone.key!r} appears twice")
            seen.add(milestone.key)
        return self

    def roles(self) -> list[str]:
        """Every responsible role, in first-use order."""
        return list(dict.fromkeys(m.role for m in self.milestones))


def parse_plan(
    text: str, name: str = "<plan>", roles: Collection[str] | None = None
) -> MilestonePlan:
    """Parse and validate YAML text; with ``roles``, a milestone whose role is not among them is an
    error too. Raises PlanError with ``file:line: message`` lines."""
    plan = parse_model(
        text, name, MilestonePlan, PlanError, "a plan file is a mapping with milestones"
    )
    if roles is not None:
        known = ", ".join(sorted(roles))
        problems = [
            Problem(("milestones", i, "role"), f"unknown role {m.role!r} (known: {known})")
            for i, m in enumerate(plan.milestones)
            if m.role not in roles
        ]
        if problems:
            raise PlanError(read_yaml(Path(name), text).format(problems))
    return plan


def load_plan(path: Path, roles: Collection[str] | None = None) -> MilestonePlan:
    return parse_plan(read_text(path, PlanError), str(path), roles)


def load_builtin(name: str) -> MilestonePlan:
    """A built-in plan made from the seeds (``strand``, ``sirdal``)."""
    if name not in BUILTIN_PLANS:
        raise PlanError([f"unknown plan {name!r} (known: {', '.join(BUILTIN_PLANS)})"])
    return load_plan(PLANS_DIR / f"{name}.yaml")


def dump_plan(plan: MilestonePlan, header: str = "") -> str:
    """YAML text that ``parse_plan`` reads back to an equal plan; ``header`` becomes a comment."""
    data: dict[str, Any] = {"plan": plan.plan}
    if plan.name is not None:
        data["name"] = plan.name.model_dump()
    data["milestones"] = [m.model_dump(exclude_none=True) for m in plan.milestones]
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def to_records(plan: MilestonePlan) -> list[MilestoneRecord]:
    return [
        MilestoneRecord(
            key=m.key,
            title_nb=m.title.nb,
            title_nn=m.title.nn,
            role=m.role,
            due=m.due,
            unit=m.unit,
            completed=m.completed,
        )
        for m in plan.milestones
    ]


def from_records(records: Sequence[MilestoneRecord], plan: str = "") -> MilestonePlan:
    return MilestonePlan(
        plan=plan,
        milestones=[
            Milestone(
                key=r.key,
                title=Text(nb=r.title_nb, nn=r.title_nn),
                role=r.role,
                unit=r.unit,
                due=r.due,
                completed=r.completed,
            )
            for r in records
        ],
    )
