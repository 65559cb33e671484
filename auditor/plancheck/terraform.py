"""Terraform plans as written by `terraform show -json PLANFILE` -> `Template`.

What is read (format_version 1.x; any other major is refused, as Terraform's own docs ask):
- `resource_changes[]`: each managed resource instance's `change.after` and `change.after_unknown`
  (the "(known after apply)" marks); instances being deleted are skipped;
- `planned_values.root_module` and its `child_modules`, recursively: the resource instances and the
  line of each one's `"address"` in the file (plan JSON has no source lines for resources, so SARIF
  points at that line of the plan file);
- `configuration`: the references behind values unknown until apply, so that
  `resources = [aws_ebs_volume.data.arn]` in an `aws_backup_selection`, `plan_id =
  aws_backup_plan.main.id` and a copy to `aws_backup_vault.dr.arn` are traced to those resources;
  provider blocks give the deploy region of the default provider and of aliased ones.

The file is parsed with the standard JSON decoder; `key_lines` then finds the line of each
`"address": "..."` by a lexical scan of the JSON string tokens.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.limits import MAX_PLAN_BYTES, read_text_limited
from auditor.plancheck import cluster_fsx, restores
from auditor.plancheck.air_gapped import TF_AIR_GAPPED_VAULT, air_gapped_vault
from auditor.plancheck.model import (
    TF_RESOURCE_TYPES,
    CopyAction,
    DeployedPlan,
    DeployedRule,
    DeployedSelection,
    DeployedVault,
    Template,
    TemplateResource,
    Unknown,
    parse_arn,
)
from auditor.plancheck.native_policies import (
    DLM_TERRAFORM_TYPE,
    S3_VERSIONING_TERRAFORM_TYPE,
    apply_dlm_policies,
    dlm_from_terraform,
)

SUPPORTED_MAJOR = 1
BACKUP_TYPES = {
    "aws_backup_plan",
    "aws_backup_selection",
    "aws_backup_vault",
    "aws_backup_vault_lock_configuration",
    TF_AIR_GAPPED_VAULT,
    "aws_backup_vault_policy",
}

_MODULE_SEGMENT = re.compile(r'module\.([A-Za-z0-9_-]+)(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\.')
_BASE = re.compile(
    r"((?:data\.)?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)(\[(?:\"(?:[^\"\\]|\\.)*\"|\d+)\])?"
)
_CONDITION_OPS = {
    "string_equals": "StringEquals",
    "string_not_equals": "StringNotEquals",
    "string_like": "StringLike",
    "string_not_like": "StringNotLike",
}


def split_address(address: str) -> tuple[str, str, str, str]:
    """`module.a[0].aws_x.y[1]` -> (module instance `module.a[0]`, module path `module.a`,
    resource `aws_x.y`, instance key `[1]`)."""
    position = 0
    names = []
    while True:
        match = _MODULE_SEGMENT.match(address, position)
        if not match:
            break
        names.append(match.group(1))
        position = match.end()
    instance = address[: position - 1] if position else ""
    base = _BASE.match(address, position)
    if not base:
        return instance, ".".join(f"module.{n}" for n in names), address[position:], ""
    return instance, ".".join(f"module.{n}" for n in names), base.group(1), base.group(2) or ""


@dataclass
class _Instance:
    address: str
    type: str
    line: int
    values: dict
    unknown: Any  # after_unknown: dict / True / {}
    config: dict = field(default_factory=dict)  # configuration expressions of its resource block
    provider_key: str | None = None


class _Plan:
    """The parsed plan with the lookups the extractors need."""

    def __init__(self, path: str, doc: dict):
        self.path = path
        self.doc = doc
        self.instances: dict[str, _Instance] = {}
        self.config: dict[tuple[str, str], dict] = {}  # (module path, resource) -> config resource
        self.providers: dict[str, dict] = {}
        self._index: dict[tuple[str, str], list[_Instance]] | None = None

    def by_base(self, module_instance: str, base: str) -> list[_Instance]:
        """Instances of resource `base` in one module instance."""
        if self._index is None:
            self._index = {}
            for inst in self.instances.values():
                parts = split_address(inst.address)
                self._index.setdefault((parts[0], parts[2]), []).append(inst)
        return self._index.get((module_instance, base), [])

    def referenced(
        self, inst: _Instance, references: list[str], types: set[str] | None = None
    ) -> list[_Instance]:
        """Template resource instances named by configuration `references` of `inst`."""
        module_instance = split_address(inst.address)[0]
        found: dict[str, _Instance] = {}
        indexed: dict[str, list[str]] = {}
        for ref in references:
            match = _BASE.match(ref)
            if not match or ref.startswith(
                ("var.", "local.", "module.", "data.", "each.", "count.", "path.", "self.")
            ):
                continue
            base, key = match.group(1), match.group(2) or ""
            indexed.setdefault(base, [])
            if key:
                indexed[base].append(key)
        for base, keys in indexed.items():
            for candidate in self.by_base(module_instance, base):
                if types is not None and candidate.type not in types:
                    continue
                if keys and split_address(candidate.address)[3] not in keys:
                    continue
                found[candidate.address] = candidate
        return list(found.values())


def _read(path: str) -> str:
    return read_text_limited(path, MAX_PLAN_BYTES, "plan")


def decode_plan(path: str, text: str) -> dict:
    """Parse plan JSON (stdlib, C speed); a syntax error becomes `InputError('FILE:LINE: ...')`."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}:1: JSON nests too deeply to read") from None
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}:1: not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}:1: not a Terraform plan (the JSON document is not an object)")
    return doc


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_COLON = re.compile(r"\s*:\s*")


