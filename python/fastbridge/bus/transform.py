"""What a rule's target receives: ``Input``, ``InputPath`` and ``InputTransformer``.

Two halves, both following AWS EventBridge:

* **PutTargets time** -- :func:`validate_targets` and :func:`validate_target_input`
  reject a request the way AWS does, with AWS's error codes and messages.
* **Delivery time** -- :func:`render` turns a matched event into the body one
  target receives, or ``None`` when AWS would deliver nothing.

The behaviour is pinned by the AWS recordings in
``shared/conformance/aws-recorded-bus.json`` (kinds ``input_transformer``,
``input_path``, ``input``, ``put_targets_error``, ``put_targets_result``) and,
where they are silent, by AWS's documentation (the EventBridge user guide page
"Amazon EventBridge input transformation", the ``InputTransformer`` and
``Target`` API reference, and the service model botocore ships). Where both are
silent this module makes a choice; every such choice is listed under
*Decisions* below so it can be revisited when a recording settles it.

Validation (PutTargets)
-----------------------
Checks run in three passes, and the first pass that finds a problem raises:

1. **Model constraints**, reported together in AWS's request-validation form
   ``"N validation error(s) detected: Value 'x' at 'targets.1.member.id' failed
   to satisfy constraint: ..."`` (messages joined with ``"; "``). From the
   service model: ``Targets`` at least 1 entry; ``Id`` required, 1-64
   characters, pattern ``[\\.\\-_A-Za-z0-9]+``; ``Arn`` required, 1-1600
   characters; ``Input`` at most 8192 characters; ``InputPath`` at most 256;
   ``InputTransformer.InputTemplate`` required, 1-8192 characters;
   ``InputPathsMap`` at most 100 entries, keys 1-256 characters of
   ``[A-Za-z0-9\\_\\-]+``, values at most 256 characters.
2. **Targets per rule**: more than 5 targets (counting the rule's existing
   target Ids when the caller passes them) raise ``LimitExceededException``
   with its default message, as recorded.
3. **Per-target input checks** (:func:`validate_target_input`), in this order:

   * more than one of ``Input``, ``InputPath``, ``InputTransformer``:
     ``Only one of Input, InputPath, or InputTransformer must be provided for
     target <id>.`` (recorded);
   * ``Input`` that is not JSON text: ``Input for target <id> is not a valid
     JSON text.`` (AWS's message as CloudFormation surfaced it);
   * ``InputPath`` or any ``InputPathsMap`` value that is not a supported
     JSON path: ``InputPath for target <id> is invalid.`` (the same message
     for both, as reported by a third party's measurement; not recorded here);
   * a template placeholder that is neither an ``InputPathsMap`` key nor a
     predefined variable: ``InputTemplate for target <id> contains invalid
     placeholder <name>.`` (recorded). Placeholders are checked in template
     order and the first undefined one is reported.

Keys may not start with ``aws.`` (the documentation reserves that prefix), but
the key pattern already excludes ``.``, so pass 1 rejects such keys.

JSON paths
----------
The subset AWS documents: ``$`` followed by any number of ``.name``, ``.*``,
``[N]`` (``N`` may be negative: ``-1`` is the last element) and ``[*]``. A
name is one or more characters other than ``.``, ``[``, ``]``, ``'``, ``"``,
``*`` and whitespace. Quoted bracket keys (``$['a-b']``), recursive descent
(``..``), slices and filters are refused. A path with no wildcard selects at
most one value; a path with a wildcard selects a list of every match (possibly
empty), as JSONPath does.

Rendering
---------
* No input configuration: the event as compact JSON.
* ``Input``: that text, unchanged.
* ``InputPath``: the selected value as compact JSON (a string leaf becomes a
  JSON-quoted string, as recorded).
* ``InputTransformer``: a template whose first non-blank character is ``{`` is
  a **JSON template**; any other template is a **string template** (the
  recorded ``"{[/Check ..."`` starts with a quote and is a string template).

  String templates are the template text with every placeholder replaced by
  the raw value: strings unquoted and unescaped, ``true``/``false``/``null``
  and numbers as their JSON text, objects as ``{k:v,...}`` and lists as
  ``[a,b]`` with no quotes and no spaces (recursively), a missing path as
  nothing. Everything else, newlines included, is kept.

  JSON templates are scanned with JSON string literals tracked:

  * a placeholder outside a string literal becomes the value as compact JSON
    (strings quoted and escaped); a missing path becomes ``""``;
  * a placeholder inside a string literal becomes the string's characters
    (JSON-escaped), or the JSON text of a number/boolean/null, or nothing for
    a missing path; an **object or list value there means nothing is
    delivered** (recorded for ``"<payload>"`` and ``"users/<payload>"``);
  * the result must be JSON text, or nothing is delivered; it is delivered
    minified (whitespace outside strings removed, number spellings and key
    order kept).

Predefined variables (the five the documentation lists):
``aws.events.rule-arn``, ``aws.events.rule-name``,
``aws.events.event.ingestion-time`` (strings from :class:`Context`),
``aws.events.event`` (the envelope without ``detail``, ``detail-type`` renamed
``detailType``, keys in the recorded order ``id, account, detailType, time,
source, region, resources, version``) and ``aws.events.event.json`` (the whole
event). The last two are objects, so in a string template they are inserted as
compact JSON text (the documentation: "its contents are not escaped").

Decisions (where AWS's output is not recorded)
----------------------------------------------
* ``aws.events.event``'s ``time`` is the event's ``time``. The recording
  replaced that value with ``<ingestion-time>``, so its source is unknown;
  ``replay-name`` and any other extra envelope key are left out of it.
* There is no ``aws.events.event-bus-name`` variable: the documentation lists
  none, so such a placeholder is rejected as invalid. ``Context`` still carries
  the bus name for the bus core.
* Inside a JSON string literal a string value is JSON-escaped, so a value with
  a ``"`` or a newline keeps the body valid JSON. The documentation's older
  "Common issues" note says values are not escaped; with the rule that invalid
  JSON is not delivered, the unescaped reading would drop such events instead.
* An ``InputPath`` that selects nothing delivers nothing (``None``).
* A JSON template that does not parse after substitution is accepted by
  PutTargets and delivers nothing; only placeholders are checked up front.
* A placeholder is ``<`` + ``[A-Za-z0-9_.-]+`` + ``>``; other text between
  angle brackets (``<a b>``, ``</p>``) is literal.
* A ``Targets`` list of more than 100 entries is reported as
  ``LimitExceededException`` (the per-rule limit) rather than as a model
  constraint, whose ``Value '...'`` rendering of a list of targets is unknown.
* Non-string ``Input``/``InputPath``/``InputTemplate``/``InputPathsMap``
  values, which boto refuses before sending, raise ``ValidationException``
  with a message naming the field.
* Numbers are emitted as Python's ``json`` module writes them (ints exactly;
  floats in shortest round-trip form), and non-ASCII text is written as UTF-8,
  not ``\\u`` escapes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from fastbridge.bus.errors import LimitExceededException, ValidationException

__all__ = [
    "MAX_TARGETS_PER_RULE",
    "MISSING",
    "PREDEFINED_VARIABLES",
    "Context",
    "JsonPath",
    "render",
    "validate_target_input",
    "validate_targets",
]

MAX_TARGETS_PER_RULE: Final = 5
"""AWS's quota of targets per rule."""

