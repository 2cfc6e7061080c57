"""The only layer that speaks SQL: SQLAlchemy Core with Alembic migrations."""
