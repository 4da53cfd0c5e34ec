"""Free-text answers (FAQ routing) and the PII guard: accuracy on our labelled sets, acute recall,
personal data never stored, logged or echoed, and answers in the user's written standard."""

from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from stdnum.no import fodselsnummer

from bot.admin.faq_eval import evaluate, read_labelled, run_eval
from dialogs import feedback
from dialogs import help as help_dialog
from dialogs.arshjul import chat as arshjul_chat
from dialogs.content import CONTENT_DIR, Content
from dialogs.faq import dialog as faq
from dialogs.faq.engine import ACUTE, UNKNOWN
from dialogs.guide.dialog import GuideDialog
from dialogs.messages import Reply, Turn
from dialogs.pii import find_personal_data
from dialogs.router import Hooks, Router, TurnContext
from dialogs.surveys import dialog as survey_dialog
from storage.db import create_engine
from storage.migrate import upgrade
from storage.models import Base, utcnow
from storage.repositories import Store

TESTS = Path(__file__).resolve().parents[1]
EVAL = TESTS / "faq_eval.tsv"
HOLDOUT = TESTS / "faq_eval_holdout.tsv"


# --- the labelled sets ----------------------------------------------------------------------


def test_eval_set_is_big_varied_and_well_formed() -> None:
    rows = read_labelled(EVAL)
    assert EVAL.read_text(encoding="utf-8").splitlines()[0] == "question\ttopic"
    assert len(rows) >= 170
    topics = {topic for _, topic in rows}
    assert topics == set(faq.TOPICS), "every topic needs questions"
    assert sum(topic == ACUTE for _, topic in rows) >= 25
    assert len({question for question, _ in rows}) == len(rows), "no duplicate questions"


def test_acute_recall_is_total_and_accuracy_at_least_90_percent() -> None:
    result = evaluate(read_labelled(EVAL))
    missed_acute = [m for m in result.misrouted if m["expected"] == ACUTE]
    assert missed_acute == [], "an acute question was not routed to akutt"
    assert result.recall(ACUTE) == 1.0
    assert result.accuracy >= 0.90, result.misrouted


def test_holdout_acute_recall_is_total() -> None:
    rows = read_labelled(HOLDOUT)
    assert len(rows) >= 35
    result = evaluate(rows)
    assert result.recall(ACUTE) == 1.0, [m for m in result.misrouted if m["expected"] == ACUTE]


def test_eval_report_as_json_and_text() -> None:
    out = io.StringIO()
    assert run_eval(EVAL, as_json=True, out=out) == 0
    report = json.loads(out.getvalue())
    assert report["total"] >= 170 and report["acute_recall"] == 1.0
    assert set(report["per_topic"]["akutt"]) >= {"support", "tp", "precision", "recall"}
    text = io.StringIO()
    assert run_eval(EVAL, as_json=False, out=text) == 0
    assert "accuracy:" in text.getvalue() and "acute recall: 100.0%" in text.getvalue()


def test_eval_refuses_a_file_without_the_header(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("spørsmål\ttema\nhei\thjelp\n", encoding="utf-8")
    assert run_eval(bad, out=io.StringIO()) == 2


# --- the classifier -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("hva er en stafetlogg", "stafettlogg"),  # typo
        ("hvordan sende bekymrings melding", "bekymringsmelding"),  # split compound
        ("taushetsplikt i barnehagen", "taushetsplikt"),
        ("TAUSHETSPLIKT", "taushetsplikt"),
        ("kva er teieplikt", "taushetsplikt"),  # nynorsk
        ("hva skjer pa niva 2", "nivaa-2"),  # no æøå
        ("niva3", "nivaa-3"),
        ("who is the BTS contact", "bts-kontakt"),  # English
        ("blaamerker pa armen", ACUTE),
        ("jenta er redd for å gå heim", ACUTE),
        ("the child is afraid to go home", ACUTE),
        ("mistanke om overgerp", ACUTE),  # typo in an acute word
        ("hvor slår jeg opp stafettloggen", "stafettlogg"),  # "slå opp" is not violence
        ("hvor mange pingviner bor i Bodø", UNKNOWN),
        ("", UNKNOWN),
    ],
)
def test_classify_handles_how_staff_write(question: str, topic: str) -> None:
    got, confidence = faq.classify(question)
    assert got == topic
    assert 0.0 <= confidence <= 1.0


def test_acute_wins_over_every_other_topic() -> None:
    topic, confidence = faq.classify("skal jeg sende bekymringsmelding når barnet har blåmerker")
    assert topic == ACUTE and confidence == 1.0


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("kva gjer eg når eg er uroleg for eit barn", "nn"),
        ("korleis snakkar eg med foreldra", "nn"),
        ("hva gjør jeg når jeg er urolig for et barn", "nb"),
        ("hvordan snakker jeg med foreldrene", "nb"),
        ("stafettlogg", None),
        ("what can you do", None),
    ],
)
def test_guess_language(text: str, lang: str | None) -> None:
    assert faq.guess_language(text) == lang


