"""A survey to the members of a channel: the member list read from the fake Slack over HTTP (paged,
bots and deactivated accounts left out, so they never count towards the minimum group), people
the bot never met still asked, units filtered by what the bot knows, and what Slack refuses said
plainly. Also through the CLI (``--audience channel:ID``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.config import Settings
from bot.platforms.slack.members import slack_channel_members
from dialogs.surveys import launch as survey_launch
from dialogs.surveys.launch import Audience, AudienceError
from dialogs.surveys.model import load_templates
from storage import directory, outbox
from storage.records import Holder
from storage.repositories import Store
from storage.surveys import LaunchRefused
from tests.admin.test_cli import bts
from tests.support.fake_connector import FakeConnector
from tests.support.fake_slack import TEAM_ID, FakeSlack

TENANT = f"slack:{TEAM_ID}"
NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)


def settings_for(fake: FakeSlack, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path, slack_bot_token=SecretStr("xoxb-test"), slack_api_url=fake.api_url
    )


def a_channel(fake: FakeSlack, people: int, bots: int = 0) -> None:
    humans = [f"UH{i:04d}" for i in range(people)]
    robots = [f"UB{i:02d}" for i in range(bots)]
    fake.channel_members["CTEAM"] = humans + robots + ["UGONE"]
    fake.workspace_users = {u: {"is_bot": False} for u in humans}
    fake.workspace_users.update({b: {"is_bot": True} for b in robots})
    fake.workspace_users["UGONE"] = {"deleted": True}
    fake.workspace_users["USLACKBOT"] = {"is_bot": False}


def test_audience_channel_parses_and_needs_an_id() -> None:
    assert Audience.parse("channel:C0123") == Audience("channel", "C0123")
    with pytest.raises(AudienceError, match="channel:ID"):
        Audience.parse("channel:")


async def test_members_are_read_paged_without_bots_or_deactivated_accounts(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    a_channel(fake_slack, people=450, bots=3)  # three pages of members, three of users
    members = await slack_channel_members(settings_for(fake_slack, tmp_path))(TENANT, "CTEAM")
    assert len(members) == 450 and all(m.startswith("UH") for m in members)
    assert len(fake_slack.calls("conversations.members")) == 3
    with pytest.raises(AudienceError, match="channel_not_found"):
        await slack_channel_members(settings_for(fake_slack, tmp_path))(TENANT, "CNOPE")
    with pytest.raises(AudienceError, match="read from Slack"):
        await slack_channel_members(settings_for(fake_slack, tmp_path))("teams:x", "19:abc")


async def test_a_channel_survey_asks_its_people_and_bots_never_count(
    store: Store, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    await directory.setup_tenant(
        store, TENANT, template="hadsel", roles=[], tasks=[], timezone="Europe/Oslo",
        platform="slack",
    )  # fmt: skip
    await directory.put_holder(store, TENANT, Holder("virksomhetsleder", "Lia", "slack", "UH0000"))
    members = slack_channel_members(settings_for(fake_slack, tmp_path))
    template = load_templates()["puls"]

    a_channel(fake_slack, people=4, bots=2)  # 4 people and 2 bots: below the minimum of 5
    with pytest.raises(LaunchRefused) as refused:
        await survey_launch.launch(
            store, tenant_id=TENANT, template=template, audience=Audience.parse("channel:CTEAM"),
            closes_at=NOW + timedelta(days=7), now=NOW, min_group=5, members=members,
        )  # fmt: skip
    assert refused.value.recipients == 4

    a_channel(fake_slack, people=6, bots=2)
    run, _ = await survey_launch.launch(
        store, tenant_id=TENANT, template=template, audience=Audience.parse("channel:CTEAM"),
        closes_at=NOW + timedelta(days=7), now=NOW, min_group=5, members=members,
    )  # fmt: skip
    invites = await outbox.list_items(store, TENANT, kind="survey")
    assert run.recipients == 6 and sorted(i.target_id for i in invites) == [
        f"UH{i:04d}" for i in range(6)
    ]
    # Without the platform (a test router, the web chat) a channel audience is refused plainly.
    with pytest.raises(AudienceError, match="cannot be read here"):
        await survey_launch.recipients_for(store, TENANT, Audience("channel", "CTEAM"))
    units = await survey_launch.recipients_for(
        store, TENANT, Audience("channel", "CTEAM", ("Lia",)), members=members
    )
    assert [(r.platform_user_id, r.unit) for r in units] == [("UH0000", "Lia")]


def test_the_cli_launches_to_a_channels_members(fake_slack: FakeSlack, tmp_path: Path) -> None:
    a_channel(fake_slack, people=5, bots=1)
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": fake_slack.api_url}
    launched = bts(
        tmp_path, "survey", "launch", "puls", "--audience", "channel:CTEAM",
        "--close", "2099-01-01", "--tenant", TENANT, "--json", **env,
    )  # fmt: skip
    assert launched.returncode == 0, launched.stderr
    assert json.loads(launched.stdout)["recipients"] == 5
    gone = bts(
        tmp_path, "survey", "launch", "puls", "--audience", "channel:CNOPE",
        "--close", "2099-01-01", "--tenant", TENANT, **env,
    )  # fmt: skip
    assert gone.returncode == 1 and "channel_not_found" in gone.stderr


TEAMS_GUID = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
TEAMS_CHANNEL = "19:bts-team-general@thread.tacv2"


async def test_a_teams_channels_members_come_from_the_bot_connector(
    store: Store, fake_connector: FakeConnector, tmp_path: Path
) -> None:
    from botbuilder.schema import Activity

    from bot.config import load_settings
    from bot.platforms.teams.intake import describe
    from bot.platforms.teams.sender import ProactiveChannel
    from bot.runtime import Runtime

    settings = load_settings(data_dir=tmp_path, kommune_dir=tmp_path, _env_file=None)
    runtime = Runtime(settings=settings, engine=store.engine, store=store, router=None)  # type: ignore[arg-type]
    channel = ProactiveChannel(runtime)
    tenant = f"teams:{TEAMS_GUID}"
    with pytest.raises(AudienceError, match="not been in that Teams channel"):
        await channel.members(tenant, TEAMS_CHANNEL)
    mention = {
        "type": "message", "id": "1700000000042", "serviceUrl": fake_connector.service_url,
        "channelId": "msteams", "text": "<at>BTS-bot</at> hjelp",
        "from": {"id": "29:1kari", "name": "Kari", "aadObjectId": "aad-0000"},
        "recipient": {"id": "28:bts-bot", "name": "BTS-bot"},
        "conversation": {"id": TEAMS_CHANNEL, "conversationType": "channel", "tenantId": TEAMS_GUID},
        "channelData": {"tenant": {"id": TEAMS_GUID}},
    }  # fmt: skip
    incoming = describe(mention)
    assert not isinstance(incoming, str)
    await channel.remember(Activity().deserialize(mention), incoming)
    fake_connector.members[TEAMS_CHANNEL] = [
        {"id": f"29:user-{i}", "name": f"Ansatt {i}", "aadObjectId": f"aad-{i:04d}"}
        for i in range(620)
    ]
    members = await channel.members(tenant, TEAMS_CHANNEL)
    assert members == [f"aad-{i:04d}" for i in range(620)]  # two pages of at most 500
    assert len(fake_connector.calls(r"/pagedmembers$", method="GET")) == 2
