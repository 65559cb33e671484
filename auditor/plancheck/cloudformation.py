"""CloudFormation templates (YAML with short intrinsic tags, or JSON) -> `Template`.

Parsing is cfn-lint's decoder (`cfnlint.decode`), which understands `!Ref`, `!Sub`, `!GetAtt`... and
keeps each node's line. Intrinsic functions are resolved as far as the template itself allows:
parameters given by the caller (`--parameter NAME=VALUE`, also for pseudo parameters such as
`AWS::Region`), single-valued `AllowedValues`, `Mappings`, `Conditions`, `Fn::Sub`/`Fn::Join`/
`Fn::Select`. Anything else (a parameter chosen at deployment, `Fn::ImportValue`, a condition on one)
becomes an `Unknown` carrying the reason; a `Ref`/`Fn::GetAtt` to a template resource stays a
`ResourceRef`, which is how a backup selection that lists `!GetAtt Volume.Arn` is known to select it.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.limits import (
    MAX_TEMPLATE_BYTES,
    MAX_TEMPLATE_YAML_ALIASES,
    check_yaml_shape,
    read_text_limited,
)
from auditor.plancheck import cluster_fsx, restores
from auditor.plancheck.air_gapped import (
    AIR_GAPPED_VAULT_TYPE,
    air_gapped_target,
    air_gapped_vault,
)
from auditor.plancheck.model import (
    CFN_RESOURCE_TYPES,
    UNKNOWN_ACCOUNT,
    UNKNOWN_REGION,
    CopyAction,
    DeployedPlan,
    DeployedRule,
    DeployedSelection,
    DeployedVault,
    Template,
    TemplateResource,
    Unknown,
    first_unknown,
    parse_arn,
)
from auditor.plancheck.native_policies import (
    DLM_CLOUDFORMATION_TYPE,
    apply_dlm_policies,
    dlm_from_cloudformation,
)

# cfn-lint logs parse problems at ERROR level; we report them ourselves as one line.
logging.getLogger("cfnlint").addHandler(logging.NullHandler())

# Intrinsic functions and condition functions CloudFormation knows (plus Fn::ForEach::<loop>).
KNOWN_INTRINSICS = frozenset(
    {
        "Fn::Base64",
        "Fn::Cidr",
        "Fn::FindInMap",
        "Fn::GetAtt",
        "Fn::GetAZs",
        "Fn::ImportValue",
        "Fn::Join",
        "Fn::Select",
        "Fn::Split",
        "Fn::Sub",
        "Fn::Transform",
        "Fn::And",
        "Fn::Equals",
        "Fn::If",
        "Fn::Not",
        "Fn::Or",
        "Fn::ToJsonString",
        "Fn::Length",
        "Fn::GetStackOutput",
    }
)
PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
_SUB_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class ResourceRef:
    """`Ref`/`Fn::GetAtt` to a resource of the same template (its value exists only after deployment)."""

    logical_id: str
    attribute: str | None = None

    def placeholder(self) -> str:
        """How the reference reads inside a string (`${Vol}`, `${Vol.Arn}`)."""
        return "${" + self.logical_id + ("." + self.attribute if self.attribute else "") + "}"


class _NoValue:
    """`Ref: AWS::NoValue` -- the property is removed."""


NO_VALUE = _NoValue()


def line_of(node: Any, default: int = 1) -> int:
    """1-based line where a decoded node starts (cfn-lint marks are 0-based)."""
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else default


def _fail(path: str, node: Any, message: str) -> InputError:
    return InputError(f"{path}:{line_of(node)}: {message}")


def decode_template(path: str, text: str) -> dict:
    """Decode YAML/JSON text with cfn-lint; a syntax error becomes `InputError('FILE:LINE: ...')`."""
    from cfnlint.decode import cfn_json, decode_str

    if text.lstrip().startswith("{"):
        # JSON is read as JSON (YAML would accept e.g. a trailing comma that CloudFormation refuses).
        try:
            template = cfn_json.loads(text)
        except cfn_json.JSONDecodeError as exc:
            match = exc.matches[0]
            raise InputError(
                f"{path}:{match.linenumber}: not valid JSON: {match.message}"
            ) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
        except RecursionError:
            raise InputError(f"{path}:1: template nests too deeply to read") from None
        except (ValueError, TypeError) as exc:
            raise InputError(f"{path}:1: not valid JSON: {exc}") from None
        if not isinstance(template, dict):
            raise InputError(
                f"{path}:1: not a CloudFormation template (the document is not an object)"
            )
        return template
    # Depth and aliases first, from parse events: libyaml's composer recurses in C and a template
    # nested some 50,000 levels deep overflows the stack (a segfault, not an exception).
    check_yaml_shape(text, path, max_aliases=MAX_TEMPLATE_YAML_ALIASES)
    try:
        template, matches = decode_str(text)
    except RecursionError:
        raise InputError(f"{path}:1: template nests too deeply to read") from None
    except (
        Exception
    ) as exc:  # cfn-lint wraps most errors as matches; anything else is still bad input
        raise InputError(f"{path}:1: not valid YAML/JSON: {exc}") from None
    if matches:
        match = matches[0]
        line = getattr(match, "linenumber", None) or 1
        message = str(getattr(match, "message", match)).splitlines()[0]
        raise InputError(f"{path}:{line}: not valid YAML/JSON: {message}")
    if not isinstance(template, dict):
        raise InputError(f"{path}:1: not a CloudFormation template (the document is not a mapping)")
    return template


def check_intrinsics(path: str, node: Any) -> None:
    """Raise `InputError` at the first intrinsic function CloudFormation does not know."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if len(item) == 1:
                (key,) = item.keys()
                if (
                    isinstance(key, str)
                    and key.startswith("Fn::")
                    and key not in KNOWN_INTRINSICS
                    and not key.startswith("Fn::ForEach::")
                ):
                    raise _fail(path, item, f"unknown intrinsic function {key}")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class Resolver:
    """Evaluates intrinsic functions as far as the template and the given parameters allow."""

    def __init__(self, path: str, template: dict, parameters: dict[str, str]):
        self.path = path
        self.template = template
        self.parameters = dict(parameters)
        params = template.get("Parameters") or {}
        self.declared = params if isinstance(params, dict) else {}
        resources = template.get("Resources") or {}
        self.resources = resources if isinstance(resources, dict) else {}
        mappings = template.get("Mappings") or {}
        self.mappings = mappings if isinstance(mappings, dict) else {}
        conditions = template.get("Conditions") or {}
        self.conditions = conditions if isinstance(conditions, dict) else {}
        self._condition_cache: dict[str, Any] = {}

    # -- values --------------------------------------------------------------------------------
    def value(self, node: Any) -> Any:
        """Resolve `node` to plain Python values, `Unknown`, `ResourceRef` or `NO_VALUE`."""
        if isinstance(node, dict):
            if len(node) == 1:
                (key,) = node.keys()
                if key == "Ref":
                    return self._ref(node, node[key])
                if isinstance(key, str) and key.startswith("Fn::"):
                    return self._function(node, key, node[key])
            out = {}
            for key, item in node.items():
                resolved = self.value(item)
                if resolved is not NO_VALUE:
                    out[str(key)] = resolved
            return out
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if isinstance(node, str):
            return str(node)
        return node

    def _ref(self, node: Any, name: Any) -> Any:
        if not isinstance(name, str):
            raise _fail(self.path, node, "Ref needs a name")
        name = str(name)
        if name in self.parameters:
            return self.parameters[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in PSEUDO_PARAMETERS:
            return Unknown(
                f"{name} is known only at deployment (pass --parameter {name}=...)",
                partial="${" + name + "}",
            )
        if name in self.declared:
            decl = self.declared[name] if isinstance(self.declared[name], dict) else {}
            allowed = decl.get("AllowedValues")
            if isinstance(allowed, list) and len(allowed) == 1:
                return self.value(allowed[0])
            default = decl.get("Default")
            hint = f", default {default!s}" if default is not None else ""
            return Unknown(
                f"parameter {name} is chosen at deployment{hint} (pass --parameter {name}=...)",
                partial="${" + name + "}",
            )
        if name in self.resources:
            return ResourceRef(name)
        raise _fail(self.path, node, f"Ref to {name}, which is neither a parameter nor a resource")

    def _function(self, node: Any, fn: str, args: Any) -> Any:
        if fn == "Fn::GetAtt":
            if isinstance(args, str):
                args = args.split(".", 1)
            if not isinstance(args, list) or len(args) != 2 or not isinstance(args[0], str):
                raise _fail(self.path, node, "Fn::GetAtt needs [LogicalId, Attribute]")
            if str(args[0]) not in self.resources:
                raise _fail(self.path, node, f"Fn::GetAtt names {args[0]}, which is not a resource")
            attribute = self.value(args[1])
            return ResourceRef(str(args[0]), attribute if isinstance(attribute, str) else None)
        if fn == "Fn::Sub":
            return self._sub(node, args)
        if fn == "Fn::Join":
            if not isinstance(args, list) or len(args) != 2:
                raise _fail(self.path, node, "Fn::Join needs [delimiter, [values]]")
            delimiter, items = self.value(args[0]), self.value(args[1])
            if isinstance(delimiter, Unknown) or isinstance(items, Unknown):
                return Unknown("Fn::Join over values known only at deployment")
            if not isinstance(items, list):
                return Unknown("Fn::Join over a list known only at deployment")
            return _concat([_as_text_part(i) for i in _interleave(items, str(delimiter))])
        if fn == "Fn::Select":
            if not isinstance(args, list) or len(args) != 2:
                raise _fail(self.path, node, "Fn::Select needs [index, list]")
            index, items = self.value(args[0]), self.value(args[1])
            if isinstance(index, Unknown) or not isinstance(items, list):
                return first_unknown([index, items]) or Unknown(
                    "Fn::Select over values known only at deployment"
                )
            try:
                return items[int(index)]
            except (ValueError, TypeError, IndexError):
                raise _fail(
                    self.path, node, f"Fn::Select index {index!s} is out of range"
                ) from None
        if fn == "Fn::FindInMap":
            if not isinstance(args, list) or len(args) < 3:
                raise _fail(
                    self.path, node, "Fn::FindInMap needs [MapName, TopLevelKey, SecondLevelKey]"
                )
            keys = [self.value(a) for a in args[:3]]
            found = first_unknown(keys)
            if found:
                return Unknown(f"Fn::FindInMap key: {found.reason}")
            try:
                return self.value(self.mappings[keys[0]][keys[1]][keys[2]])
            except (KeyError, TypeError):
                if len(args) > 3 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
                    return self.value(args[3]["DefaultValue"])
                raise _fail(
                    self.path, node, f"Fn::FindInMap: no entry {keys[0]}/{keys[1]}/{keys[2]}"
                ) from None
        if fn == "Fn::If":
            if not isinstance(args, list) or len(args) != 3:
                raise _fail(self.path, node, "Fn::If needs [Condition, ValueIfTrue, ValueIfFalse]")
            verdict = self.condition(str(args[0]), node)
            if isinstance(verdict, Unknown):
                return Unknown(f"depends on condition {args[0]} ({verdict.reason})")
            return self.value(args[1] if verdict else args[2])
        if fn == "Fn::ImportValue":
            name = self.value(args)
            shown = name if isinstance(name, str) else "a computed name"
            return Unknown(f"imported from another stack's export {shown} (Fn::ImportValue)")
        return Unknown(f"computed by {fn} at deployment")

    def _sub(self, node: Any, args: Any) -> Any:
        variables: dict[str, Any] = {}
        if isinstance(args, list):
            if len(args) != 2 or not isinstance(args[1], dict):
                raise _fail(self.path, node, "Fn::Sub needs a string or [string, {variables}]")
            text, variables = args[0], {str(k): self.value(v) for k, v in args[1].items()}
        else:
            text = args
        if not isinstance(text, str):
            raise _fail(self.path, node, "Fn::Sub needs a string")
        parts: list[Any] = []
        position = 0
        for match in _SUB_VAR.finditer(str(text)):
            parts.append(str(text)[position : match.start()])
            position = match.end()
            name = match.group(1)
            if name.startswith("!"):
                parts.append("${" + name[1:] + "}")
                continue
            if name in variables:
                parts.append(variables[name])
            elif "." in name and name.split(".", 1)[0] in self.resources:
                base, attribute = name.split(".", 1)
                parts.append(ResourceRef(base, attribute))
            elif (
                name in self.parameters
                or name in PSEUDO_PARAMETERS
                or name in self.declared
                or name in self.resources
            ):
                parts.append(self._ref(node, name))
            else:
                raise _fail(self.path, node, f"Fn::Sub names ${{{name}}}, which is not defined")
        parts.append(str(text)[position:])
        return _concat([_as_text_part(p) for p in parts])

    # -- conditions ----------------------------------------------------------------------------
    def condition(self, name: str, node: Any) -> bool | Unknown:
        """Evaluate a named condition: True/False, or Unknown when it depends on deployment."""
        if name in self._condition_cache:
            return self._condition_cache[name]
        if name not in self.conditions:
            raise _fail(self.path, node, f"condition {name} is not defined")
        self._condition_cache[name] = Unknown(f"condition {name} refers to itself")
        verdict = self._cond(self.conditions[name])
        self._condition_cache[name] = verdict
        return verdict

    def _cond(self, node: Any) -> bool | Unknown:
        if isinstance(node, dict) and len(node) == 1:
            (key,) = node.keys()
            args = node[key]
            if key == "Condition":
                return self.condition(str(args), node)
            if key in ("Fn::And", "Fn::Or") and isinstance(args, list):
                values = [self._cond(a) for a in args]
                decisive = key != "Fn::And"
                if any(v is decisive for v in values):
                    return decisive
                unknown = next((v for v in values if isinstance(v, Unknown)), None)
                return unknown if unknown else (not decisive)
            if key == "Fn::Not" and isinstance(args, list) and len(args) == 1:
                value = self._cond(args[0])
                return value if isinstance(value, Unknown) else not value
            if key == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
                left, right = self.value(args[0]), self.value(args[1])
                found = first_unknown([left, right])
                if found or isinstance(left, ResourceRef) or isinstance(right, ResourceRef):
                    return found or Unknown("compares values known only at deployment")
                return str(left) == str(right)
        value = self.value(node)
        if isinstance(value, Unknown):
            return value
        if isinstance(value, bool):
            return value
        return Unknown(f"condition {value!s} cannot be evaluated")


def _interleave(items: list, delimiter: str) -> list:
    out: list = []
    for index, item in enumerate(items):
        if index:
            out.append(delimiter)
        out.append(item)
    return out


def _as_text_part(value: Any) -> Any:
    if isinstance(value, (ResourceRef, Unknown)):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return Unknown("a structured value inside a string")
    return str(value)


def _concat(parts: list) -> Any:
    """Join string parts; any unknown part gives an `Unknown` whose `partial` keeps `${...}` markers."""
    if all(isinstance(p, str) for p in parts):
        return "".join(parts)
    reasons = [p.reason for p in parts if isinstance(p, Unknown)]
    refs = [p for p in parts if isinstance(p, ResourceRef)]
    partial = "".join(
        p
        if isinstance(p, str)
        else p.placeholder()
        if isinstance(p, ResourceRef)
        else (p.partial or "${?}")
        for p in parts
    )
    if reasons:
        reason = reasons[0]
    else:
        reason = f"contains {refs[0].placeholder()}, known only after deployment"
    return Unknown(reason, partial=partial)


# -- extraction --------------------------------------------------------------------------------


def _bool(value: Any) -> bool | Unknown | None:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is None:
        return None
    return Unknown(f"{value!s} is not a boolean")


def _int(value: Any) -> int | Unknown | None:
    if value is None or isinstance(value, Unknown):
        return value
    if isinstance(value, ResourceRef):
        return Unknown(f"{value.placeholder()} is known only after deployment")
    try:
        return int(str(value))
    except ValueError:
        return Unknown(f"{value!s} is not a number")


def _str(value: Any) -> str | Unknown | None:
    if value is None or isinstance(value, (str, Unknown)):
        return value
    if isinstance(value, ResourceRef):
        return Unknown(
            f"{value.placeholder()} is known only after deployment", partial=value.placeholder()
        )
    return str(value)


def _tags(value: Any) -> tuple[dict[str, str] | Unknown, dict[str, str]]:
    """CloudFormation `Tags: [{Key, Value}]` (also EFS `FileSystemTags`) -> (tags, unknown values).

    A tag whose key is written out and whose value is known only at deployment (``!Ref Env``) goes
    into the second dict ({key: reason}); the tags are Unknown as a whole only when a key is.
    """
    if value is None:
        return {}, {}
    if isinstance(value, Unknown):
        return Unknown(f"tags: {value.reason}"), {}
    if isinstance(value, dict):  # a few types take a plain map
        items = [{"Key": k, "Value": v} for k, v in value.items()]
    elif isinstance(value, list):
        items = value
    else:
        return Unknown("tags are not a list of Key/Value"), {}
    tags: dict[str, str] = {}
    unknown: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict):
            return Unknown("tags are not a list of Key/Value"), {}
        key, val = _str(item.get("Key")), _str(item.get("Value", ""))
        if isinstance(key, Unknown):
            return Unknown(f"tag {item.get('Key')!s}: {key.reason}"), {}
        if isinstance(val, Unknown):
            if key is not None:
                unknown[key] = val.reason
            continue
        if key is not None:
            tags[key] = "" if val is None else val
    return tags, unknown


