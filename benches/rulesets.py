"""The rule sets of ``shared/BENCHMARKS.md``, as (name, pattern JSON text) pairs.

Patterns are kept as text so that numbers reach every engine exactly as
written (``37.807807921694092`` is not what Python prints for that float).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from benches.data import (
    CHANNELS,
    CURRENCIES,
    EC2_STATES,
    REGIONS,
    S3_PREFIXES,
    S3_SUFFIXES,
    SEED,
    accounts,
    bucket_name,
)


@dataclass(frozen=True)
class RuleSet:
    id: str
    title: str
    dataset: str
    """``citylots``, ``citylots2`` or ``bus``."""
    rules: list[tuple[str, str]]
    planted: dict[str, int] | None = None
    """Counts the full citylots file must give (Quamina's four only)."""
    note: str = ""
    tags: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, str]:
        return dict(self.rules)


# --------------------------------------------------------------------------
# Quamina's four (citylots)
# --------------------------------------------------------------------------

QUAMINA_FOUR = RuleSet(
    id="quamina4",
    title="citylots · Quamina's four patterns",
    dataset="citylots",
    rules=[
        ("CRANLEIGH", '{"properties":{"STREET":["CRANLEIGH"]}}'),
        ("17TH-EVEN", '{"properties":{"STREET":["17TH"],"ODD_EVEN":["E"]}}'),
        ("COORDINATE", '{"geometry":{"coordinates":[37.807807921694092]}}'),
        ("LOT-AND-COORDINATE",
         '{"properties":{"MAPBLKLOT":["0011008"],"BLKLOT":["0011008"]},'
         '"geometry":{"coordinates":[37.807807921694092]}}'),
    ],
    planted={"CRANLEIGH": 7, "17TH-EVEN": 836, "COORDINATE": 2, "LOT-AND-COORDINATE": 1},
)


# --------------------------------------------------------------------------
# Event Ruler's CL2 sets (citylots2)
# --------------------------------------------------------------------------


def _prop(field_name: str, value: object) -> str:
    return json.dumps({"properties": {field_name: [value]}}, separators=(",", ":"))


def _geometry(body: str) -> str:
    return '{"geometry":' + body + "}"


_WILDCARDS = ("143*", "2*0*1*7", "*218", "3*5*2", "VA*IL")
_X = "-122.42916360922355"
_SPLIT = "-122.41600944012424"
_LOW, _HIGH = "-122.46471267081272", "-122.4063085128395"

_CL2_BODIES: dict[str, list[str]] = {
    "EXACT": [_prop("MAPBLKLOT", v)
              for v in ("1430022", "2607117", "2607218", "3745012", "VACSTWIL")],
    "WILDCARD": [_prop("MAPBLKLOT", {"wildcard": w}) for w in _WILDCARDS],
    "PREFIX": [_prop("STREET", {"prefix": p}) for p in ("AC", "BL", "DR", "FU", "RH")],
    "PREFIX_EQUALS_IGNORE_CASE": [
        _prop("STREET", {"prefix": {"equals-ignore-case": p}})
        for p in ("Ac", "bL", "dR", "Fu", "rH")
    ],
    "SUFFIX": [_prop("STREET", {"suffix": s}) for s in ("ON", "KE", "MM", "ING", "GO")],
    "SUFFIX_EQUALS_IGNORE_CASE": [
        _prop("STREET", {"suffix": {"equals-ignore-case": s}})
        for s in ("oN", "Ke", "mM", "InG", "gO")
    ],
    "EQUALS_IGNORE_CASE": [
        *(_prop("STREET", {"equals-ignore-case": s})
          for s in ("jefferson", "bEaCh", "HyDe", "CHESTNUT")),
        _prop("ST_TYPE", {"equals-ignore-case": "st"}),
    ],
    "NUMERIC": [
        _geometry(f'{{"type":["Polygon"],"firstCoordinates":{{"x":[{{"numeric":["=",{_X}]}}]}}}}'),
        _geometry('{"type":["MultiPolygon"],"firstCoordinates":{"z":[{"numeric":["=",0]}]}}'),
        _geometry(f'{{"firstCoordinates":{{"x":[{{"numeric":["<",{_SPLIT}]}}]}}}}'),
        _geometry(f'{{"firstCoordinates":{{"x":[{{"numeric":[">",{_SPLIT}]}}]}}}}'),
        _geometry(f'{{"firstCoordinates":{{"x":[{{"numeric":[">",{_LOW},"<",{_HIGH}]}}]}}}}'),
    ],
    "COMPLEX_ARRAYS": [
        _geometry(f'{{"type":["Polygon"],"coordinates":{{"x":[{{"numeric":["=",{_X}]}}]}}}}'),
        _geometry('{"type":["MultiPolygon"],'
                  '"coordinates":{"y":[{"numeric":["=",37.729900216217324]}]}}'),
        _geometry(f'{{"coordinates":{{"x":[{{"numeric":["<",{_SPLIT}]}}]}}}}'),
        _geometry(f'{{"coordinates":{{"x":[{{"numeric":[">",{_SPLIT}]}}]}}}}'),
        _geometry(f'{{"coordinates":{{"x":[{{"numeric":[">",{_LOW},"<",{_HIGH}]}}]}}}}'),
    ],
}