def test_every_topic_has_an_answer_in_both_languages() -> None:
    for lang in ("nb", "nn"):
        path = CONTENT_DIR / lang / "faq.yaml"
        text = path.read_text(encoding="utf-8")
        for topic in faq.TOPICS:
            assert f"\n  {topic}:\n" in text, (lang, topic)
        # Law paragraphs are now required, not banned (issue #11 §3): every legal claim names its
        # §, checked in test_child_safety_content.py.


# --- PII ----------------------------------------------------------------------------------


def _valid_number(day: int, month: int, year: int, individual: int) -> str:
    base = f"{day:02d}{month:02d}{year % 100:02d}{individual:03d}"
    first = fodselsnummer.calc_check_digit1(base)
    return base + first + fodselsnummer.calc_check_digit2(base + first)


FNR = _valid_number(15, 3, 2012, 512)  # a child born 2012
DNR = _valid_number(15 + 40, 3, 1990, 123)  # D-nummer: day + 40


def test_generated_numbers_are_valid() -> None:
    assert fodselsnummer.is_valid(FNR) and fodselsnummer.is_valid(DNR)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"gjelder barn med fnr {FNR}", "fodselsnummer"),
        (f"fødselsnummer {FNR[:6]} {FNR[6:]}", "fodselsnummer"),
        (f"{FNR[:6]}-{FNR[6:]}", "fodselsnummer"),
        (f"D-nummer {DNR}", "fodselsnummer"),
        ("151086 95088", "fodselsnummer"),
        ("ring mor på 412 34 567", "phone"),
        ("tlf 41234567", "phone"),
        ("+47 41 23 45 67", "phone"),
        ("0047 22334455", "phone"),
        ("+4741234567", "phone"),
        ("send til kari.nordmann@skole.kommune.no", "email"),
        ("Ola Nordmann i 3. klasse", "name"),
        ("det gjelder Kari Nordmann-Hansen", "name"),
        ("hva gjør jeg med ola nordmann", "name"),
        ("eleven heter Emma Hansen", "name"),
        ("Per Hansen sier at", "name"),
    ],
)
def test_planted_personal_data_is_found(text: str, kind: str) -> None:
    assert kind in find_personal_data(text)


@pytest.mark.parametrize(
    "text",
    [
        "15108695077",  # bad checksum
        FNR[:-1] + str((int(FNR[-1]) + 1) % 10),
        "12345678901",
        "ring 12345678",  # not a Norwegian number (starts with 1)
        "skoleåret 2023 2024",
        "Bedre Tverrfaglig Innsats på Nivå To",
        "Hva gjør jeg når Emma gråter?",  # a first name alone is not a full name
        "Per dag skriver vi i loggen",
        "Liv og helse er viktig",
        "orgnr 123456789",
    ],
)
def test_harmless_text_is_not_flagged(text: str) -> None:
    assert find_personal_data(text) == []


def test_no_eval_question_is_flagged_as_personal_data() -> None:
    flagged = [
        (question, find_personal_data(question))
        for path in (EVAL, HOLDOUT)
        for question, _ in read_labelled(path)
        if find_personal_data(question)
    ]
    assert flagged == []


# --- through the router ----------------------------------------------------------------------


@pytest.fixture
async def faq_store(tmp_path: Path) -> AsyncIterator[Store]:
    """A migrated SQLite store of our own (the shared ``store`` fixture may not exist yet)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'faq.sqlite3'}"
    await upgrade(url)
    engine = create_engine(url)
    try:
        yield Store(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def faq_content(tmp_path: Path) -> Content:
    """Only help and faq content (with its training examples, and the survey and årshjul texts
    its answers lead to), so other dialogs' half-written files cannot interfere."""
    root = tmp_path / "content"
    for lang in ("nb", "nn"):
        (root / lang).mkdir(parents=True)
        for stem in ("help", "faq", "training", "surveys", "arshjul"):
            shutil.copy(CONTENT_DIR / lang / f"{stem}.yaml", root / lang / f"{stem}.yaml")
    return Content.load(root)


async def _guide_stub(ctx: TurnContext) -> Reply:
    return ctx.reply(ctx.message("help.menu", topic=f"guide-stub:{ctx.turn.action}"))


