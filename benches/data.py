"""Seeded, deterministic generators for the benchmark data sets.

- ``citylots``: a stand-in for San Francisco's city-lots GeoJSON, one
  ``Feature`` per line, formatted like the original file, with matches
  planted so that Quamina's four patterns count 7 / 836 / 2 / 1 on the full
  213,068 lines.
- ``citylots2``: the same lots in Event Ruler's second shape (coordinates as
  ``{"x", "y", "z"}`` objects, plus ``geometry.firstCoordinates``).
- ``bus``: EventBridge envelopes, 0.5–4 KB, from a mix of services.
- ``sizes``: order events of 0.5 KB to 256 KB for the event-size curve.

A shorter citylots run (``--quick``) uses a *prefix* of the full file: the
generator draws the same random numbers line by line whatever the length.

Files are written once into the cache directory (see ``benches.config``) and
reused; each write prints the file's SHA-256, and every load checks it.

Run ``python -m benches.data [--quick]`` to generate and print the hashes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benches.config import FULL, QUICK, Profile, cache_dir
from benches.streets import STREETS, UNKNOWN

GENERATOR_VERSION = 1
SEED = 20_240_917
FULL_LINES = 213_068

# Coordinates are generated as integers in units of 1e-15 degree, so that the
# text of every planted number is exactly what the patterns name.
UNIT = 10**15
QUAMINA_Y = 37_807_807_921_694_092  # {"geometry":{"coordinates":[37.807807921694092]}}
QUAMINA_BLOCK, QUAMINA_LOT = "0011", 8
NUMERIC_X = -122_429_163_609_223_550  # CL2 NUMERIC: firstCoordinates.x = -122.42916360922355
COMPLEX_Y = 37_729_900_216_217_324  # CL2 COMPLEX_ARRAYS: coordinates.y = 37.729900216217324
THRESHOLD_X = -122_416_009_440_124_240  # CL2 NUMERIC: x < / > -122.41600944012424
_GUARD = 10**6  # random numbers stay this far (1e-9 degree) from the planted ones

# Planted lines (indices in the full file; the quick prefix keeps those below its length).
CRANLEIGH_FIRST_LINE = 15_321
CRANLEIGH_LOTS = 7
SEVENTEENTH_EVEN = 836
SEVENTEENTH_ODD = 790
NUMERIC_LINES = (7_777, 91_234, 170_001)
COMPLEX_LINES = (4_321, 66_666, 133_333, 199_999)
VACSTWIL_LINES = (2_222, 111_111)
# Blocks that must exist with at least this many lots (the EXACT rules and Quamina's lot).
FORCED_BLOCKS = {"0011": 24, "1430": 30, "2607": 230, "3745": 20}

X_WEST = -122_514_000_000_000_000
Y_NORTH = 37_807_400_000_000_000
BLOCK_COLUMNS = 64
BLOCK_W = 2_400_000_000_000  # 0.0024 degree
BLOCK_H = 850_000_000_000  # 0.00085 degree
LOTS_W = 2_200_000_000_000
ST_TYPES_RANDOM_VACANT = ("VACSTMIS", "VACSTFOL", "VACSTHWD", "VACSTBRY", "VACSTLAG")


# --------------------------------------------------------------------------
# Files, hashes, cache
# --------------------------------------------------------------------------


def generator_fingerprint() -> str:
    """Changes whenever the generators' source does: cached files from another
    version of the code are never mistaken for this one's."""
    h = hashlib.sha256()
    for module in ("data.py", "streets.py"):
        h.update((Path(__file__).with_name(module)).read_bytes())
    return h.hexdigest()[:12]


def data_dir() -> Path:
    return cache_dir() / f"data-v{GENERATOR_VERSION}-{generator_fingerprint()}"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class DataFile:
    name: str
    path: Path
    sha256: str
    lines: int
    bytes: int

    def read_lines(self) -> list[bytes]:
        with open(self.path, "rb") as f:
            data = f.read()
        lines = data.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()
        return lines


