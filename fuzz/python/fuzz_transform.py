"""Fuzz ``fastbridge.bus.transform``: PutTargets validation and delivery rendering (atheris).

Input: UTF-8 text (undecodable bytes as U+FFFD) split at NUL into
``kind \\0 a \\0 b \\0 event``:

- ``kind`` (its first character) picks the target's input configuration:
  ``T`` ``InputTransformer`` (``a`` the ``InputTemplate``, ``b`` the ``InputPathsMap`` as
  ``key \\x02 path`` entries separated by ``\\x01``), ``P`` ``InputPath`` = ``a``,
  ``I`` ``Input`` = ``a``, ``B`` both ``Input`` = ``a`` and ``InputPath`` = ``b``,
  ``N`` a transformer without ``InputTemplate`` (``InputPathsMap`` from ``b``),
  anything else no input configuration;
- ``event`` is parsed as the bus parses a ``Detail`` (``fastbridge.bus.events.loads``:
  orjson, then Python's json for integers beyond 64 bits); when that fails or gives no
  JSON object, a fixed recorded envelope is used, with the text as its ``detail.text``.
  (With plain ``json.loads`` lone surrogates such as ``"\\ud800"`` got through and made
  ``render`` raise ``UnicodeEncodeError``: bug 1 in the README, fixed in ``events.loads``.)

Checks:

- ``validate_target_input`` and ``validate_targets`` raise nothing but
  ``ValidationException`` / ``LimitExceededException`` and agree with each other;
- for a validated target, ``render`` never raises and returns ``None`` or ``bytes``;
- the body of a JSON template (first non-blank character ``{``), of an ``InputPath`` and
  of a target without input configuration, when not ``None``, is strict JSON (no NaN) as
  UTF-8; ``Input`` is delivered unchanged.

Run: ``python fuzz/python/fuzz_transform.py fuzz/python/corpus/transform -max_total_time=540``
(``--seeds DIR`` writes the seed corpus first; see fuzz/python/README.md).
"""

from __future__ import annotations

import json
import os

import atheris
import harness

with atheris.instrument_imports(include=["fastbridge.bus.transform"]):
    from fastbridge.bus.errors import LimitExceededException, ValidationException
    from fastbridge.bus.events import loads as bus_loads
    from fastbridge.bus.transform import (
        Context,
        render,
        validate_target_input,
        validate_targets,
    )

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RECORDED = os.path.join(os.path.dirname(ROOT), "shared", "conformance", "aws-recorded-bus.json")

CTX = Context(
    rule_arn="arn:aws:events:us-east-1:111111111111:rule/r",
    rule_name="r",
    event_bus_name="default",
    ingestion_time="2024-05-13T12:00:00Z",
)
DEFAULT_EVENT = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "core.update-account-command",
    "source": "core.update-account-command",
    "account": "111111111111",
    "time": "2024-05-13T12:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:111111111111:instance/i-1"],
    "detail": {"command": "update-account", "payload": {"acc_id": "0a7", "n": [1, 2.5, None]}},
}
ALLOWED = (ValidationException, LimitExceededException)


def _no_constant(name: str) -> None:
    raise ValueError(name)


def strict_json(body: bytes) -> None:
    json.loads(body.decode("utf-8"), parse_constant=_no_constant)


def build(text: str) -> tuple[dict, dict]:
    fields = text.split("\0")
    while len(fields) < 4:
        fields.append("")
    kind, a, b, event_text = fields[0][:1], fields[1], fields[2], "\0".join(fields[3:])
    target: dict = {"Id": "t1", "Arn": "arn:aws:sqs:us-east-1:111111111111:q"}
    paths = {}
    for entry in b.split("\x01"):
        key, _, path = entry.partition("\x02")
        if key or path:
            paths[key] = path
    if kind == "T":
        target["InputTransformer"] = {"InputTemplate": a}
        if b:
            target["InputTransformer"]["InputPathsMap"] = paths
    elif kind == "N":
        target["InputTransformer"] = {"InputPathsMap": paths}
    elif kind == "P":
        target["InputPath"] = a
    elif kind == "I":
        target["Input"] = a
    elif kind == "B":
        target["Input"], target["InputPath"] = a, b
    try:
        event = bus_loads(event_text)
    except (ValueError, RecursionError):
        event = None
    if not isinstance(event, dict):
        event = dict(DEFAULT_EVENT, detail={"text": event_text})
    return target, event


def outcome(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ALLOWED as e:
        assert isinstance(e.message, str) and e.message, repr(e)
        return type(e).__name__, e.message
    return None


def TestOneInput(data: bytes) -> None:
    target, event = build(data.decode("utf-8", "replace"))
    one = outcome(validate_target_input, target)
    whole = outcome(validate_targets, [target])
    assert one == whole, (target, one, whole)
    if one is not None:
        return
    body = render(target, event, CTX)
    assert body is None or isinstance(body, bytes), (target, body)
    if body is None:
        return
    if "Input" in target:
        assert body == target["Input"].encode(), (target, body)
    transformer = target.get("InputTransformer")
    if transformer is None or transformer["InputTemplate"].lstrip().startswith("{"):
        try:
            strict_json(body)
        except ValueError as e:
            raise AssertionError(f"not JSON ({e}): {body!r} from {target!r}") from None


def seeds() -> list[str]:
    """Targets and events of the recorded bus cases, in this target's input format."""
    found: list[str] = []
    cases = json.load(open(RECORDED, encoding="utf-8")) if os.path.exists(RECORDED) else []

    def paths_text(paths: dict) -> str:
        return "\x01".join(f"{k}\x02{v}" for k, v in (paths or {}).items())

    for case in cases:
        event = json.dumps(case.get("event") or DEFAULT_EVENT)
        if case["kind"] == "input_transformer":
            template = case["input_template"]
            found.append(f"T\0{template}\0{paths_text(case['input_paths_map'])}\0{event}")
        elif case["kind"] == "input_path":
            found.append(f"P\0{case['input_path']}\0\0{event}")
        elif case["kind"] == "input":
            found.append(f"I\0{case['input']}\0\0{event}")
        elif case["kind"] in ("put_targets_error", "put_targets_result"):
            for t in case["targets"]:
                tr = t.get("InputTransformer")
                if tr:
                    template = tr.get("InputTemplate", "")
                    paths = paths_text(tr.get("InputPathsMap", {}))
                    found.append(f"T\0{template}\0{paths}\0{event}")
                if t.get("InputPath"):
                    found.append(f"P\0{t['InputPath']}\0\0{event}")
    found += [
        'T\0{"a": <v>, "b": "x<v>y", "c": [<w>]}\0v\x02$.detail.text\x01w\x02$.detail.*\0"\\ud800"',
        "T\0<aws.events.event.json> <aws.events.event> <aws.events.rule-arn>\0\0{}",
        'T\0{"e": <aws.events.event>, "s": "<aws.events.event.ingestion-time>"}\0\0',
        'P\0$.detail.n[-1]\0\0{"detail": {"n": [1, 1e400, -0.0, 123456789012345678901234567890]}}',
        "P\0$[*].*\0\0[1]",
        "B\0{}\0$\0{}",
        "N\0\0k\x02$.a\0{}",
        'x\0\0\0{"a": "\\u0000\\ud83d\\ude00"}',
    ]
    return found


if __name__ == "__main__":
    harness.main(TestOneInput, seeds)