def _anything_but(kind: str | None, values: tuple[str, str, str, str, str]) -> list[str]:
    def wrap(v: str) -> object:
        return {"anything-but": [v] if kind is None else {kind: v}}

    street1, street2, st_type, geometry_type, from_st = values
    return [
        _prop("STREET", wrap(street1)),
        _prop("STREET", wrap(street2)),
        _prop("ST_TYPE", wrap(st_type)),
        json.dumps({"geometry": {"type": [wrap(geometry_type)]}}, separators=(",", ":")),
        _prop("FROM_ST", wrap(from_st)),
    ]


_CL2_BODIES["ANYTHING_BUT"] = _anything_but(None, ("FULTON", "MASON", "ST", "Polygon", "441"))
_CL2_BODIES["ANYTHING_BUT_IGNORE_CASE"] = _anything_but(
    "equals-ignore-case", ("Fulton", "Mason", "st", "polygon", "441"))
_CL2_BODIES["ANYTHING_BUT_PREFIX"] = _anything_but(
    "prefix", ("FULTO", "MASO", "S", "Poly", "44"))
_CL2_BODIES["ANYTHING_BUT_SUFFIX"] = _anything_but(
    "suffix", ("ULTON", "ASON", "T", "olygon", "41"))
_CL2_BODIES["ANYTHING_BUT_WILDCARD"] = [
    _prop("MAPBLKLOT", {"anything-but": {"wildcard": w}}) for w in _WILDCARDS
]

CL2_ORDER = (
    "EXACT", "WILDCARD", "PREFIX", "PREFIX_EQUALS_IGNORE_CASE", "SUFFIX",
    "SUFFIX_EQUALS_IGNORE_CASE", "EQUALS_IGNORE_CASE", "NUMERIC", "COMPLEX_ARRAYS",
    "ANYTHING_BUT", "ANYTHING_BUT_IGNORE_CASE", "ANYTHING_BUT_PREFIX", "ANYTHING_BUT_SUFFIX",
    "ANYTHING_BUT_WILDCARD",
)


def cl2_rulesets() -> list[RuleSet]:
    """One machine per type, five rules each, then COMBO: all of them in one machine."""
    sets = []
    combo: list[tuple[str, str]] = []
    for kind in CL2_ORDER:
        rules = [(f"{kind}-{i + 1}", body) for i, body in enumerate(_CL2_BODIES[kind])]
        combo.extend(rules)
        sets.append(RuleSet(id=kind, title=f"citylots2 · CL2 {kind}", dataset="citylots2",
                            rules=rules))
    sets.append(RuleSet(id="COMBO", title="citylots2 · CL2 COMBO (all types, one machine)",
                        dataset="citylots2", rules=combo))
    return sets


# --------------------------------------------------------------------------
# Bus rule sets: one seeded sequence, every set a prefix of it
# --------------------------------------------------------------------------


