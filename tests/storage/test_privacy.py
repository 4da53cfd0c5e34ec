"""The GDPR export and erasure of one person (``storage.privacy``), on SQLite and PostgreSQL.

A person with something in every table that can hold a user id is exported (every section shows
it) and erased: afterwards no column of any table holds their id or name, while a colleague's data,
the counts and the anonymous answers are all still there. ``PERSON_COLUMNS`` / ``NO_PERSON`` are
checked against the metadata, so a new table or user-id column fails here until it is covered.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from storage.contacts_models import ContactDetails, UserUnit
from storage.directory_models import DirectoryRole, RoleHolder, TenantAdmin, Unit
from storage.feedback_models import FeedbackCount
from storage.followup_models import PersonalFollowup
from storage.inbox_models import InboxItem
from storage.models import Base, ConversationRef, ConversationState, Tenant, User
from storage.network_models import (
    NetworkCheckin,
    NetworkPair,
    NetworkPairing,
    NetworkRound,
    NetworkVote,
)
from storage.onboarding_models import Onboarding, OnboardingStep
from storage.outbox_models import OutboxItem, TaskProgress
from storage.privacy import NO_PERSON, PERSON_COLUMNS, SECTIONS, Person, erase_person, export_person
from storage.repositories import Store
from storage.survey_models import SurveyAnswer, SurveyAnswered, SurveyRecipient, SurveyRun
from storage.surveys import answer_key, answered_digest

T = "slack:TPRIV"
ME = "UERASEME"
NAME = "Ragnhild Sletteberg"
OTHER = "UCOLLEAGUE"
KEY = b"k" * 32
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

#: Column names that suggest a person; every one of them must be classified.
SUSPICIOUS = re.compile(r"user|name|respondent|_by$|members|^met$|target|order_key|^body$|digest")
#: Columns whose names suggest a person but which hold none.
NOT_A_PERSON = {
    ("roles", "name_nb"): "a role's name",
    ("roles", "name_nn"): "a role's name",
    ("units", "name"): "a unit's name",
    ("tenants", "name"): "the kommune's name",
    ("signing_keys", "name"): "a key's purpose",
    ("inbox", "claimed_by"): "a worker process",
    ("outbox", "claimed_by"): "a worker process",
    ("outbox", "target_kind"): "user, channel or group",
    ("slack_installations", "bot_user_id"): "the bot's own user in the workspace",
    ("slack_installations", "team_name"): "the workspace's name",
}
STORAGE = Path(__file__).resolve().parents[2] / "storage"
for _models in sorted(STORAGE.glob("*_models.py")):  # every table, also of a module added later
    importlib.import_module(f"storage.{_models.stem}")


def test_every_table_and_person_column_is_classified() -> None:
    tables = set(Base.metadata.tables) | {"alembic_version"}
    classified = set(PERSON_COLUMNS) | set(NO_PERSON)
    assert not set(PERSON_COLUMNS) & set(NO_PERSON)
    assert tables == classified, (
        f"not classified in storage/privacy.py: {sorted(tables - classified)}; "
        f"gone: {sorted(classified - tables)}"
    )
    for table, columns in PERSON_COLUMNS.items():
        assert set(columns) <= set(Base.metadata.tables[table].columns.keys()), table
    for name, table in Base.metadata.tables.items():
        for column in table.columns.keys():  # noqa: SIM118 (names, not Column objects)
            if not SUSPICIOUS.search(column) or column in PERSON_COLUMNS.get(name, {}):
                continue
            assert (name, column) in NOT_A_PERSON, (
                f"{name}.{column} may hold a person: classify it in storage/privacy.py"
            )


async def _populate(store: Store) -> dict[str, Any]:
    """The person and a colleague in every table that can hold them."""
    async with store.sessions.begin() as s:
        s.add(Tenant(id=T, platform="slack", external_id="TPRIV", name="Testkommune"))
        await s.flush()
        s.add_all([Unit(tenant_id=T, name="Nord skole"), Unit(tenant_id=T, name="Sør skole")])
        s.add(DirectoryRole(tenant_id=T, key="bts-kontakt", name_nb="BTS", name_nn="BTS"))
        await s.flush()
        for who in (ME, OTHER):
            s.add(User(tenant_id=T, platform="slack", platform_user_id=who, language="nn"))
            s.add(
                ConversationState(
                    tenant_id=T, platform_user_id=who, dialog="guide", step="n1", version=3
                )
            )
            s.add(
                ConversationRef(
                    tenant_id=T, platform="slack", kind="user", key=who,
                    reference={"channel": "D1", "user_id": who},
                )
            )  # fmt: skip
            s.add(ContactDetails(tenant_id=T, platform="slack", platform_user_id=who, phone="1"))
            s.add(UserUnit(tenant_id=T, platform_user_id=who, unit="Nord skole"))
            s.add(TenantAdmin(tenant_id=T, platform="slack", platform_user_id=who))
            s.add(
                PersonalFollowup(
                    tenant_id=T, platform="slack", platform_user_id=who, label="evaluering",
                    due_at=NOW + timedelta(days=14),
                )
            )  # fmt: skip
            s.add(
                OutboxItem(
                    tenant_id=T, dedupe_key=f"followup:1:{who}", kind="followup",
                    platform="slack", target_kind="user", target_id=who, send_at=NOW,
                    next_attempt_at=NOW, status="sent", sent_at=NOW,
                )
            )  # fmt: skip
            s.add(
                InboxItem(
                    event_key=f"ev:{who}", platform="slack", tenant_id=T,
                    order_key=f"slack:TPRIV:{who}", body={"user": who}, status="pending",
                    next_attempt_at=NOW, expires_at=NOW + timedelta(days=1),
                )
            )  # fmt: skip
        s.add(
            ConversationRef(
                tenant_id=T, platform="slack", kind="channel", key="C1",
                reference={"channel": "C1", "user": {"id": ME, "name": ""}},
            )
        )  # fmt: skip
        s.add(
            RoleHolder(
                tenant_id=T, role_key="bts-kontakt", unit="Nord skole", platform="slack",
                platform_user_id=ME, display_name=NAME, deputy_user_id=OTHER,
            )
        )  # fmt: skip
        s.add(
            RoleHolder(
                tenant_id=T, role_key="bts-kontakt", unit="Sør skole", platform="slack",
                platform_user_id=OTHER, display_name="Kollega", deputy_user_id=ME,
            )
        )  # fmt: skip
        s.add(
            OutboxItem(
                tenant_id=T, dedupe_key="network-pair:1:group", kind="network-pair",
                platform="slack", target_kind="group", target_id=f"{OTHER},{ME}", send_at=NOW,
                next_attempt_at=NOW,
            )
        )  # fmt: skip
        s.add(
            OutboxItem(
                tenant_id=T, dedupe_key="digest:1", kind="digest", platform="slack",
                target_kind="channel", target_id="C1", send_at=NOW, next_attempt_at=NOW,
            )
        )  # fmt: skip
        for kind, key, payload in (
            ("escalation", "esc:1", {"task": "plan", "holders": [NAME, "Kollega"]}),
            ("report", "report:1", {"problem": "unreachable", "who": ME}),
            ("escalation", "esc:2", {"task": "plan", "holders": ["Kollega"]}),  # not about ME
        ):
            s.add(
                OutboxItem(
                    tenant_id=T, dedupe_key=key, kind=kind, platform="slack", target_kind="user",
                    target_id=OTHER, send_at=NOW, next_attempt_at=NOW, payload=payload,
                )
            )  # fmt: skip
        s.add(
            TaskProgress(
                tenant_id=T, task_key="plan", occurrence=date(2026, 11, 1), status="done",
                updated_by=f"slack:{ME}",
            )
        )  # fmt: skip
        s.add(FeedbackCount(tenant_id=T, kind="topic", key="uro", lang="nb", up=3, down=1))
        run_common: dict[str, Any] = dict(
            tenant_id=T, template={}, audience={"kind": "all"}, opens_at=NOW,
            closes_at=NOW + timedelta(days=7), min_group=3, status="open",
        )  # fmt: skip
        s.add(SurveyRun(id="anon", template_key="puls", anonymity="anonymous",
                        launched_by=f"slack:{ME}", **run_common))  # fmt: skip
        s.add(SurveyRun(id="named", template_key="halvar", anonymity="named", **run_common))
        await s.flush()
        for who in (ME, OTHER):
            s.add(SurveyRecipient(run_id="anon", platform_user_id=who, platform="slack"))
            s.add(SurveyAnswered(run_id="anon", digest=answered_digest(KEY, "anon", who)))
            s.add(
                SurveyAnswer(
                    run_id="anon", key=answer_key(KEY, "anon", who), day=NOW.date(),
                    values={"q1": 4},
                )
            )  # fmt: skip
            s.add(
                SurveyAnswer(
                    run_id="named", key=hashlib.sha256(f"person\0{who}".encode()).hexdigest(),
                    respondent=who, unit="Nord skole", day=NOW.date(), values={"q1": 2},
                )
            )  # fmt: skip
        rnd = NetworkRound(tenant_id=T, network_key="bts", task_key="m", meeting=date(2026, 12, 1))
        s.add(rnd)
        await s.flush()
        mine = NetworkCheckin(
            round_id=rnd.id, platform="slack", user_id=ME, display_name=NAME, unit="Nord skole",
            done="kurs", topic="stafettlogg",
        )  # fmt: skip
        theirs = NetworkCheckin(
            round_id=rnd.id, platform="slack", user_id=OTHER, display_name="Kollega", topic="uro"
        )
        s.add_all([mine, theirs])
        await s.flush()
        s.add(NetworkVote(round_id=rnd.id, checkin_id=theirs.id, platform="slack", user_id=ME))
        s.add(NetworkVote(round_id=rnd.id, checkin_id=theirs.id, platform="slack", user_id=OTHER))
        pairing = NetworkPairing(tenant_id=T, network_key="bts", label="2026-W47")
        s.add(pairing)
        await s.flush()
        s.add(
            NetworkPair(
                pairing_id=pairing.id,
                members=[["slack", ME, NAME, "Nord skole"], ["slack", OTHER, "Kollega", "Sør"]],
                met={f"slack:{ME}": True, f"slack:{OTHER}": True},
            )
        )
        own = Onboarding(
            tenant_id=T, platform="slack", user_id=ME, display_name=NAME, unit="Nord skole",
            registered_by=f"slack:{ME}", open_key=f"slack:{ME}",
        )  # fmt: skip
        theirs_ob = Onboarding(
            tenant_id=T, platform="slack", user_id=OTHER, display_name="Kollega",
            unit="Nord skole", registered_by=f"slack:{ME}", open_key=f"slack:{OTHER}",
        )  # fmt: skip
        s.add_all([own, theirs_ob])
        await s.flush()
        s.add(OnboardingStep(onboarding_id=own.id, key="kurs", position=0, owner="ansatt",
                             due=date(2026, 12, 1)))  # fmt: skip
        s.add(OnboardingStep(onboarding_id=theirs_ob.id, key="kurs", position=0,
                             owner="bts-kontakt", due=date(2026, 12, 1), done_at=NOW,
                             done_by=f"slack:{ME}"))  # fmt: skip
    return {"run": "anon"}


async def _dump(store: Store) -> dict[str, str]:
    """Every table's rows as one text each."""
    out: dict[str, str] = {}
    async with store.engine.connect() as connection:
        for name, table in Base.metadata.tables.items():
            rows = (await connection.execute(select(table))).all()
            out[name] = repr([tuple(r) for r in rows])
    return out


