"""The messages of the BTS-nettverk, built from ``network.*`` content: the check-in and its form, the
digest with the topic vote, the agenda, the host's form and the summary, and the pairing messages.

Shared by the outbox (``notices``) and the dialog (a vote re-renders the digest in place), so the
two never drift. Every message starts with the acute exit. Pure: no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby

from dialogs.arshjul.notices import Texts
from dialogs.content import Content
from dialogs.messages import Button, Form, FormField, Message, Option
from dialogs.surveys.dialog import acute_button
from storage.network import Checkin, Round

TOPIC = "nettverk"
A_CHECKIN = "network:checkin"
A_CHECKIN_SAVE = "network:checkin-save"
A_VOTE = "network:vote"
A_POINTS = "network:points"
A_MET = "network:met"
#: The check-in's text fields, as the form names them and the check-in row stores them.
CHECKIN_FIELDS = ("done", "smart", "learned")
TOPIC_FIELD = "topic"
TOPICS_FIELD = "topics"
POINTS = 3
#: Agenda items taken from the vote.
AGENDA_TOPICS = 5
#: A topic as a vote option (Slack's option text holds 75 characters).
OPTION_CHARS = 75


@dataclass(frozen=True)
class NetTexts:
    """The ``network.*`` texts of one language, with the årshjul's date words."""

    content: Content
    lang: str

    def __call__(self, key: str, **values: object) -> str:
        return self.content.text(
            self.lang, f"network.{key}", **{k: str(v) for k, v in values.items()}
        )

    @property
    def dates(self) -> Texts:
        return Texts(self.content, self.lang)

    def day(self, day: date, today: date) -> str:
        return self.dates.long_date(day, today)

    def moment(self, at: datetime, today: date) -> str:
        return f"{self.dates.long_date(at.date(), today)} {self.dates.clock_time(at)}"

    def votes(self, n: int) -> str:
        forms = self.content.words(self.lang, "network.digest.votes")
        return forms[min(n, 2)].format(n=n)

    def acute(self) -> Button:
        return acute_button(self.content, self.lang)


def checkin_form(t: NetTexts, round_id: int, values: Mapping[str, str] | None = None) -> Form:
    texts = tuple(
        FormField(
            name, t(f"checkin.field_{name}"), "text", required=False, max_length=500,
            placeholder=t("checkin.hint"),
        )
        for name in CHECKIN_FIELDS
    )  # fmt: skip
    topic = FormField(TOPIC_FIELD, t("checkin.field_topic"), "text", required=False, max_length=150)
    fields = (*texts, topic)
    return Form(
        action=A_CHECKIN_SAVE,
        fields=fields,
        submit_label=t("checkin.submit"),
        title=t("checkin.form_title"),
        value=str(round_id),
        modal=True,
        values=tuple((k, v) for k, v in (values or {}).items() if v),
    )


def checkin_message(
    t: NetTexts,
    round_: Round,
    digest_at: datetime,
    today: date,
    *,
    nudge: bool = False,
    survey_button: Button | None = None,
) -> Message:
    key = "checkin.nudge" if nudge else "checkin.invite"
    text = t(key, date=t.day(round_.meeting, today), digest=t.moment(digest_at, today)).strip()
    if survey_button is not None:
        text += "\n\n" + t("checkin.evaluation")
    buttons = [t.acute(), Button(t("labels.checkin"), A_CHECKIN, str(round_.id), style="primary")]
    if survey_button is not None:
        buttons.append(survey_button)
    return Message(text=text, buttons=tuple(buttons), topic=TOPIC)


def _unit_block(t: NetTexts, unit: str, items: Sequence[Checkin]) -> list[str]:
    lines = [f"**{unit or t('digest.unit_none')}**"]
    for c in items:
        who = f"_{c.display_name}_" if c.display_name else ""
        parts = [
            f"{t(f'digest.{name}')}: {getattr(c, name)}"
            for name in CHECKIN_FIELDS
            if getattr(c, name).strip()
        ]
        if who:
            lines.append(who)
        lines += [f"- {p}" for p in parts]
    return lines


def topics_ranked(checkins: Sequence[Checkin], counts: Mapping[int, int]) -> list[Checkin]:
    """Proposed topics, most votes first (then the order they came in)."""
    proposed = [c for c in checkins if c.topic.strip()]
    return sorted(proposed, key=lambda c: (-counts.get(c.id, 0), c.id))


