"""Who talks to whom in a pairing round of the BTS-nettverk.

Members of different units are paired (never two of one unit); no two people are introduced twice
in one *cycle*, and a new cycle starts only when no new pair of different units is left. With an
odd count the one over joins a pair as its third; someone for whom nobody new is left this round
meets someone again rather than wait (only they repeat). With
``across_sectors`` pairs across sectors (barnehage × skole …) come first and the rest are paired as
they can. Deterministic for a given ``seed``. Pure: no database, no platform.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

#: Random orders tried; the one that pairs the most people (then the most across sectors) wins.
ATTEMPTS = 60
OTHER_SECTOR = "annet"

Key = tuple[str, str]


@dataclass(frozen=True)
class Member:
    platform: str
    user_id: str
    display_name: str
    unit: str
    sector: str = OTHER_SECTOR

    @property
    def key(self) -> Key:
        return (self.platform, self.user_id)

    def row(self) -> tuple[str, str, str, str]:
        return (self.platform, self.user_id, self.display_name, self.unit)


def sector_of(unit: str, keywords: Mapping[str, Sequence[str]]) -> str:
    """The sector a unit's name says ("Bekkevegen barnehage" → barnehage), else ``annet``."""
    name = unit.lower()
    for sector, words in keywords.items():
        if any(word.lower() in name for word in words):
            return sector
    return OTHER_SECTOR


def _met_pairs(history: Collection[frozenset[Key]]) -> set[frozenset[Key]]:
    met: set[frozenset[Key]] = set()
    for group in history:
        people = sorted(group)
        met.update(frozenset((a, b)) for i, a in enumerate(people) for b in people[i + 1 :])
    return met


def _may_meet(a: Member, b: Member, met: set[frozenset[Key]]) -> bool:
    return a.unit != b.unit and frozenset((a.key, b.key)) not in met


def _greedy(
    people: list[Member], met: set[frozenset[Key]], across: bool
) -> tuple[list[list[Member]], list[Member]]:
    """Pairs in this order, the most constrained first; and who is left."""
    left = list(people)
    pairs: list[list[Member]] = []
    while left:
        options = {
            p.key: [
                q
                for q in left
                if q is not p and _may_meet(p, q, met) and (not across or p.sector != q.sector)
            ]
            for p in left
        }
        pickable = [p for p in left if options[p.key]]
        if not pickable:
            break
        first = min(pickable, key=lambda p: len(options[p.key]))
        second = min(options[first.key], key=lambda q: len(options[q.key]))
        pairs.append([first, second])
        left = [p for p in left if p is not first and p is not second]
    return pairs, left


def _match(
    people: list[Member], met: set[frozenset[Key]], across: bool, rng: random.Random
) -> list[list[Member]]:
    best: list[list[Member]] = []
    best_score = (-1, -1)
    for _ in range(ATTEMPTS):
        order = list(people)
        rng.shuffle(order)
        pairs, left = _greedy(order, met, across)
        if across:  # the rest may pair within a sector
            more, left = _greedy(left, met, False)
            pairs += more
        crossing = sum(1 for a, b in pairs if a.sector != b.sector)
        score = (len(pairs), crossing)
        if score > best_score:
            best, best_score = pairs, score
    return best


def pair_up(
    members: Sequence[Member],
    history: Collection[frozenset[Key]],
    *,
    across_sectors: bool = False,
    seed: int = 0,
) -> tuple[list[list[Member]], bool]:
    """The groups (pairs, a few trios) of this round, and whether a new cycle started (everyone
    who could meet had met, so ``history`` was set aside)."""
    rng = random.Random(seed)
    people = sorted({m.key: m for m in members}.values(), key=lambda m: m.key)
    met = _met_pairs(history)
    new_cycle = False
    groups = _match(people, met, across_sectors, rng)
    if not groups and len({m.unit for m in people}) > 1:
        new_cycle, met = True, set()
        groups = _match(people, met, across_sectors, rng)
    _place_the_rest(people, groups, met, rng)
    return groups, new_cycle


def _place_the_rest(
    people: list[Member], groups: list[list[Member]], met: set[frozenset[Key]], rng: random.Random
) -> None:
    """Those left over: each joins a pair where it meets nobody twice; when nobody new is left
    for them, they meet again (everyone gets a talk every round; only they repeat)."""
    paired = {m.key for g in groups for m in g}
    left = []
    for extra in (m for m in people if m.key not in paired):
        fits = [
            g for g in groups if len(g) == 2 and all(_may_meet(extra, other, met) for other in g)
        ]
        if fits:
            rng.choice(fits).append(extra)
        else:
            left.append(extra)
    again, left = _greedy(left, set(), False)
    groups += again
    for extra in left:
        fits = [g for g in groups if len(g) == 2 and all(extra.unit != o.unit for o in g)]
        if fits:
            rng.choice(fits).append(extra)