def key_lines(
    text: str, keys: tuple[str, ...] = ("address", "format_version")
) -> dict[tuple[str, str], int]:
    """{(key, string value): first line} for `"key": "value"` pairs of a JSON text already known valid.

    In valid JSON every double quote outside a string opens a string, so scanning string tokens
    left to right finds exactly the document's strings; a string followed by `:` is a key and the
    next string token is its value when the value is a string. This records positions without a
    slow position-tracking parser (plans reach hundreds of MB).
    """
    wanted = {f'"{k}"' for k in keys}
    found: dict[tuple[str, str], int] = {}
    line, last = 1, 0
    tokens = _JSON_STRING.finditer(text)
    for token in tokens:
        if token.group(0) not in wanted:
            continue
        colon = _COLON.match(text, token.end())
        if not colon or text[colon.end() : colon.end() + 1] != '"':
            continue  # not a key, or its value is not a string (null, number...): not indexed
        value = next(tokens, None)
        if value is None:
            break
        line += text.count("\n", last, token.start())
        last = token.start()
        try:
            decoded = json.loads(value.group(0))
        except ValueError:
            continue
        found.setdefault((token.group(0)[1:-1], decoded), line)
    return found


_MODULE = {
    "type": "object",
    "properties": {
        "address": {"type": "string"},
        "resources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["address"],
                "properties": {
                    "address": {"type": "string"},
                    "type": {"type": "string"},
                    "mode": {"type": "string"},
                    "values": {"type": ["object", "null"]},
                },
            },
        },
        "child_modules": {"type": "array", "items": {"$ref": "#/$defs/module"}},
    },
}
_CONFIG_MODULE = {
    "type": "object",
    "properties": {
        "resources": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "address": {"type": "string"},
                    "expressions": {"type": "object"},
                    "provider_config_key": {"type": "string"},
                },
            },
        },
        "module_calls": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"module": {"$ref": "#/$defs/config_module"}},
            },
        },
    },
}
# The parts of `terraform show -json` this module reads, with the types it relies on.
PLAN_SCHEMA = {
    "type": "object",
    "properties": {
        "planned_values": {
            "type": "object",
            "properties": {"root_module": {"$ref": "#/$defs/module"}},
        },
        "resource_changes": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["address", "change"],
                "properties": {
                    "address": {"type": "string"},
                    "type": {"type": "string"},
                    "mode": {"type": "string"},
                    "change": {
                        "type": "object",
                        "properties": {
                            "actions": {"type": "array", "items": {"type": "string"}},
                            "after": {"type": ["object", "null"]},
                            "after_unknown": {"type": ["object", "boolean"]},
                        },
                    },
                },
            },
        },
        "configuration": {
            "type": "object",
            "properties": {
                "provider_config": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "object",
                        "properties": {"expressions": {"type": "object"}},
                    },
                },
                "root_module": {"$ref": "#/$defs/config_module"},
            },
        },
    },
    "$defs": {"module": _MODULE, "config_module": _CONFIG_MODULE},
}


def check_structure(path: str, doc: dict, lines: dict[tuple[str, str], int]) -> None:
    """Refuse a plan whose structure differs from what `terraform show -json` writes (one line)."""
    import jsonschema

    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(PLAN_SCHEMA).iter_errors(doc)
    )
    if error is None:
        return
    where = "/".join(str(p) for p in error.absolute_path) or "(top)"
    line = 1
    node: Any = doc
    for step in error.absolute_path:  # the nearest enclosing object with an address gives the line
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("address"), str):
            line = lines.get(("address", node["address"]), line)
    problem = error.message if len(error.message) <= 120 else error.message[:117] + "..."
    raise InputError(
        f"{path}:{line}: not a Terraform plan as `terraform show -json` writes it: {where}: {problem}"
    )