class _HashingWriter:
    """Writes lines to ``path`` (through a temporary file) and hashes them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_suffix(path.suffix + ".tmp")
        self.file = open(self.tmp, "w", encoding="utf-8", newline="\n")
        self.hash = hashlib.sha256()
        self.lines = 0
        self.bytes = 0
        self._buffer: list[str] = []

    def write(self, line: str) -> None:
        self._buffer.append(line)
        self.lines += 1
        if len(self._buffer) >= 4096:
            self._flush()

    def _flush(self) -> None:
        text = "\n".join(self._buffer) + "\n"
        raw = text.encode("utf-8")
        self.hash.update(raw)
        self.bytes += len(raw)
        self.file.write(text)
        self._buffer.clear()

    def close(self) -> str:
        if self._buffer:
            self._flush()
        self.file.close()
        self.tmp.replace(self.path)
        digest = self.hash.hexdigest()
        self.path.with_name(self.path.name + ".sha256").write_text(f"{digest}  {self.path.name}\n")
        return digest


def _cached(path: Path, name: str, log: Log) -> DataFile | None:
    """The cached file, when it exists and matches its recorded hash."""
    sidecar = path.with_name(path.name + ".sha256")
    if not path.exists() or not sidecar.exists():
        return None
    recorded = sidecar.read_text().split()[0]
    actual = sha256_file(path)
    if actual != recorded:
        _say(log, f"{path}: SHA-256 {actual} differs from the recorded {recorded}; regenerating")
        return None
    with open(path, "rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 22), b""))
    _say(log, f"{name}: {path} (cached) sha256={actual}")
    return DataFile(name, path, actual, lines, path.stat().st_size)


Log = bool | Callable[[str], None]
"""Where progress messages go: stderr (True), nowhere (False), or a function."""


def _say(log: Log, text: str) -> None:
    if callable(log):
        log(text)
    elif log:
        print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# citylots / citylots2
# --------------------------------------------------------------------------


def _fmt15(v: int) -> str:
    """Degrees in 1e-15 units as text with 15 decimals, like the original file."""
    if v < 0:
        a = -v
        return f"-{a // UNIT}.{a % UNIT:015d}"
    return f"{v // UNIT}.{v % UNIT:015d}"


def _safe_y(v: int) -> int:
    if abs(v - QUAMINA_Y) < _GUARD or abs(v - COMPLEX_Y) < _GUARD:
        return v + 3 * _GUARD
    return v


def _safe_x(v: int) -> int:
    if abs(v - NUMERIC_X) < _GUARD or abs(v - THRESHOLD_X) < _GUARD:
        return v + 3 * _GUARD
    return v


@dataclass
class Lot:
    """One line of citylots: the properties and the rings (integer points)."""

    mapblklot: str
    blklot: str
    block_num: str
    lot_num: str
    from_st: str
    to_st: str
    street: str
    st_type: str | None
    odd_even: str | None
    multi: bool
    polygons: list[list[tuple[int, int]]]  # one ring per polygon


def _plan_plants() -> tuple[dict[int, tuple[str, str, str]], set[int]]:
    """Lines whose street is planted: index -> (street, type, odd/even)."""
    rng = random.Random(SEED + 1)
    plants: dict[int, tuple[str, str, str]] = {}
    for k in range(CRANLEIGH_LOTS):
        plants[CRANLEIGH_FIRST_LINE + k] = ("CRANLEIGH", "DR", "O" if k % 2 else "E")
    reserved = set(plants) | set(NUMERIC_LINES) | set(COMPLEX_LINES) | set(VACSTWIL_LINES)
    for count, parity in ((SEVENTEENTH_EVEN, "E"), (SEVENTEENTH_ODD, "O")):
        placed = 0
        while placed < count:
            i = rng.randrange(FULL_LINES)
            if i in reserved or i in plants:
                continue
            plants[i] = ("17TH", "ST" if rng.random() < 0.6 else "AVE", parity)
            placed += 1
    return plants, reserved


def _block_numbers(rng: random.Random) -> Iterator[str]:
    """0001, 0002, 0004, 0004A, ...: increasing, with gaps and lettered blocks."""
    forced = sorted(int(b) for b in FORCED_BLOCKS)
    current = 0
    while True:
        r = rng.random()
        gap = 0 if r < 0.7 else 1 if r < 0.9 else rng.randint(2, 5)
        nxt = current + 1 + gap
        for f in forced:
            if current < f < nxt:
                nxt = f
                break
        current = nxt
        yield f"{current:04d}"
        if rng.random() < 0.03:
            yield f"{current:04d}A"
            if rng.random() < 0.3:
                yield f"{current:04d}B"


def citylots(n_lines: int) -> Iterator[Lot]:
    """The first ``n_lines`` lots of the (213,068-lot) city."""
    if not 0 < n_lines <= FULL_LINES:
        raise ValueError(f"citylots has 1 to {FULL_LINES} lines, not {n_lines}")
    rng = random.Random(SEED)
    plants, _ = _plan_plants()
    line = 0
    for block in _block_numbers(rng):
        if line >= n_lines:
            return
        forced = block in FORCED_BLOCKS
        numeric = int(block[:4])
        if forced:
            n_block = FORCED_BLOCKS[block]
        elif rng.random() < 0.85:
            n_block = rng.randint(4, 40)
        else:
            n_block = rng.randint(41, 160)
        # Map lots: usually one line each, sometimes a condominium of many units
        # (same MAPBLKLOT and polygon, one BLKLOT each).
        groups: list[int] = []
        lines_in_block = 0
        while lines_in_block < n_block:
            size = 1 if forced or rng.random() >= 0.03 else rng.randint(2, 24)
            size = min(size, n_block - lines_in_block)
            groups.append(size)
            lines_in_block += size
        # Where the block is: numbered from the northern waterfront southwards.
        col = numeric % BLOCK_COLUMNS
        row = numeric // BLOCK_COLUMNS
        x0 = X_WEST + col * BLOCK_W + (BLOCK_W - LOTS_W) // 2
        y0 = Y_NORTH - row * BLOCK_H
        faces: list[tuple[str, str | None]] = [
            UNKNOWN if rng.random() < 0.04 else rng.choice(STREETS) for _ in range(4)
        ]
        bases = [rng.randrange(0, 3000, 100) for _ in range(4)]
        per_row = math.ceil(len(groups) / 2)
        width = LOTS_W // per_row
        yb_rows = (_safe_y(y0 + rng.randrange(10**11)),
                   _safe_y(y0 + 420_000_000_000 + rng.randrange(10**11)))
        prev_top: int | None = None
        bounds: list[int] = []
        unit = 101
        for j, group in enumerate(groups):
            row_i, k = divmod(j, per_row)
            if k == 0:
                # Lot boundaries of this row, each shared by the two lots beside it.
                prev_top = None
                bounds = [_safe_x(x0 + i * width + rng.randrange(-width // 8, width // 8))
                          for i in range(per_row + 1)]
            yb = yb_rows[row_i]
            xl, xr = bounds[k], bounds[k + 1]
            yt = _safe_y(yb + rng.randrange(300_000_000_000, 400_000_000_000))
            lot_no = j + 1
            if block == QUAMINA_BLOCK and lot_no == QUAMINA_LOT:
                yt = QUAMINA_Y
            ring = [(xl, yb)]
            n_bottom, n_top = rng.randint(0, 6), rng.randint(0, 6)
            for x in sorted(rng.randrange(xl + 1, xr) for _ in range(n_bottom)):
                ring.append((x, _safe_y(yb + rng.randrange(-2_000_000_000, 2_000_000_000))))
            ring.append((xr, yb))
            ring.append((xr, yt))
            for x in sorted((rng.randrange(xl + 1, xr) for _ in range(n_top)), reverse=True):
                ring.append((x, _safe_y(yt + rng.randrange(-2_000_000_000, 2_000_000_000))))
            ring.append((xl, yt))
            if prev_top is not None:
                ring.append((xl, prev_top))  # the neighbour's corner, shared
            ring.append((xl, yb))
            prev_top = yt
            islands: list[list[tuple[int, int]]] = []
            if not forced and rng.random() < 0.015:
                for _ in range(rng.randint(1, 2)):
                    ix = _safe_x(x0 + rng.randrange(0, LOTS_W))
                    iy = _safe_y(y0 + rng.randrange(0, BLOCK_H))
                    island = [(ix, iy)]
                    for _ in range(rng.randint(3, 6)):
                        island.append((
                            _safe_x(ix + rng.randrange(-30_000_000_000, 30_000_000_000)),
                            _safe_y(iy + rng.randrange(-30_000_000_000, 30_000_000_000)),
                        ))
                    island.append((ix, iy))
                    islands.append(island)
            face = faces[rng.randrange(4)] if rng.random() < 0.3 else faces[row_i]
            street, st_type = face
            number = bases[row_i] + 2 * k * rng.randint(1, 3) + row_i
            span = 2 * rng.randint(0, 3)
            vacant = None if forced else (
                rng.choice(ST_TYPES_RANDOM_VACANT) if rng.random() < 0.0004 else None
            )
            mapblklot = f"{block}{lot_no:03d}"
            for _ in range(group):
                if line >= n_lines:
                    return
                if street == "UNKNOWN":
                    props = ["0", "0", street, st_type, "E"]
                else:
                    props = [str(number), str(number + span), street, st_type,
                             "O" if number % 2 else "E"]
                planted = plants.get(line)
                if planted is not None:
                    p_street, p_type, parity = planted
                    p_number = number + (1 if (number % 2 == 0) == (parity == "O") else 0)
                    props = [str(p_number), str(p_number + span), p_street, p_type, parity]
                blklot = mapblklot if group == 1 else f"{block}{unit % 1000:03d}"
                lot = Lot(mapblklot, blklot, block, mapblklot[len(block):],
                          props[0], props[1], props[2], props[3], props[4],
                          bool(islands), [ring, *islands])
                if vacant is not None or line in VACSTWIL_LINES:
                    name = "VACSTWIL" if line in VACSTWIL_LINES else vacant
                    assert name is not None
                    lot.mapblklot = lot.blklot = name
                    lot.block_num, lot.lot_num = name[:4], name[4:]
                if line in NUMERIC_LINES:
                    lot.multi = False
                    lot.polygons = [[(NUMERIC_X if x == xl else x, y) for x, y in ring]]
                elif line in COMPLEX_LINES:
                    ix, iy = _safe_x(x0 + 1_000_000_000), COMPLEX_Y
                    island = [(ix, iy), (ix + 20_000_000_000, iy), (ix, iy + 20_000_000_000),
                              (ix, iy)]
                    lot.multi = True
                    lot.polygons = [ring, island]
                yield lot
                line += 1
                if group > 1:
                    unit += 1


_ST_TYPE_JSON: dict[str | None, str] = {None: "null"}


def _json_str(value: str | None) -> str:
    text = _ST_TYPE_JSON.get(value)
    if text is None:
        text = json.dumps(value)
        _ST_TYPE_JSON[value] = text
    return text


def _properties(lot: Lot) -> str:
    return (
        f'"properties": {{ "MAPBLKLOT": "{lot.mapblklot}", "BLKLOT": "{lot.blklot}", '
        f'"BLOCK_NUM": "{lot.block_num}", "LOT_NUM": "{lot.lot_num}", '
        f'"FROM_ST": "{lot.from_st}", "TO_ST": "{lot.to_st}", "STREET": {_json_str(lot.street)}, '
        f'"ST_TYPE": {_json_str(lot.st_type)}, "ODD_EVEN": {_json_str(lot.odd_even)} }}'
    )


def citylots_line(lot: Lot) -> str:
    """The original file's shape: ``[ x, y, 0.0 ]`` points, 15 decimals."""
    rings = [
        "[ " + ", ".join(f"[ {_fmt15(x)}, {_fmt15(y)}, 0.0 ]" for x, y in ring) + " ]"
        for ring in lot.polygons
    ]
    if lot.multi:
        coordinates = "[ " + ", ".join(f"[ {r} ]" for r in rings) + " ]"
        kind = "MultiPolygon"
    else:
        coordinates = f"[ {rings[0]} ]"
        kind = "Polygon"
    return (
        f'{{ "type": "Feature", {_properties(lot)}, '
        f'"geometry": {{ "type": "{kind}", "coordinates": {coordinates} }} }}'
    )