def _region_account(arn_text: str) -> tuple[str | Unknown, str | Unknown]:
    """Region and account of a destination vault ARN, with `${AWS::Region}`-style parts as 'same'."""
    marked = (
        arn_text.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "\x00region")
        .replace("${AWS::AccountId}", "\x00account")
    )
    parts = parse_arn(marked)
    if parts is None:
        return Unknown(f"{arn_text} is not an ARN"), Unknown(f"{arn_text} is not an ARN")

    def field(text: str, pseudo: str) -> str | Unknown:
        if text == "\x00" + pseudo:
            return "same"
        if "\x00" in text:
            text = text.replace("\x00region", "${AWS::Region}").replace(
                "\x00account", "${AWS::AccountId}"
            )
        if "${" in text:
            return Unknown(f"{text} in {arn_text} is known only at deployment")
        return text

    return field(parts["region"], "region"), field(parts["account"], "account")


def load_cloudformation(
    path: str | Path, text: str | None = None, parameters: dict[str, str] | None = None
) -> Template:
    """Read one CloudFormation template (YAML or JSON) into a `Template`; bad input -> `InputError`."""
    path = str(path)
    if text is None:
        text = _read(path)
    raw = decode_template(path, text)
    resources = raw.get("Resources")
    if not isinstance(resources, dict):
        raise _fail(path, raw, "not a CloudFormation template: no Resources mapping")
    check_intrinsics(path, raw)
    params = dict(parameters or {})
    resolver = Resolver(path, raw, params)
    template = Template(path=path, kind="cloudformation")
    region = params.get("AWS::Region")
    account = params.get("AWS::AccountId")
    template.region, template.account = region, account

    for logical_id, body in resources.items():
        lid = str(logical_id)
        if lid.startswith("Fn::ForEach::"):
            template.resources.append(
                TemplateResource(
                    file=path,
                    line=line_of(logical_id),
                    logical_id=lid,
                    source_type="Fn::ForEach",
                    resource_type="",
                    tags=Unknown("resources made by Fn::ForEach are not expanded"),
                    encrypted=None,
                )
            )
            continue
        if not isinstance(body, dict) or not isinstance(body.get("Type"), str):
            raise _fail(path, logical_id, f"resource {lid} has no Type")
        if "Condition" in body:
            verdict = resolver.condition(str(body["Condition"]), body)
            if verdict is False:
                continue  # not created with the known parameters
        rtype = str(body["Type"])
        props_node = body.get("Properties") or {}
        if not isinstance(props_node, dict):
            raise _fail(path, body, f"resource {lid}: Properties is not a mapping")
        line = line_of(logical_id)
        try:
            _extract(template, resolver, path, line, lid, rtype, props_node)
        except RecursionError:
            raise InputError(
                f"{path}:{line}: resource {lid}: properties nest too deeply to read"
            ) from None
        except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
            raise InputError(
                f"{path}:{line}: resource {lid}: a property has an unexpected shape ({type(exc).__name__}: {exc})"[
                    :300
                ]
            ) from None
    apply_dlm_policies(template.resources, template.dlm_policies)
    return template