RULE_ARN: Final = "aws.events.rule-arn"
RULE_NAME: Final = "aws.events.rule-name"
INGESTION_TIME: Final = "aws.events.event.ingestion-time"
EVENT: Final = "aws.events.event"
EVENT_JSON: Final = "aws.events.event.json"
PREDEFINED_VARIABLES: Final = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})
"""Placeholders a template may use without an ``InputPathsMap`` entry."""

# The order AWS writes ``aws.events.event`` in (recorded), with the envelope key
# each entry is read from.
_EVENT_VARIABLE_KEYS: Final = (
    ("id", "id"),
    ("account", "account"),
    ("detailType", "detail-type"),
    ("time", "time"),
    ("source", "source"),
    ("region", "region"),
    ("resources", "resources"),
    ("version", "version"),
)

_PLACEHOLDER: Final = re.compile(r"<([A-Za-z0-9_.\-]+)>")

# Service-model constraints (botocore's events 2015-10-07 model), with the
# pattern text spelled as AWS echoes it in messages.
_ID_MAX: Final = 64
_ID_PATTERN: Final = re.compile(r"[\.\-_A-Za-z0-9]+")  # its text is quoted in errors
_ARN_MAX: Final = 1600
_INPUT_MAX: Final = 8192
_INPUT_PATH_MAX: Final = 256
_TEMPLATE_MAX: Final = 8192
_PATHS_MAP_MAX: Final = 100
_PATH_KEY_MAX: Final = 256
_PATH_KEY_PATTERN_TEXT: Final = r"[A-Za-z0-9\_\-]+"
_PATH_KEY_PATTERN: Final = re.compile(r"[A-Za-z0-9_\-]+")