def check_format(path: str, doc: dict, lines: dict[tuple[str, str], int] | None = None) -> None:
    """Refuse a JSON document that is not a `terraform show -json` plan of format major 1."""
    version = doc.get("format_version")
    line = (lines or {}).get(("format_version", str(version)), 1)
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+", version):
        raise InputError(
            f"{path}:{line}: not a Terraform plan: format_version {version!r} is not 'MAJOR.MINOR'"
        )
    if int(version.split(".")[0]) != SUPPORTED_MAJOR:
        raise InputError(
            f"{path}:{line}: Terraform plan format_version {version} is not supported (this auditor reads {SUPPORTED_MAJOR}.x)"
        )
    if "planned_values" not in doc and "resource_changes" not in doc:
        kind = "a Terraform state" if "values" in doc else "not a Terraform plan"
        raise InputError(
            f"{path}:1: {kind}: no planned_values or resource_changes (use `terraform show -json PLANFILE`)"
        )


def _walk_modules(module: Any, out: list, depth: int = 0) -> None:
    if not isinstance(module, dict) or depth > 100:
        return
    for resource in module.get("resources") or []:
        if isinstance(resource, dict):
            out.append(resource)
    for child in module.get("child_modules") or []:
        _walk_modules(child, out, depth + 1)


def _walk_config(module: Any, prefix: str, out: dict, depth: int = 0) -> None:
    if not isinstance(module, dict) or depth > 100:
        return
    for resource in module.get("resources") or []:
        if isinstance(resource, dict) and isinstance(resource.get("address"), str):
            out[(prefix, str(resource["address"]))] = resource
    for name, call in (module.get("module_calls") or {}).items():
        if isinstance(call, dict):
            child = f"{prefix}.module.{name}" if prefix else f"module.{name}"
            _walk_config(call.get("module"), child, out, depth + 1)


def _build(path: str, doc: dict, key_line: dict[tuple[str, str], int]) -> _Plan:
    plan = _Plan(path, doc)
    lines: dict[str, int] = {}
    values: dict[str, dict] = {}
    types: dict[str, str] = {}
    modes: dict[str, str] = {}
    planned: list = []
    _walk_modules((doc.get("planned_values") or {}).get("root_module"), planned)
    for resource in planned:
        address = resource.get("address")
        if not isinstance(address, str):
            continue
        lines.setdefault(str(address), key_line.get(("address", str(address)), 1))
        values[str(address)] = resource.get("values") or {}
        types[str(address)] = str(resource.get("type", ""))
        modes[str(address)] = str(resource.get("mode", "managed"))
    changes: dict[str, dict] = {}
    deleted: set[str] = set()
    for change in doc.get("resource_changes") or []:
        if (
            not isinstance(change, dict)
            or not isinstance(change.get("address"), str)
            or change.get("deposed")
        ):
            continue
        address = str(change["address"])
        raw_body = change.get("change")
        change_body: dict = raw_body if isinstance(raw_body, dict) else {}
        actions = [str(a) for a in change_body.get("actions") or []]
        if "create" not in actions and "delete" in actions:
            deleted.add(address)
            continue
        changes[address] = change_body
        lines.setdefault(address, key_line.get(("address", address), 1))
        types.setdefault(address, str(change.get("type", "")))
        modes.setdefault(address, str(change.get("mode", "managed")))
    config: dict = {}
    raw_configuration = doc.get("configuration")
    configuration: dict = raw_configuration if isinstance(raw_configuration, dict) else {}
    _walk_config(configuration.get("root_module"), "", config)
    plan.config = config
    plan.providers = configuration.get("provider_config") or {}
    for address in set(values) | set(changes):
        if address in deleted or modes.get(address) != "managed":
            continue
        body = changes.get(address)
        after = (
            body.get("after")
            if body and isinstance(body.get("after"), dict)
            else values.get(address, {})
        )
        unknown = body.get("after_unknown") if body else {}
        _, module_path, base, _ = split_address(address)
        config_resource = config.get((module_path, base), {})
        plan.instances[address] = _Instance(
            address=address,
            type=types.get(address, ""),
            line=lines.get(address, 1),
            values=after or {},
            unknown=unknown if unknown is not None else {},
            config=config_resource.get("expressions") or {},
            provider_key=config_resource.get("provider_config_key"),
        )
    return plan


