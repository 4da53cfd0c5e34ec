"""The årshjul's admin commands in chat: who holds which role ("/bts rolle") and where the digest goes.

"/bts rolle" opens a form to add, change or remove a role holder, and "/bts digest her" sends the
weekly status digest to this conversation; both are for admins (named, or holding BTS-koordinator)
and anyone else is told who the admins are. The role form's display-name field is the one place a
person's name is expected: ``allow_staff_names`` lets that field past the name check of the text
guard only (phone numbers, e-mail addresses and fødselsnumre are still refused there, and every other
field gets the full guard). It is a staff member's name in the directory, never a child's. No
platform imports.
"""

from __future__ import annotations

import re
from dataclasses import replace

from dialogs.arshjul.chat import TOPIC
from dialogs.arshjul.notices import A_OVERVIEW, A_ROLE_FORM, TenantView, Texts, load_tenant
from dialogs.messages import Button, Form, FormField, Message, Option, Reply
from dialogs.pii import find_personal_data
from dialogs.router import Guard, Router, TurnContext
from storage import directory
from storage.progress import set_digest_target
from storage.records import COORDINATOR_ROLE, Holder

A_ROLE_SAVE = "arshjul:role_save"
HOLDERS_LISTED = 30
UNIT_CHOICES = 99  # + "whole kommune" stays within Slack's 100 options; others via "new unit"
NAME_MAX = 200
WHOLE_KOMMUNE_VALUE = "-"
_MENTION = re.compile(r"^<@([A-Za-z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[A-Za-z0-9][\w:.@/+=-]{0,199}$")
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def parse_user_id(raw: str, platform: str) -> str | None:
    """A platform user id from what an admin typed: ``<@U123>``, ``<@U123|kari>``, ``@U123`` or
    ``U123`` (Slack), or a Teams/other id; None when it does not look like one."""
    text = raw.strip()
    match = _MENTION.match(text)
    if match:
        text = match.group(1)
    text = text.removeprefix("@")
    if platform == "slack":
        return text.upper() if _SLACK_USER_ID.match(text.upper()) else None
    return text if _USER_ID.match(text) else None


async def _admin_refusal(ctx: TurnContext, view: TenantView) -> Reply | None:
    """None for an admin (named, or holding BTS-koordinator); otherwise the polite no."""
    turn = ctx.turn
    if await directory.is_admin(ctx.store, turn.tenant_id, turn.platform, turn.user_id):
        return None
    texts = _texts(ctx)
    names = [h.display_name or h.user_id for h in view.holders if h.role == COORDINATOR_ROLE] + [
        view.person(p, u) for p, u in await directory.list_admins(ctx.store, turn.tenant_id)
    ]
    names = list(dict.fromkeys(names))
    who = texts("admin.admins", names=texts.join(names)) if names else texts("admin.no_admins")
    text = f"{texts('admin.not_admin')}\n{who}"
    return ctx.reply(Message(text=text, topic=f"{TOPIC}:ikke-admin"), replace=False)


async def role_form(ctx: TurnContext) -> Reply:
    view = await load_tenant(ctx.store, ctx.turn.tenant_id)
    refused = await _admin_refusal(ctx, view)
    if refused is not None:
        return refused
    return await _role_form(ctx, view)


async def _role_form(ctx: TurnContext, view: TenantView, notice: str = "") -> Reply:
    texts = _texts(ctx)
    units = await directory.list_units(ctx.store, ctx.turn.tenant_id)
    roles = sorted(view.role_names, key=lambda key: view.role_name(key, ctx.lang).lower())
    form = Form(
        action=A_ROLE_SAVE,
        title=texts("admin.role_form_title"),
        submit_label=texts("admin.role_form_submit"),
        fields=(
            FormField(
                "op",
                texts("admin.field_op"),
                "choice",
                options=(
                    Option(texts("admin.op_put"), "put"),
                    Option(texts("admin.op_remove"), "remove"),
                ),
            ),
            FormField(
                "role",
                texts("admin.field_role"),
                "choice",
                options=tuple(Option(view.role_name(r, ctx.lang), r) for r in roles),
            ),
            FormField(
                "unit",
                texts("admin.field_unit"),
                "choice",
                options=(
                    Option(texts("whole_kommune"), WHOLE_KOMMUNE_VALUE),
                    *(Option(u, u) for u in units[:UNIT_CHOICES]),
                ),
            ),
            FormField(
                "new_unit",
                texts("admin.field_new_unit"),
                "text",
                required=False,
                max_length=NAME_MAX,
            ),
            FormField(
                "user",
                texts("admin.field_user"),
                "text",
                placeholder=texts("admin.user_placeholder"),
                max_length=NAME_MAX,
            ),
            FormField(
                "name", texts("admin.field_name"), "text", required=False, max_length=NAME_MAX
            ),
            FormField(
                "deputy",
                texts("admin.field_deputy"),
                "text",
                required=False,
                max_length=NAME_MAX,
            ),
            FormField("absent", texts("admin.field_absent"), "yesno", required=False),
        ),
    )
    parts = [p for p in (notice, texts("admin.role_form_text"), _holders(texts, view)) if p]
    message = Message(text="\n\n".join(parts), form=form, topic=f"{TOPIC}:roller")
    return ctx.reply(message)