@dataclass(frozen=True)
class Context:
    """The values of the predefined variables for one delivery."""

    rule_arn: str
    rule_name: str
    event_bus_name: str
    ingestion_time: str
    """RFC 3339, for example ``"2024-05-13T12:00:00Z"``."""


# --------------------------------------------------------------------------
# JSON paths
# --------------------------------------------------------------------------

_WILDCARD: Final = object()
"""A ``.*`` or ``[*]`` step."""

_NAME_STOP: Final = frozenset(".[]'\"*")


class _MissingType:
    """The result of a path that selects nothing."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _MissingType()


class JsonPath:
    """A parsed JSON path of the subset AWS accepts (see the module docstring).

    ``steps`` holds ``str`` (an object key), ``int`` (an array index) or the
    wildcard marker. ``JsonPath.parse`` raises ``ValueError`` for a path
    outside the subset.
    """

    __slots__ = ("definite", "steps", "text")

    def __init__(self, text: str, steps: tuple[object, ...]) -> None:
        self.text = text
        self.steps = steps
        self.definite = all(step is not _WILDCARD for step in steps)

    def __repr__(self) -> str:
        return f"JsonPath({self.text!r})"

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        if not text.startswith("$"):
            raise ValueError("a JSON path starts with $")
        steps: list[object] = []
        i, end = 1, len(text)
        while i < end:
            char = text[i]
            if char == ".":
                i += 1
                if i < end and text[i] == "*":
                    steps.append(_WILDCARD)
                    i += 1
                    continue
                start = i
                while i < end and text[i] not in _NAME_STOP and not text[i].isspace():
                    i += 1
                if i == start:
                    raise ValueError(f"a name is expected at offset {start}")
                steps.append(text[start:i])
            elif char == "[":
                close = text.find("]", i)
                if close < 0:
                    raise ValueError(f"unclosed [ at offset {i}")
                inner = text[i + 1 : close]
                if inner == "*":
                    steps.append(_WILDCARD)
                elif re.fullmatch(r"-?[0-9]+", inner):
                    steps.append(int(inner))
                else:
                    raise ValueError(f"only [N] and [*] are supported, not [{inner}]")
                i = close + 1
            else:
                raise ValueError(f"unexpected {char!r} at offset {i}")
        return cls(text, tuple(steps))

    def select(self, document: Any) -> Any:
        """The selected value, ``MISSING``, or for a wildcard path a list of matches."""
        nodes = list(self._walk(document, 0))
        if self.definite:
            return nodes[0] if nodes else MISSING
        return nodes

    def _walk(self, node: Any, depth: int) -> Iterator[Any]:
        if depth == len(self.steps):
            yield node
            return
        step = self.steps[depth]
        if step is _WILDCARD:
            if isinstance(node, Mapping):
                children: Iterator[Any] = iter(node.values())
            elif isinstance(node, list):
                children = iter(node)
            else:
                return
            for child in children:
                yield from self._walk(child, depth + 1)
        elif isinstance(step, str):
            if isinstance(node, Mapping) and step in node:
                yield from self._walk(node[step], depth + 1)
        elif isinstance(step, int) and isinstance(node, list):
            if -len(node) <= step < len(node):
                yield from self._walk(node[step], depth + 1)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def validate_targets(
    targets: Sequence[Mapping[str, Any]], *, existing_ids: Collection[str] = ()
) -> None:
    """PutTargets-time checks of a whole ``Targets`` list, as AWS makes them.

    ``existing_ids`` are the Ids of the targets the rule already has; a target
    whose Id is among them replaces that target rather than adding one.
    Raises ``ValidationException`` or ``LimitExceededException``.
    """
    errors: list[str] = []
    if len(targets) == 0:
        too_few = "Member must have length greater than or equal to 1"
        errors.append(_constraint("[]", "targets", too_few))
    for index, target in enumerate(targets, start=1):
        errors.extend(_target_constraint_errors(target, index))
    _raise_constraints(errors)

    ids = set(existing_ids)
    ids.update(str(target.get("Id")) for target in targets)
    if len(ids) > MAX_TARGETS_PER_RULE or len(targets) > MAX_TARGETS_PER_RULE:
        raise LimitExceededException()

    for index, target in enumerate(targets, start=1):
        validate_target_input(target, index=index)


def validate_target_input(target: Mapping[str, Any], *, index: int = 1) -> None:
    """PutTargets-time checks of one target's ``Input``/``InputPath``/``InputTransformer``.

    ``index`` is the target's 1-based position in the request, used in the
    model-constraint messages. Raises ``ValidationException`` with AWS's
    message (see the module docstring for the order of the checks).
    """
    _raise_constraints(_input_constraint_errors(target, index))
    target_id = target.get("Id")

    given = [key for key in ("Input", "InputPath", "InputTransformer") if _present(target, key)]
    if len(given) > 1:
        raise ValidationException(
            "Only one of Input, InputPath, or InputTransformer must be provided "
            f"for target {target_id}."
        )

    if _present(target, "Input") and not _is_json_text(target["Input"]):
        raise ValidationException(f"Input for target {target_id} is not a valid JSON text.")

    if _present(target, "InputPath"):
        _check_path(target["InputPath"], target_id)

    transformer = target.get("InputTransformer")
    if transformer is not None:
        paths = transformer.get("InputPathsMap") or {}
        for path in paths.values():
            _check_path(path, target_id)
        for match in _PLACEHOLDER.finditer(transformer["InputTemplate"]):
            name = match.group(1)
            if name not in paths and name not in PREDEFINED_VARIABLES:
                raise ValidationException(
                    f"InputTemplate for target {target_id} contains invalid placeholder {name}."
                )


def _present(target: Mapping[str, Any], key: str) -> bool:
    return target.get(key) is not None


@lru_cache(maxsize=1024)
def _compiled(path: str) -> JsonPath:
    """``JsonPath.parse``, remembered: a rule's paths are read for every event."""
    return JsonPath.parse(path)


