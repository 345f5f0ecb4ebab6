"""Target input handling (``fastbridge.bus.transform``) against AWS's recordings.

Every case of kinds ``input_transformer``, ``input_path``, ``input``,
``put_targets_error`` and ``put_targets_result`` in
``shared/conformance/aws-recorded-bus.json`` runs as its own test; unit and
property tests below cover what the recordings do not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastbridge.bus.errors import BusError, LimitExceededException, ValidationException
from fastbridge.bus.transform import (
    MISSING,
    PREDEFINED_VARIABLES,
    Context,
    JsonPath,
    render,
    validate_target_input,
    validate_targets,
)

# tests/bus/test_transform.py -> parents[2] is the repo root (/work/main); the
# shared corpus sits next to it (/work/shared).
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "conformance"
BUS_CASES = CORPUS / "aws-recorded-bus.json"

KINDS = ("input_transformer", "input_path", "input", "put_targets_error", "put_targets_result")

CTX = Context(
    rule_arn="arn:aws:events:us-east-1:123456789012:rule/my-bus/my-rule",
    rule_name="my-rule",
    event_bus_name="my-bus",
    ingestion_time="2024-05-13T12:00:01Z",
)

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "Order Placed",
    "source": "com.example.shop",
    "account": "123456789012",
    "time": "2024-05-13T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::bucket"],
    "detail": {
        "id": "o-1",
        "total": 42,
        "ratio": 0.5,
        "big": 12345678901234567890,
        "negative": -3,
        "paid": True,
        "note": None,
        "quote": 'say "hi"\\ now\nplease',
        "unicode": "héllo ✓ 日本",
        "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}],
        "matrix": [[1, 2], [3], []],
        "tags": ["x", "y"],
        "empty": {},
        "dash-key": "dashed",
        "slash/key": "slashed",
    },
}


def _load_cases() -> list[dict[str, Any]]:
    if not BUS_CASES.exists():
        return []
    cases: list[dict[str, Any]] = json.loads(BUS_CASES.read_text())
    return [case for case in cases if case["kind"] in KINDS]


CASES = _load_cases()
needs_corpus = pytest.mark.skipif(not CASES, reason=f"AWS recordings not found at {BUS_CASES}")


def _cases(*kinds: str) -> list[Any]:
    return [pytest.param(case, id=case["id"]) for case in CASES if case["kind"] in kinds]


def transformer(template: str, paths: dict[str, str] | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"InputTemplate": template}
    if paths is not None:
        inner["InputPathsMap"] = paths
    return {"Id": "t1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "InputTransformer": inner}


def text(target: dict[str, Any], event: dict[str, Any] = EVENT, ctx: Context = CTX) -> str | None:
    """Validates ``target`` as PutTargets would, then renders ``event`` for it."""
    validate_targets([target])
    body = render(target, event, ctx)
    return None if body is None else body.decode()


def ordered(value: Any) -> Any:
    """A JSON value with every object as a list of pairs, so key order counts."""
    if isinstance(value, dict):
        return [[key, ordered(item)] for key, item in value.items()]
    if isinstance(value, list) and all(isinstance(item, tuple) for item in value):
        return [[key, ordered(item)] for key, item in value]
    if isinstance(value, list):
        return [ordered(item) for item in value]
    return value


def parse_ordered(body: str) -> Any:
    return ordered(json.loads(body, object_pairs_hook=list))


def assert_output(
    case: dict[str, Any], body: bytes | None, event: dict[str, Any], *, compact: bool = True
) -> None:
    match = case["output_match"]
    if match == "not_delivered":
        assert body is None
        return
    assert body is not None, "AWS delivered a body; render returned None"
    decoded = body.decode()
    if match == "exact":
        assert decoded == case["expected_output"]
    elif match == "json":
        expected = json.loads(
            json.dumps(case["expected_output"]).replace(
                '"<ingestion-time>"', json.dumps(event["time"])
            )
        )
        assert parse_ordered(decoded) == ordered(expected)
        if compact:  # a generated body is minified: re-emitting it changes nothing
            dumped = json.dumps(json.loads(decoded), ensure_ascii=False, separators=(",", ":"))
            assert decoded == dumped
    else:
        pytest.fail(f"unknown output_match {match!r}")


def case_context(case: dict[str, Any]) -> Context:
    if "context" not in case:
        return CTX
    c = case["context"]
    return Context(c["rule_arn"], c["rule_name"], c["event_bus_name"], c["ingestion_time"])


# --------------------------------------------------------------------------
# The AWS recordings
# --------------------------------------------------------------------------


def test_corpus_path_is_the_shared_folder_next_to_the_repo() -> None:
    repo = Path(__file__).resolve().parents[2]
    assert (repo / "pyproject.toml").exists()
    assert CORPUS == repo.parent / "shared" / "conformance"


@needs_corpus
def test_every_recorded_kind_is_present() -> None:
    counts = {kind: sum(case["kind"] == kind for case in CASES) for kind in KINDS}
    assert counts == {
        "input_transformer": 26,
        "input_path": 10,
        "input": 1,
        "put_targets_error": 5,
        "put_targets_result": 1,
    }


@needs_corpus
@pytest.mark.parametrize("case", _cases("input_transformer"))
def test_recorded_input_transformer(case: dict[str, Any]) -> None:
    target = transformer(case["input_template"], case["input_paths_map"])
    validate_targets([target])  # PutTargets accepted every one of them
    assert_output(case, render(target, case["event"], case_context(case)), case["event"])


@needs_corpus
@pytest.mark.parametrize("case", _cases("input_path"))
def test_recorded_input_path(case: dict[str, Any]) -> None:
    target = {"Id": "t1", "Arn": "arn:aws:sqs:us-east-1:1:q", "InputPath": case["input_path"]}
    validate_targets([target])
    assert_output(case, render(target, case["event"], CTX), case["event"])


@needs_corpus
@pytest.mark.parametrize("case", _cases("input"))
def test_recorded_constant_input(case: dict[str, Any]) -> None:
    (target,) = concrete_targets(case["targets"])
    assert target["Input"] == case["input"]
    validate_targets([target])
    # A constant Input is delivered as written (the recording kept only its value).
    body = render(target, case["event"], CTX)
    assert body == case["input"].encode()
    assert_output(case, body, case["event"], compact=False)


_TOKEN = re.compile(r"<([^<>]+)>")


def concrete(value: str) -> str:
    """The README's tokens (``<target-id>``) made into valid Id characters, consistently."""
    return _TOKEN.sub(lambda m: re.sub(r"[^A-Za-z0-9]", "", m.group(1)) or "x", value)