def _extract(
    template: Template,
    resolver: Resolver,
    path: str,
    line: int,
    lid: str,
    rtype: str,
    props_node: dict,
) -> None:
    """Add one resource of an interesting type to `template`."""
    if rtype in CFN_RESOURCE_TYPES:
        props = resolver.value(props_node)
        template.resources.append(_protected(path, line, lid, rtype, props))
    elif rtype == "AWS::Backup::BackupPlan":
        template.plans.append(_plan(path, line, lid, resolver.value(props_node), resolver))
    elif rtype == DLM_CLOUDFORMATION_TYPE:
        props = resolver.value(props_node)
        template.dlm_policies.append(
            dlm_from_cloudformation(lid, props if isinstance(props, dict) else {})
        )
    elif rtype == "AWS::Backup::BackupSelection":
        template.selections.append(
            _selection(path, line, lid, resolver.value(props_node), resolver)
        )
    elif rtype == "AWS::Backup::RestoreTestingPlan":
        template.restore_plans.append(
            restores.cfn_plan(path, line, lid, resolver.value(props_node))
        )
    elif rtype == "AWS::Backup::RestoreTestingSelection":
        template.restore_selections.append(
            restores.cfn_selection(
                path,
                line,
                lid,
                resolver.value(props_node),
                lambda v: v.logical_id if isinstance(v, ResourceRef) else None,
            )
        )
    elif rtype == "AWS::Backup::BackupVault":
        props = resolver.value(props_node)
        lock_key = next((k for k in props_node if k == "LockConfiguration"), None)
        vault = _vault(path, line, lid, props, line_of(lock_key, line) if lock_key else None)
        policy_key = next((k for k in props_node if k == "AccessPolicy"), None)
        _vault_policy(vault, props, line_of(policy_key, line) if policy_key else None)
        template.vaults.append(vault)
    elif rtype == AIR_GAPPED_VAULT_TYPE:
        template.vaults.append(air_gapped_vault(path, line, lid, resolver.value(props_node)))


