"""Repository of the shared send rates (``rate_buckets``): reserve a run of call slots, pause a
bucket for everybody.

PostgreSQL only — it is the one component every replica already shares; on SQLite there is one
process and its limiter stays in memory. Each function is one statement (an upsert … RETURNING)
computed on the database's clock, so a replica hits the database once per run of slots, not once
per call, and replicas never need each other's clocks.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from storage.repositories import Store

# The bucket's next free slot moves past a pause too: slots handed out later start after it.
_RESERVE = text(
    """
    INSERT INTO rate_buckets (tenant_id, bucket, tat, paused_until, updated_at)
    VALUES (:tenant, :bucket, clock_timestamp() + make_interval(secs => :span), NULL,
            clock_timestamp())
    ON CONFLICT (tenant_id, bucket) DO UPDATE
    SET tat = greatest(rate_buckets.tat, clock_timestamp(),
                       coalesce(rate_buckets.paused_until, clock_timestamp()))
              + make_interval(secs => :span),
        updated_at = clock_timestamp()
    RETURNING extract(epoch FROM rate_buckets.tat)::float8 - :span,
              extract(epoch FROM clock_timestamp())::float8,
              coalesce(extract(epoch FROM (rate_buckets.paused_until - clock_timestamp())), 0)::float8
    """
)

_PAUSE = text(
    """
    INSERT INTO rate_buckets (tenant_id, bucket, tat, paused_until, updated_at)
    VALUES (:tenant, :bucket, clock_timestamp() + make_interval(secs => :seconds),
            clock_timestamp() + make_interval(secs => :seconds), clock_timestamp())
    ON CONFLICT (tenant_id, bucket) DO UPDATE
    SET paused_until = greatest(coalesce(rate_buckets.paused_until, '-infinity'::timestamptz),
                                clock_timestamp() + make_interval(secs => :seconds)),
        tat = greatest(rate_buckets.tat, clock_timestamp() + make_interval(secs => :seconds)),
        updated_at = clock_timestamp()
    """
)


@dataclass(frozen=True)
class Run:
    """A reserved run of slots, on the database's clock (epoch seconds)."""

    start: float  # when the first slot is
    now: float  # the database's clock when it reserved them
    paused: float  # seconds the bucket is still paused for (the run already starts after it)


async def reserve(store: Store, tenant_id: str, bucket: str, slots: int, interval: float) -> Run:
    """Take the bucket's next ``slots`` call slots, ``interval`` seconds apart, from its next free
    slot or now, whichever is later. Nobody else gets them."""
    span = slots * interval
    async with store.sessions.begin() as session:
        row = (
            await session.execute(
                _RESERVE, {"tenant": tenant_id, "bucket": bucket[:80], "span": span}
            )
        ).one()
    return Run(float(row[0]), float(row[1]), max(0.0, float(row[2] or 0.0)))


async def pause(store: Store, tenant_id: str, bucket: str, seconds: float) -> None:
    """Hold back every replica's calls of this bucket for ``seconds`` (a 429's Retry-After)."""
    async with store.sessions.begin() as session:
        await session.execute(
            _PAUSE, {"tenant": tenant_id, "bucket": bucket[:80], "seconds": max(0.0, seconds)}
        )


async def paused_for(store: Store, tenant_id: str, bucket: str) -> float:
    """Seconds the bucket is still paused for (0 when it is not)."""
    async with store.sessions() as session:
        left = await session.scalar(
            text(
                "SELECT extract(epoch FROM (paused_until - clock_timestamp()))::float8 "
                "FROM rate_buckets WHERE tenant_id = :tenant AND bucket = :bucket"
            ),
            {"tenant": tenant_id, "bucket": bucket[:80]},
        )
    return max(0.0, float(left or 0.0))