def citylots2_line(lot: Lot) -> str:
    """Event Ruler's second shape: ``{"x", "y", "z"}`` points (shortest
    round-trip numbers) and ``geometry.firstCoordinates``."""
    rings = []
    first = ""
    for ring in lot.polygons:
        points = [
            f'{{ "x": {float(_fmt15(x))!r}, "y": {float(_fmt15(y))!r}, "z": 0.0 }}'
            for x, y in ring
        ]
        if not first:
            first = points[0]
        rings.append("[ " + ", ".join(points) + " ]")
    if lot.multi:
        coordinates = "[ " + ", ".join(f"[ {r} ]" for r in rings) + " ]"
        kind = "MultiPolygon"
    else:
        coordinates = f"[ {rings[0]} ]"
        kind = "Polygon"
    return (
        f'{{ "type": "Feature", {_properties(lot)}, "geometry": {{ "type": "{kind}", '
        f'"coordinates": {coordinates}, "firstCoordinates": {first} }} }}'
    )


def citylots_files(n_lines: int, log: Log = True) -> tuple[DataFile, DataFile]:
    """citylots and citylots2 with ``n_lines`` lines, generated once and cached."""
    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    p1 = directory / f"citylots-{n_lines}.jsonl"
    p2 = directory / f"citylots2-{n_lines}.jsonl"
    f1 = _cached(p1, "citylots", log)
    f2 = _cached(p2, "citylots2", log)
    if f1 is not None and f2 is not None:
        return f1, f2
    _say(log, f"generating citylots and citylots2 ({n_lines:,} lines, seed {SEED}) ...")
    w1, w2 = _HashingWriter(p1), _HashingWriter(p2)
    for lot in citylots(n_lines):
        w1.write(citylots_line(lot))
        w2.write(citylots2_line(lot))
    d1, d2 = w1.close(), w2.close()
    _say(log, f"citylots: wrote {p1} ({w1.lines:,} lines, {w1.bytes:,} bytes) sha256={d1}")
    _say(log, f"citylots2: wrote {p2} ({w2.lines:,} lines, {w2.bytes:,} bytes) sha256={d2}")
    return (
        DataFile("citylots", p1, d1, w1.lines, w1.bytes),
        DataFile("citylots2", p2, d2, w2.lines, w2.bytes),
    )


