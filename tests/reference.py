"""A small pure-Python reference matcher for event patterns, used only by tests.

It is written straight from ``../shared/SEMANTICS.md`` and
``docs/semantics-decisions.md`` and favours being obviously correct over being
fast: a pattern is expanded into sub-patterns (``$or`` branches and
``exists: false`` alternatives multiplied out), the event is flattened into
leaves, and each sub-pattern is checked by brute force over the leaves.

Public API: :class:`PatternError`, :class:`EventError`, :func:`compile_pattern`,
:func:`matches`, :func:`rules_for_event`, :class:`Number`.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import math
import re
import sys
from dataclasses import dataclass, field

REASON_PREFIX = "Event pattern is not valid. Reason: "
MAX_FIELDS = 256
MAX_WILDCARD_SCORE = 10
MAX_WILDCARD_SETS = 10_000
MAX_EVENT_DEPTH = 1000
MAX_EVENT_BYTES = 1 << 20
TWO_POW_53 = 2**53
TOO_COMPLEX = (
    "Rule is too complex - try using fewer wildcard characters or fewer "
    "repeating character sequences after a wildcard character"
)
OPERATORS = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but",
     "numeric", "exists", "cidr", "exactly"}
)


class PatternError(Exception):
    """A rejected pattern; ``reason`` is the text after ``Reason: ``."""

    def __init__(self, reason: str) -> None:
        super().__init__(REASON_PREFIX + reason)
        self.reason = reason


class EventError(ValueError):
    """An event that is not a UTF-8 JSON object within the limits."""


class Number:
    """A JSON number that keeps the text it was written with."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Number({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Number) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


# --------------------------------------------------------------------------
# Numbers


def is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, (Number, int, float))


def number_text(value: object) -> str:
    if isinstance(value, Number):
        return value.text
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _has_nonzero_digit(text: str) -> bool:
    mantissa = re.split("[eE]", text)[0]
    return any(c in "123456789" for c in mantissa)


def float_value(text: str) -> float | None:
    """The float64 of a number text, or None when it is not finite or a
    non-zero text rounds to zero (the event rule)."""
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value) or (value == 0 and _has_nonzero_digit(text)):
        return None
    return value


def significant_digits(text: str) -> int:
    mantissa = re.split("[eE]", text)[0].lstrip("+-").replace(".", "")
    return len(mantissa.strip("0"))


def representable(text: str) -> float:
    """The float64 of a pattern number, or ``Cannot compare number``."""
    value = float_value(text)
    if value is None or significant_digits(text) > 17:
        raise PatternError(f"Cannot compare number : {text}")
    return value


def is_big_integer_text(text: str) -> bool:
    """Integer syntax with an absolute value beyond 2^53."""
    if not re.fullmatch(r"-?[0-9]+", text):
        return False
    digits = text.lstrip("-").lstrip("0")
    return len(digits) > 16 or int(digits or "0") > TWO_POW_53


@dataclass(frozen=True)
class EventNumber:
    """An event number: always its text, and its float64 when it has one."""

    text: str

    @property
    def value(self) -> float | None:
        return float_value(self.text)


def operator_text(value: object) -> str:
    """A numeric operator as error texts quote it: a string as is, else JSON."""
    return value if isinstance(value, str) else json_text(value)


