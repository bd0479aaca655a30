"""one sequence number per message in a conversation

Concurrent writers used to share a seq (three messages stored as 7, 7, 7). Duplicates keep
their order by created_at; all but the earliest of each get new numbers after the
conversation's highest, so nothing is lost and pollers (`after=`) see them as new. Then
(conversation_id, seq) becomes unique and every conversation's last_seq covers its messages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "uq_conversation_message_seq"

_DUPLICATED = sa.text(
    "SELECT m.conversation_id, m.id, m.seq FROM conversation_message m"
    " WHERE EXISTS (SELECT 1 FROM conversation_message d"
    "  WHERE d.conversation_id = m.conversation_id AND d.seq = m.seq AND d.id <> m.id)"
    " ORDER BY m.conversation_id, m.seq, m.created_at, m.id"
)
_HIGHEST = sa.text("SELECT MAX(seq) FROM conversation_message WHERE conversation_id = :cid")
_RENUMBER = sa.text("UPDATE conversation_message SET seq = :seq WHERE id = :id")
_COVER = sa.text(
    "UPDATE conversation SET last_seq = (SELECT MAX(seq) FROM conversation_message m"
    "  WHERE m.conversation_id = conversation.id)"
    " WHERE last_seq < (SELECT MAX(seq) FROM conversation_message m"
    "  WHERE m.conversation_id = conversation.id)"
)


def _renumber_duplicates(bind: sa.Connection) -> None:
    top: dict[str, int] = {}
    kept: set[tuple[str, int]] = set()
    for conversation_id, message_id, seq in bind.execute(_DUPLICATED).all():
        if (conversation_id, seq) not in kept:
            kept.add((conversation_id, seq))  # the earliest keeps its number
            continue
        if conversation_id not in top:
            top[conversation_id] = bind.execute(_HIGHEST, {"cid": conversation_id}).scalar_one()
        top[conversation_id] += 1
        bind.execute(_RENUMBER, {"seq": top[conversation_id], "id": message_id})


def upgrade() -> None:
    bind = op.get_bind()
    _renumber_duplicates(bind)
    bind.execute(_COVER)
    with op.batch_alter_table("conversation_message", schema=None) as batch_op:
        batch_op.create_unique_constraint(CONSTRAINT, ["conversation_id", "seq"])


def downgrade() -> None:
    with op.batch_alter_table("conversation_message", schema=None) as batch_op:
        batch_op.drop_constraint(CONSTRAINT, type_="unique")