def _unknown_at(unknown: Any, *path: Any, nested: bool = True) -> bool:
    """Whether after_unknown marks the value at `path` (or a parent of it) as unknown; with `nested`,
    also any part inside it (a list with one unknown element, a map with one unknown value)."""
    node = unknown
    for step in path:
        if node is True:
            return True
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return False
    return _any_true(node) if nested else node is True


def _any_true(node: Any) -> bool:
    if node is True:
        return True
    if isinstance(node, dict):
        return any(_any_true(v) for v in node.values())
    if isinstance(node, list):
        return any(_any_true(v) for v in node)
    return False


def _get(inst: _Instance, *path: Any, default: Any = None) -> Any:
    """The planned value at `path`, or `Unknown` when Terraform knows it only after apply (parts of it
    that are unknown are left out, as in `after`; callers that need them whole check `_unknown_at`)."""
    if _unknown_at(inst.unknown, *path, nested=False):
        return Unknown(
            f"{'.'.join(str(p) for p in path)} of {inst.address} is known only after apply"
        )
    node: Any = inst.values
    for step in path:
        if isinstance(node, dict):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            return default
    return default if node is None else node


def _references(expressions: Any, *path: str) -> list[str]:
    node = expressions
    for step in path:
        if isinstance(node, list):
            node = node[0] if node else {}
        node = node.get(step) if isinstance(node, dict) else None
    refs: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key == "references" and isinstance(value, list):
                    refs.extend(str(v) for v in value)
                else:
                    stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
    return refs


def _provider_region(plan: _Plan, key: str | None) -> str | None:
    provider = plan.providers.get(key or "aws") or plan.providers.get("aws") or {}
    region = (provider.get("expressions") or {}).get("region")
    region = region.get("constant_value") if isinstance(region, dict) else None
    return str(region) if isinstance(region, str) else None


def _provider_same_account(plan: _Plan, key: str | None) -> bool:
    provider = plan.providers.get(key or "aws") or {}
    default = plan.providers.get("aws") or {}
    expressions = provider.get("expressions") or {}
    if "assume_role" in expressions:
        return False
    return expressions.get("profile") == (default.get("expressions") or {}).get("profile")


def load_terraform(path: str | Path, text: str | None = None, doc: dict | None = None) -> Template:
    """Read one `terraform show -json` plan into a `Template`; bad input -> `InputError`.

    `doc` is the already-parsed `text`, when the caller has it (plans can be large).
    """
    path = str(path)
    if text is None:
        text = _read(path)
    if doc is None:
        doc = decode_plan(path, text)
    lines = key_lines(text)
    check_format(path, doc, lines)
    try:
        check_structure(path, doc, lines)
        plan = _build(path, doc, lines)
    except RecursionError:
        raise InputError(f"{path}:1: JSON nests too deeply to read") from None
    template = Template(path=path, kind="terraform", region=_provider_region(plan, "aws"))
    for inst in sorted(plan.instances.values(), key=lambda i: (i.line, i.address)):
        with _values_of(path, inst):
            if inst.type in TF_RESOURCE_TYPES:
                template.resources.append(_protected(path, inst))
            elif inst.type == "aws_backup_plan":
                template.plans.append(_backup_plan(plan, inst, template.region))
            elif inst.type == "aws_backup_selection":
                template.selections.append(_selection(plan, inst))
            elif inst.type == "aws_backup_restore_testing_plan":
                template.restore_plans.append(_restore_testing_plan(path, inst))
            elif inst.type == "aws_backup_restore_testing_selection":
                template.restore_selections.append(_restore_testing_selection(plan, inst))
            elif inst.type == "aws_backup_vault":
                template.vaults.append(
                    DeployedVault(
                        path, inst.line, inst.address, _get(inst, "name"), _get(inst, "kms_key_arn")
                    )
                )
            elif inst.type == TF_AIR_GAPPED_VAULT:
                template.vaults.append(
                    air_gapped_vault(
                        path,
                        inst.line,
                        inst.address,
                        {
                            "BackupVaultName": _get(inst, "name"),
                            "MinRetentionDays": _get(inst, "min_retention_days"),
                            "MaxRetentionDays": _get(inst, "max_retention_days"),
                        },
                    )
                )
    for inst in plan.instances.values():
        if inst.type == "aws_backup_vault_lock_configuration":
            with _values_of(path, inst):
                _attach_lock(plan, template, inst)
        elif inst.type == "aws_backup_vault_policy":
            with _values_of(path, inst):
                _attach_policy(plan, template, inst)
        elif inst.type == DLM_TERRAFORM_TYPE:
            template.dlm_policies.append(dlm_from_terraform(inst.address, inst.values))
        elif inst.type == S3_VERSIONING_TERRAFORM_TYPE:
            _attach_versioning(template, inst)
    apply_dlm_policies(template.resources, template.dlm_policies)
    return template


