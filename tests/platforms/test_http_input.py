"""Raw-body checks shared by the endpoints, and the ack path's group commit."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.platforms import _http as http_input
from bot.platforms._http import BadInput
from bot.platforms.inbox import InboxWriter
from storage import inbox
from storage.inbox import Incoming
from storage.repositories import Store


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ('{"a": NaN}', 400),
        ('{"a": Infinity}', 400),
        ('{"a": -Infinity}', 400),
        ('"\\u0000"', 400),
        ('"a\x00b"', 400),
        ('"\\ud800"', 400),
        ('"\\udc00\\ud800"', 400),
        ("[" * 65 + "]" * 65, 400),
        ('{"a": ' * 70 + "1" + "}" * 70, 400),
        ("{", 400),
    ],
)
def test_refused_json(text: str, status: int) -> None:
    with pytest.raises(BadInput) as refused:
        http_input.loads(text)
    assert refused.value.status == status


def test_accepted_json() -> None:
    assert http_input.loads('"\\ud83d\\ude00 æøå"') == "😀 æøå"  # a pair is one emoji
    assert http_input.loads("[" * 64 + "]" * 64) is not None
    assert http_input.loads('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}')
    assert http_input.json_depth('{"a": "\\"[[", "b": [1, {"c": []}]}') == 4


@pytest.mark.parametrize(("charset", "status"), [("x-klingon", 415), ("utf-16", 415)])
def test_refused_charsets(charset: str, status: int) -> None:
    with pytest.raises(BadInput) as refused:
        http_input.decode_text(b"{}", charset)
    assert refused.value.status == status


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(BadInput):
        http_input.decode_text(b"\xff\xfe{}", None)
    assert http_input.decode_text("æ".encode("latin-1"), "latin-1") == "æ"


def test_the_checks_are_linear_on_hostile_input() -> None:
    # Before the unrolled string pattern this took seconds; now each is a few milliseconds.
    hostile = [
        '"' + "\\\\" * 100_000 + '"',
        '"' + "a" * 250_000 + '"',
        "[" * 100_000,
        '"\\ud800' * 20_000,
    ]
    for text in hostile:
        started = time.process_time()
        with pytest.raises(BadInput):
            http_input.loads(text + "x")
        assert time.process_time() - started < 1.0


def item(n: int, body: object = None) -> Incoming:
    return Incoming(
        event_key=f"slack:event:T1:Ev{n}",
        platform="slack",
        tenant_id="slack:T1",
        order_key=f"slack:T1:U{n}",
        body={"n": n} if body is None else {"x": body},
    )


async def test_requests_arriving_together_share_a_commit_and_duplicates_are_told(
    store: Store,
) -> None:
    writer = InboxWriter(store)
    results = await asyncio.gather(*(writer.put(item(n)) for n in [1, 2, 3, 2, 1]))
    assert results == [True, True, True, False, False]
    assert await writer.put(item(1)) is False
    assert await inbox.status_counts(store) == {"pending": 3}


async def test_a_row_the_database_refuses_fails_alone(store: Store) -> None:
    writer = InboxWriter(store)
    unstorable = item(9, body={1, 2})  # a set is no JSON: the insert raises on both backends
    results = await asyncio.gather(
        writer.put(item(1)), writer.put(unstorable), writer.put(item(2)), return_exceptions=True
    )
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], Exception)
    assert await inbox.status_counts(store) == {"pending": 2}


@pytest.mark.parametrize(
    "value", [{"event": {"text": "hei\x00"}}, {"event": {"text": "a\ud800b"}}, ["\udc00"]]
)
def test_parsed_values_from_socket_mode_are_checked_too(value: object) -> None:
    with pytest.raises(BadInput):
        http_input.check_value(value)


def test_ordinary_parsed_values_pass() -> None:
    http_input.check_value({"event": {"text": "hva gjør jeg ved uro? 😀", "n": 1.5, "ok": None}})
