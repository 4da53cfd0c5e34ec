"""Issue #11 §3: the nivå where the stafettholder and the stafettlogg start is a kommune setting.

Two kommune files, one starting the stafettlogg on nivå 1 and one on nivå 2 (and one without the
setting), walked through the real router: where the guide first mentions the stafettlogg and first
offers the tool follows the file, in nb and nn; a bad value is refused with the file's line.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.app import build_router
from dialogs.guide.kommune import KommuneRegistry
from dialogs.guide.kommune_model import DEFAULT_KOMMUNE
from dialogs.guide.model import load_guides
from dialogs.messages import Message, Turn
from dialogs.router import Router
from storage.repositories import Store

GUIDES = load_guides()
STAFETT = GUIDES.get("nb").stafett


def kommuner(tmp_path: Path, level: int | None) -> Path:
    folder = tmp_path / f"kommuner-{level}"
    folder.mkdir()
    setting = f"stafett_start_level: {level}\n" if level is not None else ""
    (folder / "local.yaml").write_text(f"kommune: Prøvevik\n{setting}", encoding="utf-8")
    return folder


async def step(router: Router, step_id: str, lang: str) -> Message:
    turn = Turn("web", "local", "u1", "c1", action="guide:goto", value=step_id)
    if lang != "nb":
        await router.handle(Turn("web", "local", "u1", "c1", action="lang:set", value=lang))
    return (await router.handle(turn)).messages[-1]


def offers_tool(message: Message) -> bool:
    return any((b.action, b.value) == ("guide:tool", STAFETT.tool) for b in message.buttons)


async def first_mention(router: Router, lang: str) -> tuple[str | None, str | None]:
    """(first step that mentions the stafettlogg, first step that offers the tool), in order."""
    mentioned = offered = None
    await router.handle(Turn("web", "local", "u1", "c1", text="hei"))
    for _level, step_id, _step in GUIDES.get(lang).iter_steps():
        message = await step(router, step_id, lang)
        if mentioned is None and "stafettlogg" in message.text.lower():
            mentioned = step_id
        if offered is None and offers_tool(message):
            offered = step_id
    return mentioned, offered


@pytest.mark.parametrize("lang", ["nb", "nn"])
async def test_the_stafettlogg_starts_where_the_kommune_file_says(
    store: Store, tmp_path: Path, lang: str
) -> None:
    found = {}
    for level in (1, 2, None):
        router = build_router(store, kommune_dir=kommuner(tmp_path, level))
        found[level] = await first_mention(router, lang)
    one, two = STAFETT.levels[1].step, STAFETT.levels[2].step
    assert found[1] == (one, one), "nivå 1: the meeting that sets goals brings in the log"
    assert found[2] == (two, two), "nivå 2: as the handlingsveileder's usual course"
    assert found[None] == found[STAFETT.default_level], "no setting: the guide's default"

    router = build_router(store, kommune_dir=tmp_path / "kommuner-1")
    await router.handle(Turn("web", "local", "u1", "c1", text="hei"))
    later = await step(router, two, lang)
    assert GUIDES.get(lang).stafett.levels[2].continued.strip() in later.text
    assert "Prøvevik" in (await step(router, one, lang)).text
    tool = (
        await router.handle(
            Turn("web", "local", "u1", "c1", action="guide:tool", value=STAFETT.tool)
        )
    ).messages[-1]
    assert "nivå 1" in tool.text and "Prøvevik" in tool.text


def test_a_bad_level_is_refused_with_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "kommuner"
    folder.mkdir()
    (folder / "local.yaml").write_text(
        "kommune: Prøvevik\n\nstafett_start_level: 3\n", encoding="utf-8"
    )
    registry = KommuneRegistry(folder)
    errors = registry.errors("local")
    assert any(
        "local.yaml:3:" in e and "stafett_start_level" in e and "must be 1 or 2" in e
        for e in errors
    ), errors
    assert registry.get("local") == DEFAULT_KOMMUNE, "a bad file is not used"