def concrete_targets(targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**target, "Id": concrete(target["Id"])} for target in targets]


@needs_corpus
@pytest.mark.parametrize("case", _cases("put_targets_error"))
def test_recorded_put_targets_error(case: dict[str, Any]) -> None:
    errors: dict[str, type[BusError]] = {
        "ValidationException": ValidationException,
        "LimitExceededException": LimitExceededException,
    }
    with pytest.raises(BusError) as caught:
        validate_targets(concrete_targets(case["targets"]))
    assert type(caught.value) is errors[case["error_code"]]
    assert caught.value.code == case["error_code"]
    assert caught.value.status == case["http_status"]
    assert caught.value.message == concrete(case["error_message"])


@needs_corpus
@pytest.mark.parametrize("case", _cases("put_targets_result"))
def test_recorded_put_targets_result(case: dict[str, Any]) -> None:
    assert case["accepted"] is True
    validate_targets(concrete_targets(case["targets"]))


# --------------------------------------------------------------------------
# Rendering beyond the recordings
# --------------------------------------------------------------------------


def test_no_input_configuration_delivers_the_event_compactly() -> None:
    target = {"Id": "t1", "Arn": "arn"}
    body = text(target)
    assert body == json.dumps(EVENT, ensure_ascii=False, separators=(",", ":"))
    assert list(json.loads(body)) == list(EVENT)