def digest_message(
    t: NetTexts,
    round_: Round,
    checkins: Sequence[Checkin],
    counts: Mapping[int, int],
    members: int,
    agenda_at: datetime,
    today: date,
    pairs: tuple[int, int] | None = None,
) -> Message:
    """The check-ins grouped by unit and the proposed topics with their votes; while voting is
    open, the vote form."""
    lines = [t("digest.heading", date=t.day(round_.meeting, today))]
    lines.append(t("digest.count", n=len(checkins), members=max(members, len(checkins))))
    if not checkins:
        lines.append(t("digest.none"))
    for unit, items in groupby(checkins, key=lambda c: c.unit):
        lines.append("\n".join(_unit_block(t, unit, list(items))))
    ranked = topics_ranked(checkins, counts)
    voting = round_.status == "voting"
    if ranked:
        lines.append(t("digest.topics", agenda=t.moment(agenda_at, today)))
        lines.append(
            "\n".join(
                t("digest.topic_line", topic=c.topic, votes=t.votes(counts.get(c.id, 0)))
                for c in ranked
            )
        )
        if not voting:
            lines.append(f"_{t('digest.voting_closed')}_")
    else:
        lines.append(t("digest.no_topics"))
    if pairs is not None and pairs[0]:
        lines.append(t("digest.pairs", pairs=pairs[0], met=pairs[1]))
    form = None
    if voting and ranked:
        options = tuple(Option(c.topic[:OPTION_CHARS], str(c.id)) for c in ranked[:100])
        form = Form(
            action=A_VOTE,
            fields=(FormField(TOPICS_FIELD, t("digest.field_topics"), "multi", options=options),),
            submit_label=t("digest.vote"),
            value=str(round_.id),
        )
    return Message(text="\n\n".join(lines), buttons=(t.acute(),), form=form, topic=TOPIC)


def agenda_message(
    t: NetTexts, round_: Round, checkins: Sequence[Checkin], counts: Mapping[int, int], today: date
) -> Message:
    items = [t("agenda.round")]
    for c in topics_ranked(checkins, counts)[:AGENDA_TOPICS]:
        items.append(f"{c.topic} ({t.votes(counts.get(c.id, 0))})")
    if round_.evaluation:
        items.append(t("agenda.evaluation"))
    lines = [t("agenda.heading", date=t.day(round_.meeting, today))]
    lines.append("\n".join(t("agenda.line", n=i, topic=item) for i, item in enumerate(items, 1)))
    return Message(text="\n\n".join(lines), buttons=(t.acute(),), topic=TOPIC)


def host_form(t: NetTexts, round_id: int, values: Mapping[str, str] | None = None) -> Form:
    fields = tuple(
        FormField(
            f"point{n}",
            t("host.field" if n == 1 else "host.optional", n=n),
            "text",
            required=n == 1,
            max_length=300,
        )
        for n in range(1, POINTS + 1)
    )
    return Form(
        action=A_POINTS,
        fields=fields,
        submit_label=t("host.submit"),
        title=t("labels.points"),
        value=str(round_id),
        modal=True,
        values=tuple((k, v) for k, v in (values or {}).items() if v),
    )


def host_message(t: NetTexts, round_: Round, today: date) -> Message:
    return Message(
        text=t("host.ask", date=t.day(round_.meeting, today)).strip(),
        buttons=(t.acute(),),
        form=host_form(t, round_.id),
        topic=TOPIC,
    )


def summary_message(t: NetTexts, round_: Round, today: date) -> Message:
    lines = [t("summary.heading", date=t.day(round_.meeting, today))]
    lines.append("\n".join(f"- {point}" for point in round_.summary))
    return Message(text="\n\n".join(lines), buttons=(t.acute(),), topic=TOPIC)


def people(t: NetTexts, members: Sequence[Sequence[str]]) -> str:
    """ "Kari (Bekkevegen barnehage) og Ola (Nord skole)"."""
    named = [
        t("pairing.person", name=m[2] or m[1], unit=m[3]) if m[3] else (m[2] or m[1])
        for m in members
    ]
    return t.dates.join(named)


def pair_message(
    t: NetTexts, members: Sequence[Sequence[str]], target: str, group: bool
) -> Message:
    if group:
        text = t("pairing.group", people=people(t, members))
    else:
        others = [m for m in members if m[1] != target]
        text = t("pairing.single", people=people(t, others))
    return Message(text=text.strip(), buttons=(t.acute(),), topic=TOPIC)


def pair_followup(
    t: NetTexts, pair_id: int, members: Sequence[Sequence[str]], target: str
) -> Message:
    others = [m for m in members if m[1] != target]
    return Message(
        text=t("pairing.followup", people=people(t, others)),
        buttons=(
            t.acute(),
            Button(t("labels.met_yes"), A_MET, f"{pair_id}:yes", style="primary"),
            Button(t("labels.met_no"), A_MET, f"{pair_id}:no"),
        ),
        topic=TOPIC,
    )
