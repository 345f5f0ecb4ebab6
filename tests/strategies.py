"""Hypothesis strategies for the differential tests (engine vs reference).

Patterns and events share one small vocabulary of field paths and values so
that generated events hit generated patterns often:

    a, b, c            top-level leaves
    n.p, n.q           leaves of a nested object
    x.y                written as nesting or as the dotted key "x.y"
    arr.f, arr.g       fields of an array of objects
    arr.in.v, arr.in.w fields of an array nested inside those objects

`patterns()` yields valid patterns (dicts) with every operator, `$or` and
dotted keys; `events()` event dicts with arrays of objects, nested arrays and
dotted keys; `events_for(patterns)` events whose fields often hold the values
those patterns name (split over array elements, so that array consistency and
`exists: false` are really exercised); `pattern_and_event()` a pair of both;
`invalid_patterns()` patterns that are mostly invalid.

Leaf values come from fixed pools (one draw each): Hypothesis spends most of
its time per draw, and shared pools are what make events hit patterns.
Known open questions of the decisions document are left out on purpose
(empty lists inside anything-but operators, lists in anything-but prefix
lists, `exactly` with an IP address).
"""

from __future__ import annotations

import copy
import functools
import itertools
import random

import reference
from hypothesis import strategies as st

# The vocabulary: a subtree is a dict, a leaf is None.
VOCABULARY: dict = {
    "a": None,
    "b": None,
    "c": None,
    "n": {"p": None, "q": None},
    "x": {"y": None},
    "arr": {"f": None, "g": None, "in": {"v": None, "w": None}},
}
ARRAY_FIELDS = {"arr", "in"}  # usually arrays of objects in events

ALPHABET = "aAbBxXzä Äßsς Σσı Ii.-/:*\\5é🚀"
WORDS = [
    "", "x", "X", "abc", "ABC", "aBc", "ä", "Ä", "äb", "ÄB", "ß", "SS", "ss", "ς", "Σ", "σ",
    "ı", "I", "i", "İ", "5", "true", "null", "pre-fix", "file.png", "FILE.PNG", "a*b", "a\\b",
    "é", "🚀", "straße", "STRASSE",
]
IPS = [
    "10.0.0.1", "10.0.0.255", "10.0.1.5", "192.168.0.1", "2001:db8::1",
    "2001:0db8:0:0:0:0:0:1", "2001:DB8::5", "::ffff:10.0.0.1", "::ffff:a00:1", "::1",
]
CIDRS = ["10.0.0.0/24", "10.0.0.5/8", "0.0.0.0/0", "192.168.0.0/16", "2001:db8::/32",
         "::ffff:0:0/96", "::/0", "10.0.0.1/31"]
WILDCARDS = ["*", "", "a*", "*c", "a*c", "*ä*", "x\\*", "a\\\\*", "10.0.*", "*.png", "*b*",
             "h*llo", "*Σ", "ab", "*:*:*"]
PATTERN_NUMBERS = [0, 5, 5.0, -1, 0.1, 0.3, 2.5, 100, 1e300, -0.0, 9007199254740992]
EVENT_NUMBERS = [0, 5, 5.0, -0.0, -1, 0.1, 0.3, 0.30000000000000004, 2.5, 100, 101, 1e300,
                 -1e300, 9007199254740992, 9007199254740993, 123456789012345678]
BIG_INTEGER_LITERALS = [123456789012345678, 9007199254740993]

_rng = random.Random(2024)  # the pools are the same on every run
STRINGS = WORDS + IPS + sorted(
    {"".join(_rng.choice(ALPHABET) for _ in range(_rng.randint(1, 5))) for _ in range(60)}
)
NON_IP_STRINGS = [s for s in STRINGS if reference.parse_ip(s) is None]


def _escape_wildcard(chunk: str) -> str:
    return chunk.replace("\\", "\\\\").replace("*", "\\*")