def _attach_versioning(template: Template, inst: _Instance) -> None:
    """An aws_s3_bucket_versioning sets the versioning of the bucket it names (by reference or name)."""
    refs = (inst.config.get("bucket") or {}).get("references") or []
    bucket = _get(inst, "bucket")
    config = _get(inst, "versioning_configuration", 0, "status")
    status = config if isinstance(config, (str, Unknown)) else "Disabled"
    for res in template.resources:
        if res.resource_type != "s3-bucket":
            continue
        if res.logical_id in refs or (isinstance(bucket, str) and bucket == res.name):
            res.versioning = status


@contextmanager
def _values_of(path: str, inst: _Instance):
    """Turn a value of an unexpected shape inside one resource into a one-line error at its line.

    The attribute shapes come from the AWS provider's schema; a plan that breaks them was not
    written by Terraform, and nothing sound can be said about the resource.
    """
    try:
        yield
    except RecursionError:
        raise InputError(
            f"{path}:{inst.line}: {inst.address}: values nest too deeply to read"
        ) from None
    except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
        raise InputError(
            f"{path}:{inst.line}: {inst.address}: an attribute has an unexpected shape ({type(exc).__name__}: {exc})"[
                :300
            ]
        ) from None


def _tags(inst: _Instance) -> tuple[dict[str, str] | Unknown, dict[str, str]]:
    """(tags, {key: reason} of tags whose value is known only after apply) of an instance.

    `tags_all` (the resource's tags merged with the provider's `default_tags`) is what AWS sees. When
    Terraform marks single values unknown, the keys are still known; when it marks `tags_all` unknown
    as a whole, the resource's own tags are still certain (they win over default tags) and any other
    key is open (the "*" entry of the second dict).
    """
    later = "is known only after apply"
    whole = Unknown(f"tags_all of {inst.address} (provider default_tags) {later}")
    unknown_all = inst.unknown.get("tags_all") if isinstance(inst.unknown, dict) else inst.unknown
    unknown_tags = inst.unknown.get("tags") if isinstance(inst.unknown, dict) else inst.unknown
    if inst.unknown is True or unknown_tags is True:
        return Unknown(f"tags of {inst.address} are {later}"), {}
    open_keys: dict[str, str] = {}
    if unknown_all is True:
        # The resource's own tags win over default tags, so their keys and values stay certain;
        # any other key may come from the provider's default tags.
        open_keys = {"*": whole.reason}
        node, source = unknown_tags, inst.values.get("tags")
    elif _any_true(unknown_all):
        # tags_all holds the known values of both; the resource's own tags win where both speak.
        node = (
            {**(unknown_tags or {}), **(unknown_all or {})}
            if isinstance(unknown_tags, dict)
            else unknown_all
        )
        source = {**(inst.values.get("tags_all") or {}), **(inst.values.get("tags") or {})}
    elif _any_true(unknown_tags):
        node, source = unknown_tags, inst.values.get("tags")
    else:
        tags_all = inst.values.get("tags_all")
        source = tags_all if isinstance(tags_all, dict) and tags_all else inst.values.get("tags")
        node = None
    if source is not None and not isinstance(source, dict):
        raise TypeError(f"tags must be a map, not {type(source).__name__}")
    known = {str(k): "" if v is None else str(v) for k, v in (source or {}).items()}
    pending = {
        str(k): f"tag {k} of {inst.address} {later}"
        for k, v in (node or {}).items()
        if _any_true(v)
    }
    for key in pending:
        known.pop(key, None)
    return known, {**pending, **open_keys}


def _bool(value: Any, default: bool | None) -> bool | Unknown | None:
    if isinstance(value, Unknown):
        return value
    return default if value is None else bool(value)