async def faq_router(store: Store, content: Content, user: str = "u1") -> Router:
    hooks = Hooks(
        welcome=help_dialog.welcome,
        unknown_text=faq.FaqDialog.for_content(content).answer_free_text,
        unknown_action=help_dialog.unknown_action,
        text_guard=faq.pii_guard,
    )
    router = Router(store, content, hooks)
    help_dialog.register(router, GuideDialog())
    faq.register(router)
    # The help menu and the tilbakemelding answer open the report form.
    router.add_action(feedback.A_REPORT, feedback.report)
    router.add_action(feedback.A_REPORT_SEND, feedback.report_send)
    # The answer about surveys leads to "Mine undersøkelser".
    survey_dialog.register(router, None, utcnow)
    # The answer about the årshjul leads to "Mine oppgaver" and the calendar link.
    arshjul_chat.register(router, arshjul_chat.ArshjulChat())
    if not router.known_action("guide:start"):  # the guide dialog registers these for real
        router.add_action("guide:start", _guide_stub)
        router.add_action("guide:acute", _guide_stub)
    router.check()
    await router.handle(Turn("web", "local", user, "c1", text="hei"))  # first contact done
    return router


def text_turn(text: str, user: str = "u1") -> Turn:
    return Turn("web", "local", user, "c1", text=text)


async def _dump_database(store: Store) -> str:
    rows: list[str] = []
    async with store.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in (await connection.execute(select(table))).all():
                rows.append(repr(tuple(row)))
    return "\n".join(rows)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Barnet med fødselsnummer {FNR} har blåmerker", FNR),
        ("Ola Nordmann i 2. klasse gråter hver morgen", "Nordmann"),
        ("mor har nummer 412 34 567, skal jeg ringe?", "412 34 567"),
        ("skriv til far.pa.mail@example.no", "far.pa.mail"),
    ],
)
async def test_personal_data_is_refused_not_stored_not_logged_not_echoed(
    faq_store: Store, faq_content: Content, caplog: pytest.LogCaptureFixture, text: str, secret: str
) -> None:
    caplog.set_level(logging.DEBUG)
    router = await faq_router(faq_store, faq_content)
    reply = await router.handle(text_turn(text))
    assert reply.topic == faq.PII_TOPIC
    shown = json.dumps(reply.to_dict(), ensure_ascii=False)
    assert secret not in shown and text not in shown
    assert "ikke lagret" in reply.messages[0].text
    assert secret not in await _dump_database(faq_store)
    logged = "\n".join(f"{record.getMessage()} {vars(record)}" for record in caplog.records)
    assert secret not in logged


async def test_acute_question_gets_acute_answer_and_guide_button(
    faq_store: Store, faq_content: Content
) -> None:
    router = await faq_router(faq_store, faq_content)
    reply = await router.handle(text_turn("jenta har blåmerker på armene igjen"))
    assert reply.topic == ACUTE
    assert "112" in reply.messages[0].text
    assert "guide:acute" in {b.action for b in reply.messages[0].buttons}


async def test_unknown_is_honest_and_offers_guide_and_bts_contact(
    faq_store: Store, faq_content: Content
) -> None:
    router = await faq_router(faq_store, faq_content)
    reply = await router.handle(text_turn("hvor mange pingviner bor i Bodø"))
    assert reply.topic == UNKNOWN
    message = reply.messages[0]
    assert "forstod jeg ikke" in message.text
    buttons = {(b.action, b.value) for b in message.buttons}
    assert ("guide:start", "") in buttons and ("faq:topic", "bts-kontakt") in buttons
    assert {"help:menu", "guide:acute"} <= {action for action, _ in buttons}
    contact = await router.handle(
        Turn("web", "local", "u1", "c1", action="faq:topic", value="bts-kontakt")
    )
    assert contact.topic == "bts-kontakt" and "BTS-kontakt" in contact.messages[0].text


async def test_topic_answer_and_help_topic(faq_store: Store, faq_content: Content) -> None:
    router = await faq_router(faq_store, faq_content)
    reply = await router.handle(text_turn("hvem eier stafettloggen?"))
    assert reply.topic == "stafettlogg" and "BankID" in reply.messages[0].text
    help_reply = await router.handle(text_turn("hva kan du hjelpe meg med"))
    assert help_reply.topic == "hjelp" and help_reply.messages[0].buttons


async def test_nynorsk_question_gets_nynorsk_answer_unless_language_chosen(
    faq_store: Store, faq_content: Content
) -> None:
    router = await faq_router(faq_store, faq_content)
    reply = await router.handle(text_turn("kva er stafettloggen for noko"))
    assert reply.lang == "nn" and "Foreldra eig loggen" in reply.messages[0].text
    await router.handle(Turn("web", "local", "u1", "c1", action="lang:set", value="nb"))
    chosen = await router.handle(text_turn("kva er stafettloggen for noko"))
    assert chosen.lang == "nb" and "Foreldrene eier loggen" in chosen.messages[0].text


async def test_nothing_of_an_ordinary_question_is_stored(
    faq_store: Store, faq_content: Content
) -> None:
    router = await faq_router(faq_store, faq_content)
    question = "hvordan gjennomfører jeg en undringssamtale med en femåring"
    reply = await router.handle(text_turn(question))
    assert reply.topic == "undringssamtale"
    assert "femåring" not in await _dump_database(faq_store)