def _check_path(path: str, target_id: object) -> None:
    try:
        _compiled(path)
    except ValueError:
        raise ValidationException(f"InputPath for target {target_id} is invalid.") from None


def _is_json_text(text: str) -> bool:
    try:
        _parse_strict(text)
    except ValueError:
        return False
    return True


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_strict(text: str) -> Any:
    """``json.loads`` without Python's NaN/Infinity extension."""
    return json.loads(text, parse_constant=_reject_constant)


def _raise_constraints(errors: list[str]) -> None:
    if errors:
        noun = "error" if len(errors) == 1 else "errors"
        raise ValidationException(f"{len(errors)} validation {noun} detected: " + "; ".join(errors))


def _constraint(value: str | None, where: str, *failures: str) -> str:
    shown = "null" if value is None else f"'{value}'"
    return f"Value {shown} at '{where}' failed to satisfy constraint: " + ", ".join(failures)


def _length_failures(value: str, minimum: int, maximum: int) -> list[str]:
    failures = []
    if len(value) > maximum:
        failures.append(f"Member must have length less than or equal to {maximum}")
    if len(value) < minimum:
        failures.append(f"Member must have length greater than or equal to {minimum}")
    return failures


def _required_string_errors(
    value: Any, path: str, maximum: int, pattern: re.Pattern[str] | None = None
) -> list[str]:
    """AWS's constraint messages for a required string member (null, then
    length, then pattern)."""
    if value is None:
        return [_constraint(None, path, "Member must not be null")]
    text = _require_str(value, path)
    failures = _length_failures(text, 1, maximum)
    if pattern is not None and not pattern.fullmatch(text):
        failures.append(f"Member must satisfy regular expression pattern: {pattern.pattern}")
    return [_constraint(text, path, failure) for failure in failures]


def _target_constraint_errors(target: Mapping[str, Any], index: int) -> list[str]:
    member = f"targets.{index}.member"
    errors = _required_string_errors(target.get("Id"), f"{member}.id", _ID_MAX, _ID_PATTERN)
    errors += _required_string_errors(target.get("Arn"), f"{member}.arn", _ARN_MAX)
    errors.extend(_retry_policy_errors(target, member))
    errors.extend(_input_constraint_errors(target, index))
    return errors


