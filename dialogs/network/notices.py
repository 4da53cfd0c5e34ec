"""The messages of the network's outbox rows, rendered at send time.

Rendering the digest closes the check-ins (the round moves to voting) and rendering the agenda
closes the vote, in the database, before the message goes out: nothing is accepted that the posted
message would not show. The check-in of an evaluation round launches the network's evaluation
survey (once: its launch key is the round) to the members, open until the digest.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from dialogs.arshjul.notices import TenantView
from dialogs.content import Content
from dialogs.messages import Button, Message, Reply
from dialogs.network import screens
from dialogs.network.planner import Timeline, members_of, timeline
from dialogs.network.screens import NetTexts
from dialogs.surveys import launch as survey_launch
from dialogs.surveys.dialog import A_OPEN
from dialogs.surveys.model import SurveyTemplate
from storage import network as net
from storage import outbox, surveys
from storage.network import NetworkSettings, Round
from storage.outbox import Notice
from storage.outbox_models import OutboxKind
from storage.repositories import Store
from storage.surveys import LaunchRefused

log = logging.getLogger(__name__)

EVALUATION_TEMPLATE = "bts-nettverk-evaluering"
#: Pairs counted in the digest: introduced this long before it.
PAIRS_COUNTED = timedelta(days=31)


class GoneRound(LookupError):
    """The row names a network or round that is not (or no longer) there."""


def round_timeline(view: TenantView, network: NetworkSettings, round_: Round) -> Timeline:
    task = view.find_task(round_.task_key)
    send_time = task.send_hour_minute if task is not None else (9, 0)
    return timeline(round_.meeting, network.checkin_days, send_time, view.zone, view.closed)


async def render_network_notice(
    store: Store,
    content: Content,
    notice: Notice,
    view: TenantView,
    now: datetime,
    templates: Mapping[str, SurveyTemplate],
    min_group: int,
) -> Reply:
    row = await outbox.get_item(store, notice.item_id)
    target_id = row.target_id if row is not None else ""
    lang = notice.lang if notice.lang in content.by_lang else "nb"
    t = NetTexts(content, lang)
    today = now.astimezone(view.zone).date()
    payload = notice.payload
    network = await net.get_network(store, notice.tenant_id, str(payload.get("network", "")))
    if network is None:
        raise GoneRound("network not found")
    kind = notice.kind
    if kind in (OutboxKind.NETWORK_PAIR, OutboxKind.NETWORK_PAIR_FOLLOWUP):
        pair = await net.get_pair(store, notice.tenant_id, int(payload.get("pair", 0)))
        if pair is None:
            raise GoneRound("pair not found")
        if kind is OutboxKind.NETWORK_PAIR:
            message = screens.pair_message(t, pair.members, target_id, group="," in target_id)
        else:
            message = screens.pair_followup(t, pair.id, pair.members, target_id)
        return Reply(messages=(message,), lang=lang, topic=screens.TOPIC)
    round_ = await net.get_round(store, notice.tenant_id, int(payload.get("round", 0)))
    if round_ is None:
        raise GoneRound("round not found")
    when = round_timeline(view, network, round_)
    if kind in (OutboxKind.NETWORK_CHECKIN, OutboxKind.NETWORK_NUDGE):
        button = None
        if round_.evaluation:
            button = await _evaluation_button(
                store, t, network, round_, when, now, templates, min_group, target_id
            )
        message = screens.checkin_message(
            t, round_, when.digest, today,
            nudge=kind is OutboxKind.NETWORK_NUDGE, survey_button=button,
        )  # fmt: skip
    elif kind is OutboxKind.NETWORK_DIGEST:
        await net.advance(store, round_.id, net.VOTING)
        message = await digest(store, t, view, network, round_.id, now)
    elif kind is OutboxKind.NETWORK_AGENDA:
        await net.advance(store, round_.id, net.AGENDA)
        fresh = await net.get_round(store, notice.tenant_id, round_.id) or round_
        checkins = await net.checkins(store, round_.id)
        counts = await net.vote_counts(store, round_.id)
        message = screens.agenda_message(t, fresh, checkins, counts, today)
    elif kind is OutboxKind.NETWORK_HOST:
        message = screens.host_message(t, round_, today)
    else:  # the summary
        message = screens.summary_message(t, round_, today)
    return Reply(messages=(message,), lang=lang, topic=screens.TOPIC)


async def digest(
    store: Store,
    t: NetTexts,
    view: TenantView,
    network: NetworkSettings,
    round_id: int,
    now: datetime,
) -> Message:
    """The digest of a round as it stands now (posted, and shown again after each vote)."""
    round_ = await net.get_round(store, network.tenant_id, round_id)
    if round_ is None:
        raise GoneRound("round not found")
    when = round_timeline(view, network, round_)
    checkins = await net.checkins(store, round_.id)
    counts = await net.vote_counts(store, round_.id)
    members = len(members_of(network, view.holders))
    pairs = None
    if network.pairing_weeks:
        pairs = await net.pairing_stats(store, network.tenant_id, network.key, now - PAIRS_COUNTED)
    local_today = now.astimezone(view.zone).date()
    return screens.digest_message(
        t, round_, checkins, counts, members, when.agenda, local_today, pairs
    )


async def _evaluation_button(
    store: Store,
    t: NetTexts,
    network: NetworkSettings,
    round_: Round,
    when: Timeline,
    now: datetime,
    templates: Mapping[str, SurveyTemplate],
    min_group: int,
    target_id: str,
) -> Button | None:
    """ "Evaluer nettverket" for a member the evaluation went to, launching it first if needed."""
    template = templates.get(EVALUATION_TEMPLATE)
    if template is None:
        return None
    run_id = round_.survey_run
    if run_id is None:
        try:
            run, _ = await survey_launch.launch(
                store,
                tenant_id=network.tenant_id,
                template=template,
                audience=survey_launch.Audience("role", network.member_role),
                closes_at=max(when.digest, now + timedelta(days=1)),
                now=now,
                min_group=min_group,
                post_to=network.channel_id,
                launch_key=f"network:{round_.id}",
                launched_by=f"network:{network.key}",
                platform=network.platform,
            )
        except (LaunchRefused, survey_launch.AudienceError) as exc:
            log.warning(
                "network evaluation not launched",
                extra={"tenant": network.tenant_id, "reason": type(exc).__name__},
            )
            return None
        run_id = run.id
        await net.set_survey_run(store, round_.id, run_id)
    if await surveys.recipient(store, run_id, target_id) is None:
        return None
    return Button(t("labels.evaluate"), A_OPEN, run_id)
