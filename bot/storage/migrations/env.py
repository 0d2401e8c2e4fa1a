"""Alembic environment: runs on the engine newsbot passes in (see bot.storage.db)."""

from alembic import context

from bot.storage.schema import metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