def _protected(path: str, inst: _Instance) -> TemplateResource:
    resource_type = TF_RESOURCE_TYPES[inst.type]
    tags, unknown_tags = _tags(inst)
    encrypted: Any = None
    native: dict[str, Any] = {}
    name: Any = None
    engine: Any = None
    if inst.type in ("aws_ebs_volume", "aws_efs_file_system"):
        encrypted = _get(inst, "encrypted")
        if isinstance(encrypted, Unknown):
            encrypted = Unknown(
                f"encrypted is not set on {inst.address}: decided at apply (account default)"
            )
        else:
            encrypted = bool(encrypted)
    elif inst.type == "aws_dynamodb_table":
        name = _get(inst, "name")
        pitr = _get(inst, "point_in_time_recovery", 0, "enabled")
        if pitr:
            days = _int(_get(inst, "point_in_time_recovery", 0, "recovery_period_in_days"))
            native = {
                "kind": "dynamodb-pitr",
                "enabled": pitr,
                "interval_hours": 0,
                "retention_days": days if days not in (None, 0) else 35,
            }
    elif inst.type in cluster_fsx.TERRAFORM_TYPES:  # FSx, DocumentDB, Neptune
        encrypted, name, engine, native = cluster_fsx.from_terraform(
            inst.type, lambda *path: _get(inst, *path), inst.address
        )
    elif inst.type in ("aws_db_instance", "aws_rds_cluster"):
        engine = _get(inst, "engine")
        name = _get(inst, "cluster_identifier" if inst.type == "aws_rds_cluster" else "identifier")
        encrypted = _bool(_get(inst, "storage_encrypted"), False)
        retention = _int(_get(inst, "backup_retention_period"))
        if retention is None:
            retention = 1 if inst.type == "aws_rds_cluster" else 0
        native = {
            "kind": "rds-automated",
            "enabled": True if isinstance(retention, Unknown) else bool(retention),
            "interval_hours": 24,
            "retention_days": retention,
        }
    versioning: Any = None
    if inst.type == "aws_s3_bucket":
        name = _get(inst, "bucket")
        # the AWS provider's inline `versioning` block (deprecated, still accepted)
        inline = _get(inst, "versioning", 0, "enabled")
        versioning = "Enabled" if inline is True else "Disabled"
    arn = _get(inst, "arn")
    return TemplateResource(
        file=path,
        line=inst.line,
        logical_id=inst.address,
        source_type=inst.type,
        resource_type=resource_type,
        tags=tags,
        unknown_tags=unknown_tags,
        encrypted=encrypted,
        arn=arn if isinstance(arn, str) and arn else None,
        name=name if isinstance(name, str) and name else None,
        engine=engine,
        native=native,
        module=split_address(inst.address)[0],
        versioning=versioning,
    )


def _int(value: Any) -> int | Unknown | None:
    if value is None or isinstance(value, Unknown):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return Unknown(f"{value!r} is not a number")


def _rule_config(inst: _Instance, rule_name: Any) -> dict:
    """The configuration block of the rule named `rule_name` (rules are a set: order may differ)."""
    blocks = inst.config.get("rule")
    blocks = blocks if isinstance(blocks, list) else [blocks] if isinstance(blocks, dict) else []
    for block in blocks:
        if (
            isinstance(block, dict)
            and (block.get("rule_name") or {}).get("constant_value") == rule_name
        ):
            return block
    return blocks[0] if len(blocks) == 1 and isinstance(blocks[0], dict) else {}


def _backup_plan(plan: _Plan, inst: _Instance, region: str | None) -> DeployedPlan:
    deployed = DeployedPlan(plan.path, inst.line, inst.address, _get(inst, "name"), rules=[])
    rules = _get(inst, "rule")
    if isinstance(rules, Unknown):
        deployed.unknown = rules
        return deployed
    for index, rule in enumerate(rules or []):
        if not isinstance(rule, dict):
            continue
        rule_name = rule.get("rule_name")
        config = _rule_config(inst, rule_name)
        target = _get(inst, "rule", index, "target_vault_name")
        target_ref = None
        if isinstance(target, Unknown):
            vaults = plan.referenced(
                inst, _references(config, "target_vault_name"), {"aws_backup_vault"}
            )
            if len(vaults) == 1:
                target_ref = vaults[0].address
        copies = []
        for c_index, copy in enumerate(rule.get("copy_action") or []):
            if not isinstance(copy, dict):
                continue
            dest = _get(inst, "rule", index, "copy_action", c_index, "destination_vault_arn")
            after = _int(
                _get(inst, "rule", index, "copy_action", c_index, "lifecycle", 0, "delete_after")
            )
            after = None if after == 0 else after
            if isinstance(dest, str):
                parts = parse_arn(dest)
                if parts is None:
                    bad = Unknown(f"{dest} is not an ARN")
                    copies.append(CopyAction(dest, bad, bad, after))
                else:
                    copies.append(CopyAction(dest, parts["region"], parts["account"], after))
                continue
            copy_blocks = config.get("copy_action") if isinstance(config, dict) else None
            block = (
                copy_blocks[c_index]
                if isinstance(copy_blocks, list) and c_index < len(copy_blocks)
                else {}
            )
            vaults = plan.referenced(
                inst,
                _references(block, "destination_vault_arn"),
                {"aws_backup_vault", TF_AIR_GAPPED_VAULT},
            )
            if len(vaults) == 1:
                vault = vaults[0]
                vault_region = _provider_region(plan, vault.provider_key)
                region_value: Any = vault_region or Unknown(
                    f"the region of {vault.address}'s provider is not a constant"
                )
                account: Any = (
                    "same"
                    if _provider_same_account(plan, vault.provider_key)
                    else Unknown(
                        f"{vault.address} is created through another provider configuration (its account is known at apply)"
                    )
                )
                copies.append(
                    CopyAction(f"{vault.address}.arn", region_value, account, after, vault.address)
                )
            else:
                reason = (
                    dest if isinstance(dest, Unknown) else Unknown("copy destination is not set")
                )
                copies.append(CopyAction(reason, reason, reason, after))
        delete_after = _int(_get(inst, "rule", index, "lifecycle", 0, "delete_after"))
        deployed.rules.append(
            DeployedRule(
                name=str(rule_name or ""),
                schedule=_get(inst, "rule", index, "schedule"),
                timezone=_get(inst, "rule", index, "schedule_expression_timezone"),
                # 0 (the provider's "not set") and -1 both keep backups forever.
                delete_after_days=None if delete_after in (0, -1) else delete_after,
                target_vault=target_ref if target_ref else target,
                target_vault_ref=target_ref,
                copies=copies,
                continuous=bool(rule.get("enable_continuous_backup")),
                **_air_gapped_target(plan, inst, index, config),
            )
        )
    return deployed


