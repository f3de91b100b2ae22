"""Roles: dependents speak for libraries, so say which projects are something else.

library      required by at least one project
plugin       a member of a plugin family (pytest-*, django-*, ...): required by its host's users,
             rarely by other libraries
umbrella     every dependency pinned exactly: a distribution of parts, not code of its own
application  required by nobody but requiring many (>= 5): a tool or an end-user program
leaf         required by nobody, requiring few
(Console-script entry points would sharpen "application"; the store does not hold them yet.)
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["PLUGIN_FAMILIES", "assign_roles"]

PLUGIN_FAMILIES = (
    "pytest",
    "django",
    "flake8",
    "sphinxcontrib",
    "mkdocs",
    "jupyterlab",
    "types",
    "airflow",
    "apache-airflow-providers",
    "napari",
    "datasette",
    "pelican",
    "tox",
    "poetry",
    "pre-commit",
    "ckanext",
    "odoo",
    "odoo14-addon",
    "odoo16-addon",
    "collective",
    "plone",
    "fastapi",
    "flask",
)
_PLUGIN = re.compile(
    r"^({})-.".format(
        "|".join(re.escape(f) for f in sorted(PLUGIN_FAMILIES, key=len, reverse=True))
    )
)


def assign_roles(
    table: pd.DataFrame, umbrella_names: set[str] | None = None, application_min_deps: int = 5
) -> pd.Series:
    names = table["name"]
    umbrella = names.isin(umbrella_names or set())
    plugin = names.str.match(_PLUGIN)
    depended = table["direct_dependents"] > 0
    application = ~depended & (table["direct_dependencies"] >= application_min_deps)
    role = np.select(
        [umbrella, plugin, depended, application],
        ["umbrella", "plugin", "library", "application"],
        "leaf",
    )
    return pd.Series(role, index=table.index, name="role")
