import pytest

from bot.core import conversations
from bot.core.dto import Channel
from bot.core.models import Author
from bot.core.privacy import REDACTED, redact, ref_hash
from bot.sms.phone import to_e164
from tests import factories


@pytest.mark.parametrize(
    "text",
    ["mitt pnr är 811218-9876", "hon har 19811218-9876", "nr 811278-9876 (samordningsnr)"],
)
def test_personnummer_with_separator_is_redacted(text: str) -> None:
    assert REDACTED in redact(text) and "9876" not in redact(text)


def test_personnummer_without_separator_needs_a_valid_check_digit() -> None:
    assert REDACTED in redact("8112189876")  # valid Luhn
    assert redact("ring 0701234568") == "ring 0701234568"  # a phone number stays


def test_ordinary_numbers_stay() -> None:
    assert redact("han är 15 år och har 39,8 i feber") == "han är 15 år och har 39,8 i feber"


def test_ref_hash_is_stable_and_hides_the_number() -> None:
    h = ref_hash("+46701234567", salt="s")
    assert h == ref_hash("+46701234567", salt="s") and "4670" not in h and len(h) == 12


def test_swedish_phone_forms_normalise() -> None:
    assert to_e164("070-123 45 67") == "+46701234567"
    assert to_e164("+46 70 123 45 67") == "+46701234567"
    with pytest.raises(ValueError):
        to_e164("hej")


async def test_a_personnummer_at_the_storage_cut_is_redacted_not_cut(session, clock) -> None:
    """Redacted before the message is cut to its stored length: a cut through the number
    would leave its digits unrecognised."""
    conversation = factories.conversation(clock(), channel=Channel.web, sender_ref="w1")
    session.add(conversation)
    text = "x" * (conversations.MAX_STORED_CHARS - 8) + " 20100101-1236"
    stored = await conversations.add_message(
        session=session, conversation=conversation, author=Author.parent, text=text, at=clock()
    )
    assert "201001" not in stored.text and len(stored.text) <= conversations.MAX_STORED_CHARS
