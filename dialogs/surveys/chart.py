"""The chart of a survey's results as a PNG (matplotlib, no pyplot), and the unguessable address
we serve it at for clients that only show pictures by URL (a Teams card).

The chart draws exactly what ``results.summarise`` lets the summary message say: nothing for a run
below the minimum group size, no free text, no hidden unit. One panel per question: how many chose
each option (with the share and, for scales, the mean), or for a count question its total now and
in the previous round. matplotlib is imported on first use, so a process that never draws a chart
never pays for it.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import textwrap
from dataclasses import dataclass
from typing import Any

from dialogs.content import Content
from dialogs.surveys.model import Question, SurveyTemplate
from dialogs.surveys.results import QuestionResult, Summary

CHART_PATH = "/charts/{name}"
MAX_PANELS = 10
_NAME = re.compile(r"^(?P<run>[A-Za-z0-9_-]{1,64})\.(?P<lang>nb|nn)\.(?P<sig>[0-9a-f]{32})\.png$")
_PURPOSE = b"bts-bot survey chart v1\0"
# Colours that stay apart for the common kinds of colour blindness (Okabe–Ito), then grey.
_BAR = "#0072B2"
_PREVIOUS = "#BBBBBB"
_WRAP = 48


@dataclass(frozen=True)
class ChartLinks:
    """Signs and reads chart addresses: ``{base}/charts/{run}.{lang}.{signature}.png``. The
    signature is an HMAC of run and language under a key derived from the survey secret, so an
    address cannot be guessed from a run id, and no address needs a table."""

    key: bytes
    base_url: str

    def _signature(self, run_id: str, lang: str) -> str:
        digest = hmac.new(_PURPOSE + self.key, f"{run_id}\0{lang}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def name(self, run_id: str, lang: str) -> str:
        return f"{run_id}.{lang}.{self._signature(run_id, lang)}.png"

    def url(self, run_id: str, lang: str) -> str:
        return self.base_url.rstrip("/") + CHART_PATH.format(name=self.name(run_id, lang))

    def read(self, name: str) -> tuple[str, str] | None:
        """(run id, language) of a signed name, or None for anything else."""
        found = _NAME.match(name)
        if found is None:
            return None
        run_id, lang = found["run"], found["lang"]
        if not hmac.compare_digest(found["sig"], self._signature(run_id, lang)):
            return None
        return run_id, lang


def _share(n: int, of: int) -> str:
    return f"{round(100 * n / of)} %" if of else ""


def number_text(value: float) -> str:
    """A mean or total as Norwegian text: ``3,4``, or ``7`` when whole."""
    return f"{value:.1f}".replace(".", ",") if value != int(value) else str(int(value))


def option_label(content: Content, lang: str, question: Question, value: str) -> str:
    """What an answer's stored value says to a reader: the option's text, Ja/Nei, or the number."""
    if question.kind == "yesno":
        return content.text(lang, f"surveys.labels.{value}")
    for option in question.options:
        if option.key == value:
            return option.text.get(lang)
    return value


def _bars(
    content: Content, lang: str, question: Question, result: QuestionResult
) -> tuple[list[str], list[float], list[str]]:
    """(labels, lengths, value texts) of one choice or rating panel, top to bottom."""
    if question.kind in ("scale", "nps"):
        low, high = question.bounds
        keys = [str(v) for v in range(low, high + 1)]
    else:
        keys = list(question.option_keys)
    keys += [k for k in result.counts if k not in keys]
    of = result.answered
    labels = [option_label(content, lang, question, k) for k in keys]
    if question.kind in ("scale", "nps"):
        # The end labels, as the form showed them: "1 – I svært liten grad".
        for index, end in ((0, question.low), (len(keys) - 1, question.high)):
            if end is not None and keys:
                labels[index] = content.text(
                    lang, "surveys.form.scale_end", n=keys[index], label=end.get(lang)
                )
    counts = [float(result.counts.get(k, 0)) for k in keys]
    texts = [f"{int(c)} ({_share(int(c), of)})" if c else "0" for c in counts]
    return labels, counts, texts


def _panels(template: SurveyTemplate, summary: Summary) -> list[tuple[Question, QuestionResult]]:
    return [
        (question, result)
        for question, result in zip(template.questions, summary.questions, strict=True)
        if question.kind != "text"
        and result.answered
        and (result.counts or result.total is not None)
    ]


def chart_alt(content: Content, lang: str, template: SurveyTemplate) -> str:
    return content.text(lang, "surveys.chart.alt", title=template.title.get(lang))


def _style(ax: Any, top: float) -> None:
    ax.set_xlim(0, top * 1.3)
    ax.xaxis.set_visible(False)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)


def _choice_panel(
    ax: Any, content: Content, lang: str, question: Question, result: QuestionResult
) -> None:
    labels, lengths, texts = _bars(content, lang, question, result)
    positions = list(range(len(labels)))[::-1]
    ax.barh(positions, lengths, color=_BAR, height=0.7)
    ax.set_yticks(positions, labels=[textwrap.shorten(lbl, 40) for lbl in labels], fontsize=8)
    top = max(lengths, default=0.0) or 1.0
    _style(ax, top)
    for y, length, text in zip(positions, lengths, texts, strict=True):
        ax.text(length + top * 0.01, y, text, va="center", fontsize=8)
    title = textwrap.fill(question.text.get(lang), _WRAP, max_lines=2, placeholder=" …")
    if result.mean is not None:
        title += (
            "  (" + content.text(lang, "surveys.summary.mean", mean=number_text(result.mean)) + ")"
        )
    ax.set_title(title, fontsize=9, loc="left")


def _count_panel(
    ax: Any, content: Content, lang: str, counts: list[tuple[Question, QuestionResult]]
) -> None:
    """Every count question in one panel: the total now, and beside it the previous round's."""
    positions = list(range(len(counts)))[::-1]
    now = [float(r.total if r.total is not None else r.mean or 0) for _, r in counts]
    before = [r.previous for _, r in counts]
    with_previous = any(b is not None for b in before)
    offset = 0.2 if with_previous else 0.0
    ax.barh(
        [p + offset for p in positions],
        now,
        color=_BAR,
        height=0.38 if with_previous else 0.7,
        label=content.text(lang, "surveys.chart.now"),
    )
    top = max(now + [b for b in before if b is not None], default=0.0) or 1.0
    for y, value in zip(positions, now, strict=True):
        ax.text(value + top * 0.01, y + offset, number_text(value), va="center", fontsize=8)
    if with_previous:
        shown = [(p, b) for p, b in zip(positions, before, strict=True) if b is not None]
        ax.barh(
            [p - offset for p, _ in shown],
            [b for _, b in shown],
            color=_PREVIOUS,
            height=0.38,
            label=content.text(lang, "surveys.chart.previous"),
        )
        for y, value in shown:
            ax.text(value + top * 0.01, y - offset, number_text(value), va="center", fontsize=8)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    labels = [textwrap.fill(q.text.get(lang), 34, max_lines=3, placeholder=" …") for q, _ in counts]
    ax.set_yticks(positions, labels=labels, fontsize=8)
    _style(ax, top)