def _read(path: str) -> str:
    return read_text_limited(path, MAX_TEMPLATE_BYTES, "template")


def _protected(path: str, line: int, lid: str, rtype: str, props: dict) -> TemplateResource:
    resource_type = CFN_RESOURCE_TYPES[rtype]
    tags, unknown_tags = _tags(
        props.get("FileSystemTags") if rtype == "AWS::EFS::FileSystem" else props.get("Tags")
    )
    native: dict[str, Any] = {}
    name: Any = None
    engine: Any = None
    versioning: str | Unknown | None = None
    if rtype == "AWS::EC2::Volume" or rtype == "AWS::EFS::FileSystem":
        encrypted = _bool(props.get("Encrypted", False))
    elif rtype == "AWS::DynamoDB::Table":
        encrypted = None  # DynamoDB encrypts every table at rest
        name = props.get("TableName")
        pitr = props.get("PointInTimeRecoverySpecification") or {}
        enabled = (
            _bool(pitr.get("PointInTimeRecoveryEnabled", False))
            if isinstance(pitr, dict)
            else Unknown("PITR settings")
        )
        if enabled:
            native = {
                "kind": "dynamodb-pitr",
                "enabled": enabled,
                "interval_hours": 0,
                "retention_days": _int(pitr.get("RecoveryPeriodInDays", 35))
                if enabled is True
                else None,
            }
    elif rtype in cluster_fsx.CLOUDFORMATION_TYPES:  # FSx, DocumentDB, Neptune
        encrypted, name, engine, native = cluster_fsx.from_cloudformation(rtype, props, lid)
    elif rtype in ("AWS::S3::Bucket", "AWS::EC2::Instance"):
        # Every S3 bucket is encrypted (SSE-S3 at least) since January 2023 ("Setting default
        # server-side encryption behavior for Amazon S3 buckets"); an instance's backups are its
        # volumes' snapshots, encrypted as each volume is: nothing to judge on the resource itself.
        encrypted = None
        name = props.get("BucketName") if rtype == "AWS::S3::Bucket" else None
        if rtype == "AWS::S3::Bucket":
            versioning = _s3_versioning(props.get("VersioningConfiguration"))
    else:  # RDS instance or cluster
        engine = _str(props.get("Engine"))
        name = props.get(
            "DBClusterIdentifier" if rtype == "AWS::RDS::DBCluster" else "DBInstanceIdentifier"
        )
        name = name.lower() if isinstance(name, str) else None
        encrypted = _bool(props.get("StorageEncrypted", False))
        retention = _int(props.get("BackupRetentionPeriod", 1))
        native = {
            "kind": "rds-automated",
            "enabled": True if isinstance(retention, Unknown) else bool(retention),
            "interval_hours": 24,
            "retention_days": retention,
        }
    return TemplateResource(
        file=path,
        line=line,
        logical_id=lid,
        source_type=rtype,
        resource_type=resource_type,
        tags=tags,
        encrypted=encrypted,
        name=name if isinstance(name, str) else None,
        engine=engine,
        native=native,
        unknown_tags=unknown_tags,
        versioning=versioning,
    )