async def _count(store: Store, model: Any) -> int:
    async with store.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_export_shows_everything_and_erase_leaves_no_trace(store: Store) -> None:
    await _populate(store)
    person = Person(T, "slack", ME)
    data = await export_person(store, person, KEY)
    exported = data.to_dict()
    assert set(SECTIONS) <= set(exported)
    empty = [name for name in SECTIONS if not exported[name]]
    assert empty == [], f"sections the test person should appear in: {empty}"
    assert exported["user"] == [
        {"language": "nn", "first_seen": exported["user"][0]["first_seen"],
         "last_seen": exported["user"][0]["last_seen"]}
    ]  # fmt: skip
    assert {r["holds_as"] for r in exported["roles"]} == {"holder", "deputy"}
    assert [r["display_name"] for r in exported["roles"] if r["holds_as"] == "holder"] == [NAME]
    assert sorted(r["to"] for r in exported["outbox"]) == [
        "group", "someone else, about you", "someone else, about you", "you",
    ]  # fmt: skip
    (survey,) = [r for r in exported["surveys"] if r["run"] == "anon"]
    assert survey["answered"] and survey["asked"] and survey["launched_by_you"]
    # The named answer is theirs; the anonymous one is never in the export.
    assert [a["run"] for a in exported["survey_answers"]] == ["named"]
    assert exported["network_checkins"][0]["done"] == "kurs"
    assert exported["network_votes"] == [{"meeting": "2026-12-01", "topic": "uro"}]
    assert exported["network_pairs"] == [{"week": "2026-W47", "with": ["Kollega"], "met": True}]
    assert exported["onboardings"][0]["steps"][0]["step"] == "kurs"
    assert {r["what"] for r in exported["recorded_by"]} == {
        "arshjul task", "registered an onboarding", "onboarding step done",
    }  # fmt: skip
    other_before = (await export_person(store, Person(T, "slack", OTHER), KEY)).counts()
    answers_before = await _count(store, SurveyAnswer)

    counts = await erase_person(store, person, KEY)
    assert set(counts) == set(SECTIONS)

    for table, text in (await _dump(store)).items():
        assert ME not in text, f"{table} still holds the erased user id"
        assert NAME not in text, f"{table} still holds the erased name"
    assert (await export_person(store, person, KEY)).empty
    # The colleague keeps everything but what pointed at the erased person (their deputy).
    other_after = (await export_person(store, Person(T, "slack", OTHER), KEY)).counts()
    # Gone from the colleague's sends: the group DM with the erased person and the escalation
    # and report that named them.
    assert other_after == {**other_before, "outbox": other_before["outbox"] - 3, "roles": 1}
    # Counts and anonymous answers stay; the task stays done, the unit's answer stays.
    assert await _count(store, SurveyAnswer) == answers_before
    assert await _count(store, FeedbackCount) == 1
    async with store.sessions() as s:
        task = await s.get(TaskProgress, (T, "plan", date(2026, 11, 1), ""))
        assert task is not None and task.status == "done" and task.updated_by == ""
        holder = await s.scalar(select(RoleHolder).where(RoleHolder.platform_user_id == OTHER))
        assert holder is not None and holder.deputy_user_id is None
        pair = await s.scalar(select(NetworkPair))
        assert pair is not None and pair.members == [["slack", OTHER, "Kollega", "Sør"]]
        channel = await s.scalar(select(ConversationRef).where(ConversationRef.kind == "channel"))
        assert channel is not None and channel.reference == {"channel": "C1"}
    assert await erase_person(store, person, KEY) == {}, "a second erasure finds nothing"