def test_input_is_delivered_verbatim() -> None:
    target = {"Id": "t1", "Arn": "arn", "Input": '{ "a" : 1,\n "b": [1, 2] }'}
    assert text(target) == '{ "a" : 1,\n "b": [1, 2] }'


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", json.dumps(EVENT, ensure_ascii=False, separators=(",", ":"))),
        ("$.detail.total", "42"),
        ("$.detail.ratio", "0.5"),
        ("$.detail.big", "12345678901234567890"),
        ("$.detail.paid", "true"),
        ("$.detail.note", "null"),
        ("$.detail.unicode", '"héllo ✓ 日本"'),
        ("$.detail.quote", '"say \\"hi\\"\\\\ now\\nplease"'),
        ("$.detail.items[1]", '{"sku":"b","qty":2}'),
        ("$.detail.items[-1].sku", '"b"'),
        ("$.detail.items[*].sku", '["a","b"]'),
        ("$.detail.matrix", "[[1,2],[3],[]]"),
        ("$.detail.matrix[0][1]", "2"),
        ("$.detail.tags.*", '["x","y"]'),
        ("$.detail.empty", "{}"),
        ("$.detail.empty.*", "[]"),
        ("$.detail.dash-key", '"dashed"'),
        ("$.detail.slash/key", '"slashed"'),
        ("$.resources[0]", '"arn:aws:s3:::bucket"'),
    ],
)
def test_input_path_selects(path: str, expected: str) -> None:
    assert text({"Id": "t1", "Arn": "arn", "InputPath": path}) == expected


@pytest.mark.parametrize("path", ["$.detail.nope", "$.detail.items[5]", "$.detail.total.x"])
def test_input_path_that_selects_nothing_delivers_nothing(path: str) -> None:
    assert text({"Id": "t1", "Arn": "arn", "InputPath": path}) is None


PATHS = {
    "total": "$.detail.total",
    "ratio": "$.detail.ratio",
    "big": "$.detail.big",
    "neg": "$.detail.negative",
    "paid": "$.detail.paid",
    "note": "$.detail.note",
    "quote": "$.detail.quote",
    "uni": "$.detail.unicode",
    "items": "$.detail.items",
    "matrix": "$.detail.matrix",
    "tags": "$.detail.tags",
    "skus": "$.detail.items[*].sku",
    "first": "$.detail.items[0].sku",
    "missing": "$.detail.missing",
    "id": "$.detail.id",
}


def test_json_template_unquoted_values_keep_their_json_types() -> None:
    template = (
        '{"t": <total>, "r": <ratio>, "b": <big>, "n": <neg>, "p": <paid>, "z": <note>,'
        ' "m": <matrix>, "s": <skus>, "x": <missing>, "i": <items>}'
    )
    body = text(transformer(template, PATHS))
    assert body == (
        '{"t":42,"r":0.5,"b":12345678901234567890,"n":-3,"p":true,"z":null,'
        '"m":[[1,2],[3],[]],"s":["a","b"],"x":"","i":[{"sku":"a","qty":1},{"sku":"b","qty":2}]}'
    )


def test_json_template_quoted_scalars_are_spliced_into_the_string() -> None:
    template = '{"a": "n=<total> r=<ratio> p=<paid> z=<note> m=<missing>!", "id": "<id>"}'
    assert text(transformer(template, PATHS)) == '{"a":"n=42 r=0.5 p=true z=null m=!","id":"o-1"}'


def test_json_template_escapes_quotes_backslashes_and_newlines_in_strings() -> None:
    body = text(transformer('{"q": <quote>, "in": "<<quote>>"}', PATHS))
    assert body is not None
    value = json.loads(body)
    assert value == {"q": EVENT["detail"]["quote"], "in": "<" + EVENT["detail"]["quote"] + ">"}


def test_json_template_keeps_unicode_as_utf8() -> None:
    body = render(transformer('{"u": <uni>, "v": "«<uni>»"}', PATHS), EVENT, CTX)
    assert body == '{"u":"héllo ✓ 日本","v":"«héllo ✓ 日本»"}'.encode()