def _low_complexity_wildcards() -> list[str]:
    """Literal chunks joined by single stars, kept when the reference
    accepts them (complexity <= 10)."""
    chunks = ["", "a", "b", "ä", "x", ".", "ab", "*", "\\", "Σ"]
    result = set(WILDCARDS)
    for count in (1, 2, 3):
        for combo in itertools.product(chunks, repeat=count):
            result.add("*".join(_escape_wildcard(c) for c in combo))
    for combo in itertools.product(["a", "b", ""], repeat=4):
        result.add("*".join(combo))
    valid = []
    for value in sorted(result):
        try:
            reference.parse_wildcard(value)
        except reference.PatternError:
            continue
        valid.append(value)
    return WILDCARDS + _rng.sample(valid, 150)


WILDCARD_POOL = _low_complexity_wildcards()


def _numeric_expressions() -> list[list]:
    """Every one-sided comparison and every two-sided range over the pattern numbers."""
    result = [[op, n] for op in ("=", "<", "<=", ">", ">=") for n in PATTERN_NUMBERS]
    for low in PATTERN_NUMBERS:
        for high in PATTERN_NUMBERS:
            if low < high:
                result += [[lo, low, hi, high] for lo in (">", ">=") for hi in ("<", "<=")]
    return result


def _some(pool: list, count: int = 3) -> list:
    return _rng.sample(pool, _rng.randint(1, count))


def _anything_but_values() -> list:
    """anything-but in every form."""
    non_empty = [s for s in STRINGS if s]
    result: list = []
    for _ in range(40):
        result += [
            _rng.choice(STRINGS), _rng.choice(PATTERN_NUMBERS),
            _some(STRINGS), _some(PATTERN_NUMBERS),
            {"prefix": _rng.choice(non_empty)}, {"prefix": _some(non_empty)},
            {"suffix": _rng.choice(non_empty)}, {"suffix": _some(non_empty)},
            {"equals-ignore-case": _rng.choice(STRINGS)}, {"equals-ignore-case": _some(STRINGS)},
            {"wildcard": _rng.choice(WILDCARD_POOL)}, {"wildcard": _some(WILDCARD_POOL)},
        ]
    return result


def _operators(name: str, values: list) -> st.SearchStrategy[dict]:
    return st.sampled_from([{name: v} for v in values])


# A few values both sides use most of the time, so that array-consistency
# and exists:false questions actually come up.
HOT = ["x", "X", "ä", "Ä", "ß", "ab", "", 5, 0.1, True, None, "10.0.0.1", "2001:db8::1"]
hot_values = st.sampled_from(HOT)

match_values = st.one_of(
    hot_values,
    hot_values,
    st.sampled_from(STRINGS),
    st.sampled_from(PATTERN_NUMBERS + BIG_INTEGER_LITERALS + [True, False, None]),
    _operators("prefix", STRINGS + [{"equals-ignore-case": s} for s in STRINGS]),
    _operators("suffix", STRINGS + [{"equals-ignore-case": s} for s in STRINGS]),
    _operators("equals-ignore-case", STRINGS),
    _operators("wildcard", WILDCARD_POOL),
    _operators("anything-but", _anything_but_values()),
    _operators("anything-but", _anything_but_values()),
    _operators("numeric", _numeric_expressions()),
    _operators("exists", [True, False]),
    st.just({"exists": False}),
    _operators("cidr", CIDRS),
    # `exactly` with an IP address string is left out: whether IP spellings
    # are equivalent under `exactly` is not settled by the decisions.
    _operators("exactly", NON_IP_STRINGS),
)
match_lists = st.lists(match_values, min_size=1, max_size=3)


def _subtree(tree_path: tuple) -> dict:
    tree = VOCABULARY
    for key in tree_path:
        tree = tree[key]
    return tree


def _leaf_paths(tree: dict, prefix: tuple = ()) -> list[tuple]:
    paths = []
    for key, sub in tree.items():
        if sub is None:
            paths.append(prefix + (key,))
        else:
            paths.extend(_leaf_paths(sub, prefix + (key,)))
    return paths


def _spellings(path: tuple) -> list[tuple]:
    """Every way of writing a path as keys: ("a", "b") -> (a, b) or ("a.b",)."""
    result = []
    for mask in range(2 ** (len(path) - 1)):
        cuts = [i for i in range(1, len(path)) if mask >> (i - 1) & 1]
        bounds = zip([0] + cuts, cuts + [len(path)], strict=True)
        result.append(tuple(".".join(path[i:j]) for i, j in bounds))
    return result