def render_chart(
    content: Content, lang: str, template: SurveyTemplate, summary: Summary
) -> bytes | None:
    """The PNG of ``summary``; None when there is nothing it may show (below the minimum, no
    answers, or only free text). CPU-bound (0.1–0.5 s): call it off the event loop."""
    panels = _panels(template, summary)
    if summary.hidden or not panels:
        return None
    counts = [(q, r) for q, r in panels if q.kind == "number"]
    choices = [(q, r) for q, r in panels if q.kind != "number"]
    more = max(0, len(choices) + (1 if counts else 0) - MAX_PANELS)
    choices = choices[: MAX_PANELS - (1 if counts else 0)]
    from matplotlib.figure import Figure  # imported here: a process that draws nothing skips it

    heights = [0.2 + 0.45 * len(counts)] if counts else []
    heights += [0.55 + 0.28 * len(_bars(content, lang, q, r)[0]) for q, r in choices]
    figure = Figure(figsize=(8.0, 0.9 + sum(heights) + (0.3 if more else 0)), dpi=110)
    axes: Any = figure.subplots(len(heights), 1, squeeze=False, height_ratios=heights)[:, 0]
    percent = round(100 * summary.rate) if summary.recipients else 0
    rate = content.text(
        lang,
        "surveys.summary.rate",
        answered=str(summary.answered),
        recipients=str(summary.recipients),
        percent=str(percent),
    )
    figure.suptitle(f"{template.title.get(lang)}\n{rate}", fontsize=11, x=0.02, ha="left")
    rest = list(axes)
    if counts:
        _count_panel(rest.pop(0), content, lang, counts)
    for ax, (question, result) in zip(rest, choices, strict=True):
        _choice_panel(ax, content, lang, question, result)
    if more:
        figure.text(0.02, 0.005, content.text(lang, "surveys.chart.more", n=str(more)), fontsize=8)
    figure.tight_layout(rect=(0, 0.02 if more else 0, 1, 1))
    buffer = io.BytesIO()
    # No "Software"/date metadata: the same results give the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