async def test_export_of_a_stranger_is_empty(store: Store) -> None:
    await _populate(store)
    assert (await export_person(store, Person(T, "slack", "UNOBODY"), KEY)).empty
    # Same id on another platform or in another tenant is another person.
    assert (await export_person(store, Person(T, "teams", ME), KEY)).counts().keys() <= {
        "conversation", "remembered_unit", "surveys", "survey_answers",
    }  # fmt: skip
    assert (await export_person(store, Person("slack:TOTHER", "slack", ME), KEY)).empty


async def test_teams_addresses_name_the_person_by_entra_id(store: Store) -> None:
    tenant, aad = "teams:t1", "6c1f3a2b-aad"
    account = {"id": "29:kari", "name": "", "aadObjectId": aad}
    async with store.sessions.begin() as s:
        s.add(Tenant(id=tenant, platform="teams", external_id="t1"))
        await s.flush()
        for kind, key, conversation_type in (
            ("user", aad, "personal"),
            ("channel", "a:personal", "personal"),
            ("channel", "19:general", "channel"),
        ):
            s.add(
                ConversationRef(
                    tenant_id=tenant, platform="teams", kind=kind, key=key,
                    reference={"user": account, "conversation": {"id": key,
                               "conversationType": conversation_type}},
                )
            )  # fmt: skip
    person = Person(tenant, "teams", aad)
    exported = (await export_person(store, person)).sections["addresses"]
    assert [a["kind"] for a in exported] == ["direct message", "personal chat", "last writer"]
    assert await erase_person(store, person) == {"addresses": 3}
    async with store.sessions() as s:
        (left,) = (await s.scalars(select(ConversationRef))).all()
    assert left.key == "19:general" and "user" not in left.reference
