"""The directory repository on its own records: årshjul tasks are plain data in list order."""

from __future__ import annotations

from storage import directory
from storage.records import BUILTIN_ROLES, TaskRecord
from storage.repositories import Store

FIRST = TaskRecord("b-first", {"key": "b-first", "roles": ["eget-team"]})
SECOND = TaskRecord("a-second", {"key": "a-second", "roles": ["bts-koordinator"]})


async def test_setup_tenant_once_with_roles_and_tasks(store: Store) -> None:
    setup = {"timezone": "Europe/Oslo", "platform": "local"}
    assert await directory.setup_tenant(
        store, "t1", template="hadsel", roles=["eget-team"], tasks=[FIRST, SECOND], **setup
    )
    assert not await directory.setup_tenant(
        store, "t1", template="strand", roles=[], tasks=[], **setup
    )
    settings = await directory.get_settings(store, "t1")
    assert settings is not None and settings.template == "hadsel"
    roles = {r.key for r in await directory.list_roles(store, "t1")}
    assert roles == set(BUILTIN_ROLES) | {"eget-team"}
    assert await directory.list_task_records(store, "t1") == [FIRST, SECOND]


async def test_replace_tasks_keeps_the_template_when_none_is_given(store: Store) -> None:
    setup = {"timezone": "Europe/Oslo", "platform": "local"}
    await directory.setup_tenant(store, "t1", template="hadsel", roles=[], tasks=[FIRST], **setup)
    await directory.replace_tasks(store, "t1", template="", roles=[], tasks=[SECOND, FIRST])
    settings = await directory.get_settings(store, "t1")
    assert settings is not None and settings.template == "hadsel"
    assert await directory.list_task_records(store, "t1") == [SECOND, FIRST]
    await directory.replace_tasks(store, "t1", template="strand", roles=[], tasks=[])
    settings = await directory.get_settings(store, "t1")
    assert settings is not None and settings.template == "strand"
    assert await directory.list_task_records(store, "t1") == []
