"""Repository of the BTS-nettverk: networks, meeting rounds, check-ins, topic votes and pairings.

A round moves one way only (check-ins → voting → agenda → summarised), and every write that
belongs to a phase checks the phase in the same statement: a check-in edited after the digest went
out, a vote after the agenda was posted or a second set of key points is refused, not stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, func, select, update

from storage.models import utcnow
from storage.network_models import (
    AGENDA,
    CHECKIN,
    ROUND_STATUSES,
    SUMMARISED,
    VOTING,
    Network,
    NetworkCheckin,
    NetworkPair,
    NetworkPairing,
    NetworkRound,
    NetworkVote,
)
from storage.repositories import Store, aware, rowcount

__all__ = ["AGENDA", "CHECKIN", "SUMMARISED", "VOTING"]

DEFAULT_KEY = "bts-nettverk"


@dataclass(frozen=True)
class NetworkSettings:
    """A network as the dialogs and the planner see it."""

    tenant_id: str
    key: str
    platform: str
    channel_id: str
    member_role: str = "bts-kontakt"
    host_role: str = "bts-koordinator"
    tasks: tuple[str, ...] = ()
    checkin_days: int = 7
    pairing_weeks: int = 0
    pairing_across_sectors: bool = False
    evaluation_months: tuple[int, ...] = (1, 2)
    created_at: datetime = field(default_factory=utcnow)


@dataclass(frozen=True)
class Round:
    id: int
    tenant_id: str
    network_key: str
    task_key: str
    meeting: date
    evaluation: bool
    status: str
    summary: tuple[str, ...]
    survey_run: str | None


@dataclass(frozen=True)
class Checkin:
    id: int
    round_id: int
    platform: str
    user_id: str
    display_name: str
    unit: str
    done: str
    smart: str
    learned: str
    topic: str


@dataclass(frozen=True)
class Pair:
    id: int
    pairing_id: int
    #: ``(platform, user_id, display_name, unit)`` of each member.
    members: tuple[tuple[str, str, str, str], ...]
    met: dict[str, bool]


def _network(row: Network) -> NetworkSettings:
    return NetworkSettings(
        tenant_id=row.tenant_id,
        key=row.key,
        platform=row.platform,
        channel_id=row.channel_id,
        member_role=row.member_role,
        host_role=row.host_role,
        tasks=tuple(row.tasks or ()),
        checkin_days=row.checkin_days,
        pairing_weeks=row.pairing_weeks,
        pairing_across_sectors=row.pairing_across_sectors,
        evaluation_months=tuple(row.evaluation_months or ()),
        created_at=aware(row.created_at),
    )


def _round(row: NetworkRound) -> Round:
    return Round(
        id=row.id,
        tenant_id=row.tenant_id,
        network_key=row.network_key,
        task_key=row.task_key,
        meeting=row.meeting,
        evaluation=row.evaluation,
        status=row.status,
        summary=tuple(row.summary or ()),
        survey_run=row.survey_run,
    )


def _checkin(row: NetworkCheckin) -> Checkin:
    return Checkin(
        id=row.id,
        round_id=row.round_id,
        platform=row.platform,
        user_id=row.user_id,
        display_name=row.display_name,
        unit=row.unit,
        done=row.done,
        smart=row.smart,
        learned=row.learned,
        topic=row.topic,
    )


# networks ---------------------------------------------------------------------------------------


async def put_network(store: Store, settings: NetworkSettings) -> None:
    """Create the network or replace its settings (its rounds and pairings stay)."""
    values = {
        "platform": settings.platform,
        "channel_id": settings.channel_id,
        "member_role": settings.member_role,
        "host_role": settings.host_role,
        "tasks": list(settings.tasks),
        "checkin_days": settings.checkin_days,
        "pairing_weeks": settings.pairing_weeks,
        "pairing_across_sectors": settings.pairing_across_sectors,
        "evaluation_months": list(settings.evaluation_months),
    }
    statement = (
        store.insert(Network)
        .values(
            tenant_id=settings.tenant_id, key=settings.key, created_at=settings.created_at, **values
        )
        .on_conflict_do_update(index_elements=["tenant_id", "key"], set_=values)
    )
    async with store.sessions.begin() as session:
        await session.execute(statement)


async def get_network(store: Store, tenant_id: str, key: str) -> NetworkSettings | None:
    async with store.sessions() as session:
        row = await session.get(Network, (tenant_id, key))
        return _network(row) if row is not None else None


async def list_networks(store: Store, tenant_id: str | None = None) -> list[NetworkSettings]:
    query = select(Network).order_by(Network.tenant_id, Network.key)
    if tenant_id is not None:
        query = query.where(Network.tenant_id == tenant_id)
    async with store.sessions() as session:
        return [_network(r) for r in (await session.scalars(query)).all()]


async def remove_network(store: Store, tenant_id: str, key: str) -> bool:
    """Stop the network: no more check-ins or pairings (what was shared stays in its channel)."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            delete(Network).where(Network.tenant_id == tenant_id, Network.key == key)
        )
        return rowcount(result) > 0


