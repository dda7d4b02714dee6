"""Alembic migrations shipped inside the package (script location ``fukaiji.db:migrations``)."""
