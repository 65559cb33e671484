"""Property test: any YAML document either loads as a policy or fails with one PolicyError line."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.errors import PolicyError
from auditor.policy import lint_policies, load_policies

KEYS = [
    "version",
    "plans",
    "scope",
    "waivers",
    "name",
    "select",
    "tags",
    "conditions",
    "string_equals",
    "frequency",
    "grace",
    "retention_days",
    "max_retention_days",
    "accept",
    "copy_to",
    "regions",
    "resource",
    "controls",
    "expires",
    "reason",
    "cold_after_days",
    "resource_types",
    "exclude_tags",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 500),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "24h",
            "cron(0 5 ? * * *)",
            "cron(0 5 30 2 ? *)",
            "rate(1 day)",
            "gold",
            "ebs-volume",
            "aws-backup",
            "2027-01-31",
            "x\ny",
            "",
            "*",
        ]
    ),
    st.text(max_size=8),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), inner, max_size=5),
    ),
    max_leaves=25,
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=documents, version=st.booleans())
def test_any_document_loads_or_fails_cleanly(tmp_path, doc, version):
    if version and isinstance(doc, dict):
        doc = {"version": 1, **doc}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True))
    try:
        load_policies(path)
    except PolicyError as exc:
        assert str(exc).startswith(str(path))
    for message in lint_policies(path):
        assert message.file == str(path)


plan_values = {
    "frequency": st.one_of(
        scalars, st.sampled_from(["cron(0 5 ? * MON-FRI *)", "cron(1 2 3)", "rate(0 hours)", "7d"])
    ),
    "retention_days": st.one_of(st.integers(-1, 500), scalars),
    "max_retention_days": st.one_of(st.integers(-1, 500), scalars),
    "cold_after_days": st.one_of(st.integers(-1, 500), scalars),
    "grace": scalars,
    "accept": st.one_of(
        st.lists(st.sampled_from(["aws-backup", "native", "tape"]), max_size=3), scalars
    ),
    "select": st.one_of(
        documents,
        st.fixed_dictionaries({"tags": st.dictionaries(st.text(max_size=4), scalars, max_size=2)}),
    ),
    "copy_to": documents,
    "encrypted": scalars,
}
plans = st.fixed_dictionaries(
    {"name": st.from_regex(r"[a-z]{1,6}", fullmatch=True)},
    optional={k: v for k, v in plan_values.items()},
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    items=st.lists(plans, max_size=4),
    waivers=st.lists(st.dictionaries(st.sampled_from(KEYS), scalars), max_size=2),
)
def test_plan_shaped_documents_load_or_fail_cleanly(tmp_path, items, waivers):
    path = tmp_path / "p.yaml"
    path.write_text(
        yaml.safe_dump({"version": 1, "plans": items, "waivers": waivers}, allow_unicode=True)
    )
    try:
        policy = load_policies(path)
    except PolicyError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc).split(": ", 1)[0]
    else:
        assert [p.name for p in policy.plans] == [i["name"] for i in items]
