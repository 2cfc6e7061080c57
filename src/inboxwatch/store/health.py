"""Store readiness: whether the database is reachable and its schema is at the newest migration."""

from __future__ import annotations

import dataclasses
import functools

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from inboxwatch.store.db import alembic_config


# The table where Alembic records the applied revision.
ALEMBIC_VERSION = sa.Table("alembic_version", sa.MetaData(), sa.Column("version_num", sa.String(32), primary_key=True))


@dataclasses.dataclass(frozen=True)
class StoreStatus:
    """The schema revisions found in the database and shipped with the code."""

    current: tuple[str, ...]
    head: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return set(self.current) == set(self.head)


@functools.cache
def head_revisions() -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def store_status(engine: sa.Engine) -> StoreStatus:
    """Read the database's revision; raises SQLAlchemyError when the database cannot be reached.

    The version table is read directly rather than through Alembic's
    migration context, which logs two lines per call, too many for a
    readiness probe polled every few seconds.
    """
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(ALEMBIC_VERSION.name):
            current: tuple[str, ...] = ()
        else:
            current = tuple(conn.execute(sa.select(ALEMBIC_VERSION.c.version_num)).scalars())
    return StoreStatus(current=current, head=head_revisions())