def _s3_versioning(config: Any) -> str | Unknown:
    """VersioningConfiguration.Status (Enabled | Suspended); no configuration: never versioned."""
    if isinstance(config, Unknown):
        return config
    if not isinstance(config, dict) or config.get("Status") is None:
        return "Disabled"
    status = config.get("Status")
    return status if isinstance(status, Unknown) else str(status)


def _plan(path: str, line: int, lid: str, props: dict, resolver: Resolver) -> DeployedPlan:
    body = props.get("BackupPlan") if isinstance(props, dict) else None
    if not isinstance(body, dict):
        reason = body.reason if isinstance(body, Unknown) else "BackupPlan is missing"
        return DeployedPlan(path, line, lid, None, rules=[], unknown=Unknown(reason))
    rules_in = body.get("BackupPlanRule")
    plan = DeployedPlan(path, line, lid, _str(body.get("BackupPlanName")), rules=[])
    if not isinstance(rules_in, list):
        plan.unknown = (
            rules_in if isinstance(rules_in, Unknown) else Unknown("BackupPlanRule is not a list")
        )
        return plan
    for rule in rules_in:
        if not isinstance(rule, dict):
            plan.unknown = rule if isinstance(rule, Unknown) else Unknown("a rule is not a mapping")
            continue
        lifecycle = rule.get("Lifecycle") or {}
        target = rule.get("TargetBackupVault")
        copies = []
        for copy in rule.get("CopyActions") or []:
            if not isinstance(copy, dict):
                copies.append(
                    CopyAction(
                        Unknown("copy action unknown"),
                        Unknown("copy action unknown"),
                        Unknown("copy action unknown"),
                    )
                )
                continue
            dest = copy.get("DestinationBackupVaultArn")
            copy_life = copy.get("Lifecycle") or {}
            after = (
                _kept_days(_int(copy_life.get("DeleteAfterDays")))
                if isinstance(copy_life, dict)
                else Unknown("copy lifecycle")
            )
            if isinstance(dest, ResourceRef):  # a vault of this same stack: same region and account
                copies.append(
                    CopyAction(dest.placeholder(), "same", "same", after, dest.logical_id)
                )
            elif isinstance(dest, str):
                region, account = _region_account(dest)
                copies.append(CopyAction(dest, region, account, after))
            elif isinstance(dest, Unknown) and dest.partial:
                region, account = _region_account(dest.partial)
                copies.append(CopyAction(dest, region, account, after))
            else:
                missing = dest if isinstance(dest, Unknown) else Unknown("no destination vault")
                copies.append(CopyAction(missing, missing, missing, after))
        plan.rules.append(
            DeployedRule(
                name=str(rule.get("RuleName", "")),
                schedule=_str(rule.get("ScheduleExpression")),
                timezone=_str(rule.get("ScheduleExpressionTimezone")),
                delete_after_days=_kept_days(_int(lifecycle.get("DeleteAfterDays")))
                if isinstance(lifecycle, dict)
                else Unknown(lifecycle.reason if isinstance(lifecycle, Unknown) else "lifecycle"),
                target_vault=target.logical_id if isinstance(target, ResourceRef) else _str(target),
                target_vault_ref=target.logical_id if isinstance(target, ResourceRef) else None,
                copies=copies,
                continuous=_bool(rule.get("EnableContinuousBackup")) is True,
                **air_gapped_target(rule.get("TargetLogicallyAirGappedBackupVaultArn")),
            )
        )
    return plan