def test_json_template_over_many_lines_is_minified() -> None:
    template = '{\n  "id" : <id>,\n\t"text": "keep  these   spaces\\n",\r\n  "list": [ 1 ,2 ]\n}\n'
    assert (
        text(transformer(template, PATHS))
        == '{"id":"o-1","text":"keep  these   spaces\\n","list":[1,2]}'
    )


def test_json_template_escaped_quote_does_not_end_the_string() -> None:
    template = '{"a": "say \\"<id>\\" and <total>", "b": <id>}'
    assert text(transformer(template, PATHS)) == '{"a":"say \\"o-1\\" and 42","b":"o-1"}'


def test_json_template_placeholders_next_to_each_other_and_to_text() -> None:
    template = '{"a": "<id><id>-<total><first>", "b": [<id>,<total>], "c": "x<missing>y"}'
    assert text(transformer(template, PATHS)) == '{"a":"o-1o-1-42a","b":["o-1",42],"c":"xy"}'


def test_substituted_text_is_not_scanned_again() -> None:
    event = {**EVENT, "detail": {"a": "<b>", "b": "no"}}
    paths = {"a": "$.detail.a", "b": "$.detail.b"}
    assert text(transformer('{"x": <a>, "y": "<a>"}', paths), event) == '{"x":"<b>","y":"<b>"}'
    assert text(transformer('"<a><b>"', paths), event) == '"<b>no"'


def test_json_template_literal_angle_brackets_are_text() -> None:
    template = '{"a": "1 < 2 and <not a placeholder> </p>", "b": <id>}'
    assert (
        text(transformer(template, PATHS)) == '{"a":"1 < 2 and <not a placeholder> </p>","b":"o-1"}'
    )


@pytest.mark.parametrize(
    "template",
    [
        '{"a": "<items>"}',
        '{"a": "tags: <tags>"}',
        '{"a": "<skus>"}',
        '{"a": "<aws.events.event>"}',
        '{"a": "<aws.events.event.json>"}',
    ],
)
def test_json_template_object_or_list_inside_a_string_delivers_nothing(template: str) -> None:
    assert text(transformer(template, PATHS)) is None


def test_json_template_that_is_not_json_after_substitution_delivers_nothing() -> None:
    assert text(transformer('{"a": <id>, }', PATHS)) is None
    assert text(transformer('{"a": <id>', PATHS)) is None
    assert text(transformer('{"a": <id> <id>}', PATHS)) is None


def test_json_template_placeholder_as_object_key_renders_a_quoted_key() -> None:
    # AWS documents that a placeholder cannot be an object key; it is not rejected
    # at PutTargets here, and a string value simply makes a quoted key.
    assert text(transformer("{<id>: 1}", PATHS)) == '{"o-1":1}'


def test_string_template_inserts_raw_values() -> None:
    template = '"<id>|<total>|<ratio>|<paid>|<note>|<missing>|<items>|<matrix>|<skus>|<quote>"'
    assert text(transformer(template, PATHS)) == (
        '"o-1|42|0.5|true|null||[{sku:a,qty:1},{sku:b,qty:2}]|[[1,2],[3],[]]|[a,b]|'
        + EVENT["detail"]["quote"]
        + '"'
    )


def test_string_template_keeps_lines_and_unicode() -> None:
    # The shape of the multi-line recording the README describes (each line's
    # placeholders substituted, newlines kept).
    paths = {
        "listsingle": "$.detail.tags[0]",
        "listmulti": "$.detail.tags",
        "u": "$.detail.unicode",
    }
    template = '"<listsingle> single list item"\n"<listmulti> multiple list items <u>"'
    assert text(transformer(template, paths)) == (
        '"x single list item"\n"[x,y] multiple list items héllo ✓ 日本"'
    )


def test_unquoted_string_template_is_plain_text() -> None:
    paths = {"instance": "$.detail.id", "state": "$.detail.paid"}
    template = "<instance> is in state <state>"
    assert text(transformer(template, paths)) == "o-1 is in state true"


