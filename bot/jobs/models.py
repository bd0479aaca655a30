"""The tables that let several instances share background work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel


class JobLease(SQLModel, table=True):
    """Who runs a periodic job, until when: the row is taken atomically when `until` has
    passed, so one instance runs the job per interval however many ask."""

    __tablename__ = "job_lease"
    name: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=128)  # host-pid-random of the instance that took it
    until: datetime = Field()


class ProcessedUpdate(SQLModel, table=True):
    """An update from a channel's own queue (a Telegram update id) that was fully handled:
    when it is delivered again (a new poller after a takeover) it is not answered twice."""

    __tablename__ = "processed_update"
    source: str = Field(primary_key=True, max_length=64)  # e.g. "telegram:<bot id>"
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    done_at: datetime = Field(index=True)
