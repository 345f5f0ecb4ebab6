"""The ``fastbridge`` command line (``fastbridge.cli``)."""

from __future__ import annotations

import io
import json
import os
import select
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import fastbridge
from fastbridge import cli
from fastbridge.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RULES = EXAMPLES / "rules.json"
EVENTS = EXAMPLES / "events.jsonl"

EC2_STOPPED = {
    "source": "aws.ec2",
    "detail-type": "EC2 Instance State-change Notification",
    "detail": {"state": "stopped"},
}


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """Runs the CLI in-process: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def example_machine() -> fastbridge.Machine:
    machine = fastbridge.Machine()
    machine.add_rules(json.loads(RULES.read_text()))
    return machine


def example_events() -> list[tuple[int, bytes]]:
    """(line number, event) for every non-blank line of the example events."""
    lines = EVENTS.read_bytes().split(b"\n")
    return [(i, line) for i, line in enumerate(lines, 1) if line.strip()]


def expected_records() -> list[dict[str, Any]]:
    """What ``match`` should print for the examples, computed through the API."""
    machine = example_machine()
    return [{"line": n, "rules": machine.rules_for_event(event)} for n, event in example_events()]


def write_rules(tmp_path: Path, rules: dict[str, Any] | str) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(rules if isinstance(rules, str) else json.dumps(rules))
    return path


def write_events(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------
# The shipped examples
# --------------------------------------------------------------------------


def test_examples_are_valid_json_lines() -> None:
    rules = json.loads(RULES.read_text())
    assert isinstance(rules, dict) and 12 <= len(rules) <= 20
    events = example_events()
    assert len(events) >= 35
    for n, line in events:
        event = json.loads(line)
        missing = {"version", "id", "detail-type", "source", "account", "time", "region"} - set(
            event
        )
        assert not missing, f"line {n} lacks {missing}"
        assert isinstance(event["resources"], list) and isinstance(event["detail"], dict)


def test_match_examples_agrees_with_machine(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "match", "--rules", RULES, EVENTS)
    assert (code, err) == (0, "")
    records = json_lines(out)
    assert records == expected_records()
    assert [r["line"] for r in records] == list(range(1, len(example_events()) + 1))


def test_examples_exercise_every_rule() -> None:
    records = expected_records()
    matched = {name for r in records for name in r["rules"]}
    assert matched == set(json.loads(RULES.read_text()))
    assert any(not r["rules"] for r in records), "some events should match nothing"


def _find_line(predicate: Callable[[dict[str, Any]], bool]) -> int:
    hits = [n for n, line in example_events() if predicate(json.loads(line))]
    assert len(hits) == 1, f"expected one event, found lines {hits}"
    return hits[0]


def _detail(event: dict[str, Any], *path: str) -> Any:
    value: Any = event["detail"]
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


# Hand-checked outcomes, each event picked out by its content.
HAND_CHECKED: list[tuple[str, Callable[[dict[str, Any]], bool], list[str]]] = [
    (
        "ec2 stopped",
        lambda e: e["source"] == "aws.ec2" and _detail(e, "state") == "stopped",
        ["ec2-instance-stopped"],
    ),
    (
        "ec2 pending",
        lambda e: e["source"] == "aws.ec2" and _detail(e, "state") == "pending",
        [],
    ),
    (
        "suffix is case-sensitive",
        lambda e: _detail(e, "object", "key") == "products/shoe-123.PNG",
        [],
    ),
    (
        "image uploaded under incoming/",
        lambda e: _detail(e, "object", "key") == "incoming/raw/upload-77.png",
        ["s3-uploads-to-images-bucket", "s3-uploads-to-incoming-prefix"],
    ),
    (
        "delete in an excluded bucket",
        lambda e: (
            e["detail-type"] == "Object Deleted" and _detail(e, "bucket", "name") == "acme-tmp"
        ),
        [],
    ),
    (
        "total 1000.0 is >= 1000",
        lambda e: _detail(e, "orderId") == "ord-5004",
        ["large-orders"],
    ),
    (
        "a string total is not a number",
        lambda e: _detail(e, "total") == "2500",
        ["guest-checkout-orders"],
    ),
    (
        "array consistency: no single back-ordered electronics item",
        lambda e: _detail(e, "orderId") == "ord-5006",
        [],
    ),
    (
        "array consistency: one back-ordered electronics item",
        lambda e: _detail(e, "orderId") == "ord-5007",
        ["backordered-electronics"],
    ),
    (
        "guest EU order with coupon",
        lambda e: _detail(e, "orderId") == "ord-5008",
        ["guest-checkout-orders", "mid-size-eu-orders", "orders-with-coupon"],
    ),
    (
        "a null customerId exists",
        lambda e: (
            e["source"] == "com.acme.orders"
            and "customerId" in e["detail"]
            and _detail(e, "customerId") is None
        ),
        [],
    ),
    (
        "equals-ignore-case + wildcard",
        lambda e: _detail(e, "merchantId") == "merchant-42-sandbox",
        ["failed-payments", "sandbox-merchant-payments"],
    ),
    (
        "IPv6 cidr",
        lambda e: _detail(e, "sourceIPAddress") == "2001:db8:ac:12::5",
        ["console-logins-from-office"],
    ),
    (
        "failed root sign-in from outside",
        lambda e: e["source"] == "aws.signin" and _detail(e, "userIdentity", "type") == "Root",
        ["console-logins-outside-office", "failed-console-logins", "root-account-activity"],
    ),
    (
        "wildcard must match from the start",
        lambda e: _detail(e, "eventName") == "ListAttachedRolePolicies",
        [],
    ),
    (
        "low GuardDuty severity",
        lambda e: e["source"] == "aws.guardduty" and _detail(e, "severity") == 2,
        [],
    ),
    (
        "$or branch over an array of findings",
        lambda e: (
            e["source"] == "aws.securityhub"
            and any(f["Severity"]["Label"] == "CRITICAL" for f in e["detail"]["findings"])
        ),
        ["security-alerts"],
    ),
]


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [(p, e) for _, p, e in HAND_CHECKED],
    ids=[name for name, _, _ in HAND_CHECKED],
)
def test_match_examples_hand_checked(
    capsys: pytest.CaptureFixture[str],
    predicate: Callable[[dict[str, Any]], bool],
    expected: list[str],
) -> None:
    line = _find_line(predicate)
    code, out, _ = run(capsys, "match", "--rules", RULES, EVENTS)
    assert code == 0
    by_line = {r["line"]: r["rules"] for r in json_lines(out)}
    assert by_line[line] == expected


def test_count_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "match", "--rules", RULES, EVENTS, "--count")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 1
    summary = json.loads(out)
    records = expected_records()
    per_rule = dict.fromkeys(json.loads(RULES.read_text()), 0)
    for r in records:
        for name in r["rules"]:
            per_rule[name] += 1
    assert summary == {
        "events": len(records),
        "matched": sum(1 for r in records if r["rules"]),
        "errors": 0,
        "per_rule": per_rule,
    }
    assert summary["events"] == 43 and summary["matched"] == 26


def test_examples_readme_shows_the_real_count_output(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "match", "--rules", RULES, EVENTS, "--count")
    readme = (EXAMPLES / "README.md").read_text()
    assert "fastbridge match --rules examples/rules.json examples/events.jsonl --count" in readme
    assert out.strip() in readme.splitlines()


def test_only_matching(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "match", "--rules", RULES, EVENTS, "--only-matching")
    assert code == 0
    records = json_lines(out)
    assert records == [r for r in expected_records() if r["rules"]]
    assert len(records) < len(example_events())


def test_validate_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "validate", RULES)
    assert (code, out, err) == (0, f"ok: {len(json.loads(RULES.read_text()))} rules\n", "")


# --------------------------------------------------------------------------
# match: input handling
# --------------------------------------------------------------------------


def test_match_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(EVENTS.read_bytes())))
    code, out, _ = run(capsys, "match", "--rules", RULES, "-")
    assert code == 0
    assert json_lines(out) == expected_records()


BAD_LINES = b"".join(
    [
        json.dumps(EC2_STOPPED).encode() + b"\n",  # 1
        b"\n",  # 2: blank, skipped
        b"   \t \n",  # 3: blank, skipped
        b"{not json\n",  # 4
        b"[1, 2]\n",  # 5: not an object
        b'{"detail": "\xff"}\n',  # 6: not UTF-8
        b'{"source": "aws.ec2"}\r\n',  # 7: CRLF
        json.dumps({**EC2_STOPPED, "detail": {"state": "running"}}).encode() + b"\n",  # 8
        b'{"a": 1',  # 9: truncated, no final newline
    ]
)


@pytest.mark.parametrize("batch_size", ["1", "2", "3", "4096"])
def test_match_bad_event_lines(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, batch_size: str
) -> None:
    events = write_events(tmp_path, BAD_LINES)
    code, out, err = run(capsys, "match", "--rules", RULES, events, "--batch-size", batch_size)
    assert code == 1
    assert err == ""
    records = json_lines(out)
    assert [r["line"] for r in records] == [1, 4, 5, 6, 7, 8, 9]
    by_line = {r["line"]: r for r in records}
    assert by_line[1] == {"line": 1, "rules": ["ec2-instance-stopped"]}
    assert by_line[7] == {"line": 7, "rules": []}
    assert by_line[8] == {"line": 8, "rules": []}
    for n in (4, 5, 6, 9):
        assert set(by_line[n]) == {"line", "error"}
    assert "not a JSON object" in by_line[5]["error"]
    assert "UTF-8" in by_line[6]["error"]
    # The messages are the engine's own.
    with pytest.raises(fastbridge.InvalidEventError) as info:
        fastbridge.Machine().rules_for_event(b"{not json")
    assert by_line[4]["error"] == str(info.value)


def test_match_bad_event_lines_count(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    events = write_events(tmp_path, BAD_LINES)
    code, out, err = run(capsys, "match", "--rules", RULES, events, "--count")
    assert code == 1
    summary = json.loads(out)
    assert summary["events"] == 7
    assert summary["matched"] == 1
    assert summary["errors"] == 4
    assert summary["per_rule"]["ec2-instance-stopped"] == 1
    assert sum(summary["per_rule"].values()) == 1
    # Errors still reported, on stderr, so stdout stays one JSON document.
    assert [json.loads(line)["line"] for line in err.splitlines()] == [4, 5, 6, 9]


def test_match_only_matching_keeps_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    events = write_events(tmp_path, BAD_LINES)
    code, out, _ = run(capsys, "match", "--rules", RULES, events, "--only-matching")
    assert code == 1
    assert [(r["line"], "error" in r) for r in json_lines(out)] == [
        (1, False),
        (4, True),
        (5, True),
        (6, True),
        (9, True),
    ]


@pytest.mark.parametrize("batch_size", ["1", "5", "64", "4096"])
def test_match_many_bad_lines_agrees_with_single_event_calls(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, batch_size: str
) -> None:
    good = [line for _, line in example_events()]
    bad = [b"{", b"[]", b'{"a": tru}', b'"x"', b"\xc3(", b'{"a": 1}}']
    lines = []
    for i in range(600):
        # Runs of good lines of varying length between bad ones, and some bad runs.
        lines.append(
            bad[i % len(bad)] if (i * 7) % 11 in (0, 3) or 200 <= i < 230 else good[i % 43]
        )
    events = write_events(tmp_path, b"\n".join(lines) + b"\n")
    code, out, _ = run(capsys, "match", "--rules", RULES, events, "--batch-size", batch_size)
    assert code == 1

    machine = example_machine()
    expected: list[dict[str, Any]] = []
    for n, line in enumerate(lines, 1):
        try:
            expected.append({"line": n, "rules": machine.rules_for_event(line)})
        except fastbridge.InvalidEventError as e:
            expected.append({"line": n, "error": str(e)})
    assert json_lines(out) == expected
    assert sum("error" in r for r in expected) > 100


class CountingMachine:
    """A Machine that counts how many events reach ``rules_for_events``."""

    def __init__(self, machine: fastbridge.Machine) -> None:
        self.machine = machine
        self.events_seen = 0
        self.calls = 0

    def rules_for_events(self, events: list[bytes], **kwargs: Any) -> list[Any]:
        self.calls += 1
        self.events_seen += len(events)
        return self.machine.rules_for_events(events, **kwargs)

    def rules_for_event(self, event: bytes) -> list[str]:
        self.calls += 1
        self.events_seen += 1
        return self.machine.rules_for_event(event)


@pytest.mark.parametrize("every", [2, 3, 50, 1000])
def test_match_events_work_stays_linear_with_many_bad_lines(every: int) -> None:
    # Bad lines must not make a batch be matched again: one call, each event once.
    good = json.dumps(EC2_STOPPED).encode()
    events = [b"{" if i % every == 0 else good for i in range(4096)]
    counting = CountingMachine(example_machine())
    results = cli.match_events(counting, events)  # type: ignore[arg-type]
    with pytest.raises(fastbridge.InvalidEventError) as info:
        counting.machine.rules_for_event(b"{")
    assert results == [
        str(info.value) if i % every == 0 else ["ec2-instance-stopped"] for i in range(4096)
    ]
    assert counting.calls == 1
    assert counting.events_seen == len(events), counting.events_seen


def test_match_oversized_line_is_an_error_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    limit = fastbridge.Machine().config()["max_event_bytes"]
    huge = b'{"a": "' + b"x" * (2 * limit) + b'"}'
    data = (
        json.dumps(EC2_STOPPED).encode() + b"\n" + huge + b"\n" + json.dumps(EC2_STOPPED).encode()
    )
    events = write_events(tmp_path, data)
    code, out, _ = run(capsys, "match", "--rules", RULES, events)
    assert code == 1
    records = json_lines(out)
    assert records[0] == {"line": 1, "rules": ["ec2-instance-stopped"]}
    assert records[1]["line"] == 2
    assert records[1]["error"] == f"event is {len(huge)} bytes, more than the limit of {limit}"
    assert records[2] == {"line": 3, "rules": ["ec2-instance-stopped"]}


def test_match_skips_a_utf8_bom(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = json.dumps(EC2_STOPPED).encode()
    events = write_events(tmp_path, b"\xef\xbb\xbf" + line + b"\n\xef\xbb\xbf" + line + b"\n")
    code, out, _ = run(capsys, "match", "--rules", RULES, events)
    assert code == 1  # a BOM is only skipped at the start of the file
    records = json_lines(out)
    assert records[0] == {"line": 1, "rules": ["ec2-instance-stopped"]}
    assert records[1]["line"] == 2 and "error" in records[1]


def test_match_missing_events_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "match", "--rules", RULES, tmp_path / "nope.jsonl")
    assert code == 2
    assert out == ""
    assert "nope.jsonl" in err


# --------------------------------------------------------------------------
# Rules files
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "needles"),
    [
        (
            {"fine": {"a": ["x"]}, "broken-rule": {"a": "x"}},
            ['"broken-rule"', 'Reason: "a" must be an object or an array'],
        ),
        ({"not-an-object": ["a"]}, ['"not-an-object"', "Filter is not an object"]),
        (
            {"bad-numeric": {"n": [{"numeric": [">", 5, "<", 1]}]}},
            ['"bad-numeric"', "Bottom must be less than top"],
        ),
        # Numbers reach the engine as written, not rounded by Python's json.
        ('{"huge": {"n": [1e400]}}', ['"huge"', "Cannot compare number : 1e400"]),
        (
            '{"too-precise": {"n": [1.00000000000000000001]}}',
            ['"too-precise"', "Cannot compare number : 1.00000000000000000001"],
        ),
        ('{"dup": {"a": [1]}, "dup": {"b": [2]}}', ['"dup"', "more than once"]),
        ('{"a": {"x": [1]}', ["not valid JSON"]),
        ('{"a": {"x": [NaN]}}', ["not valid JSON"]),
        ("[]", ["must be a JSON object", "not an array"]),
        ("", ["not valid JSON"]),
    ],
)
def test_match_bad_rules_file(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    rules: dict[str, Any] | str,
    needles: list[str],
) -> None:
    path = write_rules(tmp_path, rules)
    code, out, err = run(capsys, "match", "--rules", path, EVENTS)
    assert code == 2
    assert out == ""
    for needle in needles:
        assert needle in err
    assert str(path) in err


def test_match_unreadable_rules_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "match", "--rules", tmp_path / "missing.json", EVENTS)
    assert (code, out) == (2, "")
    assert "missing.json" in err


def test_rules_keep_duplicate_keys_inside_patterns_for_the_engine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Inside a pattern the last duplicate key wins, as in EventBridge.
    path = write_rules(tmp_path, '{"r": {"source": ["aws.s3"], "source": ["aws.ec2"]}}')
    events = write_events(tmp_path, json.dumps(EC2_STOPPED).encode() + b"\n")
    code, out, _ = run(capsys, "match", "--rules", path, events)
    assert code == 0
    assert json_lines(out) == [{"line": 1, "rules": ["r"]}]


def test_validate_lists_each_invalid_rule(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write_rules(
        tmp_path,
        {
            "good": {"a": ["x"]},
            "bad-one": {"a": [{"prefix": 5}]},
            "also-good": {"b": [{"exists": True}]},
            "bad-two": {"a": [{"EXISTS": True}]},
        },
    )
    code, out, err = run(capsys, "validate", path)
    assert code == 1
    assert err == ""
    lines = out.splitlines()
    assert lines == [
        'invalid rule "bad-one": Event pattern is not valid. Reason: '
        "prefix match pattern must be a string",
        'invalid rule "bad-two": Event pattern is not valid. Reason: '
        "Unrecognized match type EXISTS",
        "2 of 4 rules invalid",
    ]


def test_validate_unusable_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "validate", write_rules(tmp_path, "not json"))
    assert (code, out) == (2, "")
    assert "not valid JSON" in err


# --------------------------------------------------------------------------
# test-pattern
# --------------------------------------------------------------------------

LARGE = '{"detail": {"total": [{"numeric": [">=", 1000]}]}}'


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ('{"detail": {"total": 1e3}}', "true\n"),
        ('{"detail": {"total": 999.99}}', "false\n"),
        ('{"detail": {"total": "5000"}}', "false\n"),
        ("{}", "false\n"),
    ],
)
def test_test_pattern_true_false(
    capsys: pytest.CaptureFixture[str], event: str, expected: str
) -> None:
    assert run(capsys, "test-pattern", LARGE, event) == (0, expected, "")


def test_test_pattern_invalid_pattern(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "test-pattern", '{"detail": {"total": 5}}', "{}")
    assert (code, err) == (1, "")
    assert out == 'Event pattern is not valid. Reason: "total" must be an object or an array\n'


def test_test_pattern_malformed_pattern_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test-pattern", '{"a": [1', "{}")
    assert code == 1
    assert out.startswith("Event pattern is not valid. Reason: ")


@pytest.mark.parametrize("event", ["[1]", "{nope", '"text"'])
def test_test_pattern_invalid_event(capsys: pytest.CaptureFixture[str], event: str) -> None:
    code, out, err = run(capsys, "test-pattern", '{"a": [1]}', event)
    assert (code, err) == (1, "")
    with pytest.raises(fastbridge.InvalidEventError) as info:
        fastbridge.matches('{"a": [1]}', event)
    assert out == f"{info.value}\n"


def test_test_pattern_reads_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pattern = tmp_path / "pattern.json"
    pattern.write_text(json.dumps(json.loads(RULES.read_text())["ec2-instance-stopped"]))
    event = tmp_path / "event.json"
    event.write_text(json.dumps(EC2_STOPPED))
    assert run(capsys, "test-pattern", f"@{pattern}", f"@{event}") == (0, "true\n", "")
    event.write_text(json.dumps({**EC2_STOPPED, "detail": {"state": "running"}}))
    assert run(capsys, "test-pattern", f"@{pattern}", f"@{event}") == (0, "false\n", "")


def test_test_pattern_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "test-pattern", f"@{tmp_path / 'nope.json'}", "{}")
    assert (code, out) == (2, "")
    assert "nope.json" in err


# --------------------------------------------------------------------------
# The command line itself
# --------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"fastbridge {fastbridge.__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["match", str(EVENTS)],  # no --rules
        ["match", "--rules", str(RULES), "--batch-size", "0", str(EVENTS)],
        ["test-pattern", "{}"],
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert "usage:" in err


def _env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(ROOT / "python"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def test_subprocess_match_from_stdin(capsys: pytest.CaptureFixture[str]) -> None:
    data = EVENTS.read_bytes() + b"\n{broken\n"
    proc = subprocess.run(
        [sys.executable, "-m", "fastbridge.cli", "match", "--rules", str(RULES), "-"],
        input=data,
        capture_output=True,
        timeout=120,
        env=_env(),
    )
    assert proc.returncode == 1, proc.stderr
    records = json_lines(proc.stdout.decode())
    assert records[:-1] == expected_records()
    assert records[-1]["line"] == len(EVENTS.read_bytes().splitlines()) + 2
    assert "error" in records[-1]


def test_subprocess_bad_rules_file_exit_status(tmp_path: Path) -> None:
    path = write_rules(tmp_path, {"ok": {"a": ["x"]}, "needs-array": {"a": {"b": "c"}}})
    proc = subprocess.run(
        [sys.executable, "-m", "fastbridge.cli", "match", "--rules", str(path), str(EVENTS)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert '"needs-array"' in proc.stderr and '"b" must be an object or an array' in proc.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="select() on pipes")
def test_subprocess_streams_results_before_input_ends() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fastbridge.cli",
            "match",
            "--rules",
            str(RULES),
            "--batch-size=1",
            "-",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write(json.dumps(EC2_STOPPED).encode() + b"\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "no output while stdin is still open"
        assert json.loads(proc.stdout.readline()) == {"line": 1, "rules": ["ec2-instance-stopped"]}
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
