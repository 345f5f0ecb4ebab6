"""Fuzz ``fastbridge.bus.jackson`` and ``fastbridge.bus.core.pattern_error`` (atheris).

Input: the bytes decoded as UTF-8 with ``surrogatepass`` (so ``ED A0 80`` becomes a lone
surrogate, as a ``"\\ud800"`` escape in a wire request's JSON body does), each other
undecodable byte ``b`` becoming ``TRICKY[b % len(TRICKY)]`` (non-ASCII digits and letters,
lone surrogates, NUL, NEL, U+2028, BOM, ...), are the event-pattern text. An input that
starts with ``FF n`` is ``unit * (16 n) + rest`` where ``unit \\0 rest`` follows (deep
nesting such as ``{"a":`` repeated, which byte mutation alone rarely builds). Checks:

- ``jackson.pattern_text_problem`` returns ``None`` or one message ending in a Jackson
  location ``at [Source: (String)"..."; line: L, column: C]`` (L, C >= 1, L at most the
  number of line breaks + 1), with the excerpt cut at 500 characters;
- it returns ``None`` exactly when the text's first JSON value is an object, by Python's
  strict ``json`` parser (no NaN/Infinity) as the reference; texts nested deeper than
  Python's parser goes are left out of that comparison;
- ``core.pattern_error`` raises nothing but ``InvalidEventPatternException``, and with
  Jackson's message whenever ``pattern_text_problem`` has one.

Run: ``python fuzz/python/fuzz_jackson.py fuzz/python/corpus/jackson -max_total_time=540``
(``--seeds DIR`` writes the seed corpus first; see fuzz/python/README.md).
"""

from __future__ import annotations

import codecs
import json
import os
import re

import atheris
import harness

with atheris.instrument_imports(include=["fastbridge.bus.jackson", "fastbridge.bus.core"]):
    from fastbridge.bus import jackson
    from fastbridge.bus.core import pattern_error
    from fastbridge.bus.errors import InvalidEventPatternException

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "conformance")
LOCATION = re.compile(r'\n at \[Source: \(String\)".*; line: (\d+), column: (\d+)\]\Z', re.S)
PREFIX = "Event pattern is not valid. Reason: "
DECODER = json.JSONDecoder(parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))


def first_value_is_object(text: str) -> bool | None:
    """Python's answer; None when its parser gives up on the depth."""
    stripped = text.lstrip(" \t\n\r")
    try:
        value, _ = DECODER.raw_decode(stripped)
    except RecursionError:
        return None
    except ValueError:
        return False
    return isinstance(value, dict)


TRICKY = ["\u00b2", "\u0663", "\U0001d7d9", "\u00e9", "\ud800", "\udfff", "\x00", "\x85",
          "\u2028", "\ufeff", "\u00a0", "\uff10", "\u0130", "\x7f", "\u212a",
          "\U0001f600"]  # fmt: skip


def _tricky(error: UnicodeDecodeError) -> tuple[str, int]:
    return TRICKY[error.object[error.start] % len(TRICKY)], error.start + 1


codecs.register_error("fuzz-tricky", _tricky)


def decode(data: bytes) -> str:
    repeat = 1
    if data[:1] == b"\xff" and len(data) >= 2:
        repeat, data = 16 * data[1], data[2:]
    if _utf8ish(data):
        text = data.decode("utf-8", "surrogatepass")
    else:
        text = data.decode("utf-8", "fuzz-tricky")
    if repeat == 1:
        return text
    unit, _, rest = text.partition("\0")
    return unit[:64] * repeat + rest


def TestOneInput(data: bytes) -> None:
    text = decode(data)
    problem = jackson.pattern_text_problem(text)
    if problem is not None:
        assert isinstance(problem, str), problem
        m = LOCATION.search(problem)
        assert m is not None, problem
        line, column = int(m.group(1)), int(m.group(2))
        breaks = text.count("\n") + text.count("\r") + 1
        assert 1 <= line <= breaks and column >= 1, (text, problem)
    reference = first_value_is_object(text)
    if reference is not None:
        assert (problem is None) == reference, (text, problem, reference)
    try:
        pattern_error(text)
    except InvalidEventPatternException as e:
        assert isinstance(e.message, str) and e.message, e
        if problem is not None:
            assert e.message == PREFIX + problem, (e.message, problem)
        return
    assert problem is None, (text, problem)


def _utf8ish(data: bytes) -> bool:
    try:
        data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return False
    return True


def seeds() -> list[str]:
    """Patterns of the recorded cases, the project's pattern cases and malformed texts."""
    texts: set[str] = set()

    def add(value: object) -> None:
        if isinstance(value, str):
            texts.add(value)
        elif value is not None:
            texts.add(json.dumps(value, ensure_ascii=False))

    for name in ("aws-recorded.json", "aws-recorded-bus.json"):
        path = os.path.join(SHARED, name)
        if os.path.exists(path):
            for case in json.load(open(path, encoding="utf-8")):
                if isinstance(case, dict):
                    add(case.get("pattern_text") or case.get("pattern"))
                    add(case.get("event_pattern"))
    cases_dir = os.path.join(ROOT, "tests", "cases")
    for fn in sorted(os.listdir(cases_dir)) if os.path.isdir(cases_dir) else []:
        if fn.endswith(".json"):
            cases = json.load(open(os.path.join(cases_dir, fn), encoding="utf-8"))
            for case in cases.get("cases", []) if isinstance(cases, dict) else cases:
                if isinstance(case, dict):
                    add(case.get("pattern_text") or case.get("pattern"))
    texts.update(
        [
            '{"a": 1,}',
            '{"a" 1}',
            '{"a": [1 2]}',
            '{"a": "x',
            '{"a": nul}',
            "123",
            '{\n  "a": tru\n}',
            '{"a": [-01, 1.e5, 1e+, -]}',
            '{"a": "\\u12g4 \\q"}',
            '\r\n\t{"a": ["\\ud800"]} trailing',
            '{"a": NaN}',
            "/* c */ {}",
            "# c\n{}",
            '{"\x01": 1}',
            '{"a": [}',
            '{"a": {]}',
            "\ufeff{}",
            '{"a": ["\u00e9\u0663"]}',
        ]
    )
    return sorted(texts)


if __name__ == "__main__":
    harness.main(TestOneInput, seeds)