def _air_gapped_target(plan: _Plan, inst: _Instance, index: int, config: Any) -> dict[str, Any]:
    """DeployedRule fields for a rule's target_logically_air_gapped_backup_vault_arn."""
    target = _get(inst, "rule", index, "target_logically_air_gapped_backup_vault_arn")
    if target is None or target == "":
        return {}
    if isinstance(target, Unknown):
        vaults = plan.referenced(
            inst,
            _references(config, "target_logically_air_gapped_backup_vault_arn"),
            {TF_AIR_GAPPED_VAULT},
        )
        if len(vaults) == 1:
            return {
                "air_gapped_target": vaults[0].address,
                "air_gapped_target_ref": vaults[0].address,
            }
    return {"air_gapped_target": target}


def _selection(plan: _Plan, inst: _Instance) -> DeployedSelection:
    plan_ref, plan_unknown = None, None
    plan_id = _get(inst, "plan_id")
    plans = plan.referenced(inst, _references(inst.config, "plan_id"), {"aws_backup_plan"})
    if len(plans) == 1:
        plan_ref = plans[0].address
    elif isinstance(plan_id, str):
        known = [
            p
            for p in plan.instances.values()
            if p.type == "aws_backup_plan" and _get(p, "id") == plan_id
        ]
        if known:
            plan_ref = known[0].address
        else:
            plan_unknown = f"its backup plan {plan_id} is not in the checked plans"
    else:
        plan_unknown = (
            f"its backup plan id is {plan_id.reason if isinstance(plan_id, Unknown) else 'not set'}"
        )
    selection = DeployedSelection(
        plan.path, inst.line, inst.address, plan_ref, plan_unknown, selection={}
    )
    body: dict[str, Any] = {"SelectionName": _get(inst, "name")}
    for attr, key, refs in (
        ("resources", "Resources", selection.resource_refs),
        ("not_resources", "NotResources", selection.not_resource_refs),
    ):
        value = _get(inst, attr)
        literal: list[str] = []
        if isinstance(value, Unknown) or _unknown_at(inst.unknown, attr):
            listed = inst.values.get(attr)
            known_values = listed if isinstance(listed, list) else []
            literal = [
                str(v)
                for i, v in enumerate(known_values)
                if isinstance(v, str) and not _unknown_at(inst.unknown, attr, i)
            ]
            traced = plan.referenced(inst, _references(inst.config, attr))
            refs.update(t.address for t in traced)
            other = [
                r
                for r in _references(inst.config, attr)
                if r.startswith(("var.", "local.", "module.", "data."))
            ]
            if not traced or other:
                reason = Unknown(f"{attr} of {inst.address} is known only after apply")
                if key == "Resources":
                    selection.resources_unknown = reason
                else:
                    selection.unknown = selection.unknown or reason
        elif isinstance(value, list):
            literal = [str(v) for v in value]
        if literal or refs:
            body[key] = literal
    tag_blocks = _get(inst, "selection_tag")
    if isinstance(tag_blocks, Unknown):
        selection.unknown = selection.unknown or tag_blocks
    elif tag_blocks:
        body["ListOfTags"] = [
            {
                "ConditionType": str(t.get("type", "STRINGEQUALS")),
                "ConditionKey": str(t.get("key")),
                "ConditionValue": str(t.get("value")),
            }
            for t in tag_blocks
            if isinstance(t, dict)
        ]
    conditions = _get(inst, "condition")
    if isinstance(conditions, Unknown):
        selection.unknown = selection.unknown or conditions
    elif conditions:
        merged: dict[str, list] = {}
        for block in conditions:
            for tf_name, aws_name in _CONDITION_OPS.items():
                for entry in (block or {}).get(tf_name) or []:
                    merged.setdefault(aws_name, []).append(
                        {
                            "ConditionKey": str(entry.get("key")),
                            "ConditionValue": str(entry.get("value")),
                        }
                    )
        if merged:
            body["Conditions"] = merged
    selection.selection = body
    return selection


