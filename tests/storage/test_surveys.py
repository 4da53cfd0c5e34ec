"""Survey storage on both backends: launch rules, answers that replace, nudge lists, close, and
anonymity checked on a dump of every table."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, select

from storage import outbox, surveys
from storage.outbox import NewItem
from storage.repositories import Store
from storage.survey_models import ANONYMOUS, BY_UNIT, NAMED
from storage.surveys import AnswerRefused, LaunchRefused, Recipient
from storage.users import ensure_tenant

KEY = b"k" * 32
T0 = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
DAY = date(2026, 9, 1)
TEMPLATE: dict[str, Any] = {"key": "puls", "questions": [{"key": "q1", "kind": "scale"}]}


def people(n: int, unit: str = "Sortland skole", prefix: str = "U") -> list[Recipient]:
    return [Recipient("slack", f"{prefix}{i:03d}", unit) for i in range(n)]


async def launch(store: Store, who: list[Recipient], anonymity: str = ANONYMOUS, **kw: Any) -> Any:
    defaults: dict[str, Any] = {
        "tenant_id": "t1",
        "template_key": "puls",
        "template": TEMPLATE,
        "anonymity": anonymity,
        "audience": {"kind": "all"},
        "recipients": who,
        "opens_at": T0,
        "closes_at": T0 + timedelta(days=7),
        "min_group": 5,
    }
    defaults.update(kw)
    run, _ = await surveys.launch(store, **defaults)
    return run


async def answer(store: Store, run_id: str, user: str, value: int, **kw: Any) -> bool:
    return await surveys.submit(
        store,
        key=KEY,
        tenant_id=kw.get("tenant_id", "t1"),
        run_id=run_id,
        platform_user_id=user,
        values={"q1": value},
        day=DAY,
        now=kw.get("now", T0 + timedelta(hours=1)),
    )


@pytest.fixture
async def sstore(store: Store) -> Store:
    await ensure_tenant(store, "t1", "slack", "T1")
    await ensure_tenant(store, "t2", "slack", "T2")
    return store


async def test_an_anonymous_survey_needs_the_minimum_group(sstore: Store) -> None:
    with pytest.raises(LaunchRefused) as refused:
        await launch(sstore, people(4))
    assert (refused.value.reason, refused.value.recipients, refused.value.minimum) == (
        "too_few",
        4,
        5,
    )
    assert (await launch(sstore, people(5))).recipients == 5
    # A unit's report goes to one leader: the minimum is about anonymity, which it does not claim.
    assert (await launch(sstore, people(1), BY_UNIT)).recipients == 1
    with pytest.raises(LaunchRefused):
        await launch(sstore, [], BY_UNIT)


async def test_a_launch_key_launches_once(sstore: Store) -> None:
    first, new = await surveys.launch(
        sstore, tenant_id="t1", template_key="puls", template=TEMPLATE, anonymity=ANONYMOUS,
        audience={"kind": "all"}, recipients=people(6), opens_at=T0,
        closes_at=T0 + timedelta(days=7), min_group=5, launch_key="arshjul:puls:2026-09-01",
    )  # fmt: skip
    again, new_again = await surveys.launch(
        sstore, tenant_id="t1", template_key="puls", template=TEMPLATE, anonymity=ANONYMOUS,
        audience={"kind": "all"}, recipients=people(9), opens_at=T0,
        closes_at=T0 + timedelta(days=7), min_group=5, launch_key="arshjul:puls:2026-09-01",
    )  # fmt: skip
    assert (new, new_again, again.id, again.recipients) == (True, False, first.id, 6)
    assert len(await surveys.runs(sstore, "t1")) == 1


async def test_a_run_and_the_rows_it_plans_commit_together(sstore: Store) -> None:
    def broken_plan(run: surveys.Run, who: Any) -> list[Any]:
        raise RuntimeError("the process died while planning")

    with pytest.raises(RuntimeError):
        await launch(sstore, people(6), plan=broken_plan, launch_key="arshjul:puls:2026-09-01")
    # Nothing half-done: the next launch with the same key starts the run and plans it.
    assert await surveys.runs(sstore, "t1") == []

    def planned(run: surveys.Run, who: Any) -> list[NewItem]:
        return [
            NewItem(
                tenant_id="t1",
                dedupe_key=f"survey:{run.id}:invite:{p.platform_user_id}",
                kind="survey",
                platform="slack",
                target_kind="user",
                target_id=p.platform_user_id,
                send_at=T0,
                payload={"run": run.id},
            )
            for p in who
        ]

    run = await launch(sstore, people(6), plan=planned, launch_key="arshjul:puls:2026-09-01")
    rows = await outbox.list_items(sstore, "t1", kind="survey")
    assert sorted(r.target_id for r in rows) == sorted(p.platform_user_id for p in people(6))
    assert {r.payload["run"] for r in rows} == {run.id}


async def test_a_second_submit_replaces_the_first(sstore: Store) -> None:
    run = await launch(sstore, people(6))
    assert await answer(sstore, run.id, "U000", 2) is False
    assert await answer(sstore, run.id, "U000", 5) is True
    assert await surveys.answer_count(sstore, run.id) == 1
    assert [a.values for a in await surveys.answers(sstore, "t1", run.id)] == [{"q1": 5}]
    assert await surveys.own_answer(sstore, KEY, run, "U000") == {"q1": 5}
    assert await surveys.own_answer(sstore, KEY, run, "U001") is None


async def test_answers_from_outside_the_audience_or_after_close_are_refused(sstore: Store) -> None:
    run = await launch(sstore, people(6))
    with pytest.raises(AnswerRefused, match="not_recipient"):
        await answer(sstore, run.id, "STRANGER", 3)
    with pytest.raises(AnswerRefused, match="not_recipient"):
        await answer(sstore, run.id, "U000", 3, tenant_id="t2")
    with pytest.raises(AnswerRefused, match="closed"):
        await answer(sstore, run.id, "U000", 3, now=T0 + timedelta(days=8))
    await answer(sstore, run.id, "U000", 3)
    await surveys.close(sstore, "t1", run.id, T0 + timedelta(days=2))
    with pytest.raises(AnswerRefused, match="closed"):
        await answer(sstore, run.id, "U001", 3)
    assert await surveys.answer_count(sstore, run.id) == 1


async def test_nudges_go_only_to_those_who_have_not_answered(sstore: Store) -> None:
    run = await launch(sstore, people(6))
    for user in ("U001", "U003"):
        await answer(sstore, run.id, user, 4)
    waiting = [r.platform_user_id for r in await surveys.not_answered(sstore, KEY, run.id)]
    assert waiting == ["U000", "U002", "U004", "U005"]
    assert await surveys.has_answered(sstore, KEY, run.id, "U001")
    assert not await surveys.has_answered(sstore, KEY, run.id, "U000")
    assert await surveys.mark_nudged(sstore, run.id, ["U000", "U002"], T0 + timedelta(days=3)) == 2
    since = T0 + timedelta(days=1)
    later = [r.platform_user_id for r in await surveys.not_answered(sstore, KEY, run.id, since)]
    assert later == ["U004", "U005"]
    # Another key (another deployment's secret) recognises nobody.
    assert len(await surveys.not_answered(sstore, b"other" * 8, run.id)) == 6


async def test_a_small_units_name_is_not_kept_on_an_anonymous_answer(sstore: Store) -> None:
    who = people(5, "Sortland skole") + people(2, "Lille barnehage", prefix="L")
    run = await launch(sstore, who)
    await answer(sstore, run.id, "U000", 4)
    await answer(sstore, run.id, "L000", 1)
    units = sorted(a.unit for a in await surveys.answers(sstore, "t1", run.id))
    assert units == ["", "Sortland skole"]


async def test_a_unit_report_is_one_row_per_unit_and_says_who_sent_it(sstore: Store) -> None:
    who = [
        Recipient("slack", "LEADER", "Sortland skole"),
        Recipient("slack", "DEPUTY", "Sortland skole"),
    ]
    run = await launch(sstore, who, BY_UNIT)
    await answer(sstore, run.id, "LEADER", 3)
    assert await answer(sstore, run.id, "DEPUTY", 4) is True
    rows = await surveys.answers(sstore, "t1", run.id)
    assert [(a.unit, a.respondent, a.values) for a in rows] == [
        ("Sortland skole", "DEPUTY", {"q1": 4})
    ]
    named = await launch(sstore, people(2), NAMED)
    await answer(sstore, named.id, "U000", 2)
    assert [a.respondent for a in await surveys.answers(sstore, "t1", named.id)] == ["U000"]


async def test_runs_and_answers_stay_in_their_tenant(sstore: Store) -> None:
    run = await launch(sstore, people(5))
    await answer(sstore, run.id, "U000", 4)
    assert await surveys.get_run(sstore, "t2", run.id) is None
    assert await surveys.answers(sstore, "t2", run.id) == []
    assert await surveys.close(sstore, "t2", run.id, T0) is None
    assert await surveys.runs(sstore, "t2") == []


async def _dump(store: Store) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, as a database dump would have it."""
    metadata = MetaData()
    async with store.engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
        out: dict[str, list[dict[str, Any]]] = {}
        for name, table in metadata.tables.items():
            out[name] = [dict(r._mapping) for r in (await conn.execute(select(table))).all()]
    return out