def _kept_days(days: Any) -> Any:
    """DeleteAfterDays as plan-check reads it: -1 means kept forever, like no value at all."""
    return None if days == -1 else days


_REF_IN_TEXT = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[^}]*)?\}")


def _selection(
    path: str, line: int, lid: str, props: dict, resolver: Resolver
) -> DeployedSelection:
    plan_id = props.get("BackupPlanId") if isinstance(props, dict) else None
    plan_ref, plan_unknown = None, None
    if isinstance(plan_id, ResourceRef):
        plan_ref = plan_id.logical_id
    elif isinstance(plan_id, Unknown):
        plan_unknown = f"its backup plan id is {plan_id.reason}"
    else:
        plan_unknown = f"its backup plan {plan_id!s} is not in the checked templates"
    body = props.get("BackupSelection") if isinstance(props, dict) else None
    selection = DeployedSelection(path, line, lid, plan_ref, plan_unknown, selection={})
    if not isinstance(body, dict):
        selection.unknown = (
            body if isinstance(body, Unknown) else Unknown("BackupSelection is missing")
        )
        return selection
    clean: dict[str, Any] = {
        k: v for k, v in body.items() if k not in ("Resources", "NotResources")
    }
    for key, refs in (
        ("Resources", selection.resource_refs),
        ("NotResources", selection.not_resource_refs),
    ):
        items = body.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            selection.unknown = selection.unknown or (
                items if isinstance(items, Unknown) else Unknown(f"{key} is not a list")
            )
            continue
        literal: list[str] = []
        for item in items:
            if isinstance(item, ResourceRef):
                refs.add(item.logical_id)
            elif isinstance(item, str):
                literal.append(item)
            elif isinstance(item, Unknown):
                named = [
                    m for m in _REF_IN_TEXT.findall(item.partial or "") if m in resolver.resources
                ]
                pattern = _same_stack_pattern(item.partial, resolver.parameters)
                if named:
                    refs.update(named)
                elif pattern is not None:
                    literal.append(pattern)
                else:
                    reason = Unknown(f"{key} entry {item.partial or ''}: {item.reason}")
                    if key == "Resources":
                        selection.resources_unknown = selection.resources_unknown or reason
                    else:
                        selection.unknown = selection.unknown or reason
        clean[key] = literal
    for key in ("ListOfTags", "Conditions"):
        found = first_unknown(clean.get(key))
        if found:
            selection.unknown = selection.unknown or Unknown(f"{key}: {found.reason}")
    if selection.unknown is None:
        _check_selection_shape(path, line, lid, clean)
    selection.selection = clean
    return selection


