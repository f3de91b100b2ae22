"""Roles: dependents speak for libraries, so say which projects are something else.

metapackage         pins its own family exactly: a distribution of parts (analysis.pinning)
frozen-environment  a pasted `pip freeze`: many exact pins to unrelated projects
plugin              a member of a plugin family (pytest-*, django-*, ...): required by its host's
                    users, rarely by other libraries
library             required by at least one project
pinned-application  required by nobody, every dependency pinned: a tool pinning what it runs with
application         required by nobody, and installs console scripts (entry points read from its
                    wheel): a tool or an end-user program; where the store did not read entry
                    points, required by nobody but requiring many (>= 5) stands in
leaf                required by nobody, none of the above
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
    table: pd.DataFrame, pinning: pd.DataFrame | None = None, application_min_deps: int = 5
) -> pd.Series:
    """The first role that fits, in the order of the module's doc; `pinning` is
    analysis.pinning.classify_pinning's table."""
    names = table["name"]
    kinds = pinning.set_index("name")["kind"] if pinning is not None and len(pinning) else None
    kind = names.map(kinds) if kinds is not None else pd.Series(None, index=names.index)
    plugin = names.str.match(_PLUGIN)
    depended = table["direct_dependents"] > 0
    scripts = (
        table["console_scripts"]
        if "console_scripts" in table
        else pd.Series(np.nan, index=table.index)
    )
    by_evidence = scripts.fillna(0) > 0
    by_guess = scripts.isna() & (table["direct_dependencies"] >= application_min_deps)
    application = ~depended & (by_evidence | by_guess)
    role = np.select(
        [
            kind.eq("metapackage"),
            kind.eq("frozen-environment"),
            plugin,
            depended,
            kind.eq("pinned-application"),
            application,
        ],
        [
            "metapackage",
            "frozen-environment",
            "plugin",
            "library",
            "pinned-application",
            "application",
        ],
        "leaf",
    )
    return pd.Series(role, index=table.index, name="role")
