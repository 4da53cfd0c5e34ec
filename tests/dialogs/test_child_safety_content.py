"""Child-safety content (issue #11 §3): acute triggers for FGM, exploitation, a child not collected
and long absence with an unreachable family; hard negatives the acute pass must leave alone; the
legal content of the FAQ and guide (§ 13-2 criteria, avvergeplikt, national numbers), and a check
that every sentence claiming a legal duty or right names its § (law and paragraph)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogs.faq import dialog as faq

CONTENT = Path(__file__).resolve().parents[2] / "dialogs" / "content"
LANGS = ("nb", "nn")


def _acute_trigger(question: str) -> str | None:
    """The acute pass alone (not the topic model): which trigger or rule fired, if any."""
    return faq._default_classifier().acute_trigger(question)


# -- acute pass --------------------------------------------------------------------------------

#: One or two phrasings per case the child-safety review found missing; more rows are in
#: tests/acute_challenge.tsv. Here the acute *pass* must fire, not only the topic model.
ACUTE_BY_TRIGGER = [
    "jenta sier hun skal bli omskåret i sommerferien",
    "ho seier ho skal bli omskoren når dei reiser heim i sommar",
    "jenta sier hun ble skåret der nede da hun var liten",
    "worried a girl in my class will undergo FGM this summer",
    "guten sel narkotika for nokon eldre karar",
    "eleven sier han jobber for noen og ikke kan slutte",
    "gutten sier han må betale gjeld til noen",
    "jeg tror barnet blir utnyttet av eldre ungdommer",
    "possible child trafficking in our school",
    "ingen har hentet barnet og foreldrene svarer ikke på telefon",
    "ingen har henta ungen og vi får ikkje tak i foreldra",
    "the girl hasn't been collected and we can't reach her parents",
    "gutten har ikke vært på skolen på to uker og vi får ikke tak i familien",
    "høyt fravær i flere uker og familien svarer ikke på meldinger",
]


@pytest.mark.parametrize("question", ACUTE_BY_TRIGGER)
def test_new_acute_cases_fire_the_acute_pass(question: str) -> None:
    assert _acute_trigger(question) is not None


#: Questions that share words with the new triggers but describe no danger: grief, consent,
#: reporting duty, pick-up logistics, «omskolering», a part-time job, ordinary absence.
NOT_ACUTE = [
    "barnet har mistet bestemoren sin og er veldig lei seg",
    "guten har mista mora si, korleis følgjer vi han opp",
    "foreldrene trakk samtykket, kan vi fortsatt hjelpe barnet",
    "foreldrene trekker samtykket til stafettlogg",
    "samtykket er trukket tilbake",
    "foreldrene sier nei til at vi snakker med PPT",
    "når har jeg opplysningsplikt til barnevernet",
    "hva er avvergeplikt",
    "må jeg melde til barnevernet hvis eleven har alvorlige atferdsvansker",
    "hvem kan hente barnet når foreldrene er skilt",
    "barnet ble ikke hentet til riktig tid i dag, mor var bare forsinket",
    "barnet skal ikke hentes av far denne uka, hva noterer vi",
    "foreldrene svarer ikke på meldinger om foreldremøtet",
    "vi fikk ikke tak i foreldrene til foreldremøtet",
    "eleven skal på omskolering, hvordan følger vi opp",
    "hva er omskolering",
    "hvordan kan vi utnytte stafettloggen bedre",
    "hun jobber for noen timer i uka i butikken",
    "jeg jobber for noen uker som vikar i barnehagen",
    "eleven har mye fravær, mor svarer ikke alltid på meldinger",
    "hvordan registrerer vi fravær når foreldrene ikke svarer på meldinger",
    "eleven har høyt fravær, og foreldrene svarer at han er syk",
    "familien har gjeld og dårlig råd",
    "eldre elever selger kaker på basaren",
    "storebror henter ofte i barnehagen",
]


@pytest.mark.parametrize("question", NOT_ACUTE)
def test_hard_negatives_do_not_fire_the_acute_pass(question: str) -> None:
    assert _acute_trigger(question) is None


# -- content -----------------------------------------------------------------------------------


def _load(lang: str, name: str) -> dict[str, Any]:
    data = yaml.safe_load((CONTENT / lang / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _topic(lang: str, topic: str) -> str:
    return str(_load(lang, "faq.yaml")["topics"][topic]["text"])


def _guide(lang: str) -> dict[str, Any]:
    return _load(lang, "guide.yaml")


#: Words for each criterion of barnevernsloven § 13-2, as the texts put them (nb, nn).
CRITERIA = {
    "nb": ["vil bli mishandlet", "sykdom eller skade", "nedsatt funksjonsevne", "kriminalitet",
           "rusmidler", "normløs", "menneskehandel"],
    "nn": ["vil bli mishandla", "sjukdom eller skade", "nedsett funksjonsevne", "kriminalitet",
           "rusmiddel", "normlaus", "menneskehandel"],
}  # fmt: skip


@pytest.mark.parametrize("lang", LANGS)
def test_reporting_duty_names_every_criterion_of_13_2(lang: str) -> None:
    for text in (
        _topic(lang, "bekymringsmelding"),
        _guide(lang)["endings"]["bekymringsmelding"]["text"],
    ):
        assert "§ 13-2" in text
        assert [c for c in CRITERIA[lang] if c not in text] == []


@pytest.mark.parametrize("lang", LANGS)
def test_every_decision_step_gives_the_full_reporting_ground(lang: str) -> None:
    for level in _guide(lang)["levels"].values():
        for step in level["steps"].values():
            if not any(o["target"] == "bekymringsmelding" for o in step.get("options", [])):
                continue
            text = step["text"]
            for word in ("vil bli", "funksjonsevne", "kriminalitet", "menneskehandel", "§ 13-2"):
                assert word in text, (step["title"], word)


@pytest.mark.parametrize("lang", LANGS)
def test_acute_texts_give_the_national_numbers_and_avvergeplikt(lang: str) -> None:
    alone = {"nb": "Ikke la barnet være alene", "nn": "Ikkje la barnet vere åleine"}[lang]
    for text in (_topic(lang, "akutt"), _guide(lang)["acute"]["text"]):
        for needed in ("112", "113", "116 117", "116 111", "§ 196", alone):
            assert needed in text, needed


@pytest.mark.parametrize("lang", LANGS)
def test_acute_screen_stays_action_first(lang: str) -> None:
    lines = _guide(lang)["acute"]["text"].strip().splitlines()
    assert "112" in lines[1]  # the first thing after the heading is the emergency number
    assert len(lines) <= 10


@pytest.mark.parametrize("lang", LANGS)
def test_consent_refused_branch(lang: str) -> None:
    own = {"nb": "din egen tjeneste", "nn": "di eiga teneste"}[lang]
    anonymous = {"nb": "anonymt", "nn": "anonymt"}[lang]
    for text in (_topic(lang, "samtykke"), _guide(lang)["tools"]["samtykke"]["text"]):
        assert own in text and anonymous in text and "§ 13-2" in text and "§ 13 a nr. 2" in text


@pytest.mark.parametrize("lang", LANGS)
def test_survey_answer_describes_the_surveys_that_exist(lang: str) -> None:
    text = _topic(lang, "undersokelse")
    assert {"nb": "Svar nå", "nn": "Svar no"}[lang] in text and "august" in text
    assert "anonym" in text and {"nb": "enkeltbarn", "nn": "einskildbarn"}[lang] in text
    assert "på plass" not in text  # it no longer says surveys are missing


@pytest.mark.parametrize("lang", LANGS)
def test_guide_names_team_barnekoordinator_and_oppmerksomhetsplikt(lang: str) -> None:
    levels = _guide(lang)["levels"]
    assert "pedagogisk team" in levels["nivaa0"]["steps"]["n0_del"]["text"]
    assert "§ 7-2 a" in levels["nivaa3"]["steps"]["n3_plan"]["text"]
    assert "§ 7-2 a" in _guide(lang)["tools"]["individuell_plan"]["text"]
    duty = {"nb": "oppmerksomhetsplikten", "nn": "merksemdsplikta"}[lang]
    assert duty in levels["nivaa0"]["steps"]["n0_undring"]["text"]


# -- every legal claim names its source --------------------------------------------------------

#: A legal subject: a duty, a law, a right, or consent.
_LEGAL = re.compile(
    r"\b(\w*plikt\w*|lov|loven|lova|\w+loven|\w+lova|rett til|rett på|samtykk\w*)\b", re.IGNORECASE
)
#: Words that turn a mention into a claim of what one must, may or need not do.
_CLAIM = re.compile(
    r"\b(skal|må|gjelder|gjeld|går foran|går føre|trenger ikke|treng ikkje|uten samtykke"
    r"|utan samtykke|har rett|har plikt|krever|krev|plikten|plikta)\b",
    re.IGNORECASE,
)
#: Keys that hold matching data (trigger words, examples), not text a user reads.
_NOT_TEXT = {"examples", "keywords", "acute_triggers", "acute_exceptions", "entry_commands",
             "next_commands", "restart_commands"}  # fmt: skip


def _texts(node: object, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in _NOT_TEXT:
                yield from _texts(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _texts(value, f"{path}[{index}]")


def _sentences(text: str) -> Iterator[str]:
    """Lines (bullets) split at sentence ends, so one § cannot cover a whole paragraph."""
    for line in text.splitlines():
        for sentence in re.split(r"(?<=[.!?])\s+(?=[*«A-ZÆØÅ])", line):
            if sentence.strip():
                yield sentence.strip()


def unsourced_legal_claims(text: str) -> list[str]:
    """Sentences that claim a legal duty, right or consent rule without naming a §."""
    return [s for s in _sentences(text) if _LEGAL.search(s) and _CLAIM.search(s) and "§" not in s]


def test_the_source_check_catches_a_claim_without_a_paragraph() -> None:
    text = (
        "Du har opplysningsplikt og skal melde fra. Anonym drøfting trenger ikke samtykke.\n"
        "- Opplysningsplikten går foran taushetsplikten (barnevernsloven § 13-2).\n"
        "Skriv ned det barnet sa."
    )
    assert unsourced_legal_claims(text) == [
        "Du har opplysningsplikt og skal melde fra.",
        "Anonym drøfting trenger ikke samtykke.",
    ]


@pytest.mark.parametrize("name", ["faq.yaml", "guide.yaml"])
@pytest.mark.parametrize("lang", LANGS)
def test_every_legal_claim_names_its_paragraph(lang: str, name: str) -> None:
    missing = [
        f"{path}: {sentence}"
        for path, text in _texts(_load(lang, name))
        for sentence in unsourced_legal_claims(text)
    ]
    assert missing == []