# rounds -----------------------------------------------------------------------------------------


async def ensure_round(
    store: Store, tenant_id: str, network_key: str, task_key: str, meeting: date, evaluation: bool
) -> Round:
    """The round of this meeting, created the first time it is asked for (planning is repeated;
    the first answer about ``evaluation`` stays)."""
    statement = (
        store.insert(NetworkRound)
        .values(
            tenant_id=tenant_id,
            network_key=network_key,
            task_key=task_key,
            meeting=meeting,
            evaluation=evaluation,
            status=CHECKIN,
            summary=[],
            created_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    async with store.sessions.begin() as session:
        await session.execute(statement)
        row = await session.scalar(
            select(NetworkRound).where(
                NetworkRound.tenant_id == tenant_id,
                NetworkRound.network_key == network_key,
                NetworkRound.task_key == task_key,
                NetworkRound.meeting == meeting,
            )
        )
        assert row is not None
        return _round(row)


async def get_round(store: Store, tenant_id: str, round_id: int) -> Round | None:
    async with store.sessions() as session:
        row = await session.get(NetworkRound, round_id)
        return _round(row) if row is not None and row.tenant_id == tenant_id else None


async def rounds(
    store: Store, tenant_id: str, network_key: str, since: date | None = None
) -> list[Round]:
    """The network's rounds by meeting day (from ``since``)."""
    query = select(NetworkRound).where(
        NetworkRound.tenant_id == tenant_id, NetworkRound.network_key == network_key
    )
    if since is not None:
        query = query.where(NetworkRound.meeting >= since)
    async with store.sessions() as session:
        rows = await session.scalars(query.order_by(NetworkRound.meeting, NetworkRound.id))
        return [_round(r) for r in rows.all()]


async def advance(store: Store, round_id: int, status: str) -> bool:
    """Move the round to ``status`` if it is at an earlier one; True when it moved."""
    earlier = ROUND_STATUSES[: ROUND_STATUSES.index(status)]
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(NetworkRound)
            .where(NetworkRound.id == round_id, NetworkRound.status.in_(earlier))
            .values(status=status)
        )
        return rowcount(result) > 0


async def set_survey_run(store: Store, round_id: int, run_id: str) -> None:
    async with store.sessions.begin() as session:
        await session.execute(
            update(NetworkRound).where(NetworkRound.id == round_id).values(survey_run=run_id)
        )


async def set_summary(store: Store, round_id: int, points: Sequence[str]) -> bool:
    """Store the host's key points once; False when another host was first."""
    async with store.sessions.begin() as session:
        result = await session.execute(
            update(NetworkRound)
            .where(NetworkRound.id == round_id, NetworkRound.status != SUMMARISED)
            .values(summary=list(points), status=SUMMARISED)
        )
        return rowcount(result) > 0


# check-ins and votes ----------------------------------------------------------------------------


async def put_checkin(
    store: Store,
    round_id: int,
    *,
    platform: str,
    user_id: str,
    display_name: str,
    unit: str,
    done: str,
    smart: str,
    learned: str,
    topic: str,
) -> bool:
    """Store or replace a member's check-in; False when the round's check-ins are closed."""
    values = {
        "display_name": display_name[:200],
        "unit": unit[:200],
        "done": done[:600],
        "smart": smart[:600],
        "learned": learned[:600],
        "topic": topic[:200],
        "updated_at": utcnow(),
    }
    async with store.sessions.begin() as session:
        # The round row is locked (PostgreSQL) so a check-in cannot slip in beside the digest.
        status = await session.scalar(
            select(NetworkRound.status).where(NetworkRound.id == round_id).with_for_update()
        )
        if status != CHECKIN:
            return False
        await session.execute(
            store.insert(NetworkCheckin)
            .values(round_id=round_id, platform=platform, user_id=user_id, **values)
            .on_conflict_do_update(index_elements=["round_id", "platform", "user_id"], set_=values)
        )
        return True


async def checkins(store: Store, round_id: int) -> list[Checkin]:
    """The round's check-ins by unit, then by when they came."""
    async with store.sessions() as session:
        rows = await session.scalars(
            select(NetworkCheckin)
            .where(NetworkCheckin.round_id == round_id)
            .order_by(NetworkCheckin.unit, NetworkCheckin.id)
        )
        return [_checkin(r) for r in rows.all()]


async def checkin_of(store: Store, round_id: int, platform: str, user_id: str) -> Checkin | None:
    async with store.sessions() as session:
        row = await session.scalar(
            select(NetworkCheckin).where(
                NetworkCheckin.round_id == round_id,
                NetworkCheckin.platform == platform,
                NetworkCheckin.user_id == user_id,
            )
        )
        return _checkin(row) if row is not None else None


async def vote(
    store: Store, round_id: int, platform: str, user_id: str, checkin_ids: Iterable[int]
) -> bool:
    """Replace this person's votes with ``checkin_ids`` (topics of this round only); False when
    voting is not open."""
    async with store.sessions.begin() as session:
        status = await session.scalar(
            select(NetworkRound.status).where(NetworkRound.id == round_id).with_for_update()
        )
        if status != VOTING:
            return False
        wanted = set(checkin_ids)
        valid = set(
            (
                await session.scalars(
                    select(NetworkCheckin.id).where(
                        NetworkCheckin.round_id == round_id,
                        NetworkCheckin.id.in_(wanted),
                        NetworkCheckin.topic != "",
                    )
                )
            ).all()
        )
        await session.execute(
            delete(NetworkVote).where(
                NetworkVote.round_id == round_id,
                NetworkVote.platform == platform,
                NetworkVote.user_id == user_id,
            )
        )
        for checkin_id in sorted(valid):
            session.add(
                NetworkVote(
                    round_id=round_id, checkin_id=checkin_id, platform=platform, user_id=user_id
                )
            )
        return True


async def vote_counts(store: Store, round_id: int) -> dict[int, int]:
    """Votes per proposed topic (by check-in id)."""
    async with store.sessions() as session:
        rows = await session.execute(
            select(NetworkVote.checkin_id, func.count())
            .where(NetworkVote.round_id == round_id)
            .group_by(NetworkVote.checkin_id)
        )
        return {int(c): int(n) for c, n in rows.all()}


# pairings ---------------------------------------------------------------------------------------


async def pair_history(
    store: Store, tenant_id: str, network_key: str
) -> tuple[int, list[frozenset[tuple[str, str]]]]:
    """The current cycle and the groups already introduced in it (as sets of (platform, user))."""
    async with store.sessions() as session:
        cycle = await session.scalar(
            select(func.max(NetworkPairing.cycle)).where(
                NetworkPairing.tenant_id == tenant_id, NetworkPairing.network_key == network_key
            )
        )
        if cycle is None:
            return 1, []
        rows = await session.scalars(
            select(NetworkPair.members)
            .join(NetworkPairing, NetworkPairing.id == NetworkPair.pairing_id)
            .where(
                NetworkPairing.tenant_id == tenant_id,
                NetworkPairing.network_key == network_key,
                NetworkPairing.cycle == cycle,
            )
        )
        groups = [frozenset((m[0], m[1]) for m in members) for members in rows.all()]
        return int(cycle), groups


async def save_pairing(
    store: Store,
    tenant_id: str,
    network_key: str,
    label: str,
    cycle: int,
    groups: Sequence[Sequence[tuple[str, str, str, str]]],
) -> list[Pair]:
    """Store one pairing round; its pairs. A label stored already returns the pairs it holds, so
    planning twice pairs nobody twice."""
    async with store.sessions.begin() as session:
        existing = await session.scalar(
            select(NetworkPairing.id).where(
                NetworkPairing.tenant_id == tenant_id,
                NetworkPairing.network_key == network_key,
                NetworkPairing.label == label,
            )
        )
        if existing is None:
            pairing = NetworkPairing(
                tenant_id=tenant_id,
                network_key=network_key,
                label=label,
                cycle=cycle,
                created_at=utcnow(),
            )
            session.add(pairing)
            await session.flush()
            existing = pairing.id
            for group in groups:
                session.add(
                    NetworkPair(pairing_id=existing, members=[list(m) for m in group], met={})
                )
    return await pairs_of(store, existing)


async def pairs_of(store: Store, pairing_id: int) -> list[Pair]:
    async with store.sessions() as session:
        rows = await session.scalars(
            select(NetworkPair).where(NetworkPair.pairing_id == pairing_id).order_by(NetworkPair.id)
        )
        return [
            Pair(r.id, r.pairing_id, tuple(tuple(m) for m in r.members), dict(r.met))  # type: ignore[misc]
            for r in rows.all()
        ]


async def get_pair(store: Store, tenant_id: str, pair_id: int) -> Pair | None:
    async with store.sessions() as session:
        row = await session.get(NetworkPair, pair_id)
        if row is None:
            return None
        pairing = await session.get(NetworkPairing, row.pairing_id)
        if pairing is None or pairing.tenant_id != tenant_id:
            return None
        return Pair(row.id, row.pairing_id, tuple(tuple(m) for m in row.members), dict(row.met))  # type: ignore[misc]


async def record_met(
    store: Store, tenant_id: str, pair_id: int, platform: str, user_id: str, met: bool
) -> bool:
    """One member's answer to "did you meet?"; False when they are not in the pair."""
    async with store.sessions.begin() as session:
        row = await session.get(NetworkPair, pair_id, with_for_update=True)
        if row is None:
            return False
        pairing = await session.get(NetworkPairing, row.pairing_id)
        if pairing is None or pairing.tenant_id != tenant_id:
            return False
        if not any(m[0] == platform and m[1] == user_id for m in row.members):
            return False
        row.met = {**row.met, f"{platform}:{user_id}": met}
        return True


async def pairing_stats(
    store: Store, tenant_id: str, network_key: str, since: datetime
) -> tuple[int, int]:
    """(pairs introduced since ``since``, pairs where someone said they met)."""
    async with store.sessions() as session:
        rows = await session.scalars(
            select(NetworkPair.met)
            .join(NetworkPairing, NetworkPairing.id == NetworkPair.pairing_id)
            .where(
                NetworkPairing.tenant_id == tenant_id,
                NetworkPairing.network_key == network_key,
                NetworkPairing.created_at >= since,
            )
        )
        answers = rows.all()
        return len(answers), sum(1 for met in answers if any(met.values()))
