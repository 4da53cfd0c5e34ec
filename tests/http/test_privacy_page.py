"""``/personvern`` lists everything stored about staff and for how long, with the retention periods
the server is configured with (RETENTION_*), in bokmål and nynorsk; every table that holds person
data (``storage.privacy.PERSON_COLUMNS``) is covered by an item of the page."""

from __future__ import annotations

import html
import urllib.request
from collections.abc import Callable

from bot.http.pages import PRIVACY_ITEMS
from dialogs.content import Content
from storage.models import Base
from storage.privacy import PERSON_COLUMNS
from tests.support.server import BotServer


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        assert resp.status == 200
        return html.unescape(resp.read().decode("utf-8"))


def test_every_table_with_person_data_is_on_the_privacy_page() -> None:
    covered = {table for tables in PRIVACY_ITEMS.values() for table in tables}
    assert set(PERSON_COLUMNS) - covered == set()
    assert covered <= set(Base.metadata.tables)  # no item speaks for a table that is gone
    content = Content.load()
    for lang in ("nb", "nn"):
        for item in PRIVACY_ITEMS:
            assert content.text(lang, f"pages.privacy.stored.{item}").strip()


def test_privacy_page_shows_what_is_stored_and_the_configured_retention(
    bot_server: Callable[..., BotServer],
) -> None:
    server = bot_server(
        RETENTION_EVENTS_DAYS="11",
        RETENTION_OUTBOX_DAYS="22",
        RETENTION_CONVERSATION_DAYS="33",
        RETENTION_USERS_DAYS="444",
    )
    nb = get(server.base_url + "/personvern")
    for stored in (
        "bruker-id",
        "jobbtelefon og jobb-e-post",
        "merkelappen du valgte",
        "Virksomheten du har bedt boten huske",
        "Hvor du er i en samtale",
        "innsjekkingen din",
        "opplæringsstegene",
    ):
        assert stored in nb, stored
    for period in (
        "behandlede meldinger: 11 dager",
        "Sendte påminnelser og meldinger: 22 dager",
        "Hvor du er i en samtale: 33 dager uten bruk",
        "språkvalget ditt: 444 dager",
    ):
        assert period in nb, period
    assert "{stored}" not in nb and "_days}" not in nb
    assert "730" not in nb and "90 dager" not in nb
    content = Content.load()
    assert nb.count("<li>") >= len(PRIVACY_ITEMS)
    for item in PRIVACY_ITEMS:
        assert content.text("nb", f"pages.privacy.stored.{item}") in nb, item
    nn = get(server.base_url + "/personvern?lang=nn")
    assert "Kva BTS-bot lagrar" in nn and "Kvar du er i ein samtale: 33 dagar utan bruk" in nn
    for item in PRIVACY_ITEMS:
        assert content.text("nn", f"pages.privacy.stored.{item}") in nn, item
