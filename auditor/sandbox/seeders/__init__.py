"""Per-resource-type seeders of the sandbox estate, one module per catalogue `seeder`.

`seeders()` gives every collected type's seeder in catalogue order; the estate in
auditor/sandbox/seed.py drives them without naming any type.
"""

from __future__ import annotations

import functools
import importlib

from auditor import catalog
from auditor.sandbox.seeders.base import Artifact, TypeSeeder

__all__ = ["Artifact", "TypeSeeder", "seeder_for", "seeders"]


@functools.cache
def seeders() -> dict[str, TypeSeeder]:
    """resource_type -> its seeder, for every collected type that has one, in catalogue order."""
    found: dict[str, TypeSeeder] = {}
    for record in catalog.collected_types():
        if record.seeder:
            module = importlib.import_module(f"auditor.sandbox.seeders.{record.seeder}")
            found[record.type_id] = module.SEEDER
    return found


def seeder_for(type_id: str) -> TypeSeeder:
    """The seeder of `type_id`; KeyError when the type has none."""
    return seeders()[type_id]