# Strategies are built once per (subtree, depth): building them inside a
# draw makes Hypothesis several times slower.
@functools.cache
def _pattern_object(tree_path: tuple, depth: int) -> st.SearchStrategy[dict]:
    """A pattern over one subtree of the vocabulary; nested levels may be
    written as dotted keys; `$or` at this level or one below."""
    tree = _subtree(tree_path)
    # Paths from the whole tree, or all from one subtree (array consistency).
    path_pools = [_leaf_paths(tree)] + [_leaf_paths(sub, (k,)) for k, sub in tree.items() if sub]
    leaf_paths = st.one_of(
        st.lists(st.sampled_from(pool), unique=True, min_size=min(i + 1, 2, len(pool)), max_size=4)
        for i, pool in enumerate(path_pools)
    )
    spellings = {path: st.sampled_from(_spellings(path)) for path in _leaf_paths(tree)}
    subtrees = [k for k, v in tree.items() if v is not None]
    or_kinds = st.sampled_from([None] * 4 + ["here"] * (2 if subtrees else 1) + subtrees)
    if depth < 2:
        or_here = st.lists(_pattern_object(tree_path, depth + 1), min_size=2, max_size=3)
        or_below = {
            k: st.lists(_pattern_object(tree_path + (k,), depth + 1), min_size=2, max_size=3)
            for k in subtrees
        }

    @st.composite
    def build(draw) -> dict:
        result: dict = {}
        for path in draw(leaf_paths):
            keys = draw(spellings[path])
            level = result
            for key in keys[:-1]:
                level = level.setdefault(key, {})
            level[keys[-1]] = draw(match_lists)
        where = draw(or_kinds) if depth < 2 else None
        if where == "here":
            result["$or"] = draw(or_here)
        elif where is not None:
            result.setdefault(where, {})["$or"] = draw(or_below[where])
        return result

    return build()


def patterns() -> st.SearchStrategy[dict]:
    """Valid patterns over the shared vocabulary."""
    return _pattern_object((), 0)


# One draw per leaf; HOT repeated to weigh it (about two leaves in three).
leaf_values = st.sampled_from(HOT * 8 + STRINGS + EVENT_NUMBERS + [True, False, None])
scalar_arrays = st.lists(leaf_values, max_size=3)
leaf_or_array = st.one_of(
    leaf_values, leaf_values, leaf_values, scalar_arrays,
    st.lists(st.one_of(leaf_values, scalar_arrays), max_size=3),  # nested arrays
)


_ABSENT = object()


def _maybe(values: st.SearchStrategy) -> st.SearchStrategy:
    """A member present two times out of three."""
    return st.one_of(st.just(_ABSENT), values, values)


@functools.cache
def _event_object(tree_path: tuple) -> st.SearchStrategy[dict]:
    tree = _subtree(tree_path)
    members = {}
    for key, sub in tree.items():
        if sub is None:
            members[key] = _maybe(leaf_or_array)
            continue
        obj = _event_object(tree_path + (key,))
        array = st.one_of(
            st.lists(st.one_of(obj, obj, obj, st.lists(obj, max_size=2)), min_size=2, max_size=3),
            st.lists(obj, max_size=1),
        )
        if key in ARRAY_FIELDS:  # mostly an array of objects
            members[key] = _maybe(st.one_of(array, array, array, array, obj, leaf_values))
        else:  # or a leaf where patterns expect an object
            members[key] = _maybe(st.one_of(obj, obj, obj, obj, array, leaf_values))
        if len(sub) == 1 and next(iter(sub.values())) is None:
            members[f"{key}.{next(iter(sub))}"] = _maybe(leaf_or_array)  # the dotted spelling
    return st.fixed_dictionaries(members).map(
        lambda d: {k: v for k, v in d.items() if v is not _ABSENT}
    )


def events() -> st.SearchStrategy[dict]:
    """Event dicts over the shared vocabulary, with arrays of objects."""
    return _event_object(())


