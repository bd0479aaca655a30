"""Turning matched services into reply text and buttons (plain text: SMS reads it too).

Only what the directory holds is shown; a missing phone number stays missing.
"""

from __future__ import annotations

import re

from bot.core.dto import Button, Reply, ServiceRef
from bot.core.intents import Aspect
from bot.core.texts import t
from directory.matching import Contact, Hit, MatchResult, ServiceCard

# In lists, show at most this many ways to get in touch (details show all).
LIST_CONTACTS = 2
_LIST_KINDS = ("phone", "web", "chat", "email", "address")
_WAYS_IN = ("phone", "web", "chat", "email")  # how to get in touch, not where to go


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
    """What the service does, at length; in English the English summary (the full
    description exists in Swedish only, and an English answer stays English)."""
    if lang == "en" and card.summary_en.strip():
        return [card.summary_en.strip()]
    return [card.description.strip() or summary_line(card, lang)]


def contact_line(contact: Contact, lang: str) -> str:
    """Like "Telefon (Polisen): 114 14 (När det inte är akut)". The directory's labels and
    notes are Swedish, so an English answer gives the kind and the value ("Phone: 114 14")."""
    kind = t(f"label_{contact.kind}", lang)
    if lang == "en":
        return f"{kind}: {contact.value}"
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
    """How one gets in; the directory's own note is Swedish, so English gets the general
    wording for the kind of access."""
    note = card.access_note.strip() if lang != "en" else ""
    return note or t(f"access_{card.access}", lang)


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


def aspect_reply(listed: list[tuple[int, ServiceCard]], aspect: Aspect, lang: str) -> Reply:
    """Just what a follow-up asked (opening hours, cost, contact, place, who it is for) of
    each listed service it is about, by name, from the directory's fields; when the directory
    has no such field, it says so and how to reach them, never a guess."""
    blocks = [_ASPECT_TEXTS[aspect](card, lang) for _number, card in listed]
    buttons = [Button(label=str(number), action=f"detail:{number}") for number, _card in listed]
    buttons.append(Button(label=t("btn_handoff", lang), action="handoff"))
    refs = [ServiceRef(id=card.id, name=card.name) for _number, card in listed]
    return Reply(text="\n\n".join(blocks), buttons=buttons, services=refs)


def _of_kind(card: ServiceCard, *kinds: str) -> list[Contact]:
    return [c for c in card.contacts if c.kind in kinds]


def _reach(card: ServiceCard, lang: str) -> str:
    """How to get in touch, for an answer the directory cannot give itself."""
    ways = contacts_text(card, lang, kinds=_WAYS_IN)
    return t("ask_them", lang, ways=ways) if ways else access_text(card, lang)


def _hours(card: ServiceCard, lang: str) -> str:
    found = _of_kind(card, "opening_hours")
    if not found:
        return f"{t('hours_unknown', lang, name=card.name)}\n{_reach(card, lang)}"
    lines = [f"{c.value} ({c.label})" if c.label and lang != "en" else c.value for c in found]
    return "\n".join([t("hours", lang, name=card.name), *lines])


def _cost(card: ServiceCard, lang: str) -> str:
    if card.cost.strip():
        return t("cost", lang, name=card.name, cost=card.cost.strip())
    return t("cost_unknown", lang, name=card.name)


def _contact(card: ServiceCard, lang: str) -> str:
    ways = contacts_text(card, lang, kinds=_WAYS_IN)
    access = access_text(card, lang)
    if not ways:
        return f"{t('contact_unknown', lang, name=card.name)}\n{access}"
    return "\n".join([t("contact_intro", lang, name=card.name), ways, access])


def _location(card: ServiceCard, lang: str) -> str:
    found = _of_kind(card, "address")
    if found:
        lines = [contact_line(c, lang) for c in found]
        return "\n".join([t("location", lang, name=card.name), *lines])
    if card.scope == "national":
        return f"{t('location_national', lang, name=card.name)}\n{_reach(card, lang)}"
    places = ", ".join(card.municipalities) or card.region or ""
    where = t("location_area", lang, places=places) if places else ""
    lines = [t("location_unknown", lang, name=card.name), where, _reach(card, lang)]
    return "\n".join(line for line in lines if line)


def _audience(card: ServiceCard, lang: str) -> str:
    ages = t("audience_ages", lang, name=card.name, min_age=card.min_age, max_age=card.max_age)
    return "\n".join([ages, summary_line(card, lang), access_text(card, lang)])


_ASPECT_TEXTS = {
    Aspect.opening_hours: _hours,
    Aspect.cost: _cost,
    Aspect.contact: _contact,
    Aspect.location: _location,
    Aspect.audience: _audience,
}


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


def contacts_text(card: ServiceCard, lang: str, kinds: tuple[str, ...] | None = None) -> str:
    """The service's ways in (all contacts, or those of `kinds`), one a line; "" if none."""
    shown = [c for c in card.contacts if kinds is None or c.kind in kinds]
    lines = [contact_line(c, lang) for c in shown]
    if card.url and not any(c.value == card.url for c in card.contacts):
        lines.append(f"{t('label_web', lang)}: {card.url}")
    return "\n".join(lines)