def test_predefined_variables() -> None:
    template = (
        '{"arn": <aws.events.rule-arn>, "name": "rule <aws.events.rule-name>",'
        ' "at": <aws.events.event.ingestion-time>, "event": <aws.events.event>,'
        ' "json": <aws.events.event.json>}'
    )
    body = text(transformer(template))
    assert body is not None
    value = json.loads(body)
    assert value["arn"] == CTX.rule_arn
    assert value["name"] == "rule my-rule"
    assert value["at"] == CTX.ingestion_time
    assert list(value["event"]) == [
        "id",
        "account",
        "detailType",
        "time",
        "source",
        "region",
        "resources",
        "version",
    ]
    assert value["event"]["detailType"] == "Order Placed"
    assert value["event"]["time"] == EVENT["time"]
    assert value["json"] == EVENT and list(value["json"]) == list(EVENT)


def test_predefined_event_in_a_string_template_is_json_text() -> None:
    body = text(transformer('"event: <aws.events.event>"'))
    assert body is not None
    assert body.startswith('"event: {"id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","account":')
    assert body.endswith('"version":"0"}"')


def test_input_paths_map_can_not_shadow_a_predefined_variable() -> None:
    with pytest.raises(ValidationException, match="Map keys must satisfy constraint"):
        validate_targets([transformer("<aws.events.rule-name>", {"aws.events.rule-name": "$.id"})])


# --------------------------------------------------------------------------
# Validation beyond the recordings
# --------------------------------------------------------------------------


def error_of(target: dict[str, Any]) -> str:
    with pytest.raises(ValidationException) as caught:
        validate_targets([target])
    return caught.value.message


@pytest.mark.parametrize(
    "keys",
    [
        ("Input", "InputPath"),
        ("Input", "InputTransformer"),
        ("Input", "InputPath", "InputTransformer"),
    ],
)
def test_only_one_input_kind(keys: tuple[str, ...]) -> None:
    values = {"Input": "{}", "InputPath": "$.detail", "InputTransformer": {"InputTemplate": '"x"'}}
    target = {"Id": "t-1", "Arn": "arn", **{key: values[key] for key in keys}}
    assert error_of(target) == (
        "Only one of Input, InputPath, or InputTransformer must be provided for target t-1."
    )


@pytest.mark.parametrize("value", ["", "{", "not json", "{'a': 1}", "NaN", "[1,]"])
def test_input_must_be_json_text(value: str) -> None:
    target = {"Id": "t-1", "Arn": "arn", "Input": value}
    assert error_of(target) == "Input for target t-1 is not a valid JSON text."


@pytest.mark.parametrize("value", ['"text"', "42", "[1, 2]", "null", ' { "a" : 1 } '])
def test_input_may_be_any_json_text(value: str) -> None:
    validate_targets([{"Id": "t-1", "Arn": "arn", "Input": value}])


BAD_PATHS = [
    "",
    "detail",
    "$.",
    "$..detail",
    "$.detail.",
    "$['detail']",
    '$.detail["a"]',
    "$.detail[a]",
    "$.detail[0:2]",
    "$.detail[?(@.a)]",
    "$.de tail",
    "$.detail[0",
    "$detail",
]


@pytest.mark.parametrize("path", BAD_PATHS)
def test_invalid_input_path(path: str) -> None:
    target = {"Id": "t-1", "Arn": "arn", "InputPath": path}
    assert error_of(target) == "InputPath for target t-1 is invalid."


@pytest.mark.parametrize("path", BAD_PATHS)
def test_invalid_input_paths_map_value(path: str) -> None:
    target = transformer("<a>", {"a": path})
    assert error_of(target) == "InputPath for target t1 is invalid."


@pytest.mark.parametrize(
    "path",
    [
        "$",
        "$.detail",
        "$.detail-type",
        "$.detail.a_b-c/d",
        "$.a[0]",
        "$.a[-1]",
        "$.a[*].b",
        "$.*",
        "$.a.*.b",
        "$[0]",
    ],
)
def test_valid_paths(path: str) -> None:
    JsonPath.parse(path)
    validate_targets([{"Id": "t-1", "Arn": "arn", "InputPath": path}])
    validate_targets([transformer("<a>", {"a": path})])