def _scalars(value: object, key: str = "") -> list:
    """Strings, numbers, booleans and nulls named in a match list, with
    wildcard stars and cidr masks taken off (values an event could hit)."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _scalars(v, k)]
    if isinstance(value, list):
        return [s for v in value for s in _scalars(v, key)]
    if isinstance(value, str) and key == "wildcard":
        return ["".join(t for t in reference.parse_wildcard(value) if t is not reference.STAR)]
    if isinstance(value, str) and key == "cidr":
        return [value.split("/")[0]]
    return [value]


def pattern_values(pattern: dict, prefix: str = "", into: dict | None = None) -> dict:
    """Field path -> the scalars its match lists name (`$or` branches included)."""
    into = {} if into is None else into
    for key, value in pattern.items():
        if key == "$or":
            for branch in value:
                pattern_values(branch, prefix, into)
        elif isinstance(value, dict):
            pattern_values(value, prefix + key + ".", into)
        else:
            into.setdefault(prefix + key, []).extend(_scalars(value))
    return into


def _substitute(event: object, path: str, values: dict, rnd: random.Random) -> object:
    if isinstance(event, dict):
        return {
            k: _substitute(v, f"{path}.{k}" if path else k, values, rnd) for k, v in event.items()
        }
    if isinstance(event, list):
        items = [_substitute(v, path, values, rnd) for v in event]
        if sum(isinstance(v, dict) for v in items) > 1 and rnd.random() < 0.7:
            # Spread the fields of an array of objects over its elements.
            items = [
                {k: x for k, x in v.items() if rnd.random() < 0.5} if isinstance(v, dict) else v
                for v in items
            ]
        return items
    if path in values and rnd.random() < 0.7:
        return rnd.choice(values[path])
    return event


@st.composite
def events_for(draw, patterns: list) -> dict:
    """Events whose leaves often hold values the given patterns name for
    that very field."""
    values: dict = {}
    for pattern in patterns:
        pattern_values(pattern, "", values)
    rnd = draw(st.randoms(use_true_random=False))
    event = _substitute(draw(events()), "", values, rnd)
    present = {leaf.path for leaf in reference.flatten(event)}
    for path in sorted(values):
        if path not in present and rnd.random() < 0.5:  # as a dotted top-level key
            event[path] = rnd.choice(values[path])
    return event


@st.composite
def pattern_and_event(draw) -> tuple[dict, dict]:
    """A pattern and an event that often comes close to matching it."""
    pattern = draw(patterns())
    return pattern, draw(st.one_of(events(), events_for([pattern]), events_for([pattern])))


# --------------------------------------------------------------------------
# Invalid patterns

BAD_FIELD_VALUES = [5, "x", None, True, {}, []]
BAD_MATCH_VALUES = [
    [], ["x"], {}, {"PREFIX": "a"}, {"prefix": "a", "suffix": "b"}, {"regex": "a"},
    {"prefix": 5}, {"prefix": ["a"]}, {"prefix": {"equals-ignore-case": 5}}, {"prefix": {"x": "a"}},
    {"suffix": None}, {"equals-ignore-case": 5}, {"equals-ignore-case": ["a"]},
    {"wildcard": "a**"}, {"wildcard": "a\\x"}, {"wildcard": "ab\\"}, {"wildcard": 7},
    {"wildcard": "*a*a*a*a*a*a"}, {"wildcard": "*:*:*:*:*:event-bus/*"}, {"exactly": 5},
    {"exists": "yes"}, {"exists": None}, {"cidr": "10.0.0.0"}, {"cidr": "10.0.0.0/32"},
    {"cidr": "::/128"}, {"cidr": "x/8"}, {"cidr": "10.0.0.0/x"}, {"cidr": 5},
    {"cidr": "010.0.0.0/8"},
    {"numeric": 5}, {"numeric": []}, {"numeric": ["==", 1]}, {"numeric": [5]}, {"numeric": [None]},
    {"numeric": [">", "1"]}, {"numeric": ["="]}, {"numeric": ["=", 1, 2]}, {"numeric": ["<", 1, 2]},
    {"numeric": [">", 1, ">", 2]}, {"numeric": [">", 1, 2]}, {"numeric": [">", 5, "<", 1]},
    {"numeric": [">", 1, "<", 5, 6]}, {"numeric": [">", 1, "<"]},
    {"numeric": ["=", 123456789012345678]},
    {"anything-but": None}, {"anything-but": True}, {"anything-but": []},
    {"anything-but": ["a", 1]}, {"anything-but": ["a", None]}, {"anything-but": [1, "a", False]},
    {"anything-but": {"prefix": ""}},
    {"anything-but": {"prefix": 5}}, {"anything-but": {"suffix": ["a", ""]}},
    {"anything-but": {"suffix": {"x": 1}}}, {"anything-but": {"equals-ignore-case": 5}},
    {"anything-but": {"equals-ignore-case": ["a", None]}}, {"anything-but": {"wildcard": 5}},
    {"anything-but": {"wildcard": ["a", "b**"]}}, {"anything-but": {"numeric": [1]}},
    {"anything-but": {"prefix": "a", "suffix": "b"}}, {"anything-but": [123456789012345678]},
]
BAD_OR_VALUES = [
    {}, "x", None, [1], [], [{"a": [1]}], [{"a": [1]}, {}], [{"a": [1]}, 5],
    [{"prefix": [1]}, {"a": [1]}], [{"a": {"numeric": [1]}}, {"b": [1]}], [{"a": []}, {"b": [1]}],
]


@st.composite
def _mutated(draw) -> dict:
    """A valid pattern with one or two bad fragments put in at random places."""
    pattern = copy.deepcopy(draw(patterns()))
    for _ in range(draw(st.integers(1, 2))):
        level = pattern
        while True:
            children = [k for k, v in level.items() if isinstance(v, dict) and k != "$or"]
            if not children or draw(st.booleans()):
                break
            level = level[draw(st.sampled_from(children))]
        key = draw(st.sampled_from(["a", "b", "q", "arr", "$or", "new"]))
        kind = draw(st.sampled_from(["field", "match", "or"]))
        if kind == "field":
            level[key] = copy.deepcopy(draw(st.sampled_from(BAD_FIELD_VALUES)))
        elif kind == "match":
            bad = copy.deepcopy(draw(st.sampled_from(BAD_MATCH_VALUES)))
            level[key] = draw(match_lists) + [bad]
        else:
            level["$or"] = copy.deepcopy(draw(st.sampled_from(BAD_OR_VALUES)))
    return pattern


OPERATOR_NAMES = sorted(reference.OPERATORS) + ["$or", "EXISTS"]
scalars = st.one_of(
    st.sampled_from(["", "a", "=", "<", ">=", "10.0.0.0/8", "a**", "*"]),
    st.sampled_from([0, 1, -2.5, 1e300, True, False, None]),
)
small_values = st.one_of(scalars, st.lists(scalars, min_size=1, max_size=3))
operator_objects = st.dictionaries(st.sampled_from(OPERATOR_NAMES),
                                   st.one_of(small_values, st.dictionaries(
                                       st.sampled_from(OPERATOR_NAMES), small_values,
                                       min_size=1, max_size=2)),
                                   min_size=1, max_size=2)
random_structures = st.recursive(
    st.lists(st.one_of(scalars, operator_objects), min_size=1, max_size=3),
    lambda inner: st.dictionaries(st.sampled_from(["a", "b", "a.b", "$or"] + OPERATOR_NAMES[:3]),
                                  st.one_of(inner, st.lists(inner, min_size=1, max_size=2)),
                                  min_size=1, max_size=3),
    max_leaves=5,
).filter(lambda v: isinstance(v, dict))


def invalid_patterns() -> st.SearchStrategy[object]:
    """Patterns that are mostly invalid: bad fragments in valid patterns,
    random operator soup, and non-object tops."""
    return st.one_of(
        _mutated(),
        _mutated(),
        random_structures,
        st.sampled_from([[], ["a"], '"x"', "[1]", 5, None, {}]),
    )


__all__ = [
    "VOCABULARY", "events", "events_for", "invalid_patterns", "pattern_and_event", "patterns",
]
