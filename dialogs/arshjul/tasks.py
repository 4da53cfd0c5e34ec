"""A tenant's årshjul as the database keeps it, in validated form.

Storage keeps the tasks as plain ``TaskRecord`` data and the template only by name; this module
turns them into ``Task`` and ``Arshjul`` and back, and sets a fresh tenant up from a built-in
template.
"""

from __future__ import annotations

from dialogs.arshjul.model import (
    DEFAULT_TEMPLATE,
    TEMPLATES,
    Arshjul,
    Task,
    Text,
    load_template,
    task_to_data,
)
from storage import directory
from storage.records import TaskRecord
from storage.repositories import Store


def _records(arshjul: Arshjul) -> list[TaskRecord]:
    return [TaskRecord(task.key, task_to_data(task)) for task in arshjul.tasks]


async def ensure_tenant_setup(
    store: Store,
    tenant_id: str,
    *,
    timezone: str = "Europe/Oslo",
    template: str = DEFAULT_TEMPLATE,
    platform: str = "local",
) -> bool:
    """Create the tenant with its settings, built-in roles and the template's årshjul, once.

    Returns True when this call set the tenant up, False when it was set up already."""
    arshjul = load_template(template)
    return await directory.setup_tenant(
        store,
        tenant_id,
        template=template,
        roles=arshjul.roles(),
        tasks=_records(arshjul),
        timezone=timezone,
        platform=platform,
    )


async def replace_arshjul(store: Store, tenant_id: str, arshjul: Arshjul) -> None:
    """Replace the tenant's årshjul (and record its template) in one transaction."""
    await directory.replace_tasks(
        store,
        tenant_id,
        template=arshjul.template,
        roles=arshjul.roles(),
        tasks=_records(arshjul),
    )


async def list_tasks(store: Store, tenant_id: str) -> list[Task]:
    return [
        Task.model_validate(r.data) for r in await directory.list_task_records(store, tenant_id)
    ]


async def get_arshjul(store: Store, tenant_id: str) -> Arshjul:
    """The tenant's årshjul, named after its template."""
    settings = await directory.get_settings(store, tenant_id)
    template = settings.template if settings else ""
    if template in TEMPLATES:
        name = load_template(template).name
    else:
        name = Text(nb=tenant_id, nn=tenant_id)
    return Arshjul(template=template, name=name, tasks=await list_tasks(store, tenant_id))