def json_text(value: object) -> str:
    """Compact JSON text of a pattern value (numbers as written)."""
    if is_number(value):
        return number_text(value)
    if isinstance(value, list):
        return "[" + ",".join(json_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(
            json.dumps(k, ensure_ascii=False) + ":" + json_text(v) for k, v in value.items()
        ) + "}"
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------
# Strings: folding, IP addresses, wildcards

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # no leading zeros
_IPV4 = re.compile(rf"{_OCTET}(\.{_OCTET}){{3}}")
_IPV6_CHARS = re.compile(r"[0-9a-fA-F:.]+")


def fold(text: str) -> str:
    """Per-character lowercase when the mapping is a single character."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A standard IPv4 dotted quad (no leading zeros) or IPv6 address, no zone."""
    if _IPV4.fullmatch(text):
        return ipaddress.IPv4Address(text)
    if ":" in text and _IPV6_CHARS.fullmatch(text):
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return None


def parse_cidr(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    if text.count("/") != 1:
        raise PatternError("Malformed CIDR, one '/' required")
    address, bits = text.split("/")
    if not re.fullmatch(r"[0-9]+", bits):
        raise PatternError("Malformed CIDR, mask bits must be an integer")
    ip = parse_ip(address)
    if ip is None:
        raise PatternError(f"Nonstandard IP address: {address}")
    limit = 32 if ip.version == 4 else 128
    mask = bits.lstrip("0") or "0"
    if len(mask) > 3 or int(mask) >= limit:
        raise PatternError(f"IPv{ip.version} mask bits must be < {limit}")
    return ipaddress.ip_network(f"{ip}/{int(mask)}", strict=False)


STAR = object()  # the wildcard token; every other token is one character


def parse_wildcard(text: str) -> tuple:
    tokens: list = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "*":
            if tokens and tokens[-1] is STAR:
                raise PatternError(f"Consecutive wildcard characters at pos {i}")
            tokens.append(STAR)
        elif c == "\\":
            if i + 1 < len(text) and text[i + 1] in "*\\":
                tokens.append(text[i + 1])
                i += 1
            else:
                raise PatternError(f"Invalid escape character at pos {i}")
        else:
            tokens.append(c)
        i += 1
    tokens = tuple(tokens)
    if wildcard_score(tokens) > MAX_WILDCARD_SCORE:
        raise PatternError(TOO_COMPLEX)
    return tokens


def _close(tokens: tuple, states) -> frozenset:
    """Epsilon closure: a star state also stands at the state after it."""
    out = set()
    for i in states:
        out.add(i)
        while i < len(tokens) and tokens[i] is STAR:
            i += 1
            out.add(i)
    return frozenset(out)


def _step(tokens: tuple, states: frozenset, char: object) -> frozenset:
    after = set()
    for i in states:
        if i < len(tokens):
            if tokens[i] is STAR:
                after.add(i)
            elif tokens[i] == char:
                after.add(i + 1)
    return _close(tokens, after)


def wildcard_matches(tokens: tuple, text: str) -> bool:
    states = _close(tokens, {0})
    for c in text:
        states = _step(tokens, states, c)
    return len(tokens) in states


OTHER_CHAR = object()  # stands for every character the wildcard does not name


def wildcard_score(tokens: tuple) -> int:
    """Most inner states (1..m-1) active at once, over all inputs; a search
    visiting more than MAX_WILDCARD_SETS active sets scores infinity."""
    alphabet = {t for t in tokens if t is not STAR} | {OTHER_CHAR}
    inner = set(range(1, len(tokens)))
    start = _close(tokens, {0})
    seen, todo, best = {start}, [start], 0
    while todo:
        states = todo.pop()
        best = max(best, len(states & inner))
        for c in alphabet:
            nxt = _step(tokens, states, c)
            if nxt not in seen:
                seen.add(nxt)
                if len(seen) > MAX_WILDCARD_SETS:
                    return sys.maxsize
                todo.append(nxt)
    return best


# --------------------------------------------------------------------------
# Predicates: one value test each; event values are str, EventNumber, bool, None


@dataclass(frozen=True)
class Literal:  # true, false, null
    value: object

    def test(self, v: object) -> bool:
        return v is self.value


@dataclass(frozen=True)
class StringEquals:  # "x", {"exactly": "x"}; IP literals match other spellings
    text: str

    def test(self, v: object) -> bool:
        if not isinstance(v, str):
            return False
        if v == self.text:
            return True
        mine, theirs = parse_ip(self.text), parse_ip(v)
        if mine is None or theirs is None:
            return False
        return mine.version == theirs.version and mine == theirs


@dataclass(frozen=True)
class NumberEquals:
    value: float

    def test(self, v: object) -> bool:
        return isinstance(v, EventNumber) and v.value is not None and v.value == self.value


@dataclass(frozen=True)
class NumberTextEquals:  # integer literal beyond 2^53
    text: str

    def test(self, v: object) -> bool:
        return isinstance(v, EventNumber) and v.text == self.text


@dataclass(frozen=True)
class Affix:  # prefix / suffix, optionally ignoring case
    kind: str
    text: str
    ignore_case: bool

    def test(self, v: object) -> bool:
        if not isinstance(v, str):
            return False
        value, text = (fold(v), fold(self.text)) if self.ignore_case else (v, self.text)
        return value.startswith(text) if self.kind == "prefix" else value.endswith(text)


@dataclass(frozen=True)
class EqualsIgnoreCase:
    text: str

    def test(self, v: object) -> bool:
        return isinstance(v, str) and fold(v) == fold(self.text)


@dataclass(frozen=True)
class Wildcard:
    tokens: tuple

    def test(self, v: object) -> bool:
        return isinstance(v, str) and wildcard_matches(self.tokens, v)


@dataclass(frozen=True)
class Cidr:
    network: object

    def test(self, v: object) -> bool:
        ip = parse_ip(v) if isinstance(v, str) else None
        return ip is not None and ip.version == self.network.version and ip in self.network


@dataclass(frozen=True)
class Numeric:
    low: float | None
    low_inclusive: bool
    high: float | None
    high_inclusive: bool

    def test(self, v: object) -> bool:
        if not isinstance(v, EventNumber) or v.value is None:
            return False
        x = v.value
        if self.low is not None and not (x >= self.low if self.low_inclusive else x > self.low):
            return False
        return self.high is None or (x <= self.high if self.high_inclusive else x < self.high)


@dataclass(frozen=True)
class AnythingBut:
    kind: str  # strings, numbers, prefix, suffix, ignore-case, wildcard
    values: tuple

    def excludes(self, v: object) -> bool:
        if self.kind == "numbers":
            return isinstance(v, EventNumber) and v.value is not None and v.value in self.values
        if not isinstance(v, str):
            return False
        if self.kind == "strings":
            return v in self.values
        if self.kind == "prefix":
            return any(v.startswith(x) for x in self.values)
        if self.kind == "suffix":
            return any(v.endswith(x) for x in self.values)
        if self.kind == "ignore-case":
            return any(fold(v) == fold(x) for x in self.values)
        return any(wildcard_matches(x, v) for x in self.values)

    def test(self, v: object) -> bool:
        return not self.excludes(v)


@dataclass(frozen=True)
class Exists:
    def test(self, v: object) -> bool:
        return True


ABSENT = "exists:false"  # marker inside a match list


# --------------------------------------------------------------------------
# Parsing a pattern


def _fail(reason: str):
    raise PatternError(reason)


def parse_number_literal(value: object):
    text = number_text(value)
    if is_big_integer_text(text):
        return NumberTextEquals(text)
    return NumberEquals(representable(text))


def parse_affix(kind: str, arg: object) -> Affix:
    if isinstance(arg, str):
        return Affix(kind, arg, False)
    if isinstance(arg, dict) and list(arg) == ["equals-ignore-case"]:
        inner = arg["equals-ignore-case"]
        if not isinstance(inner, str):
            _fail("equals-ignore-case match pattern must be a string")
        return Affix(kind, inner, True)
    _fail(f"{kind} match pattern must be a string")


def parse_numeric(arg: object) -> Numeric:
    if not isinstance(arg, list):
        _fail("Value of numeric must be an array.")
    if not arg:
        _fail("Empty arrays are not allowed")

    def operand(index: int, op: str) -> float:
        if index >= len(arg) or not is_number(arg[index]):
            _fail(f"Value of {'equals' if op == '=' else op} must be numeric")
        return representable(number_text(arg[index]))

    first = arg[0]
    if not (isinstance(first, str) and first in ("=", "<", "<=", ">", ">=")):
        _fail(f"Unrecognized numeric range operator: {operator_text(first)}")
    value = operand(1, first)
    if first == "=":
        if len(arg) > 2:
            _fail("Too many elements in numeric expression")
        return Numeric(value, True, value, True)
    if first in ("<", "<="):
        if len(arg) > 2:
            _fail("Too many terms in numeric range expression")
        return Numeric(None, False, value, first == "<=")
    if len(arg) == 2:
        return Numeric(value, first == ">=", None, False)
    second = arg[2]
    if not (isinstance(second, str) and second in ("<", "<=")):
        _fail(f"Bad numeric range operator: {operator_text(second)}")
    top = operand(3, second)
    if len(arg) > 4:
        _fail("Too many terms in numeric range expression")
    if value >= top:
        _fail("Bottom must be less than top")
    return Numeric(value, first == ">=", top, second == "<=")


NOT_ANYTHING_BUT = "Value of anything-but must be an array or single string/number value."
IGNORE_CASE_LIST = (
    "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
)
MIXED_LIST = (
    "Inside anything but list, either all values are number or string, mixed type is not supported"
)


def parse_anything_but(arg: object) -> AnythingBut:
    if isinstance(arg, str):
        return AnythingBut("strings", (arg,))
    if is_number(arg):
        return AnythingBut("numbers", (representable(number_text(arg)),))
    if isinstance(arg, list):
        if not arg:
            _fail("Empty arrays are not allowed")
        if not all(isinstance(item, str) or is_number(item) for item in arg):
            _fail("Inside anything but list, start|null|boolean is not supported.")
        values = [v if isinstance(v, str) else representable(number_text(v)) for v in arg]
        kinds = {type(v) for v in values}
        if len(kinds) > 1:
            _fail(MIXED_LIST)
        return AnythingBut("strings" if str in kinds else "numbers", tuple(values))
    if not isinstance(arg, dict) or not arg:
        _fail(NOT_ANYTHING_BUT)
    if len(arg) > 1:
        _fail("Only one key allowed in match expression")
    ((name, inner),) = arg.items()
    items = inner if isinstance(inner, list) else [inner]
    if name in ("prefix", "suffix"):
        if not items:
            _fail("Empty arrays are not allowed")
        for item in items:
            if isinstance(item, dict):
                _fail(NOT_ANYTHING_BUT)
            if not isinstance(item, str):
                _fail("prefix/suffix match pattern must be a string")
            if item == "":
                _fail("Null prefix/suffix not allowed")
        return AnythingBut(name, tuple(items))
    if not items:
        _fail("Empty arrays are not allowed")
    if name == "equals-ignore-case":
        if not all(isinstance(item, str) for item in items):
            _fail(IGNORE_CASE_LIST)
        return AnythingBut("ignore-case", tuple(items))
    if name == "wildcard":
        tokens = []
        for item in items:
            if not isinstance(item, str):
                _fail("wildcard match pattern must be a string")
            tokens.append(parse_wildcard(item))
        return AnythingBut("wildcard", tuple(tokens))
    _fail(f"Unsupported anything-but pattern: {name}")


def parse_operator(expr: dict):
    if not expr:
        _fail("Empty objects are not allowed")
    if len(expr) > 1:
        _fail("Only one key allowed in match expression")
    ((name, arg),) = expr.items()
    if name in ("prefix", "suffix"):
        return parse_affix(name, arg)
    if name == "equals-ignore-case":
        if not isinstance(arg, str):
            _fail("equals-ignore-case match pattern must be a string")
        return EqualsIgnoreCase(arg)
    if name == "wildcard":
        if not isinstance(arg, str):
            _fail("wildcard match pattern must be a string")
        return Wildcard(parse_wildcard(arg))
    if name == "exactly":
        if not isinstance(arg, str):
            _fail("exactly match pattern must be a string")
        return StringEquals(arg)
    if name == "exists":
        if not isinstance(arg, bool):
            _fail("exists match pattern must be either true or false.")
        return Exists() if arg else ABSENT
    if name == "cidr":
        if not isinstance(arg, str):
            _fail("prefix match pattern must be a string")
        return Cidr(parse_cidr(arg))
    if name == "numeric":
        return parse_numeric(arg)
    if name == "anything-but":
        return parse_anything_but(arg)
    _fail(f"Unrecognized match type {name}")


def parse_match_value(value: object):
    if isinstance(value, bool) or value is None:
        return Literal(value)
    if isinstance(value, str):
        return StringEquals(value)
    if is_number(value):
        return parse_number_literal(value)
    if isinstance(value, dict):
        return parse_operator(value)
    _fail("Match value must be String, number, true, false, or null")


@dataclass
class _Level:
    """Parsed fields of an object (whole subtree) and its `$or` groups, in
    document order (pre-order)."""

    fields: dict = field(default_factory=dict)  # path -> list of predicates
    ors: list = field(default_factory=list)  # list of groups; a group is a list of _Level


def parse_object(obj: dict, prefix: str, in_or: bool, level: _Level) -> None:
    if not obj:
        _fail("Empty objects are not allowed")
    for key, value in obj.items():
        if key == "$or":
            level.ors.append(parse_or(value, prefix))
            continue
        if in_or and key in OPERATORS:
            _fail(f"{key} is Ruler reserved fieldName which cannot be used inside $or.")
        path = prefix + key
        if isinstance(value, dict):
            parse_object(value, path + ".", in_or, level)
        elif isinstance(value, list):
            if not value:
                _fail("Empty arrays are not allowed")
            level.fields[path] = [parse_match_value(v) for v in value]
        else:
            _fail(f'"{key}" must be an object or an array')


def parse_or(value: object, prefix: str) -> list:
    if not isinstance(value, list):
        _fail("It must be an Array followed with $or.")
    branches = []
    for element in value:
        if not isinstance(element, dict):
            _fail("Only JSON object is allowed in array of $or relationship.")
        branch = _Level()
        parse_object(element, prefix, True, branch)
        branches.append(branch)
    if len(branches) < 2:
        _fail("There must have at least 2 Objects in $or relationship.")
    return branches


def expand(level: _Level) -> list[dict]:
    """The OR of path->predicates maps; a branch path replaces an outer one."""
    subs = [dict(level.fields)]
    for group in level.ors:
        subs = [{**sub, **alt} for sub in subs for branch in group for alt in expand(branch)]
    return subs


@dataclass(frozen=True)
class SubPattern:
    fields: dict  # path -> tuple of predicates, at least one must hold for one leaf
    absent: frozenset  # paths with no leaf compatible with the chosen ones


def split_absent(sub: dict) -> list[SubPattern]:
    """`[{"exists": false}, x, ...]` is the OR of "absent" and the rest."""
    options = []
    for path, predicates in sub.items():
        positive = tuple(p for p in predicates if p is not ABSENT)
        choices = [(path, None)] if len(positive) < len(predicates) else []
        if positive:
            choices.append((path, positive))
        options.append(choices)
    return [
        SubPattern({p: preds for p, preds in combo if preds is not None},
                   frozenset(p for p, preds in combo if preds is None))
        for combo in itertools.product(*options)
    ]


# --------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class Leaf:
    path: str
    value: object  # str, EventNumber, bool or None
    arrays: tuple  # ((array instance id, element index), ...) from the root down


def compatible(a: Leaf, b: Leaf) -> bool:
    mine = dict(a.arrays)
    return all(mine.get(array, index) == index for array, index in b.arrays)


class _Pairs(list):
    """An event object as its (key, value) pairs, duplicates kept."""


def _reject_constant(name: str):
    raise ValueError(f"invalid JSON constant {name}")


def _text_depth(text: str) -> int:
    depth = best = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            best = max(best, depth)
        elif c in "]}":
            depth -= 1
    return best


def load_event(event: object) -> object:
    """An event as _Pairs/dict/list/leaf values, or EventError."""
    if isinstance(event, (bytes, bytearray)):
        if len(event) > MAX_EVENT_BYTES:
            raise EventError("event is too large")
        try:
            event = bytes(event).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EventError(f"event is not UTF-8: {exc}") from None
    if isinstance(event, str):
        if len(event.encode("utf-8", "surrogatepass")) > MAX_EVENT_BYTES:
            raise EventError("event is too large")
        if _text_depth(event) > MAX_EVENT_DEPTH:
            raise EventError("event nesting is too deep")
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * MAX_EVENT_DEPTH + 1000))
        try:
            event = json.loads(event, object_pairs_hook=_Pairs, parse_float=Number,
                               parse_int=Number, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise EventError(f"event is not valid JSON: {exc}") from None
        finally:
            sys.setrecursionlimit(limit)
    if not isinstance(event, (dict, _Pairs)):
        raise EventError("event is not a JSON object")
    return event


def _check_text(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise EventError("event has a lone surrogate") from None
    return text


def flatten(event: object) -> list[Leaf]:
    """The leaves of an event (text, bytes or dict)."""
    root = load_event(event)
    leaves: list[Leaf] = []
    array_ids = itertools.count()
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 4 * MAX_EVENT_DEPTH + 1000))

    def walk(value: object, path: str, arrays: tuple, depth: int) -> None:
        if isinstance(value, (dict, list)) and depth > MAX_EVENT_DEPTH:
            raise EventError("event nesting is too deep")
        if isinstance(value, (dict, _Pairs)):
            for key, item in (value.items() if isinstance(value, dict) else value):
                _check_text(key)
                walk(item, f"{path}.{key}" if depth > 1 else key, arrays, depth + 1)
        elif isinstance(value, list):
            array = next(array_ids)
            for index, item in enumerate(value):
                walk(item, path, arrays + ((array, index),), depth + 1)
        elif value is None or isinstance(value, bool):
            leaves.append(Leaf(path, value, arrays))
        elif isinstance(value, str):
            leaves.append(Leaf(path, _check_text(value), arrays))
        elif is_number(value):
            leaves.append(Leaf(path, EventNumber(number_text(value)), arrays))
        else:
            raise EventError(f"unsupported event value {value!r}")

    try:
        walk(root, "", (), 1)
    finally:
        sys.setrecursionlimit(limit)
    return leaves


