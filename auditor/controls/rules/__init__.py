"""The built-in controls, one module per control (or per tight family), found automatically.

Every module here that does not start with "_" is imported by `auditor.controls.registry.discover`;
a module registers its controls with the `auditor.controls.registry.control` decorator. A control
is a pure function over a prepared `Context` returning a `Part` (one row per resource, per
(resource, plan) pair, or per backup); nothing loops over resources, only over plans, regions or
accounts. Third-party controls register the same way from a module named by an `auditor.controls`
entry point.
"""
