"""Turning matched services into reply text and buttons (plain text: SMS reads it too).

Only what the directory holds is shown; a missing phone number stays missing.
"""

from __future__ import annotations

import re

from bot.core.dto import Button, Reply, ServiceRef
from bot.core.texts import t
from directory.matching import Contact, Hit, MatchResult, ServiceCard

# In lists, show at most this many ways to get in touch (details show all).
LIST_CONTACTS = 2
_LIST_KINDS = ("phone", "web", "chat", "email", "address")


def summary_line(card: ServiceCard, lang: str = "sv") -> str:
    """One line on what the service does: the summary (in English when the parent writes
    English and the directory has it), else the description's first sentence."""
    if lang == "en" and card.summary_en.strip():
        return card.summary_en.strip()
    if card.summary.strip():
        return card.summary.strip()
    first = re.split(r"(?<=[.!?])\s", card.description.strip(), maxsplit=1)[0]
    return first[:200]


def _about(card: ServiceCard, lang: str) -> list[str]:
    """What the service does, at length: in English the English summary leads (the full
    description exists in Swedish only)."""
    description = card.description.strip()
    if lang == "en" and card.summary_en.strip():
        return [card.summary_en.strip(), description] if description else [card.summary_en]
    return [description or summary_line(card, lang)]


def contact_line(contact: Contact, lang: str) -> str:
    kind = t(f"label_{contact.kind}", lang)
    label = f"{kind} ({contact.label})" if contact.label else kind
    note = f" ({contact.note})" if contact.note else ""
    return f"{label}: {contact.value}{note}"


def _list_contacts(card: ServiceCard) -> list[Contact]:
    ranked = sorted(
        (c for c in card.contacts if c.kind in _LIST_KINDS),
        key=lambda c: _LIST_KINDS.index(c.kind),
    )
    return ranked[:LIST_CONTACTS]


def access_text(card: ServiceCard, lang: str) -> str:
    return card.access_note.strip() or t(f"access_{card.access}", lang)


def service_block(number: int, card: ServiceCard, lang: str) -> str:
    lines = [f"{number}. {card.name}", summary_line(card, lang)]
    contacts = _list_contacts(card)
    lines += [contact_line(c, lang) for c in contacts]
    if not contacts and card.url:
        lines.append(f"{t('label_web', lang)}: {card.url}")
    if card.access != "open" or card.access_note:
        lines.append(access_text(card, lang))
    return "\n".join(line for line in lines if line)


def services_reply(
    hits: list[Hit],
    *,
    first_number: int,
    lang: str,
    intro: str,
    notes: list[str],
    more: bool = True,
) -> Reply:
    """A numbered list of services with detail, "fler" (when there are more) and handoff
    buttons."""
    blocks = [service_block(first_number + i, h.service, lang) for i, h in enumerate(hits)]
    text = "\n\n".join([intro, *blocks, *notes, t("follow_up_hint", lang)])
    buttons = [
        Button(label=str(first_number + i), action=f"detail:{first_number + i}")
        for i in range(len(hits))
    ]
    if more:
        buttons.append(Button(label=t("btn_more", lang), action="more"))
    buttons.append(Button(label=t("btn_handoff", lang), action="handoff"))
    refs = [ServiceRef(id=h.service.id, name=h.service.name) for h in hits]
    return Reply(text=text, buttons=buttons, services=refs)


def detail_reply(number: int, card: ServiceCard, lang: str) -> Reply:
    """Everything the directory says about one service: all contacts, access, cost, ages."""
    lines = [f"{number}. {card.name}", *_about(card, lang), ""]
    lines += [contact_line(c, lang) for c in card.contacts]
    if card.url and not any(c.value == card.url for c in card.contacts):
        lines.append(f"{t('label_web', lang)}: {card.url}")
    lines.append(t("detail_access", lang, access=access_text(card, lang)))
    if card.cost.strip():
        lines.append(t("detail_cost", lang, cost=card.cost.strip()))
    lines.append(t("detail_ages", lang, min_age=card.min_age, max_age=card.max_age))
    if not card.verified:
        lines.append(t("unverified", lang))
    if card.assured_date:
        lines.append(t("assured", lang, date=card.assured_date.isoformat()))
    buttons = [
        Button(label=t("btn_more", lang), action="more"),
        Button(label=t("btn_handoff", lang), action="handoff"),
    ]
    ref = ServiceRef(id=card.id, name=card.name)
    return Reply(text="\n".join(lines), buttons=buttons, services=[ref])


def cost_reply(cards: list[ServiceCard], lang: str) -> Reply:
    """What the services in focus cost, one line each (as the directory states it)."""
    lines = [
        t("cost", lang, name=c.name, cost=c.cost.strip())
        if c.cost.strip()
        else t("cost_unknown", lang, name=c.name)
        for c in cards
    ]
    refs = [ServiceRef(id=c.id, name=c.name) for c in cards]
    return Reply(text="\n".join(lines), services=refs)


def urgent_reply(result: MatchResult, lang: str) -> Reply:
    """Emergency guidance, always the first reply: 112 now, then the urgent lines' numbers."""
    lines = [t("urgent", lang)]
    numbers = [
        f"{h.service.name}: {c.value}" + (f" ({c.note})" if c.note else "")
        for h in result.hits
        if h.service.urgent_service
        for c in h.service.contacts
        if c.kind == "phone"
    ]
    if numbers:
        lines += ["", t("urgent_numbers", lang), *numbers]
    refs = [ServiceRef(id=h.service.id, name=h.service.name) for h in result.hits]
    urgent_refs = [r for r, h in zip(refs, result.hits, strict=True) if h.service.urgent_service]
    return Reply(text="\n".join(lines), services=urgent_refs, urgent=True)


def contacts_text(card: ServiceCard, lang: str) -> str:
    lines = [contact_line(c, lang) for c in card.contacts]
    if card.url and not any(c.value == card.url for c in card.contacts):
        lines.append(f"{t('label_web', lang)}: {card.url}")
    return "\n".join(lines)