def _strings(rows: list[dict[str, Any]]) -> set[str]:
    found: set[str] = set()
    for row in rows:
        for value in row.values():
            found.add(str(value))
    return found


async def test_a_dump_of_every_table_cannot_join_an_anonymous_answer_to_a_person(
    sstore: Store,
) -> None:
    who = people(6)
    run = await launch(sstore, who)
    for i, person in enumerate(who):
        await answer(sstore, run.id, person.platform_user_id, 1 + i % 5)
    for moment in ("open", "closed"):
        dump = await _dump(sstore)
        rows = dump["survey_answers"]
        assert len(rows) == 6
        others = set().union(*(_strings(v) for k, v in dump.items() if k != "survey_answers"))
        for row in rows:
            assert row["respondent"] == ""
            assert set(row) == {"run_id", "key", "unit", "respondent", "day", "values"}
            assert not isinstance(row["day"], datetime)  # the day, nothing finer
            # Nothing in the row names a person, and its key appears nowhere else.
            text = str(row)
            assert not any(p.platform_user_id in text for p in who)
            assert row["key"] not in others
            # Without the secret the key is not a plain hash of anything a dump holds.
            for p in who:
                plain = f"answer\0{run.id}\0{p.platform_user_id}".encode()
                assert row["key"] != hashlib.sha256(plain).hexdigest()
                assert row["key"] != hashlib.sha256(p.platform_user_id.encode()).hexdigest()
        if moment == "open":
            answered = {r["digest"] for r in dump["survey_answered"]}
            assert len(answered) == 6 and not answered & {r["key"] for r in rows}
            keys_while_open = {r["key"] for r in rows}
            await surveys.close(sstore, "t1", run.id, T0 + timedelta(days=7))
        else:
            # Closed: the answered record and the recipients are gone, every key is new and random,
            # so not even the holder of the secret can find a person's answer again.
            assert dump["survey_answered"] == [] and dump["survey_recipients"] == []
            assert not keys_while_open & {r["key"] for r in rows}
            for p in who:
                assert surveys.answer_key(KEY, run.id, p.platform_user_id) not in {
                    r["key"] for r in rows
                }
    closed = await surveys.get_run(sstore, "t1", run.id)
    assert closed is not None and (closed.status, closed.answered, closed.recipients) == (
        "closed",
        6,
        6,
    )
    assert sorted(a.values["q1"] for a in await surveys.answers(sstore, "t1", run.id)) == [
        1, 1, 2, 3, 4, 5,
    ]  # fmt: skip