def test_undefined_placeholder_is_reported_first_in_template_order() -> None:
    target = transformer('"<b> <a> <c>"', {"a": "$.a"})
    assert error_of(target) == "InputTemplate for target t1 contains invalid placeholder b."


def test_all_predefined_variables_need_no_paths() -> None:
    template = " ".join(f"<{name}>" for name in sorted(PREDEFINED_VARIABLES))
    validate_targets([transformer(f'"{template}"')])
    assert PREDEFINED_VARIABLES == {
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event",
        "aws.events.event.json",
        "aws.events.event.ingestion-time",
    }


def test_bus_name_is_not_a_predefined_variable() -> None:
    target = transformer('"<aws.events.event-bus-name>"')
    assert error_of(target) == (
        "InputTemplate for target t1 contains invalid placeholder aws.events.event-bus-name."
    )


def test_input_paths_map_limits() -> None:
    paths = {f"k{i}": "$.a" for i in range(101)}
    assert error_of(transformer("<k0>", paths)).endswith(
        "failed to satisfy constraint: Member must have length less than or equal to 100"
    )
    validate_targets([transformer("<k0>", dict(list(paths.items())[:100]))])


@pytest.mark.parametrize("key", ["a.b", "aws.x", "", "a b", "k" * 257, "é"])
def test_input_paths_map_key_pattern(key: str) -> None:
    message = error_of(transformer('"x"', {key: "$.a"}))
    assert message == (
        "1 validation error detected: Value '{"
        + key
        + "=$.a}' at 'targets.1.member.inputTransformer.inputPathsMap' failed to satisfy "
        "constraint: Map keys must satisfy constraint: [Member must have length less than or "
        "equal to 256, Member must have length greater than or equal to 1, Member must satisfy "
        "regular expression pattern: [A-Za-z0-9\\_\\-]+]"
    )