# --------------------------------------------------------------------------
# Bus events
# --------------------------------------------------------------------------

REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1",
           "ap-southeast-2", "ap-northeast-1", "sa-east-1")
N_ACCOUNTS = 1000
EC2_STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")
S3_SUFFIXES = (".jpg", ".png", ".json", ".csv", ".parquet", ".gz", ".pdf", ".txt")
S3_PREFIXES = ("uploads/", "logs/", "exports/", "images/", "tmp/", "raw/", "reports/")
API_CALLS = (
    ("ec2.amazonaws.com", ("DescribeInstances", "RunInstances", "TerminateInstances",
                           "StopInstances", "CreateTags", "DescribeVolumes")),
    ("iam.amazonaws.com", ("CreateUser", "AttachRolePolicy", "CreateAccessKey",
                           "DeleteUser", "GetRole", "ListPolicies")),
    ("s3.amazonaws.com", ("CreateBucket", "PutBucketPolicy", "DeleteBucket",
                          "PutBucketAcl", "GetBucketLocation")),
    ("kms.amazonaws.com", ("Decrypt", "Encrypt", "GenerateDataKey", "ScheduleKeyDeletion")),
    ("lambda.amazonaws.com", ("Invoke", "CreateFunction20150331", "UpdateFunctionCode20150331v2")),
)
USER_AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.ubuntu.22 prompt/off command/ec2.describe-instances",  # noqa: E501
    "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.12.2",
    "console.amazonaws.com",
    "aws-sdk-java/2.25.6 Linux/5.10.210 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10",
    "Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0",
)
TIERS = ("bronze", "silver", "gold", "platinum", "Gold", "GOLD", "Silver")
CURRENCIES = ("USD", "EUR", "GBP", "JPY", "AUD", "CAD", "CHF", "SEK")
CHANNELS = ("web", "ios", "android", "pos", "partner-api")
COUNTRIES = (("US", "Seattle"), ("US", "Austin"), ("DE", "Berlin"), ("FR", "Paris"),
             ("GB", "London"), ("JP", "Tokyo"), ("AU", "Sydney"), ("BR", "São Paulo"),
             ("CA", "Toronto"), ("SE", "Göteborg"))