_CONDITION_OPERATORS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")


def _check_selection_shape(path: str, line: int, lid: str, body: dict) -> None:
    """Refuse a BackupSelection CloudFormation itself would refuse (it cannot be judged either)."""

    def bad(what: str) -> InputError:
        return InputError(f"{path}:{line}: backup selection {lid}: {what}")

    for key in ("Resources", "NotResources"):
        if any(not isinstance(item, str) for item in body.get(key) or []):
            raise bad(f"{key} entries must be ARN strings")
    tags = body.get("ListOfTags")
    well_formed = isinstance(tags, list) and all(
        isinstance(t, dict)
        and all(
            isinstance(t.get(k), (str, int, float, bool))
            for k in ("ConditionKey", "ConditionValue")
        )
        for t in tags
    )
    if tags is not None and not well_formed:
        raise bad("ListOfTags entries need ConditionType, ConditionKey and ConditionValue")
    conditions = body.get("Conditions")
    if conditions is not None:
        if not isinstance(conditions, dict):
            raise bad(
                "Conditions must map StringEquals/StringNotEquals/StringLike/StringNotLike to lists"
            )
        for op, entries in conditions.items():
            if op not in _CONDITION_OPERATORS:
                raise bad(
                    f"Conditions has unknown operator {op} (use {', '.join(_CONDITION_OPERATORS)})"
                )
            if not isinstance(entries, list) or not all(
                isinstance(e, dict)
                and all(
                    isinstance(e.get(k), (str, int, float, bool))
                    for k in ("ConditionKey", "ConditionValue")
                )
                for e in entries
            ):
                raise bad(f"Conditions {op} entries need ConditionKey and ConditionValue")


