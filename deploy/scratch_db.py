"""A throwaway place in PostgreSQL for a scale run (bench/scale.py, tests), and the fault the
bench injects: ending every connection the app holds to it.

A schema, not a database: DROP DATABASE waits for a checkpoint (seconds on a busy server).
The URL handed to the app sets the schema (search_path) and names every connection after it
(application_name), so its connections can be told from everyone else's in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql


def libpq_url(url: str) -> str:
    """postgresql://... as libpq takes it (no SQLAlchemy driver suffix such as +psycopg)."""
    scheme, rest = url.split("://", 1)
    if scheme.split("+", 1)[0] not in ("postgres", "postgresql"):
        raise ValueError("a PostgreSQL URL (postgresql://user@host/db)")
    return f"postgresql://{rest}"


def in_schema(url: str, schema: str) -> str:
    """`url` whose connections use `schema` and are named after it."""
    parts = urlsplit(libpq_url(url))
    query = dict(parse_qsl(parts.query))
    query.update(options=f"-csearch_path={schema}", application_name=schema)
    return urlunsplit(parts._replace(query=urlencode(query)))


@contextmanager
def scratch_schema(server_url: str, prefix: str = "fg_scale") -> Iterator[str]:
    """A new, empty schema in the database of `server_url`: a URL that uses it. Dropped,
    with any connection still using it, on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    url = in_schema(server_url, name)
    try:
        yield url
    finally:
        terminate_connections(url)
        with psycopg.connect(libpq_url(server_url), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def application_name(url: str) -> str:
    """The application_name a URL gives its connections (in_schema sets it)."""
    name = dict(parse_qsl(urlsplit(url).query)).get("application_name")
    if not name:
        raise ValueError("the URL names no application_name: whose connections?")
    return name


def terminate_connections(url: str) -> int:
    """End every connection named as `url` names them (application_name), as a failover or
    a restarted PostgreSQL would (pg_terminate_backend); how many there were."""
    name = application_name(url)
    with psycopg.connect(libpq_url(url), application_name="fg_scale_admin") as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name = %s AND pid <> pg_backend_pid()",
            (name,),
        ).fetchall()
    return sum(1 for (ended,) in rows if ended)
