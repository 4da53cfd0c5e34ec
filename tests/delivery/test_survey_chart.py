"""The chart of a closed survey, end to end: drawn under the minimum group size (none at 4 answers,
a PNG at 5), shared into the Slack channel with the external upload API against the fake Slack
(exactly once, also when a crashed send is retried), shown in the Teams card by a signed address
that our own server answers over HTTP (and nothing else does), and its signature unforgeable."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image as PILImage
from pydantic import SecretStr

from bot.config import Settings
from bot.delivery.senders import RetryLater, SendRates
from bot.http.server import build_app
from bot.platforms.slack.render import render_reply as slack_render
from bot.platforms.slack.sender import SlackSender, file_name
from bot.platforms.teams.render import render_card
from bot.runtime import Runtime
from bot.survey_key import survey_key
from dialogs.app import build_router
from dialogs.content import Content
from dialogs.messages import Message, Reply
from dialogs.surveys import launch as survey_launch
from dialogs.surveys.chart import ChartLinks, render_chart
from dialogs.surveys.launch import Audience
from dialogs.surveys.model import load_templates
from dialogs.surveys.notices import render_survey_notice, summarise_run, summary_message
from dialogs.surveys.results import summarise
from storage import directory, outbox, surveys
from storage.outbox import Notice
from storage.outbox_models import OutboxItem
from storage.records import Holder
from storage.repositories import Store
from tests.support.fake_slack import FakeSlack

TENANT = "slack:T0001"
NOW = datetime(2026, 9, 1, 7, 0, tzinfo=UTC)
CLOSES = NOW + timedelta(days=10)
TEMPLATES = load_templates()
CONTENT = Content.load()
PUBLIC = "https://bts.kommune.example.no"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def runtime(store: Store, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(
        data_dir=tmp_path,
        kommune_dir=tmp_path,
        survey_secret=SecretStr("chart test secret"),
        public_url=PUBLIC,
        slack_bot_token=None,
        reminders_enabled=False,
    )
    router = build_router(store, survey_key=survey_key(settings))
    yield Runtime(settings=settings, engine=store.engine, store=store, router=router)


async def open_run(runtime: Runtime, answers: int) -> surveys.Run:
    """A pulse to 7 leaders with ``answers`` of them answering, still open."""
    store = runtime.store
    await directory.setup_tenant(
        store, TENANT, template="hadsel", roles=[], tasks=[], timezone="Europe/Oslo",
        platform="slack",
    )  # fmt: skip
    for i in range(7):
        unit = "Sortland skole" if i % 2 else "Lia barnehage"
        await directory.put_holder(
            store, TENANT, Holder("virksomhetsleder", unit, "slack", f"L{i}")
        )
    run, _ = await survey_launch.launch(
        store,
        tenant_id=TENANT,
        template=TEMPLATES["puls"],
        audience=Audience.parse("role:virksomhetsleder"),
        closes_at=CLOSES,
        now=NOW,
        min_group=5,
        post_to="C-LEDERE",
    )
    for i in range(answers):
        await surveys.submit(
            store, key=survey_key(runtime.settings), tenant_id=TENANT, run_id=run.id,
            platform_user_id=f"L{i}",
            values={"trygg": 1 + i % 5, "anbefale": 7 + i % 4, "hjelpe-mest": f"Mer tid {i}"},
            day=NOW.date(), now=NOW,
        )  # fmt: skip
    return run


async def closed_run(runtime: Runtime, answers: int) -> tuple[surveys.Run, OutboxItem]:
    """The same, closed: (run, its summary row)."""
    run = await open_run(runtime, answers)
    await survey_launch.close(runtime.store, TENANT, run.id, CLOSES)
    (row,) = await outbox.list_items(runtime.store, TENANT, kind="survey-summary")
    return run, row


async def summary_reply(runtime: Runtime, row: OutboxItem) -> Reply:
    return await render_survey_notice(
        runtime.store, CONTENT, Notice.of(row, "nb"), CLOSES, runtime.charts
    )


def is_png(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_MAGIC)
    with PILImage.open(io.BytesIO(data)) as picture:
        picture.verify()
        return picture.size


# the picture and its address ---------------------------------------------------------------------


async def test_no_chart_below_the_minimum_group(runtime: Runtime) -> None:
    run, row = await closed_run(runtime, answers=4)
    (message,) = (await summary_reply(runtime, row)).messages
    assert message.image is None  # 4 < 5: the message shows the response rate only
    summary = await summarise_run(runtime.store, run, TEMPLATES["puls"])
    assert render_chart(CONTENT, "nb", TEMPLATES["puls"], summary) is None


async def test_a_png_chart_at_the_minimum_group(runtime: Runtime) -> None:
    run, row = await closed_run(runtime, answers=5)
    (message,) = (await summary_reply(runtime, row)).messages
    assert message.image is not None
    width, height = is_png(message.image.png)
    assert width > 400 and height > 200
    assert message.image.url == runtime.charts.url(run.id, "nb")
    assert message.image.url.startswith(PUBLIC + "/charts/")
    assert "Puls" in message.image.alt
    assert message.to_dict()["image"]["bytes"] == len(message.image.png)  # JSON: no bytes


def test_only_free_text_or_no_answers_draw_nothing() -> None:
    template = TEMPLATES["puls"]
    only_text = [("", {"hjelpe-mest": f"tekst {i}"}) for i in range(6)]
    summary = summarise(template, only_text, anonymity="anonymous", recipients=6, min_group=5)
    assert render_chart(CONTENT, "nb", template, summary) is None
    none = summarise(template, [], anonymity="anonymous", recipients=6, min_group=5)
    assert render_chart(CONTENT, "nn", template, none) is None


def test_a_chart_address_is_signed_for_its_run_and_language_only() -> None:
    links = ChartLinks(b"k" * 32, PUBLIC + "/")
    url = links.url("run-1", "nb")
    name = url.rsplit("/", 1)[1]
    assert url == f"{PUBLIC}/charts/{name}"
    assert links.read(name) == ("run-1", "nb")
    run, lang, signature, _ = name.split(".")
    assert links.read(f"run-2.{lang}.{signature}.png") is None  # another run
    assert links.read(f"{run}.nn.{signature}.png") is None  # another language
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert links.read(f"{run}.{lang}.{flipped}.png") is None
    assert ChartLinks(b"x" * 32, PUBLIC).read(name) is None  # another deployment's key
    for junk in ("", "../../etc/passwd", f"{name}x", f"{run}.de.{signature}.png"):
        assert links.read(junk) is None


async def test_our_server_serves_a_signed_chart_and_404s_anything_else(runtime: Runtime) -> None:
    run, _ = await closed_run(runtime, answers=5)
    name = runtime.charts.url(run.id, "nn").rsplit("/", 1)[1]
    async with TestClient(TestServer(build_app(runtime))) as client:
        response = await client.get(f"/charts/{name}")
        assert response.status == 200
        assert response.content_type == "image/png"
        assert response.headers["Cache-Control"].startswith("private")
        is_png(await response.read())
        again = await client.get(f"/charts/{name}")  # from the cache: the same picture
        assert await again.read() == await response.read()
        forged = name.replace(".nn.", ".nb.")
        assert (await client.get(f"/charts/{forged}")).status == 404
        assert (await client.get("/charts/whatever.png")).status == 404
        gone = ChartLinks(survey_key(runtime.settings), PUBLIC).name("no-such-run", "nb")
        assert (await client.get(f"/charts/{gone}")).status == 404


async def test_an_open_run_has_no_chart_in_chat_nor_at_its_address(runtime: Runtime) -> None:
    # Fetched again and again while answers arrive, a picture would show what each one changed.
    run = await open_run(runtime, answers=6)
    message = await summary_message(runtime.store, CONTENT, "nb", run, TEMPLATES["puls"])
    assert message.image is None and "6 av 7 svarte" in message.text
    name = runtime.charts.url(run.id, "nb").rsplit("/", 1)[1]
    async with TestClient(TestServer(build_app(runtime))) as client:
        assert (await client.get(f"/charts/{name}")).status == 404


async def test_the_server_will_not_draw_a_run_below_the_minimum(runtime: Runtime) -> None:
    run, _ = await closed_run(runtime, answers=4)
    name = runtime.charts.url(run.id, "nb").rsplit("/", 1)[1]
    async with TestClient(TestServer(build_app(runtime))) as client:
        assert (await client.get(f"/charts/{name}")).status == 404


# platforms ---------------------------------------------------------------------------------------


async def test_slack_gets_the_summary_then_the_chart_by_the_external_upload_api_once(
    runtime: Runtime, fake_slack: FakeSlack
) -> None:
    _, row = await closed_run(runtime, answers=6)
    reply = await summary_reply(runtime, row)
    rendered = slack_render(reply)
    assert [m.upload is not None for m in rendered] == [False, True]
    rates = SendRates(slack_send=200, slack_channel=100, slack_lookup=200)
    sender = SlackSender("xoxb-test", fake_slack.api_url, rates.limits())
    try:
        await sender.send(row, reply)
        asked = fake_slack.wait_for("files.getUploadURLExternal")[0].body
        assert asked["filename"] == file_name(row, 1)
        assert int(asked["length"]) == len(rendered[1].upload.png)  # type: ignore[union-attr]
        (complete,) = fake_slack.calls("files.completeUploadExternal")
        assert complete.body["channel_id"] == "C-LEDERE"
        assert not fake_slack.calls("files.upload")  # the retired API is never used
        (uploaded,) = fake_slack.uploaded.values()
        is_png(uploaded)
        posted = fake_slack.posted("C-LEDERE")
        assert "Resultater: Puls" in posted[0]["text"]
        assert posted[1]["files"][0]["name"] == file_name(row, 1)
        assert posted[1]["files"][0]["title"].startswith("Resultater: Puls")
        assert await sender.already_sent(row) is True  # both parts, the file found by its name

        # A crash after the upload: the retried row finds both parts and sends nothing more.
        row.attempts = 1
        await sender.send(row, reply)
        assert len(fake_slack.calls("files.getUploadURLExternal")) == 1
        assert len(fake_slack.posted("C-LEDERE")) == 2
    finally:
        await sender.close()


async def test_slack_retries_only_the_chart_when_its_upload_failed(
    runtime: Runtime, fake_slack: FakeSlack
) -> None:
    _, row = await closed_run(runtime, answers=5)
    reply = await summary_reply(runtime, row)
    rates = SendRates(slack_send=200, slack_channel=100, slack_lookup=200)
    sender = SlackSender("xoxb-test", fake_slack.api_url, rates.limits())
    fake_slack.fail_next("upload", status=500, error="boom")
    try:
        with pytest.raises(RetryLater):
            await sender.send(row, reply)
        assert len(fake_slack.posted("C-LEDERE")) == 1  # the text went, the chart did not
        assert await sender.already_sent(row) is False
        row.attempts = 1
        await sender.send(row, reply)
        posted = fake_slack.posted("C-LEDERE")
        assert len(posted) == 2 and "files" in posted[1]
        assert len(fake_slack.calls("chat.postMessage")) == 1  # the summary text was not resent
    finally:
        await sender.close()


async def test_teams_shows_the_chart_by_its_signed_address(runtime: Runtime) -> None:
    run, row = await closed_run(runtime, answers=5)
    (message,) = (await summary_reply(runtime, row)).messages
    card = render_card(message)
    images = [b for b in card["body"] if b.get("type") == "Image"]
    assert images == [
        {
            "type": "Image",
            "url": runtime.charts.url(run.id, "nb"),
            "altText": message.image.alt,  # type: ignore[union-attr]
            "size": "Stretch",
        }
    ]
    assert "data:" not in str(card)  # never the bytes: a card is limited to about 28 KB


def test_a_message_over_slacks_block_limit_goes_as_several() -> None:
    long = Message(text="\n\n".join(f"Avsnitt {i}: " + "ord " * 700 for i in range(60)))
    parts = slack_render(Reply(messages=(long,)))
    assert len(parts) > 1 and all(len(p.blocks) <= 50 for p in parts)
    texts = [b["text"]["text"] for p in parts for b in p.blocks]
    assert texts[0].startswith("Avsnitt 0:") and "Avsnitt 59:" in texts[-1]  # all, in order