def _retry_policy_errors(target: Mapping[str, Any], member: str) -> list[str]:
    """RetryPolicy's ranges, as the API model states them."""
    policy = target.get("RetryPolicy")
    if policy is None:
        return []
    if not isinstance(policy, Mapping):
        raise ValidationException(f"Parameter {member}.retryPolicy is not valid.")
    errors = []
    for key, field, low, high in (
        ("MaximumRetryAttempts", "maximumRetryAttempts", 0, 185),
        ("MaximumEventAgeInSeconds", "maximumEventAgeInSeconds", 60, 86_400),
    ):
        value = policy.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationException(f"Parameter {member}.retryPolicy.{field} is not valid.")
        where = f"{member}.retryPolicy.{field}"
        if value < low:
            errors.append(
                _constraint(
                    str(value), where, f"Member must have value greater than or equal to {low}"
                )
            )
        if value > high:
            errors.append(
                _constraint(
                    str(value), where, f"Member must have value less than or equal to {high}"
                )
            )
    return errors


def _input_constraint_errors(target: Mapping[str, Any], index: int) -> list[str]:
    member = f"targets.{index}.member"
    errors: list[str] = []
    for key, field, maximum in (
        ("Input", "input", _INPUT_MAX),
        ("InputPath", "inputPath", _INPUT_PATH_MAX),
    ):
        if _present(target, key):
            text = _require_str(target[key], f"{member}.{field}")
            errors.extend(
                _constraint(text, f"{member}.{field}", failure)
                for failure in _length_failures(text, 0, maximum)
            )
    transformer = target.get("InputTransformer")
    if transformer is None:
        return errors
    where = f"{member}.inputTransformer"
    if not isinstance(transformer, Mapping):
        raise ValidationException(f"'{where}' must be a structure")
    paths = transformer.get("InputPathsMap")
    if paths is not None:
        errors.extend(_paths_map_errors(paths, f"{where}.inputPathsMap"))
    template = transformer.get("InputTemplate")
    if template is None:
        errors.append(_constraint(None, f"{where}.inputTemplate", "Member must not be null"))
    else:
        text = _require_str(template, f"{where}.inputTemplate")
        errors.extend(
            _constraint(text, f"{where}.inputTemplate", failure)
            for failure in _length_failures(text, 1, _TEMPLATE_MAX)
        )
    return errors


def _paths_map_errors(paths: object, where: str) -> list[str]:
    if not isinstance(paths, Mapping):
        raise ValidationException(f"'{where}' must be a map of strings to strings")
    for key, value in paths.items():
        _require_str(key, f"{where} key")
        _require_str(value, f"{where}.{key}")
    shown = "{" + ", ".join(f"{key}={value}" for key, value in paths.items()) + "}"
    errors: list[str] = []
    if len(paths) > _PATHS_MAP_MAX:
        too_many = f"Member must have length less than or equal to {_PATHS_MAP_MAX}"
        errors.append(_constraint(shown, where, too_many))
    bad_key = any(
        not 1 <= len(key) <= _PATH_KEY_MAX or not _PATH_KEY_PATTERN.fullmatch(key) for key in paths
    )
    if bad_key:
        errors.append(
            _constraint(
                shown,
                where,
                "Map keys must satisfy constraint: ["
                f"Member must have length less than or equal to {_PATH_KEY_MAX}, "
                "Member must have length greater than or equal to 1, "
                f"Member must satisfy regular expression pattern: {_PATH_KEY_PATTERN_TEXT}]",
            )
        )
    if any(len(value) > _INPUT_PATH_MAX for value in paths.values()):
        errors.append(
            _constraint(
                shown,
                where,
                "Map value must satisfy constraint: ["
                f"Member must have length less than or equal to {_INPUT_PATH_MAX}]",
            )
        )
    return errors


def _require_str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ValidationException(f"'{where}' must be a string, not {type(value).__name__}")
    return value


# --------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------


class _NotDelivered(Exception):
    """Raised while rendering when AWS would deliver nothing."""


