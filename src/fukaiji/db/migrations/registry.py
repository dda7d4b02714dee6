"""Every module that declares tables. Migrations glue is the one place allowed to know them all:
autogenerate and the test that compares the migrations with the models import this list."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "fukaiji.audit.models",
    "fukaiji.network.models",
    "fukaiji.staff.models",
    "fukaiji.registry.models",
    "fukaiji.jpki.models",
    "fukaiji.intermediate.models",
    "fukaiji.portal.models",
    "fukaiji.protection.models",
    "fukaiji.notices.models",
)


def import_all_models() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)
