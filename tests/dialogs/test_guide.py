"""The guide "veileder ved uro" through the router: every level in nb and nn, the acute button on
every step, navigation, decisions, restarts, bad content and kommune files, personal follow-ups."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dialogs import help as help_dialog
from dialogs.content import CONTENT_DIR, Content
from dialogs.guide import dialog as guide_dialog
from dialogs.guide.docs import guide_doc, mermaid
from dialogs.guide.kommune import KommuneRegistry, check_kommune_dir
from dialogs.guide.kommune_model import apply_kommune
from dialogs.guide.model import (
    ACUTE,
    Guide,
    GuideError,
    GuideSet,
    check_content_dir,
    load_guides,
)
from dialogs.messages import Button, Reply, Turn
from dialogs.router import Hooks, Router
from storage.followups import list_personal_followups
from storage.repositories import Store

REPO = Path(__file__).resolve().parents[2]
OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 3, 20, 15, 30, tzinfo=UTC)  # a Friday; DST starts nine days later
VAKT_PHONE = "98 76 54 32"
BARNEVERN_PHONE = "12 34 56 78"

KOMMUNE_YAML = f"""\
kommune: Testvik kommune
version: "2026-02"
contacts:
  barnevern:
    name: Barneverntjenesten i Testvik
    phone: "{BARNEVERN_PHONE}"
  barnevernvakt:
    name: Barnevernvakta i Testvik
    phone: "{VAKT_PHONE}"
handlingsveileder_url: https://testvik.example/bti
bekymringsmelding_url: https://testvik.example/melding
tool_urls:
  samtykke: https://testvik.example/samtykke
time_limits:
  frist_avklaring:
    nb: innen 14 dager
    nn: innan 14 dagar
extra_steps:
  - id: lokal_kontakt
    after: n0_del
    title: BTS-kontakten
    short: Snakk med BTS-kontakten.
    text:
      nb: Snakk med BTS-kontakten i virksomheten.
      nn: Snakk med BTS-kontakten i verksemda.
wording:
  n2_plan:
    note: Vi bruker Conexus Stafettloggen.
