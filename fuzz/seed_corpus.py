#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/ (git-ignored).

    python3 fuzz/seed_corpus.py [CONFORMANCE_JSON]

CONFORMANCE_JSON defaults to $FASTBRIDGE_CONFORMANCE, else
../shared/conformance/aws-recorded.json beside the repository (the file of
AWS-recorded cases: a list of {"name", "pattern", "event", ...}). The
project's own cases in tests/cases/*.json are added when present.

- corpus/pattern_compiler/: every case's pattern, one file each
- corpus/event_scanner/:    every case's event, one file each
- corpus/structured/:       a few byte strings (its input is not JSON)

Numbers are written with the digits of the source file (not through a float),
so `1e400` or `123456789012345678` stay as they are. Files are named by case
name and content hash; running the script again only adds what is missing.
"""

import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class RawNumber(str):
    """A JSON number kept as its source text."""


def loads(text):
    return json.loads(
        text,
        parse_int=RawNumber,
        parse_float=RawNumber,
        parse_constant=RawNumber,
    )


def dumps(v):
    """Compact JSON; numbers as written in the source, key order kept."""
    if isinstance(v, RawNumber):
        return str(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(dumps(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + dumps(x) for k, x in v.items()) + "}"
    raise TypeError(type(v))


def text_of(case, key):
    raw = case.get(key + "_text")
    if isinstance(raw, str):
        return raw
    if key in case:
        return dumps(case[key])
    return None


def write(directory, name, text):
    data = text.encode("utf-8")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60]
    path = os.path.join(directory, "%s-%s" % (safe, hashlib.sha1(data).hexdigest()[:10]))
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(data)
        return 1
    return 0


def main():
    source = (
        sys.argv[1]
        if len(sys.argv) > 1
        else os.environ.get(
            "FASTBRIDGE_CONFORMANCE",
            os.path.join(ROOT, "..", "shared", "conformance", "aws-recorded.json"),
        )
    )
    sets = []
    if os.path.exists(source):
        with open(source, encoding="utf-8") as f:
            sets.append(("aws", loads(f.read())))
    else:
        print("seed_corpus: %s not found; no AWS seeds" % source, file=sys.stderr)
    cases_dir = os.path.join(ROOT, "tests", "cases")
    if os.path.isdir(cases_dir):
        for fn in sorted(os.listdir(cases_dir)):
            if fn.endswith(".json"):
                with open(os.path.join(cases_dir, fn), encoding="utf-8") as f:
                    sets.append((fn[:-5], loads(f.read())))

    dirs = {t: os.path.join(HERE, "corpus", t) for t in ("pattern_compiler", "event_scanner", "structured")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    added = {t: 0 for t in dirs}
    for label, cases in sets:
        if isinstance(cases, dict):
            cases = cases.get("cases", [])
        for case in cases:
            if not isinstance(case, dict):
                continue
            name = "%s-%s" % (label, case.get("name", "case"))
            pattern = text_of(case, "pattern")
            event = text_of(case, "event")
            if pattern is not None:
                added["pattern_compiler"] += write(dirs["pattern_compiler"], name, pattern)
            if event is not None:
                added["event_scanner"] += write(dirs["event_scanner"], name, event)
    for i, seed in enumerate([b"", b"\x00" * 8, b"\xff" * 8, bytes(range(64)), bytes(range(255, 127, -1))]):
        path = os.path.join(dirs["structured"], "bytes-%d" % i)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(seed)
            added["structured"] += 1
    for t, n in added.items():
        print("seed_corpus: %s: %d new, %d in all" % (t, n, len(os.listdir(dirs[t]))))


if __name__ == "__main__":
    main()