FINDING_TYPES = (
    "Recon:EC2/PortProbeUnprotectedPort", "UnauthorizedAccess:EC2/SSHBruteForce",
    "CryptoCurrency:EC2/BitcoinTool.B!DNS", "Trojan:EC2/DNSDataExfiltration",
    "Recon:IAMUser/MaliciousIPCaller", "Backdoor:EC2/C&CActivity.B",
    "Policy:S3/BucketBlockPublicAccessDisabled", "Discovery:S3/MaliciousIPCaller",
)
PRODUCTS = ("Trail Runner 3", "Espresso Grinder", "Wool Socks (3-pack)", "USB-C Hub",
            "Cast Iron Skillet", "Noise-Cancelling Headphones", "Yoga Mat", "Desk Lamp",
            "Café Beans 1kg", "Rain Jacket")


def accounts() -> list[str]:
    rng = random.Random(SEED + 7)
    return [f"{rng.randrange(10**11, 10**12):012d}" for _ in range(N_ACCOUNTS)]


def bucket_name(account: str, k: int) -> str:
    return f"acme-{account[-4:]}-{('assets', 'logs', 'data', 'backups')[k % 4]}"


def _hexid(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _uuid(rng: random.Random) -> str:
    h = _hexid(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"10.{rng.randrange(0, 32)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    return f"{rng.choice((52, 54, 3, 18, 34, 198))}.{rng.randrange(256)}." \
        f"{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _time(rng: random.Random) -> str:
    return (f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}Z")


def _order_items(rng: random.Random, n: int) -> list[dict[str, Any]]:
    return [
        {"sku": f"SKU-{rng.randrange(100000):05d}", "name": rng.choice(PRODUCTS),
         "qty": rng.randint(1, 5), "price": round(rng.uniform(2, 400), 2),
         "tags": rng.sample(("sale", "new", "gift", "bulk", "eco"), rng.randint(0, 2))}
        for _ in range(n)
    ]


def bus_event(rng: random.Random, accts: list[str], kind: str | None = None,
              items: int | None = None) -> dict[str, object]:
    """One EventBridge envelope from a weighted mix of services."""
    account = rng.choice(accts)
    region = rng.choice(REGIONS)
    if kind is None:
        r = rng.random()
        kind = ("ec2" if r < 0.15 else "s3" if r < 0.35 else "cloudtrail" if r < 0.55
                else "order" if r < 0.75 else "payment" if r < 0.9 else "guardduty")
    event: dict[str, object] = {"version": "0", "id": _uuid(rng)}
    detail: dict[str, object]
    if kind == "ec2":
        instance = f"i-{_hexid(rng, 17)}"
        event.update({"detail-type": "EC2 Instance State-change Notification",
                      "source": "aws.ec2"})
        resources = [f"arn:aws:ec2:{region}:{account}:instance/{instance}"]
        detail = {"instance-id": instance, "state": rng.choice(EC2_STATES),
                  "previous-state": rng.choice(EC2_STATES),
                  "instance-type": rng.choice(("t3.micro", "m6i.large", "c7g.xlarge")),
                  "availability-zone": f"{region}{rng.choice('abc')}",
                  "image-id": f"ami-{_hexid(rng, 17)}", "vpc-id": f"vpc-{_hexid(rng, 8)}",
                  "subnet-id": f"subnet-{_hexid(rng, 8)}",
                  "private-ip-address": f"10.{rng.randrange(32)}.{rng.randrange(256)}."
                                        f"{rng.randrange(1, 255)}",
                  "launch-time": _time(rng),
                  "tags": {"team": rng.choice(("payments", "search", "data", "web")),
                           "env": rng.choice(("prod", "staging", "dev"))}}
    elif kind == "s3":
        bucket = bucket_name(account, rng.randrange(4))
        key = (f"{rng.choice(S3_PREFIXES)}{rng.randrange(2020, 2025)}/"
               f"{rng.randrange(1, 13):02d}/{_hexid(rng, 12)}{rng.choice(S3_SUFFIXES)}")
        event.update({"detail-type": "Object Created", "source": "aws.s3"})
        resources = [f"arn:aws:s3:::{bucket}"]
        detail = {"version": "0", "bucket": {"name": bucket},
                  "object": {"key": key, "size": rng.randrange(10, 50_000_000),
                             "etag": _hexid(rng, 32), "version-id": _hexid(rng, 32),
                             "sequencer": _hexid(rng, 18).upper()},
                  "request-id": _hexid(rng, 16).upper(), "requester": account,
                  "source-ip-address": _ip(rng), "reason": "PutObject"}
    elif kind == "cloudtrail":
        service, calls = rng.choice(API_CALLS)
        name = rng.choice(calls)
        user = rng.choice(("alice", "bob", "ci-deployer", "terraform", "ops-admin"))
        event.update({"detail-type": "AWS API Call via CloudTrail", "source": "aws.cloudtrail"})
        resources = []
        params: dict[str, object] = {
            "filterSet": {"items": [{"name": "tag:env", "valueSet": {"items": [
                {"value": rng.choice(("prod", "staging"))}]}}]},
        }
        if rng.random() < 0.6:
            params["instancesSet"] = {"items": [
                {"instanceId": f"i-{_hexid(rng, 17)}", "instanceType": "m6i.large",
                 "imageId": f"ami-{_hexid(rng, 17)}",
                 "placement": {"availabilityZone": f"{region}{rng.choice('abc')}",
                               "tenancy": "default"},
                 "monitoring": {"state": rng.choice(("enabled", "disabled"))}}
                for _ in range(rng.randint(1, 9))]}
        if rng.random() < 0.4:
            params["policyDocument"] = json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": [f"{service.split('.')[0]}:*"],
                               "Resource": "*"} for _ in range(rng.randint(1, 6))]})
        detail = {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole", "principalId": f"AROA{_hexid(rng, 16).upper()}:{user}",
                "arn": f"arn:aws:sts::{account}:assumed-role/{user}-role/{user}",
                "accountId": account, "accessKeyId": f"ASIA{_hexid(rng, 16).upper()}",
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": f"AROA{_hexid(rng, 16)}",
                                      "arn": f"arn:aws:iam::{account}:role/{user}-role",
                                      "accountId": account, "userName": f"{user}-role"},
                    "attributes": {"creationDate": _time(rng),
                                   "mfaAuthenticated": rng.choice(("true", "false"))}}},
            "eventTime": _time(rng), "eventSource": service, "eventName": name,
            "awsRegion": region, "sourceIPAddress": _ip(rng),
            "userAgent": rng.choice(USER_AGENTS), "requestParameters": params,
            "responseElements": None if name.startswith(("Describe", "Get", "List")) else {
                "requestId": _uuid(rng), "return": True},
            "requestID": _uuid(rng), "eventID": _uuid(rng),
            "readOnly": name.startswith(("Describe", "Get", "List")),
            "eventType": "AwsApiCall", "managementEvent": True,
            "recipientAccountId": account, "eventCategory": "Management",
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                           "clientProvidedHostHeader": f"{service.split('.')[0]}."
                                                       f"{region}.amazonaws.com"},
        }
    elif kind == "order":
        country, city = rng.choice(COUNTRIES)
        n_items = rng.randint(1, 14) if items is None else items
        lines = _order_items(rng, n_items)
        total = round(sum(item["price"] * item["qty"] for item in lines), 2)
        event.update({"detail-type": "Order Placed", "source": "com.acme.orders"})
        resources = []
        detail = {"orderId": f"ord-{rng.randrange(10**9):09d}",
                  "customer": {"id": f"cus-{rng.randrange(10**7):07d}",
                               "tier": rng.choice(TIERS),
                               "email": f"user{rng.randrange(10**6)}@" + rng.choice(
                                   ("example.com", "Example.COM", "mail.test")),
                               "address": {"country": country, "city": city,
                                           "zip": f"{rng.randrange(10**5):05d}"}},
                  "items": lines, "total": total, "currency": rng.choice(CURRENCIES),
                  "channel": rng.choice(CHANNELS), "placedAt": _time(rng)}
        if rng.random() < 0.3:
            detail["coupon"] = f"SAVE{rng.choice((5, 10, 15, 20))}"
    elif kind == "payment":
        declined = rng.random() < 0.2
        event.update({"detail-type": "Payment Declined" if declined else "Payment Authorized",
                      "source": "com.acme.payments"})
        resources = []
        detail = {"paymentId": f"pay-{_hexid(rng, 20)}",
                  "orderId": f"ord-{rng.randrange(10**9):09d}",
                  "amount": round(rng.lognormvariate(4, 1.2), 2),
                  "currency": rng.choice(CURRENCIES),
                  "method": rng.choice(("card", "card", "wallet", "bank-transfer")),
                  "card": {"brand": rng.choice(("visa", "mastercard", "amex")),
                           "last4": f"{rng.randrange(10**4):04d}",
                           "country": rng.choice(COUNTRIES)[0]},
                  "risk": {"score": rng.randrange(100),
                           "rules": rng.sample(("velocity", "geo-mismatch", "new-device",
                                                "high-amount", "proxy"), rng.randint(0, 3))},
                  "ip": _ip(rng),
                  "merchant": {"id": f"mer-{rng.randrange(10**5):05d}", "mcc": "5999",
                               "descriptor": f"ACME*STORE {rng.randrange(1000):03d}"},
                  "authorizationCode": _hexid(rng, 6).upper(), "createdAt": _time(rng)}
        if declined:
            detail["declineCode"] = rng.choice(("insufficient_funds", "do_not_honor", "fraud"))
    else:
        instance = f"i-{_hexid(rng, 17)}"
        ftype = rng.choice(FINDING_TYPES)
        event.update({"detail-type": "GuardDuty Finding", "source": "aws.guardduty"})
        resources = []
        detail = {
            "schemaVersion": "2.0", "accountId": account, "region": region,
            "partition": "aws", "id": _hexid(rng, 32), "type": ftype,
            "severity": rng.choice((2, 2.5, 5, 5.3, 8, 8.8)),
            "title": f"{ftype.split(':')[0]} activity observed on {instance}",
            "description": f"EC2 instance {instance} is behaving unusually: {ftype}.",
            "resource": {"resourceType": "Instance", "instanceDetails": {
                "instanceId": instance, "instanceType": "m6i.large",
                "networkInterfaces": [{
                    "privateIpAddress": f"10.{rng.randrange(32)}.{rng.randrange(256)}."
                                        f"{rng.randrange(1, 255)}",
                    "publicIp": _ip(rng), "subnetId": f"subnet-{_hexid(rng, 8)}",
                    "vpcId": f"vpc-{_hexid(rng, 8)}",
                    "securityGroups": [{"groupId": f"sg-{_hexid(rng, 8)}",
                                        "groupName": "default"}]}],
                "tags": [{"key": "env", "value": rng.choice(("prod", "dev"))}]}},
            "service": {"action": {"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
                "connectionDirection": "INBOUND", "remoteIpDetails": {
                    "ipAddressV4": _ip(rng),
                    "country": {"countryName": rng.choice(("Netherlands", "Brazil", "Vietnam"))}},
                "localPortDetails": {"port": rng.choice((22, 80, 443, 3389))}}},
                "count": rng.randint(1, 500), "eventFirstSeen": _time(rng),
                "eventLastSeen": _time(rng)},
        }
    event.update({"account": account, "time": _time(rng), "region": region,
                  "resources": resources, "detail": detail})
    return event


