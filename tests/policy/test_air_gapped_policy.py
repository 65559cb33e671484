"""copy_to.air_gapped in policy files: read, and refused where it cannot mean anything."""

from __future__ import annotations

import pytest

from auditor.errors import PolicyError
from auditor.policy import lint_policies, load_policies

PLAN = """version: 1
plans:
  - name: isolated
    frequency: 24h
    retention_days: 7
    accept: {accept}
    copy_to: {copy_to}
"""


def _write(tmp_path, accept: str, copy_to: str):
    path = tmp_path / "p.yaml"
    path.write_text(PLAN.format(accept=accept, copy_to=copy_to))
    return path


def test_air_gapped_is_read(tmp_path):
    policy = load_policies(_write(tmp_path, "[aws-backup]", "{air_gapped: true}"))
    assert policy.plan("isolated").copy_to.air_gapped is True
    plain = load_policies(_write(tmp_path, "[aws-backup]", "{regions: [us-west-2]}"))
    assert plain.plan("isolated").copy_to.air_gapped is False


def test_a_non_boolean_is_a_located_error(tmp_path):
    path = _write(tmp_path, "[aws-backup]", "{air_gapped: yes-please}")
    with pytest.raises(PolicyError, match=r"p\.yaml:7: .*air_gapped is true or false"):
        load_policies(path)


def test_native_only_plans_cannot_ask_for_an_air_gapped_copy(tmp_path):
    path = _write(tmp_path, "[native]", "{air_gapped: true}")
    messages = lint_policies(path)
    assert [(m.level, m.line) for m in messages] == [("error", 7)], [str(m) for m in messages]
    assert "only AWS Backup copies into a logically air-gapped vault" in str(messages[0])
