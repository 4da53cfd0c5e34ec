"""What an import would change, shown and confirmed before anything is written.

The three replacing imports (``roles import``, ``contacts import``, ``arshjul import``) share this:
each builds a ``Diff`` of the current and the imported state (keyed by what identifies a row, with
labels in readable Norwegian), and ``confirm`` prints it and decides. A diff with no changes writes
nothing; ``--dry-run`` shows and stops; ``--yes`` goes ahead (for scripts); otherwise the operator is
asked y/N on a terminal, and without a terminal the import is refused (exit 2) — an import run from
a pipe or cron must say ``--yes`` so nobody loses the koordinator by accident.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from bot.admin.messages import say

K = TypeVar("K")
T = TypeVar("T")

YES = ("j", "ja", "y", "yes")


@dataclass(frozen=True)
class Changed:
    """One row that stays but changes: its label and what changes in it."""

    label: str
    details: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Diff:
    """Rows added, changed and removed by an import, each as a readable label."""

    added: list[str] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.changed or self.removed)


def diff_by_key(
    before: Mapping[K, T],
    after: Mapping[K, T],
    label: Callable[[T], str],
    details: Callable[[T, T], list[str]],
) -> Diff:
    """The diff of two keyed states; ``details(old, new)`` lists what changed (empty: the same)."""
    changed = [
        Changed(label(after[k]), found)
        for k in after
        if k in before and (found := details(before[k], after[k]))
    ]
    return Diff(
        added=[label(after[k]) for k in after if k not in before],
        changed=changed,
        removed=[label(before[k]) for k in before if k not in after],
    )


def arrow(name: str, old: str, new: str) -> str:
    """``navn: «Kari» → «Kari Hansen»``, an empty value shown as ``(tom)``."""
    empty = say("diff.empty_value")
    return say("diff.arrow", field=name, old=old or empty, new=new or empty)


def add_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--yes`` and ``--dry-run`` of a replacing import."""
    parser.add_argument("--yes", action="store_true", help="make the changes without asking")
    parser.add_argument(
        "--dry-run", action="store_true", help="only show what would change; change nothing"
    )
    return parser


def print_diff(diff: Diff, what: str) -> None:
    if diff.empty:
        print(say("diff.none", what=what))
        return
    print(say("diff.heading", what=what))
    for key, rows in (("diff.added", diff.added), ("diff.removed", diff.removed)):
        if key == "diff.removed" and diff.changed:  # added, changed, removed: in that order
            print(say("diff.changed", count=len(diff.changed)))
            for change in diff.changed:
                print(f"  ~ {change.label}")
                for line in change.details:
                    print(f"      {line}")
        if rows:
            print(say(key, count=len(rows)))
            sign = "+" if key == "diff.added" else "-"
            for row in rows:
                print(f"  {sign} {row}")


async def confirm(diff: Diff, args: argparse.Namespace, what: str) -> int | None:
    """Print the diff and decide: None to go ahead and write, else the exit status (nothing
    written): 0 for no changes or ``--dry-run``, 1 when the operator says no, 2 without a
    terminal to ask on and no ``--yes``."""
    print_diff(diff, what)
    if diff.empty:
        return 0
    if args.dry_run:
        print(say("diff.dry_run"))
        return 0
    if args.yes:
        return None
    if not sys.stdin.isatty():
        print(say("diff.no_terminal"), file=sys.stderr)
        return 2
    try:
        answer = await asyncio.to_thread(input, say("diff.question"))
    except EOFError:
        answer = ""
    if answer.strip().lower() not in YES:
        print(say("diff.declined"))
        return 1
    return None


def done(diff: Diff) -> str:
    """The line after the changes were written."""
    return say(
        "diff.done", added=len(diff.added), changed=len(diff.changed), removed=len(diff.removed)
    )
