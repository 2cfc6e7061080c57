"""Store readiness: whether the database answers and its schema is at the newest migration."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from inboxwatch.store.db import alembic_config


@dataclasses.dataclass(frozen=True)
class StoreStatus:
    """The schema revisions found in the database and shipped with the code."""

    current: tuple[str, ...]
    head: tuple[str, ...]

    @property
    def at_head(self) -> bool:
        return set(self.current) == set(self.head)


def head_revisions() -> tuple[str, ...]:
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def store_status(engine: sa.Engine) -> StoreStatus:
    """Read the database's revision; raises SQLAlchemyError when the database cannot be reached."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    return StoreStatus(current=tuple(current), head=head_revisions())
