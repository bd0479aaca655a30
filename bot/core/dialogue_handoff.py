"""The points where a person takes over (consent, relaying) and where data is deleted.

What happens to cases is the Handoff port's business (bot.core.ports); this module decides when
to call it. "radera" asks first ("radera ja" deletes at once): deleting also removes a
coordinator's case, so a slip of the keyboard must not do it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bot.core import conversations as store
from bot.core.dialogue import State, Turn
from bot.core.dialogue_answers import Answers, is_coordinator
from bot.core.dto import Button, Reply
from bot.core.intents import Intent
from bot.core.ports import Handoff
from bot.core.replies import contacts_text
from bot.core.texts import t
from directory.matching import Query

log = logging.getLogger(__name__)

# Several messages in a row while a case is open get one acknowledgement, not one each.
ACK_QUIET = timedelta(minutes=10)


class HandoffSteps:
    def __init__(
        self, *, handoff: Handoff | None, answers: Answers, default_municipality: str
    ) -> None:
        self._handoff = handoff
        self._answers = answers
        self._default_municipality = default_municipality

    @property
    def enabled(self) -> bool:
        return self._handoff is not None

    async def start(self, turn: Turn) -> list[Reply]:
        """The parent asked for a person: show what the coordinator will see, ask consent."""
        if self._handoff is None:
            return [await self._coordinator_contacts(turn)]
        consent = self._handoff.consent_text(conversation=turn.conversation)
        turn.remember(consent_text=consent)
        turn.conversation.state = State.awaiting_consent
        buttons = [
            Button(label=t("btn_yes", turn.lang), action="yes"),
            Button(label=t("btn_no", turn.lang), action="no"),
        ]
        return [Reply(text=f"{consent}\n\n{t('consent_question', turn.lang)}", buttons=buttons)]

    async def consent(self, turn: Turn) -> list[Reply] | None:
        """The answer to the consent question; None when the message is something else."""
        intent = turn.parsed.intent
        if intent is Intent.yes and self._handoff is not None:
            opened = await self._handoff.open_case(
                session=turn.session,
                conversation=turn.conversation,
                consent_text=str(turn.ctx.get("consent_text", "")),
                at=turn.at,
            )
            turn.conversation.state = State.with_coordinator
            turn.remember(case_id=opened.case_id)
            return [Reply(text=opened.acknowledgement)]
        turn.conversation.state = State.idle
        if intent is Intent.no:
            return [Reply(text=t("consent_declined", turn.lang))]
        if intent is Intent.handoff:
            return await self.start(turn)
        return None

    async def relay(self, turn: Turn) -> list[Reply]:
        """A case is open: the lots answers. The bot only says the message reached them (once
        for several in a row: again after the lots answered or ACK_QUIET passed); the core
        still triages the message, so danger gets the emergency guidance at once."""
        assert self._handoff is not None
        relayed = await self._handoff.parent_wrote(
            session=turn.session, conversation=turn.conversation, message=turn.message
        )
        if relayed is None:
            return []
        last = turn.ctx.get("acknowledged_at")
        recent = last is not None and turn.at - datetime.fromisoformat(last) < ACK_QUIET
        if recent and not relayed.answered:
            return []
        turn.remember(acknowledged_at=turn.at.isoformat())
        return [Reply(text=relayed.acknowledgement)]

    async def _coordinator_contacts(self, turn: Turn) -> Reply:
        """No handoff configured: tell the parent how to reach Familjeguiden themselves."""
        municipality = turn.conversation.municipality or self._default_municipality
        result = await self._answers.match(Query(text="Familjeguiden", municipality=municipality))
        for hit in result.hits:
            if is_coordinator(hit) and hit.service.contacts:
                contacts = contacts_text(hit.service, turn.lang)
                return Reply(text=t("no_handoff", turn.lang, contacts=contacts))
        return Reply(text=t("no_handoff_unknown", turn.lang, municipality=municipality))

    def ask_delete(self, turn: Turn) -> Reply:
        if turn.conversation.state != State.awaiting_delete:
            turn.remember(state_before_delete=turn.conversation.state)
        turn.conversation.state = State.awaiting_delete
        buttons = [
            Button(label=t("btn_delete_yes", turn.lang), action="delete_yes"),
            Button(label=t("btn_no", turn.lang), action="no"),
        ]
        return Reply(text=t("delete_confirm", turn.lang), buttons=buttons)

    def keep(self, turn: Turn) -> None:
        """Not deleting after all: carry on where the parent was (e.g. with a coordinator)."""
        turn.conversation.state = str(turn.ctx.get("state_before_delete", State.idle))

    async def delete(self, turn: Turn) -> list[Reply]:
        """Delete the conversation, its messages and (through the port) its cases."""
        if self._handoff is not None:
            await self._handoff.forget(session=turn.session, conversation=turn.conversation)
        await store.delete_conversation(session=turn.session, conversation=turn.conversation)
        await turn.session.commit()
        turn.deleted = True
        log.info("a %s conversation was deleted on request", turn.inbound.channel.value)
        return [Reply(text=t("deleted", turn.lang))]