def _holders(texts: Texts, view: TenantView) -> str:
    if not view.holders:
        return texts("admin.no_holders")
    lines = []
    for h in sorted(view.holders, key=lambda h: (h.role, h.unit or "", h.display_name)):
        extra = " " + texts("admin.holder_absent") if h.absent else ""
        if h.deputy_user_id:
            deputy = view.person(h.platform, h.deputy_user_id)
            extra += ", " + texts("admin.holder_deputy", name=deputy)
        lines.append(
            texts(
                "admin.holder_line",
                role=view.role_name(h.role, texts.lang),
                unit=texts.unit(h.unit),
                name=h.display_name or h.user_id,
                extra=extra,
            )
        )
    shown = lines[:HOLDERS_LISTED]
    if len(lines) > HOLDERS_LISTED:
        shown.append(texts("overview.more", count=len(lines) - HOLDERS_LISTED))
    return texts("admin.holders") + "\n" + "\n".join(shown)


async def role_save(ctx: TurnContext) -> Reply:
    """Add, change or remove one role holder from the form (admins only, checked again here)."""
    turn = ctx.turn
    view = await load_tenant(ctx.store, turn.tenant_id)
    refused = await _admin_refusal(ctx, view)
    if refused is not None:
        return refused
    texts = _texts(ctx)
    values = {k: " ".join(str(v).split()) for k, v in turn.form_values.items()}

    async def again(key: str, **details: str) -> Reply:
        return await _role_form(ctx, view, "⚠️ " + texts(key, **details))

    role = values.get("role", "")
    if role not in view.role_names:
        return await again("admin.bad_role")
    unit: str | None = values.get("new_unit") or values.get("unit") or ""
    units = await directory.list_units(ctx.store, turn.tenant_id)
    if unit == WHOLE_KOMMUNE_VALUE:
        unit = None
    elif not unit or len(unit) > NAME_MAX or (not values.get("new_unit") and unit not in units):
        return await again("admin.bad_unit")
    user = parse_user_id(values.get("user", ""), turn.platform)
    if user is None:
        return await again("admin.bad_user")
    role_name, unit_text = view.role_name(role, ctx.lang), texts.unit(unit)
    if values.get("op") == "remove":
        removed = await directory.remove_holder(
            ctx.store, turn.tenant_id, role, unit, turn.platform, user
        )
        if not removed:
            return await again("admin.not_found", role=role_name, unit=unit_text)
        text = texts(
            "admin.removed",
            name=view.person(turn.platform, user),
            role=role_name,
            unit=unit_text,
        )
        return await _saved(ctx, text)
    name = values.get("name", "")
    if len(name) > NAME_MAX:
        return await again("admin.name_too_long")
    if any(kind != "name" for kind in find_personal_data(name)):
        return await again("admin.bad_name")
    deputy: str | None = None
    if values.get("deputy"):
        deputy = parse_user_id(values["deputy"], turn.platform)
        if deputy is None:
            return await again("admin.bad_deputy")
    holder = Holder(
        role=role,
        unit=unit,
        platform=turn.platform,
        user_id=user,
        display_name=name,
        deputy_user_id=deputy,
        absent=values.get("absent") == "yes",
    )
    added = await directory.put_holder(ctx.store, turn.tenant_id, holder)
    text = texts(
        "admin.added" if added else "admin.changed",
        name=name or user,
        role=role_name,
        unit=unit_text,
    )
    return await _saved(ctx, text)


async def _saved(ctx: TurnContext, text: str) -> Reply:
    texts = _texts(ctx)
    view = await load_tenant(ctx.store, ctx.turn.tenant_id)
    buttons = (
        Button(texts("labels.roles"), A_ROLE_FORM, style="primary"),
        Button(texts("labels.overview"), A_OVERVIEW),
    )
    message = Message(
        text=f"{text}\n\n{_holders(texts, view)}",
        buttons=buttons,
        topic=f"{TOPIC}:roller-lagret",
    )
    return ctx.reply(message)


async def digest_here(ctx: TurnContext) -> Reply:
    """Send the weekly status digest to the conversation this was typed in."""
    turn = ctx.turn
    view = await load_tenant(ctx.store, turn.tenant_id)
    refused = await _admin_refusal(ctx, view)
    if refused is not None:
        return refused
    await set_digest_target(ctx.store, turn.tenant_id, turn.platform, turn.channel_id)
    texts = _texts(ctx)
    return ctx.reply(Message(text=texts("admin.digest_set"), topic=f"{TOPIC}:digest"))


def _texts(ctx: TurnContext) -> Texts:
    return Texts(ctx.content, ctx.lang)


def allow_staff_names(guard: Guard) -> Guard:
    """``guard`` with the role form's name field let past (the handler checks it itself)."""

    async def guarded(ctx: TurnContext) -> Reply | None:
        turn = ctx.turn
        if turn.kind == "form" and turn.action == A_ROLE_SAVE and "name" in turn.form_values:
            # A staff member's name is what this field is for; the handler still refuses phone
            # numbers, e-mail addresses and fødselsnumre in it.
            rest = {k: v for k, v in turn.form_values.items() if k != "name"}
            return await guard(replace(ctx, turn=replace(turn, form_values=rest)))
        return await guard(ctx)

    return guarded


def register(router: Router) -> None:
    """Add the role form and the digest command (the text guard is ``allow_staff_names``'s)."""
    router.add_action(A_ROLE_FORM, role_form)
    router.add_action(A_ROLE_SAVE, role_save)
    router.add_commands("arshjul.role_commands", role_form)
    router.add_commands("arshjul.digest_commands", digest_here)