async def test_close_is_idempotent_and_finds_what_is_due(sstore: Store) -> None:
    run = await launch(sstore, people(5))
    assert [r.id for r in await surveys.due_to_close(sstore, T0 + timedelta(days=6))] == []
    assert [r.id for r in await surveys.due_to_close(sstore, T0 + timedelta(days=7))] == [run.id]
    first = await surveys.close(sstore, "t1", run.id, T0 + timedelta(days=7))
    second = await surveys.close(sstore, "t1", run.id, T0 + timedelta(days=9))
    assert first is not None and second is not None and first.closed_at == second.closed_at
    assert await surveys.due_to_close(sstore, T0 + timedelta(days=9)) == []


async def test_the_previous_round_is_the_last_closed_run_of_the_template(sstore: Store) -> None:
    spring = await launch(sstore, people(5), opens_at=T0 - timedelta(days=180),
                          closes_at=T0 - timedelta(days=170))  # fmt: skip
    autumn = await launch(sstore, people(5))
    assert await surveys.previous_run(sstore, autumn) is None
    await surveys.close(sstore, "t1", spring.id, T0 - timedelta(days=170))
    previous = await surveys.previous_run(sstore, autumn)
    assert previous is not None and previous.id == spring.id


async def test_sqlite_keeps_answers_in_key_order_not_in_the_order_they_came(sstore: Store) -> None:
    if sstore.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL has no rowid; close rewrites the rows in random order there")
    async with sstore.engine.connect() as conn:
        for table in ("survey_answers", "survey_answered"):
            sql = await conn.exec_driver_sql(
                f"SELECT sql FROM sqlite_master WHERE name = '{table}'"
            )
            assert "WITHOUT ROWID" in str(sql.scalar())