def _same_stack_pattern(partial: str | None, parameters: dict[str, str]) -> str | None:
    """An ARN pattern whose only unknowns are the stack's own region/account/partition, made literal.

    The stand-in ARNs of the template's resources use the same stand-ins for the deploy region and
    account, so `arn:aws:ec2:${AWS::Region}:${AWS::AccountId}:volume/*` still matches them.
    """
    if not partial:
        return None
    text = (
        partial.replace("${AWS::Region}", parameters.get("AWS::Region", UNKNOWN_REGION))
        .replace("${AWS::AccountId}", parameters.get("AWS::AccountId", UNKNOWN_ACCOUNT))
        .replace("${AWS::Partition}", parameters.get("AWS::Partition", "aws"))
    )
    return None if "${" in text else text


def _vault(path: str, line: int, lid: str, props: dict, lock_line: int | None) -> DeployedVault:
    lock = props.get("LockConfiguration")
    vault = DeployedVault(
        path, line, lid, _str(props.get("BackupVaultName")), _str(props.get("EncryptionKeyArn"))
    )
    if isinstance(lock, dict):
        vault.locked = True
        vault.lock_min_days = _int(lock.get("MinRetentionDays"))
        vault.lock_max_days = _int(lock.get("MaxRetentionDays"))
        vault.lock_line = lock_line
        vault.lock_changeable_days = _int(lock.get("ChangeableForDays"))
    elif isinstance(lock, Unknown):
        vault.locked = lock
    return vault


def _vault_policy(vault: DeployedVault, props: dict, line: int | None) -> None:
    """AWS::Backup::BackupVault AccessPolicy: a JSON policy document (an object, or its text).

    AWS CloudFormation User Guide, AWS::Backup::BackupVault: "AccessPolicy: A resource-based
    policy that is used to manage access permissions on the target backup vault." (Type: Json).
    """
    policy = props.get("AccessPolicy")
    if policy is None:
        return
    unknown = first_unknown(policy)
    if unknown is not None:
        vault.access_policy = unknown
    elif isinstance(policy, ResourceRef):
        vault.access_policy = Unknown(f"{policy.placeholder()} is known only after deployment")
    else:
        vault.access_policy = policy if isinstance(policy, dict | str) else str(policy)
    vault.policy_line = line