def _bus_rule(rng: random.Random, account: str) -> tuple[str, dict[str, object]]:
    """One tenant's rule: ``account`` is always a top-level exact match (the
    reference check relies on that to index rules by account)."""
    t = rng.randrange(20)
    a: dict[str, object] = {"account": [account]}
    if t == 0:
        return "exact", {**a, "source": ["aws.ec2"],
                         "detail-type": ["EC2 Instance State-change Notification"],
                         "detail": {"state": rng.sample(EC2_STATES, rng.randint(1, 2))}}
    if t == 1:
        return "prefix", {**a, "source": ["aws.s3"], "detail": {
            "bucket": {"name": [bucket_name(account, rng.randrange(4))]},
            "object": {"key": [{"prefix": rng.choice(S3_PREFIXES)}]}}}
    if t == 2:
        return "suffix", {**a, "source": ["aws.s3"], "detail": {"object": {
            "key": [{"suffix": s} for s in rng.sample(S3_SUFFIXES, 2)]}}}
    if t == 3:
        low = rng.choice((0, 50, 100, 250, 500, 1000))
        return "numeric", {**a, "source": ["com.acme.orders"], "detail": {
            "total": [{"numeric": [">=", low, "<", low * rng.choice((2, 4)) + 100]}]}}
    if t == 4:
        return "anything-but", {**a, "source": ["com.acme.payments"], "detail": {
            "currency": [{"anything-but": rng.sample(CURRENCIES, 2)}], "method": ["card"]}}
    if t == 5:
        return "exists", {**a, "source": ["com.acme.orders"], "detail": {
            "coupon": [{"exists": rng.random() < 0.5}], "channel": [rng.choice(CHANNELS)]}}
    if t == 6:
        return "wildcard", {**a, "source": ["aws.cloudtrail"], "detail": {"eventName": [
            {"wildcard": rng.choice(("Describe*", "*Instances", "Create*Key", "*Bucket*",
                                     "Get*"))}]}}
    if t == 7:
        return "equals-ignore-case", {**a, "detail-type": ["Order Placed"], "detail": {
            "customer": {"tier": [{"equals-ignore-case": rng.choice(("GOLD", "silver",
                                                                     "Platinum"))}]}}}
    if t == 8:
        return "cidr", {**a, "source": ["aws.cloudtrail"], "detail": {
            "sourceIPAddress": [{"cidr": f"10.{rng.randrange(32)}.0.0/16"}]}}
    if t == 9:
        return "or", {**a, "source": ["com.acme.payments"], "$or": [
            {"detail": {"amount": [{"numeric": [">", rng.choice((100, 250, 1000))]}]}},
            {"detail": {"risk": {"score": [{"numeric": [">=", rng.randrange(80, 100)]}]}}}]}
    if t == 10:
        return "anything-but-prefix", {**a, "source": ["aws.guardduty"], "detail": {
            "type": [{"anything-but": {"prefix": "Recon:"}}],
            "severity": [{"numeric": [">=", rng.choice((2, 5, 8))]}]}}
    if t == 11:
        return "prefix-ignore-case", {**a, "detail-type": [{"prefix": {
            "equals-ignore-case": rng.choice(("payment ", "ORDER", "ec2 instance"))}}]}
    if t == 12:
        return "array-of-objects", {**a, "source": ["com.acme.orders"], "detail": {
            "items": {"tags": [rng.choice(("gift", "sale", "eco"))],
                      "qty": [{"numeric": [">=", rng.randint(2, 4)]}]}}}
    if t == 13:
        return "wildcard-arn", {**a, "region": rng.sample(REGIONS, 2), "resources": [
            {"wildcard": f"arn:aws:ec2:*:{account}:instance/*"}]}
    if t == 14:
        return "suffix-ignore-case", {**a, "detail": {"customer": {"email": [
            {"suffix": {"equals-ignore-case": "@EXAMPLE.COM"}}]}}}
    if t == 15:
        return "anything-but-suffix", {**a, "source": ["aws.s3"], "detail": {
            "object": {"key": [{"anything-but": {"suffix": rng.choice(S3_SUFFIXES)}}],
                       "version-id": [{"exists": True}]},
            "reason": [{"anything-but": {"equals-ignore-case": ["deleteobject"]}}]}}
    if t == 16:
        return "anything-but-wildcard", {**a, "source": ["aws.cloudtrail"], "detail": {
            "userAgent": [{"anything-but": {"wildcard": "*console*"}}],
            "readOnly": [rng.random() < 0.5]}}
    if t == 17:
        return "exists-false", {**a, "source": ["com.acme.payments"], "detail": {
            "declineCode": [{"exists": False}], "card": {"brand": [rng.choice(("amex", "visa"))]}}}
    if t == 18:
        return "or-mixed", {**a, "$or": [
            {"source": ["aws.guardduty"], "detail": {"severity": [{"numeric": [">=", 8]}]}},
            {"source": ["aws.ec2"], "detail": {"state": ["terminated"]}}]}
    return "cidr-public", {**a, "source": ["com.acme.payments"], "detail": {
        "ip": [{"cidr": rng.choice(("52.0.0.0/8", "54.0.0.0/8", "10.0.0.0/12"))}]}}


def bus_rules(n: int) -> list[tuple[str, str]]:
    """The first ``n`` rules of the bus sequence (every tenant gets one rule
    before any gets a second)."""
    rng = random.Random(SEED + 11)
    accts = accounts()
    out = []
    for i in range(n):
        kind, pattern = _bus_rule(rng, accts[i % len(accts)])
        out.append((f"bus-{i:06d}-{kind}", json.dumps(pattern, separators=(",", ":"))))
    return out


def bus_label(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def bus_rulesets(counts: tuple[int, ...]) -> list[RuleSet]:
    universe = bus_rules(max(counts))
    return [
        RuleSet(id=f"bus-{bus_label(n)}", title=f"bus · {n:,} rules (all operators)",
                dataset="bus", rules=universe[:n], tags=("scaling",))
        for n in counts
    ]


def exact_rules(n: int) -> dict[str, str]:
    """``n`` distinct exact-match rules (the rules-per-second and memory figures)."""
    return {
        f"exact-{i:07d}": f'{{"source":["com.acme.orders"],"detail":{{"orderId":["ord-{i:09d}"]}}}}'
        for i in range(n)
    }