# --------------------------------------------------------------------------
# Matching


def sub_pattern_matches(sub: SubPattern, leaves: list[Leaf]) -> bool:
    """One leaf per positive field, pairwise compatible; no leaf of an absent
    field compatible with all of them."""
    candidates = [
        [leaf for leaf in leaves if leaf.path == path and any(p.test(leaf.value) for p in preds)]
        for path, preds in sub.fields.items()
    ]
    absent = [[leaf for leaf in leaves if leaf.path == path] for path in sub.absent]

    def search(chosen: list[Leaf]) -> bool:
        if len(chosen) == len(candidates):
            return not any(
                all(compatible(leaf, c) for c in chosen) for group in absent for leaf in group
            )
        return any(
            search(chosen + [leaf])
            for leaf in candidates[len(chosen)]
            if all(compatible(leaf, c) for c in chosen)
        )

    return search([])


class CompiledPattern:
    def __init__(self, sub_patterns: list[SubPattern]) -> None:
        self.sub_patterns = sub_patterns

    def matches_leaves(self, leaves: list[Leaf]) -> bool:
        return any(sub_pattern_matches(sub, leaves) for sub in self.sub_patterns)

    def matches(self, event: object) -> bool:
        return self.matches_leaves(flatten(event))


def load_pattern_text(text: str | bytes) -> object:
    try:
        return json.loads(text, object_pairs_hook=dict, parse_float=Number,
                          parse_int=Number, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise PatternError(str(exc)) from None


def compile_pattern(pattern: object) -> CompiledPattern:
    """Compile a pattern given as JSON text or as an already-parsed value."""
    if isinstance(pattern, (str, bytes, bytearray)):
        pattern = load_pattern_text(pattern)
    if not isinstance(pattern, dict):
        _fail("Filter is not an object")
    level = _Level()
    parse_object(pattern, "", False, level)
    subs = expand(level)
    for sub in subs:
        if len(sub) > MAX_FIELDS:
            _fail(f"Too many fields in pattern: {len(sub)} (limit {MAX_FIELDS})")
    return CompiledPattern([s for sub in subs for s in split_absent(sub)])


def matches(pattern: object, event: object) -> bool:
    return compile_pattern(pattern).matches(event)


def rules_for_event(rules: dict[str, object], event: object) -> list[str]:
    leaves = flatten(event)
    return sorted(name for name, p in rules.items() if compile_pattern(p).matches_leaves(leaves))