def test_input_template_length_and_presence() -> None:
    assert error_of(transformer("")) == (
        "1 validation error detected: Value '' at 'targets.1.member.inputTransformer.inputTemplate'"
        " failed to satisfy constraint: Member must have length greater than or equal to 1"
    )
    assert error_of(transformer("x" * 8193)).endswith(
        "Member must have length less than or equal to 8192"
    )
    validate_targets([transformer('"' + "x" * 8190 + '"')])
    target = {"Id": "t1", "Arn": "arn", "InputTransformer": {"InputPathsMap": {}}}
    assert error_of(target) == (
        "1 validation error detected: Value null at "
        "'targets.1.member.inputTransformer.inputTemplate' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_input_and_input_path_lengths() -> None:
    long_input = json.dumps("x" * 8191)
    assert error_of({"Id": "t", "Arn": "a", "Input": long_input}).endswith(
        "Member must have length less than or equal to 8192"
    )
    long_path = "$." + "a" * 255
    assert "at 'targets.1.member.inputPath'" in error_of(
        {"Id": "t", "Arn": "a", "InputPath": long_path}
    )


def test_several_constraint_errors_are_reported_together() -> None:
    targets = [{"Id": "", "Arn": "arn"}, {"Id": "ok", "Arn": "arn"}, {"Id": "x" * 65}]
    with pytest.raises(ValidationException) as caught:
        validate_targets(targets)
    assert caught.value.message == (
        "4 validation errors detected: "
        "Value '' at 'targets.1.member.id' failed to satisfy constraint: "
        "Member must have length greater than or equal to 1; "
        "Value '' at 'targets.1.member.id' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+; "
        f"Value '{'x' * 65}' at 'targets.3.member.id' failed to satisfy constraint: "
        "Member must have length less than or equal to 64; "
        "Value null at 'targets.3.member.arn' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_empty_target_list() -> None:
    with pytest.raises(ValidationException, match="Value '\\[\\]' at 'targets'"):
        validate_targets([])


def test_target_limit_counts_existing_targets() -> None:
    five = [{"Id": f"t{i}", "Arn": "arn"} for i in range(5)]
    validate_targets(five)
    validate_targets(five, existing_ids=["t0", "t1"])  # replaces, adds nothing
    with pytest.raises(LimitExceededException) as caught:
        validate_targets(five, existing_ids=["other"])
    assert caught.value.message == "The requested resource exceeds the maximum number allowed."


def test_model_constraints_come_before_the_target_limit() -> None:
    seven = [{"Id": f"t{i}", "Arn": "arn"} for i in range(6)] + [{"Id": "!", "Arn": "arn"}]
    with pytest.raises(ValidationException):
        validate_targets(seven)


def test_validate_target_input_alone_uses_the_given_index() -> None:
    with pytest.raises(
        ValidationException, match="'targets.3.member.inputTransformer.inputTemplate'"
    ):
        validate_target_input({"Id": "t", "Arn": "a", "InputTransformer": {}}, index=3)


def test_wrong_types_are_validation_errors() -> None:
    with pytest.raises(ValidationException):
        validate_targets([{"Id": "t", "Arn": "a", "Input": {"a": 1}}])
    with pytest.raises(ValidationException):
        validate_targets([transformer("<a>", {"a": 1})])  # type: ignore[dict-item]
    with pytest.raises(ValidationException):
        validate_targets([{"Id": 5, "Arn": "a"}])


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------

KEYS = st.text(alphabet="abcxyzAZ09_-/", min_size=1, max_size=6)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


@st.composite
def event_and_paths(draw: st.DrawFn) -> tuple[dict[str, Any], list[str]]:
    detail = draw(st.dictionaries(KEYS, VALUES, max_size=5))
    event = {**{key: value for key, value in EVENT.items() if key != "detail"}, "detail": detail}
    paths: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        path: str = "$"
        node: Any = event
        for _ in range(draw(st.integers(min_value=0, max_value=4))):
            choice = draw(st.integers(min_value=0, max_value=9))
            if isinstance(node, dict) and node and choice < 7:
                key = draw(st.sampled_from(sorted(node)))
                path, node = f"{path}.{key}", node[key]
            elif isinstance(node, list) and node and choice < 7:
                index = draw(st.integers(min_value=-len(node), max_value=len(node) - 1))
                path, node = f"{path}[{index}]", node[index]
            elif choice < 8:
                path, node = f"{path}[*]", None
            elif choice < 9:
                path, node = f"{path}.*", None
            else:
                path, node = f"{path}.{draw(KEYS)}", None
        paths.append(path)
    return event, paths


@settings(max_examples=300, deadline=None)
@given(event_and_paths(), st.sampled_from([", ", ",", ",\n  "]))
def test_json_templates_with_unquoted_placeholders_are_valid_json(
    case: tuple[dict[str, Any], list[str]], separator: str
) -> None:
    event, paths = case
    names = {f"v{i}": path for i, path in enumerate(paths)}
    fields = [f'"{name}": <{name}>' for name in names]
    fields += ['"rule": <aws.events.rule-name>', '"event": <aws.events.event>']
    template = "{" + separator.join(fields) + "}"
    target = transformer(template, names)
    validate_targets([target])
    body = render(target, event, CTX)
    assert body is not None
    value = json.loads(body)
    for name, path in names.items():
        selected = JsonPath.parse(path).select(event)
        expected = "" if selected is MISSING else selected
        assert value[name] == expected


@settings(max_examples=200, deadline=None)
@given(event_and_paths())
def test_json_templates_with_quoted_scalar_placeholders_are_valid_json(
    case: tuple[dict[str, Any], list[str]],
) -> None:
    event, paths = case
    names = {f"v{i}": path for i, path in enumerate(paths)}
    template = "{" + ", ".join(f'"{name}": "[<{name}>]"' for name in names) + "}"
    target = transformer(template, names)
    body = render(target, event, CTX)
    selected = [JsonPath.parse(path).select(event) for path in paths]
    if any(isinstance(value, (dict, list)) for value in selected):
        assert body is None
    else:
        assert body is not None
        json.loads(body)