def owed(
    target: Mapping[str, Any], event: Mapping[str, Any], ctx: Context
) -> tuple[bool, bytes | None]:
    """Whether ``target`` gets anything for ``event``, and what: ``None`` for
    the event itself (no Input, InputPath or InputTransformer), else the
    rendered body. AWS accepts targets whose input renders to nothing, and
    delivers them nothing."""
    if not any(key in target for key in ("Input", "InputPath", "InputTransformer")):
        return True, None
    body = render(target, event, ctx)
    return body is not None, body


def render(target: Mapping[str, Any], event: Mapping[str, Any], ctx: Context) -> bytes | None:
    """The body ``target`` receives for ``event``, or ``None`` when nothing is delivered.

    ``event`` is the full envelope, in envelope key order, with ``detail``
    parsed. The target is assumed to have passed :func:`validate_target_input`;
    an undefined placeholder is left in the output as literal text.
    """
    if _present(target, "Input"):
        return str(target["Input"]).encode()
    if _present(target, "InputPath"):
        selected = _compiled(target["InputPath"]).select(event)
        if selected is MISSING:
            return None
        return _dump(selected).encode()
    transformer = target.get("InputTransformer")
    if transformer is None:
        return _dump(event).encode()

    template: str = transformer["InputTemplate"]
    values = _variables(transformer.get("InputPathsMap") or {}, event, ctx)
    try:
        if template.lstrip().startswith("{"):
            body = _render_json_template(template, values)
        else:
            body = _render_string_template(template, values)
    except _NotDelivered:
        return None
    return body.encode()


def _variables(paths: Mapping[str, str], event: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """Every placeholder name the template may use, with its value or ``MISSING``."""
    values: dict[str, Any] = {name: _compiled(path).select(event) for name, path in paths.items()}
    values[RULE_ARN] = ctx.rule_arn
    values[RULE_NAME] = ctx.rule_name
    values[INGESTION_TIME] = ctx.ingestion_time
    values[EVENT] = {name: event[key] for name, key in _EVENT_VARIABLE_KEYS if key in event}
    values[EVENT_JSON] = event
    return values


def _render_string_template(template: str, values: Mapping[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        if value is MISSING:
            return ""
        if name in (EVENT, EVENT_JSON):
            return _dump(value)
        return _raw(value)

    return _PLACEHOLDER.sub(replace, template)


def _render_json_template(template: str, values: Mapping[str, Any]) -> str:
    out: list[str] = []
    in_string = False
    i, end = 0, len(template)
    while i < end:
        char = template[i]
        if in_string and char == "\\":
            out.append(template[i : i + 2])
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            match = _PLACEHOLDER.match(template, i)
            if match is not None and match.group(1) in values:
                value = values[match.group(1)]
                out.append(_in_string(value) if in_string else _as_json_value(value))
                i = match.end()
                continue
        out.append(char)
        i += 1
    text = "".join(out)
    try:
        _parse_strict(text)
    except ValueError:
        raise _NotDelivered from None
    return _minify(text)


def _as_json_value(value: Any) -> str:
    """A placeholder outside a JSON string: the value as JSON, ``""`` when missing."""
    return '""' if value is MISSING else _dump(value)


def _in_string(value: Any) -> str:
    """A placeholder inside a JSON string literal: the characters to splice in."""
    if value is MISSING:
        return ""
    if isinstance(value, (Mapping, list)):
        raise _NotDelivered
    if isinstance(value, str):
        return _dump(value)[1:-1]
    return _dump(value)


def _raw(value: Any) -> str:
    """A value as a string template shows it: no quotes anywhere, no spaces."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{key}:{_raw(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_raw(item) for item in value) + "]"
    return _dump(value)


def _dump(value: Any) -> str:
    """Compact JSON, keys in their order, non-ASCII as UTF-8."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _minify(text: str) -> str:
    """``text`` (valid JSON) without the whitespace outside string literals."""
    out: list[str] = []
    in_string = False
    i, end = 0, len(text)
    while i < end:
        char = text[i]
        if in_string:
            if char == "\\":
                out.append(text[i : i + 2])
                i += 2
                continue
            if char == '"':
                in_string = False
            out.append(char)
        elif char == '"':
            in_string = True
            out.append(char)
        elif char not in " \t\n\r":
            out.append(char)
        i += 1
    return "".join(out)