def _dumps(event: dict[str, object]) -> str:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False)


def bus_file(n_events: int, log: Log = True) -> DataFile:
    """``n_events`` EventBridge envelopes (a prefix of one seeded stream)."""
    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"bus-{n_events}.jsonl"
    cached = _cached(path, "bus", log)
    if cached is not None:
        return cached
    rng = random.Random(SEED + 2)
    accts = accounts()
    w = _HashingWriter(path)
    for _ in range(n_events):
        w.write(_dumps(bus_event(rng, accts)))
    digest = w.close()
    _say(log, f"bus: wrote {path} ({w.lines:,} events, {w.bytes:,} bytes) sha256={digest}")
    return DataFile("bus", path, digest, w.lines, w.bytes)


def sized_events(size_kb: float, count: int) -> list[bytes]:
    """``count`` order events of at most (about) ``size_kb`` KB each, seeded by size."""
    rng = random.Random(SEED + 3 + int(size_kb * 1024))
    accts = accounts()
    target = int(size_kb * 1024)
    out = []
    for _ in range(count):
        event = bus_event(rng, accts, "order", items=target // 60 + 1)
        detail: dict[str, Any] = event["detail"]  # type: ignore[assignment]
        items = detail["items"]
        detail["items"] = []
        room = target - len(_dumps(event).encode())
        keep = 0
        for item in items:
            room -= len(_dumps(item).encode()) + (1 if keep else 0)
            if room < 0:
                break
            keep += 1
        detail["items"] = items[:keep]
        out.append(_dumps(event).encode())
    return out


def size_events_file(profile: Profile, log: Log = True) -> DataFile:
    """All event-size points in one file: ``{"kb": .., "event": ...}`` per line."""
    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    points = "-".join(f"{kb:g}" for kb in profile.sizes_kb)
    path = directory / f"sizes-{points}-{profile.size_bytes_per_point}.jsonl"
    cached = _cached(path, "sizes", log)
    if cached is not None:
        return cached
    w = _HashingWriter(path)
    for kb in profile.sizes_kb:
        count = max(8, profile.size_bytes_per_point // int(kb * 1024))
        for event in sized_events(kb, count):
            w.write(f'{{"kb":{kb:g},"event":{event.decode()}}}')
    digest = w.close()
    _say(log, f"sizes: wrote {path} ({w.lines:,} events, {w.bytes:,} bytes) sha256={digest}")
    return DataFile("sizes", path, digest, w.lines, w.bytes)


def load_sized(file: DataFile) -> dict[float, list[bytes]]:
    """The event-size points: KB -> events (raw JSON bytes)."""
    out: dict[float, list[bytes]] = {}
    for line in file.read_lines():
        # '{"kb":0.5,"event":{...}}': the event text is kept byte for byte.
        head, _, rest = line.partition(b',"event":')
        kb = float(head[len(b'{"kb":'):])
        out.setdefault(kb, []).append(rest[:-1])
    return out


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def generate_all(profile: Profile, log: Log = True) -> dict[str, DataFile]:
    c1, c2 = citylots_files(profile.citylots_lines, log)
    return {
        "citylots": c1,
        "citylots2": c2,
        "bus": bus_file(profile.bus_events, log),
        "sizes": size_events_file(profile, log),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benches.data", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the quick profile's smaller files")
    args = parser.parse_args(argv)
    files = generate_all(QUICK if args.quick else FULL)
    for f in files.values():
        print(f"{f.sha256}  {f.path}  ({f.lines:,} lines, {f.bytes:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
