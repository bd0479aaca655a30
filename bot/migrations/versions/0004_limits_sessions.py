"""rate-limit events and inbox sessions, in the database so every instance shares them

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rate_event_bucket_expires", "rate_event", ["bucket", "expires_at"])
    op.create_index(op.f("ix_rate_event_expires_at"), "rate_event", ["expires_at"])
    op.create_table(
        "inbox_session",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_inbox_session_user_id"), "inbox_session", ["user_id"])
    op.create_index(op.f("ix_inbox_session_expires_at"), "inbox_session", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_session_expires_at"), table_name="inbox_session")
    op.drop_index(op.f("ix_inbox_session_user_id"), table_name="inbox_session")
    op.drop_table("inbox_session")
    op.drop_index(op.f("ix_rate_event_expires_at"), table_name="rate_event")
    op.drop_index("ix_rate_event_bucket_expires", table_name="rate_event")
    op.drop_table("rate_event")