def _restore_testing_plan(path: str, inst: _Instance) -> restores.RestoreTestingPlan:
    """aws_backup_restore_testing_plan (Terraform AWS provider): name, schedule_expression,
    schedule_expression_timezone."""
    return restores.RestoreTestingPlan(
        path,
        inst.line,
        inst.address,
        _get(inst, "name"),
        _get(inst, "schedule_expression"),
        _get(inst, "schedule_expression_timezone"),
    )


def _restore_testing_selection(plan: _Plan, inst: _Instance) -> restores.RestoreTestingSelection:
    """aws_backup_restore_testing_selection: restore_testing_plan_name, protected_resource_type,
    protected_resource_arns, protected_resource_conditions {string_equals, string_not_equals}."""
    plans = plan.referenced(
        inst,
        _references(inst.config, "restore_testing_plan_name"),
        {"aws_backup_restore_testing_plan"},
    )
    conditions = _get(inst, "protected_resource_conditions")
    if isinstance(conditions, list):  # a nested block: a list of at most one
        conditions = conditions[0] if conditions else None
    sel = restores.RestoreTestingSelection(
        plan.path,
        inst.line,
        inst.address,
        plans[0].address if len(plans) == 1 else None,
        None if len(plans) == 1 else _get(inst, "restore_testing_plan_name"),
        _get(inst, "protected_resource_type"),
        conditions=restores.tf_conditions(conditions),
    )
    arns = _get(inst, "protected_resource_arns")
    if isinstance(arns, Unknown) or _unknown_at(inst.unknown, "protected_resource_arns"):
        traced = plan.referenced(inst, _references(inst.config, "protected_resource_arns"))
        sel.resource_refs.update(t.address for t in traced)
        if not traced:
            sel.unknown = Unknown(f"protected_resource_arns of {inst.address} is known after apply")
        listed = inst.values.get("protected_resource_arns")
        arns = [a for a in listed if isinstance(a, str)] if isinstance(listed, list) else []
    sel.arns = [str(a) for a in arns or []]
    return sel


def _attach_lock(plan: _Plan, template: Template, inst: _Instance) -> None:
    name = _get(inst, "backup_vault_name")
    targets = plan.referenced(
        inst, _references(inst.config, "backup_vault_name"), {"aws_backup_vault"}
    )
    keys = {t.address for t in targets}
    for vault in template.vaults:
        if vault.key in keys or (isinstance(name, str) and vault.name == name):
            vault.locked = True
            vault.lock_min_days = _int(_get(inst, "min_retention_days"))
            vault.lock_max_days = _int(_get(inst, "max_retention_days"))
            vault.lock_line = inst.line
            vault.lock_changeable_days = _int(_get(inst, "changeable_for_days"))


def _attach_policy(plan: _Plan, template: Template, inst: _Instance) -> None:
    """aws_backup_vault_policy: `policy` (a JSON string) on the vault named `backup_vault_name`.

    Terraform AWS provider, resource aws_backup_vault_policy: "backup_vault_name - (Required)
    Name of the backup vault to add policy for. policy - (Required) The backup vault access
    policy document in JSON format."
    """
    name = _get(inst, "backup_vault_name")
    targets = plan.referenced(
        inst, _references(inst.config, "backup_vault_name"), {"aws_backup_vault"}
    )
    keys = {t.address for t in targets}
    for vault in template.vaults:
        if vault.key in keys or (isinstance(name, str) and vault.name == name):
            vault.access_policy = _get(inst, "policy")
            vault.policy_line = inst.line