"""

try:  # the shared, database-parametrised fixture, once it exists
    import tests.support.databases  # noqa: F401
except ImportError:
    from storage.db import create_engine
    from storage.migrate import upgrade

    @pytest.fixture
    async def store(tmp_path: Path) -> AsyncIterator[Store]:
        url = f"sqlite+aiosqlite:///{tmp_path / 'guide.sqlite3'}"
        await upgrade(url)
        engine = create_engine(url)
        yield Store(engine)
        await engine.dispose()


# helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def kommune_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "kommuner"
    folder.mkdir()
    (folder / "local.yaml").write_text(KOMMUNE_YAML, encoding="utf-8")
    return folder


def make_router(
    store: Store,
    kommune_dir: Path,
    content_dir: Path = CONTENT_DIR,
    clock: Callable[[], datetime] = lambda: NOW,
) -> Router:
    """The help and guide dialogs only (other features are tested on their own)."""
    hooks = Hooks(help_dialog.welcome, help_dialog.unknown_text, help_dialog.unknown_action)
    guide = guide_dialog.GuideDialog(content_dir, kommune_dir, clock, hand_over=hooks.unknown_text)
    router = Router(store, Content.load(content_dir), hooks)
    help_dialog.register(router, guide)
    guide_dialog.register(router, guide)
    ours = {a for a in router.content.all_button_actions() if a.startswith(("help:", "guide:"))}
    assert all(router.known_action(a) for a in ours)
    return router


class Chat:
    """One user talking to a router, pressing buttons of the last reply."""

    def __init__(self, router: Router, lang: str = "nb", user: str = "u1") -> None:
        self.router, self.lang, self.user = router, lang, user
        self.last: Reply | None = None

    async def hello(self) -> Chat:
        await self.say("hei")
        if self.lang != "nb":
            await self.press("lang:set", self.lang)
        return self

    async def say(self, text: str) -> Reply:
        self.last = await self.router.handle(Turn("web", "local", self.user, "c1", text=text))
        return self.last

    async def press(self, action: str, value: str = "") -> Reply:
        turn = Turn("web", "local", self.user, "c1", action=action, value=value)
        self.last = await self.router.handle(turn)
        return self.last

    async def submit(self, action: str, **values: str) -> Reply:
        turn = Turn("web", "local", self.user, "c1", action=action, form_values=values)
        self.last = await self.router.handle(turn)
        return self.last

    def link_urls(self) -> list[str]:
        assert self.last is not None
        return [link.url for m in self.last.messages for link in m.links]

    def buttons(self) -> list[Button]:
        assert self.last is not None
        return [b for m in self.last.messages for b in m.buttons]

    def button(self, action: str, value: str | None = None) -> Button:
        for b in self.buttons():
            if b.action == action and (value is None or b.value == value):
                return b
        raise AssertionError(f"no button {action} {value} in {self.buttons()}")

    async def click(self, action: str, value: str | None = None) -> Reply:
        b = self.button(action, value)
        return await self.press(b.action, b.value)

    @property
    def text(self) -> str:
        assert self.last is not None
        return self.last.plain_text()

    @property
    def topic(self) -> str:
        assert self.last is not None
        return self.last.topic


def merged(lang: str, kommune_dir: Path) -> Guide:
    """The guide as the test kommune sees it (with its extra step)."""
    config = KommuneRegistry(kommune_dir).get("local")
    guide, problems = apply_kommune(load_guides().get(lang), config, lang)
    assert problems == []
    return guide


# content checks --------------------------------------------------------------------------------


def test_real_content_and_example_kommune_file_are_valid() -> None:
    assert check_content_dir(CONTENT_DIR) == []
    assert check_kommune_dir(REPO / "kommuner") == []


def test_both_languages_have_the_same_steps_and_a_changelog_for_the_version() -> None:
    guides = load_guides()
    nb, nn = guides.get("nb"), guides.get("nn")
    assert [s for _, s, _ in nb.iter_steps()] == [s for _, s, _ in nn.iter_steps()]
    assert list(nb.levels) == ["nivaa0", "nivaa1", "nivaa2", "nivaa3"]
    assert nb.version == nn.version == nb.changelog[0].version
    for guide in (nb, nn):
        for level in guide.levels.values():
            assert 4 <= len(level.steps) <= 6
            assert list(level.steps.values())[-1].is_decision


def test_nynorsk_is_nynorsk() -> None:
    text = " ".join(
        [s.text for _, _, s in load_guides().get("nn").iter_steps()]
        + [load_guides().get("nn").acute.text]
    ).lower()
    for bokmal in (" ikke ", " jeg ", " hva ", " hvordan ", " tjenester", " foreldrene "):
        assert bokmal not in text, bokmal
    assert "ikkje" in text and "foreldra" in text


def test_docs_guide_md_is_generated_from_the_yaml() -> None:
    guides = load_guides()
    doc = (REPO / "docs" / "guide.md").read_text(encoding="utf-8")
    assert doc == guide_doc(guides), "run: python -m dialogs.guide.docs > docs/guide.md"
    diagram = mermaid(guides.get("nb"))
    assert "n0_beslutt -->" in diagram and "nivaa3 -.->" in diagram


# entry and the acute path ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "lang"),
    [
        ("Hva gjør jeg ved uro?", "nb"),
        ("/bts uro", "nb"),
        ("jeg er bekymret for et barn", "nb"),
        ("Kva gjer eg ved uro?", "nn"),
        ("bekymra for eit barn", "nn"),
    ],
)
async def test_entry_phrases_open_the_acute_question(
    store: Store, kommune_dir: Path, typed: str, lang: str
) -> None:
    chat = await Chat(make_router(store, kommune_dir), lang).hello()
    reply = await chat.say(typed)
    assert reply.topic == "uro" and not reply.replace
    assert ("kan barnet være i akutt fare" if lang == "nb" else "kan barnet vere i akutt fare") in (
        chat.text.lower()
    )
    assert chat.button("guide:goto", ACUTE).style == "danger"
    chat.button("guide:goto", "nivaa0")
    footer = reply.messages[0].footer
    assert load_guides().version in footer and "Testvik kommune" in footer and "2026-02" in footer


@pytest.mark.parametrize("lang", ["nb", "nn"])
async def test_yes_on_the_first_screen_gives_the_acute_path(
    store: Store, kommune_dir: Path, lang: str
) -> None:
    chat = await Chat(make_router(store, kommune_dir), lang).hello()
    await chat.say("uro")
    reply = await chat.click("guide:goto", ACUTE)
    assert reply.topic == "akutt" and reply.replace
    text = chat.text
    assert "112" in text and VAKT_PHONE in text and BARNEVERN_PHONE in text
    assert (
        "Ikke kontakt foreldrene først" if lang == "nb" else "Ikkje kontakt foreldra først"
    ) in (text)
    assert "bekymringsmelding" in text.lower()
    assert ("lederen din" if lang == "nb" else "leiaren din") in text
    assert any(link.url == "https://testvik.example/melding" for link in reply.messages[0].links)


async def test_acute_path_without_kommune_file_uses_careful_defaults(
    store: Store, tmp_path: Path
) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    chat = await Chat(make_router(store, empty)).hello()
    await chat.say("uro")
    await chat.click("guide:goto", ACUTE)
    assert "barnevernvakten som dekker kommunen din" in chat.text
    assert "{" not in chat.text


@pytest.mark.parametrize("lang", ["nb", "nn"])
async def test_acute_button_on_every_step_of_every_level(
    store: Store, kommune_dir: Path, lang: str
) -> None:
    chat = await Chat(make_router(store, kommune_dir), lang).hello()
    guide = merged(lang, kommune_dir)
    nodes = [step_id for _, step_id, _ in guide.iter_steps()] + list(guide.endings)
    assert "lokal_kontakt" in nodes
    for node in nodes:
        reply = await chat.press("guide:goto", node)
        assert reply.topic == f"uro:{node}"
        assert "{" not in chat.text, (node, chat.text)
        acute = chat.button("guide:acute")
        assert acute.style == "danger"
        await chat.click("guide:acute")
        assert chat.topic == "akutt"
        assert "112" in chat.text and VAKT_PHONE in chat.text
        # and straight back to where the user was
        await chat.click("guide:goto", node)
        assert chat.topic == f"uro:{node}"


# walking the guide -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["nb", "nn"])
async def test_walk_from_first_worry_through_nivaa_0_to_3(
    store: Store, kommune_dir: Path, lang: str
) -> None:
    chat = await Chat(make_router(store, kommune_dir), lang).hello()
    guide = merged(lang, kommune_dir)
    await chat.say("uro")
    await chat.click("guide:goto", "nivaa0")
    visited: list[str] = []
    next_level = {"nivaa0": "nivaa1", "nivaa1": "nivaa2", "nivaa2": "nivaa3"}
    for _ in range(40):
        step_id = chat.topic.removeprefix("uro:")
        visited.append(step_id)
        step = guide.step(step_id)
        if step is None:
            break
        assert step.title in chat.text
        level_id = guide.level_of(step_id)
        assert level_id is not None and guide.levels[level_id].title in chat.text
        if not step.is_decision:
            await chat.click("guide:goto", guide.following(step_id))
        elif level_id in next_level:
            await chat.click("guide:goto", next_level[level_id])
        else:
            await chat.click("guide:goto", "avslutt")
    assert visited == [s for _, s, _ in guide.iter_steps()] + ["avslutt"]
    ending = chat.text
    assert ("tjenestens eget system" if lang == "nb" else "systemet til tenesta") in ending
    assert "innen 14 dager" not in ending  # the ending has no time limit
    assert chat.button("guide:followup", "avslutt")


async def test_kommune_values_and_extra_step_show_up(store: Store, kommune_dir: Path) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    await chat.press("guide:goto", "n0_del")
    await chat.click("guide:goto", "lokal_kontakt")
    assert "BTS-kontakten i virksomheten" in chat.text and "Steg 4 av 6" in chat.text
    await chat.click("guide:goto", "n0_undringssamtale")
    assert "https://testvik.example/samtykke" in chat.link_urls()
    await chat.press("guide:goto", "n0_beslutt")
    assert "Bestem deg innen 14 dager." in chat.text
    await chat.press("guide:goto", "n2_plan")
    assert "**I Testvik kommune:** Vi bruker Conexus Stafettloggen." in chat.text


async def test_decision_options_lead_where_they_say(store: Store, kommune_dir: Path) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    guide = merged("nb", kommune_dir)
    for _level, step_id, step in guide.iter_steps():
        if not step.is_decision:
            continue
        for option in step.options:
            await chat.press("guide:goto", step_id)
            await chat.click("guide:goto", option.target)
            assert chat.topic == f"uro:{guide.resolve(option.target)}"
    await chat.press("guide:goto", "n0_beslutt")
    await chat.click("guide:goto", "bekymringsmelding")
    assert "Opplysningsplikten" in chat.text and "personlig" in chat.text
    assert "https://testvik.example/melding" in chat.link_urls()


async def test_navigation_next_back_jump_whole_level_restart(
    store: Store, kommune_dir: Path
) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    await chat.say("uro")
    await chat.click("guide:goto", "nivaa0")
    assert chat.topic == "uro:n0_undring"
    await chat.click("guide:goto", "n0_konkretiser")
    await chat.say("neste")  # typed, too
    assert chat.topic == "uro:n0_del"
    await chat.click("guide:back")
    assert chat.topic == "uro:n0_konkretiser"
    await chat.click("guide:back")
    await chat.click("guide:back")
    assert chat.topic == "uro"  # back to the first screen
    await chat.click("guide:levels")
    await chat.click("guide:goto", "nivaa2")
    assert chat.topic == "uro:n2_mote"
    await chat.click("guide:more", "n2_mote")  # the whole level waits behind "Mer …"
    assert chat.topic == "uro:n2_mote:mer" and chat.buttons()[0].action == "guide:acute"
    await chat.click("guide:back")
    assert chat.topic == "uro:n2_mote"
    await chat.click("guide:more", "n2_mote")
    await chat.click("guide:overview", "nivaa2")
    assert "Stafettholder" in chat.text or "stafettholder" in chat.text
    assert "Beslutning:" in chat.text and chat.text.count("\n") >= 5
    await chat.click("guide:goto", "nivaa2")
    assert chat.topic == "uro:n2_mote"
    await chat.click("guide:tool", "samtykke")
    assert "trekkes tilbake" in chat.text
    await chat.click("guide:back")
    assert chat.topic == "uro:n2_mote"
    await chat.say("nivå 3")
    assert chat.topic == "uro:n3_team"
    await chat.click("guide:more", "n3_team")
    await chat.click("guide:start")
    assert chat.topic == "uro"
    assert chat.button("guide:goto", "n3_team").label.endswith("Tverrfaglig team")  # resume
    await chat.say("start på nytt")
    assert chat.topic == "uro"
    await chat.click("guide:changes")
    assert load_guides().version in chat.text


async def test_position_survives_a_new_router_on_the_same_database(
    store: Store, kommune_dir: Path
) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    await chat.press("guide:goto", "n1_utfordring")
    await chat.click("guide:goto", "n1_mote")
    restarted = Chat(make_router(store, kommune_dir))
    await restarted.say("neste")
    assert restarted.topic == "uro:n1_gjennomfor"
    await restarted.click("guide:back")
    assert restarted.topic == "uro:n1_mote"
    await restarted.click("guide:back")
    assert restarted.topic == "uro:n1_utfordring"


async def test_stale_target_shows_the_start_again(store: Store, kommune_dir: Path) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    reply = await chat.press("guide:goto", "n9_finnes_ikke")
    assert "gammel melding" in chat.text and reply.messages[-1].buttons


async def test_free_text_in_the_guide_goes_to_the_normal_text_handler(
    store: Store, kommune_dir: Path
) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    await chat.press("guide:goto", "n0_del")
    await chat.say("hvor mange pingviner bor i Bodø")
    assert chat.topic == "ukjent"


# personal follow-up --------------------------------------------------------------------------


async def test_followup_form_stores_label_and_oslo_due_date(
    store: Store, kommune_dir: Path
) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    await chat.press("guide:goto", "n1_evaluer")
    reply = await chat.click("guide:followup", "n1_evaluer")
    form = reply.messages[0].form
    assert form is not None and form.action == "guide:followup_save"
    label_field = next(f for f in form.fields if f.name == "label")
    assert label_field.kind == "text" and label_field.max_length == 60
    assert "frivillig" in chat.text and "60 tegn" in chat.text
    await chat.submit("guide:followup_save", label="Evaluering av tiltak, nivå 1", days="14")
    assert "Påminnelsen er lagret" in chat.text and "3.4.2026" in chat.text
    # the web chat cannot be written to later: say so instead of promising a DM here
    assert "direktemelding i Slack eller Teams" in chat.text
    rows = await list_personal_followups(store, "local", "u1")
    assert [r.label for r in rows] == ["Evaluering av tiltak, nivå 1"]
    due = rows[0].due_at
    assert due.tzinfo is not None
    # 14 days after Friday 20 March is after the switch to summer time: 09:00 CEST = 07:00 UTC.
    assert due == datetime(2026, 4, 3, 7, 0, tzinfo=UTC)
    assert due.astimezone(OSLO).time() == time(9, 0)
    await chat.click("guide:goto", "n1_evaluer")
    assert chat.topic == "uro:n1_evaluer"


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("Oppfølging 01019010046", "fødselsnummer"),
        ("Evaluering for Ola Nordmann", "navn"),
        ("", "kort tekst"),
        ("x" * 61, "for lang"),
    ],
)
async def test_followup_refuses_personal_data_and_bad_labels(
    store: Store, kommune_dir: Path, label: str, why: str
) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    await chat.press("guide:goto", "n1_evaluer")
    await chat.click("guide:followup", "n1_evaluer")
    reply = await chat.submit("guide:followup_save", label=label, days="14")
    assert why in chat.text
    assert reply.messages[0].form is not None, "the form is offered again"
    assert await list_personal_followups(store, "local", "u1") == []


async def test_followup_is_never_required(store: Store, kommune_dir: Path) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    await chat.press("guide:goto", "n1_evaluer")
    await chat.click("guide:followup", "n1_evaluer")
    await chat.click("guide:back")
    assert chat.topic == "uro:n1_evaluer"


# bad content and kommune files ------------------------------------------------------------------


def _copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target)
    return target


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ("target: nivaa1\n", "target: nivaa9\n", "target: nivaa9", "unknown target 'nivaa9'"),
        (
            "      n0_konkretiser:\n",
            "      n0_konkretiser:\n        acute_exit: false\n",
            "acute_exit: false",
            "Input should be True",
        ),
        (
            "        tools: [anonym_drofting]\n",
            "        tools: [anonym_drofting]\n        next: n0_beslutt\n",
            "      n0_undringssamtale:",
            "cannot be reached from the start",
        ),
        ("{frist_avklaring}", "{frist_avklring}", "{frist_avklring}", "unknown placeholder"),
        ("      n0_del:\n        title:", "      n0_del:\n        titel:", "titel:", "titel"),
        ("  summary: Du undrer", "  summary: [Du undrer", "summary: [Du undrer", "YAML syntax"),
    ],
)
def test_bad_guide_yaml_names_file_and_line(
    tmp_path: Path, old: str, new: str, needle: str, message: str
) -> None:
    content = _copy_content(tmp_path)
    guide_file = content / "nb" / "guide.yaml"
    _replace(guide_file, old, new)
    errors = check_content_dir(content)
    line = _line_of(guide_file, needle)
    at_line = (f"{guide_file}:{line}:", f"started at line {line})")
    assert any(any(a in e for a in at_line) and message in e for e in errors), errors
    with pytest.raises(GuideError):
        load_guides(content)


def test_languages_out_of_step_are_refused(tmp_path: Path) -> None:
    content = _copy_content(tmp_path)
    nn_file = content / "nn" / "guide.yaml"
    _replace(nn_file, "target: n2_plan\n", "target: n2_mote\n")
    errors = check_content_dir(content)
    assert any(str(nn_file) in e and "differs from the other language" in e for e in errors)


async def test_broken_guide_edit_keeps_the_old_content_in_use(
    store: Store, kommune_dir: Path, tmp_path: Path
) -> None:
    content = _copy_content(tmp_path)
    router = make_router(store, kommune_dir, content_dir=content)
    chat = await Chat(router).hello()
    guide_file = content / "nb" / "guide.yaml"
    _replace(guide_file, "title: Konkretiser", "title: Konkretiser nå")
    await chat.press("guide:goto", "n0_konkretiser")
    assert "Konkretiser nå" in chat.text  # a good edit is picked up
    _replace(guide_file, "target: nivaa1\n", "target: nivaa9\n")
    _replace(guide_file, 'version: "1.0"', 'version: "1.1"')
    await chat.press("guide:goto", "n0_beslutt")
    assert "Konkretiser" in (await chat.press("guide:goto", "n0_konkretiser")).plain_text()
    assert chat.last is not None and "1.1" not in chat.last.messages[0].footer
    await chat.press("guide:goto", "n0_beslutt")
    chat.button("guide:goto", "nivaa1")  # the old, valid target


def test_guide_refuses_to_start_with_bad_content(tmp_path: Path, store: Store) -> None:
    content = _copy_content(tmp_path)
    _replace(content / "nn" / "guide.yaml", "target: avslutt\n", "target: slutt\n")
    with pytest.raises(GuideError, match=r"nn/guide.yaml:\d+: .*unknown target 'slutt'"):
        make_router(store, tmp_path, content_dir=content)


async def test_bad_kommune_file_is_reported_with_line_and_old_content_stays(
    store: Store, kommune_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chat = await Chat(make_router(store, kommune_dir)).hello()
    await chat.press("guide:acute")
    assert VAKT_PHONE in chat.text
    local = kommune_dir / "local.yaml"
    _replace(local, f'phone: "{VAKT_PHONE}"', 'phone: "ring meg"')
    bad_line = _line_of(local, "ring meg")
    await chat.press("guide:acute")
    assert VAKT_PHONE in chat.text, "the last good file stays in use"
    assert f"local.yaml:{bad_line}:" in caplog.text
    registry = KommuneRegistry(kommune_dir)
    assert any(f"local.yaml:{bad_line}: contacts.barnevernvakt" in e for e in registry.errors("x"))
    # a fixed file is picked up again
    local.write_text(KOMMUNE_YAML.replace(VAKT_PHONE, "11 11 11 11"), encoding="utf-8")
    await chat.press("guide:acute")
    assert "11 11 11 11" in chat.text


@pytest.mark.parametrize(
    ("yaml_text", "needle", "message"),
    [
        ("extra_steps:\n  - id: x1\n    after: n0_beslutt\n", "after: n0_beslutt", ""),
        ("time_limits:\n  frist_ukjent: innen 3 dager\n", "frist_ukjent", "unknown time limit"),
        ("tool_urls:\n  hammer: https://x.example\n", "hammer", "unknown tool"),
        ("wording:\n  n7_x:\n    note: Hei\n", "n7_x", "unknown step"),
        ("contacts:\n  politi:\n    phone: '112'\n", "politi", "Extra inputs"),
        ("timezone: Europe/Osloo\n", "timezone", "unknown time zone"),
    ],
)
def test_kommune_file_problems_name_the_line(
    tmp_path: Path, yaml_text: str, needle: str, message: str
) -> None:
    folder = tmp_path / "k"
    folder.mkdir()
    if "extra_steps" in yaml_text:
        yaml_text += "    title: T\n    short: S\n    text: T\n"
        message = "cannot insert after a decision point"
    (folder / "slack_T1.yaml").write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    errors = check_kommune_dir(folder)
    line = _line_of(folder / "slack_T1.yaml", needle)
    assert any(f"slack_T1.yaml:{line}:" in e and message in e for e in errors), errors


def test_tenant_file_wins_over_local_and_example_is_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "k"
    folder.mkdir()
    (folder / "local.yaml").write_text("kommune: Lokal\n", encoding="utf-8")
    (folder / "slack_T1.yaml").write_text("kommune: Slackvik\n", encoding="utf-8")
    (folder / "example.yaml").write_text("kommune: Eksempel\n", encoding="utf-8")
    registry = KommuneRegistry(folder)
    assert registry.get("slack:T1").kommune == "Slackvik"
    assert registry.get("teams:abc").kommune == "Lokal"
    (folder / "local.yaml").unlink()
    assert registry.get("teams:abc").kommune == ""


def test_guide_set_lookup_falls_back_to_bokmal() -> None:
    guides: GuideSet = load_guides()
    assert guides.get("se") is guides.get("nb")
