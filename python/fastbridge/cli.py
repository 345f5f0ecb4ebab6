"""The ``fastbridge`` command line.

Subcommands::

    fastbridge match --rules RULES.json EVENTS.jsonl   # or "-" for stdin
    fastbridge test-pattern PATTERN EVENT               # JSON text or @path
    fastbridge validate RULES.json
    fastbridge bench [--quick] [--out DIR]            # the benchmark suite (source tree)
    fastbridge serve [--port 4010] [--store PATH | --backend nats://HOST:4222]
                                                       # the bus over EventBridge's HTTP API
    fastbridge --version

RULES.json is one JSON object, ``{"rule-name": pattern, ...}``.

Exit status: 0 on success; 1 when some event (``match``), the pattern or event
(``test-pattern``) or some rule (``validate``) is invalid; 2 for a usage error or
a rules file that cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

import fastbridge

if TYPE_CHECKING:
    from pathlib import Path

    from fastbridge.bus import EventBridge

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

DEFAULT_BATCH_SIZE = 4096
# Bytes read past the event size limit before a line counts as too large:
# room for "\r\n" plus one byte.
_LINE_SLACK = 3
_SKIP_CHUNK = 1 << 16
_UTF8_BOM = b"\xef\xbb\xbf"


class UsageError(Exception):
    """A problem with the command's inputs: reported on stderr, exit status 2."""


# --------------------------------------------------------------------------
# Rules files
# --------------------------------------------------------------------------


class _RawNumber(str):
    """A JSON number kept as its source text, so the engine sees it exactly
    as written (``1e400`` must be rejected, not turned into ``inf``)."""


class _Object(list[tuple[str, Any]]):
    """A JSON object as its (key, value) pairs, duplicates and order kept."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _load_json_exact(text: str) -> Any:
    """Parses ``text`` keeping number spellings and duplicate keys."""
    return json.loads(
        text,
        parse_int=_RawNumber,
        parse_float=_RawNumber,
        parse_constant=_reject_constant,
        object_pairs_hook=_Object,
    )


def _dump_json_exact(value: Any) -> str:
    """The inverse of ``_load_json_exact``: JSON text with the same numbers and keys."""
    if isinstance(value, _RawNumber):
        return str(value)
    if isinstance(value, _Object):
        members = (f"{json.dumps(k)}:{_dump_json_exact(v)}" for k, v in value)
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump_json_exact(v) for v in value) + "]"
    return json.dumps(value)


def _quote(name: str) -> str:
    return json.dumps(name)


def load_rules(path: str) -> list[tuple[str, str]]:
    """Reads a rules file: ``(name, pattern JSON)`` pairs, in file order.

    Raises ``UsageError`` when the file cannot be read, is not JSON, is not an
    object, or names a rule twice. Patterns are not checked here.
    """
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError(f"cannot read rules file {path}: {e.strerror or e}") from e
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"rules file {path} is not UTF-8: {e}") from e
    try:
        doc = _load_json_exact(text)
    except ValueError as e:
        raise UsageError(f"rules file {path} is not valid JSON: {e}") from e
    except RecursionError as e:
        raise UsageError(f"rules file {path} is nested too deeply") from e
    if not isinstance(doc, _Object):
        raise UsageError(
            f'rules file {path} must be a JSON object {{"rule-name": pattern, ...}}, '
            f"not {_json_type(doc)}"
        )
    rules: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, pattern in doc:
        if name in seen:
            raise UsageError(f"rules file {path}: rule {_quote(name)} is defined more than once")
        seen.add(name)
        try:
            rules.append((name, _dump_json_exact(pattern)))
        except RecursionError as e:
            raise UsageError(
                f"rules file {path}: rule {_quote(name)}: pattern is nested too deeply"
            ) from e
    return rules


def _json_type(value: Any) -> str:
    if isinstance(value, _RawNumber):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def build_machine(path: str) -> fastbridge.Machine:
    """A machine holding every rule of the rules file at ``path``.

    Raises ``UsageError`` naming the first rule the machine rejects.
    """
    machine = fastbridge.Machine()
    for name, pattern in load_rules(path):
        try:
            machine.add_rule(name, pattern)
        except ValueError as e:
            raise UsageError(f"rules file {path}: rule {_quote(name)}: {e}") from e
    return machine


# --------------------------------------------------------------------------
# match
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Line:
    number: int
    event: bytes
    error: str | None = None
    """Set when the line was rejected before matching (too large to read)."""


def _read_lines(stream: BinaryIO, max_event_bytes: int) -> Iterator[_Line]:
    """The non-blank lines of ``stream``, without reading any line of more
    than ``max_event_bytes`` (plus slack) into memory."""
    read_limit = max_event_bytes + _LINE_SLACK
    number = 0
    while True:
        raw = stream.readline(read_limit)
        if not raw:
            return
        number += 1
        if len(raw) == read_limit and not raw.endswith(b"\n"):
            size = len(raw)
            while True:
                rest = stream.readline(_SKIP_CHUNK)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            if rest.endswith(b"\n"):
                size -= 1
            yield _Line(
                number,
                b"",
                f"event is {size} bytes, more than the limit of {max_event_bytes}",
            )
            continue
        event = raw.rstrip(b"\n").rstrip(b"\r")
        if number == 1 and event.startswith(_UTF8_BOM):
            event = event[len(_UTF8_BOM) :]
        if not event.strip():
            continue
        yield _Line(number, event)


def _batches(lines: Iterator[_Line], size: int) -> Iterator[list[_Line]]:
    batch: list[_Line] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def match_events(machine: fastbridge.Machine, events: Sequence[bytes]) -> list[list[str] | str]:
    """For each event, its matching rule names, or the error message when the
    event is invalid."""
    return [
        str(r) if isinstance(r, fastbridge.InvalidEventError) else r
        for r in machine.rules_for_events(events, errors="return")
    ]


def _open_events(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as e:
        raise UsageError(f"cannot read events file {path}: {e.strerror or e}") from e


def _cmd_match(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    machine = build_machine(args.rules)
    max_event_bytes = machine.config()["max_event_bytes"]
    per_rule = dict.fromkeys(machine.rule_names(), 0)
    events = matched = errors = 0

    stream = _open_events(args.events)
    try:
        for batch in _batches(_read_lines(stream, max_event_bytes), args.batch_size):
            todo = [line for line in batch if line.error is None]
            found = iter(match_events(machine, [line.event for line in todo]))
            output: list[str] = []
            for line in batch:
                result = line.error if line.error is not None else next(found)
                events += 1
                if isinstance(result, str):
                    errors += 1
                    record = json.dumps({"line": line.number, "error": result})
                    if args.count:
                        err.write(record + "\n")
                    else:
                        output.append(record)
                    continue
                if result:
                    matched += 1
                    for name in result:
                        per_rule[name] = per_rule.get(name, 0) + 1
                elif args.only_matching:
                    continue
                if not args.count:
                    output.append(json.dumps({"line": line.number, "rules": result}))
            if output:
                out.write("\n".join(output) + "\n")
                out.flush()
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()

    if args.count:
        summary = {"events": events, "matched": matched, "errors": errors, "per_rule": per_rule}
        out.write(json.dumps(summary) + "\n")
    return EXIT_FAILED if errors else EXIT_OK


# --------------------------------------------------------------------------
# test-pattern
# --------------------------------------------------------------------------


def _json_argument(value: str, what: str) -> str | bytes:
    """A JSON text argument, or the contents of the file named by ``@path``
    (``@-`` reads stdin)."""
    if not value.startswith("@"):
        return value
    path = value[1:]
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UsageError(f"cannot read {what} file {path}: {e.strerror or e}") from e


def _cmd_test_pattern(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.pattern == "@-" and args.event == "@-":
        raise UsageError("only one of PATTERN and EVENT can be read from stdin")
    pattern = _json_argument(args.pattern, "pattern")
    event = _json_argument(args.event, "event")
    try:
        result = fastbridge.matches(pattern, event)
    except (fastbridge.InvalidPatternError, fastbridge.InvalidEventError) as e:
        out.write(f"{e}\n")
        return EXIT_FAILED
    out.write("true\n" if result else "false\n")
    return EXIT_OK


# --------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------


def _cmd_validate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    rules = load_rules(args.rules)
    machine = fastbridge.Machine()
    invalid = 0
    for name, pattern in rules:
        try:
            machine.add_rule(name, pattern)
        except ValueError as e:
            invalid += 1
            out.write(f"invalid rule {_quote(name)}: {e}\n")
    if invalid:
        out.write(f"{invalid} of {len(rules)} rules invalid\n")
        return EXIT_FAILED
    out.write(f"ok: {len(rules)} rules\n")
    return EXIT_OK


# --------------------------------------------------------------------------
# bench
# --------------------------------------------------------------------------


def _bench_suite() -> Any:
    """The benchmark suite (``benches/suite.py``), imported only when asked
    for, so that the other commands need none of its dependencies.

    It ships with the source tree, not the wheel: found beside the package of
    an editable install (``python/fastbridge`` -> the repository root), or on
    ``sys.path``.
    """
    import importlib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    if (root / "benches" / "suite.py").is_file() and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        return importlib.import_module("benches.suite")
    except ModuleNotFoundError as e:
        if e.name in ("benches", "benches.suite"):
            raise UsageError(
                "the benchmark suite (benches/) is part of the source tree, not of the "
                "installed package: run `pip install -e '.[bench]'` in a checkout"
            ) from e
        raise UsageError(
            f"the benchmark suite needs {e.name}: pip install -e '.[bench]'"
        ) from e


def _cmd_bench(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    suite = _bench_suite()
    status: int = suite.run_from_args(args)
    return status


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fastbridge",
        description="EventBridge-style event-pattern matching.",
    )
    parser.add_argument(
        "--version", action="version", version=f"fastbridge {fastbridge.__version__}"
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    match = commands.add_parser(
        "match",
        help="match JSON-lines events against a rules file",
        description=(
            'Prints {"line": N, "rules": [...]} for each event (blank lines are skipped), '
            'or {"line": N, "error": "..."} for an invalid one. Exit status 1 if any '
            "event was invalid."
        ),
    )
    match.add_argument(
        "--rules", required=True, metavar="RULES.json", help='{"rule-name": pattern, ...}'
    )
    match.add_argument(
        "events", metavar="EVENTS.jsonl", help="one JSON event per line; - for stdin"
    )
    match.add_argument(
        "--count",
        action="store_true",
        help='print only a summary {"events", "matched", "errors", "per_rule"}; '
        "invalid events are reported on stderr",
    )
    match.add_argument(
        "--only-matching", action="store_true", help="skip events that match no rule"
    )
    match.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"events matched per call into the engine (default {DEFAULT_BATCH_SIZE})",
    )
    match.set_defaults(handler=_cmd_match)

    test = commands.add_parser(
        "test-pattern",
        help="does one pattern match one event? prints true or false",
        description=(
            "Prints true or false. An invalid pattern or event prints the error message "
            "and exits with status 1."
        ),
    )
    test.add_argument("pattern", metavar="PATTERN", help="JSON text, or @path (@- for stdin)")
    test.add_argument("event", metavar="EVENT", help="JSON text, or @path (@- for stdin)")
    test.set_defaults(handler=_cmd_test_pattern)

    validate = commands.add_parser(
        "validate",
        help="check every pattern of a rules file",
        description="Prints 'ok: N rules', or each invalid rule with its reason (status 1).",
    )
    validate.add_argument("rules", metavar="RULES.json", help='{"rule-name": pattern, ...}')
    validate.set_defaults(handler=_cmd_validate)

    bench = commands.add_parser(
        "bench",
        help="run the benchmark suite (needs the source tree and the bench extra)",
        description=(
            "Generates the benchmark data (seeded, cached outside the repository), checks "
            "every engine's answers against the reference matcher, and prints events/s, "
            "ns/event and MB/s per rule set beside each peer measured in the same run, "
            "plus scaling curves (rule count, event size, threads) and build figures. "
            "Exit status 1 when fastbridge disagrees with the reference, 3 when only a "
            "peer does. See benches/README.md."
        ),
    )
    bench.add_argument(
        "--quick",
        action="store_true",
        help="a 20,000-line citylots sample and short timings (under a minute once the "
        "data, the reference answers and the Rust bench are cached)",
    )
    bench.add_argument(
        "--out", metavar="DIR", help="write results.json and scaling.png here "
        "(default: a new folder under ~/.cache/fastbridge-bench/results)"
    )
    bench.add_argument("--no-rust", action="store_true", help="skip the Rust bench (cargo)")
    bench.add_argument("--no-peers", action="store_true", help="skip the pure-Python peers")
    bench.add_argument(
        "--allow-peer-disagreement",
        action="store_true",
        help="exit 0 even when a peer's answers differ from the reference",
    )
    bench.set_defaults(handler=_cmd_bench)

    serve = commands.add_parser(
        "serve",
        help="serve the bus over HTTP with EventBridge's own protocol (AWS SDKs work)",
        description=(
            "Serves the bus on loopback, on the embedded SQLite store or (--backend) on a "
            "NATS JetStream deployment shared with other processes. Requests must be "
            "signed (SigV4) with the printed credentials unless --no-auth is given. Point "
            "any AWS SDK at the printed endpoint. SIGTERM or Ctrl-C stops it cleanly: "
            "requests in progress finish and pending deliveries stay in the store."
        ),
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=4010, help="0 picks a free port")
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--store", default="fastbridge.db", metavar="PATH",
                       help="the SQLite file (default ./fastbridge.db)")
    where.add_argument("--memory", action="store_true", help="keep nothing on disk")
    where.add_argument("--backend", metavar="nats://HOST:PORT[,...]",
                       help="run the bus on NATS JetStream at these servers (this process "
                       "also routes and delivers; `python -m fastbridge.nats` adds workers)")
    serve.add_argument("--replicas", type=_positive_int, default=1,
                       help="with --backend: stream replicas (3 on a 3-node cluster)")
    serve.add_argument("--log-dir", metavar="DIR",
                       help="where log-group targets write (default: fastbridge-logs beside "
                       "the store, or in the working directory)")
    serve.add_argument("--account", default="000000000000", help="account id in ARNs")
    serve.add_argument("--region", default="us-east-1", help="the region requests must sign for")
    serve.add_argument(
        "--credentials", metavar="FILE",
        help='JSON {"AccessKeyId", "SecretAccessKey"} (or a list); default: '
        "$FASTBRIDGE_ACCESS_KEY_ID/$FASTBRIDGE_SECRET_ACCESS_KEY, else a key pair "
        "generated once and kept in PATH.credentials.json",
    )
    serve.add_argument("--no-auth", action="store_true",
                       help="accept unsigned requests (local development only)")
    serve.add_argument("--threads", type=_positive_int, default=8, help="request threads")
    serve.add_argument("--workers", type=_positive_int, default=2, help="delivery threads")
    serve.add_argument("--max-body", type=_positive_int, default=1 << 20, metavar="BYTES",
                       help="largest request body (default 1 MiB)")
    serve.add_argument("--max-concurrency", type=_positive_int, default=16, metavar="N",
                       help="requests of one client in progress at once (default 16)")
    serve.set_defaults(handler=_cmd_serve)
    return parser


def _serve_bus(args: argparse.Namespace, store: Path | None) -> EventBridge:
    """The bus ``fastbridge serve`` serves: SQLite (a file, or memory), or NATS."""
    from fastbridge.bus import EventBridge

    if not args.backend:
        return EventBridge(store, account=args.account, region=args.region,
                           workers=args.workers, log_dir=args.log_dir)  # fmt: skip
    urls = args.backend.split(",")
    if not all(u.startswith(("nats://", "tls://")) for u in urls):
        raise UsageError(f"--backend takes nats://HOST:PORT[,nats://...], not {args.backend}")
    from fastbridge.nats import NatsBus

    try:
        bus = NatsBus(urls, account=args.account, region=args.region, replicas=args.replicas,
                      log_dir=args.log_dir or "fastbridge-logs")  # fmt: skip
    except Exception as e:  # no server answers, or JetStream is off there
        raise UsageError(f"cannot use NATS JetStream at {args.backend}: "
                         f"{type(e).__name__}: {e}") from None  # fmt: skip
    bus.start(args.workers)
    return bus


def _cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import signal
    from pathlib import Path

    from fastbridge.serve import Limits, Server, load_credentials

    store = None if args.memory or args.backend else Path(args.store)
    keys, origin = load_credentials(Path(args.credentials) if args.credentials else None, store)
    bus = _serve_bus(args, store)
    try:
        server = Server(bus, host=args.host, port=args.port, credentials=keys,
                        auth=not args.no_auth, threads=args.threads,
                        limits=Limits(args.max_body, args.max_concurrency))
    except OSError as e:
        bus.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {e}") from None

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    out.write(f"fastbridge serve: {server.endpoint}  (region {args.region}, "
              f"store {args.backend or store or 'in memory'})\n")
    if args.no_auth:
        out.write("  authentication: off (--no-auth)\n")
    else:
        out.write(f"  access key:  {keys[0].access_key_id}\n"
                  f"  secret key:  {keys[0].secret_access_key}   ({origin})\n")
    out.write(f"  try: AWS_ACCESS_KEY_ID={keys[0].access_key_id} "
              f"AWS_SECRET_ACCESS_KEY=... aws events list-event-buses "
              f"--endpoint-url {server.endpoint} --region {args.region}\n")
    out.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        bus.close()
    out.write("fastbridge serve: stopped\n")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, or a usage error
        return e.code if isinstance(e.code, int) else (EXIT_OK if e.code is None else EXIT_USAGE)
    if args.command is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write(
            "fastbridge: error: a command is required "
            "(match, test-pattern, validate, bench, serve)\n"
        )
        return EXIT_USAGE
    try:
        status: int = args.handler(args, sys.stdout, sys.stderr)
    except UsageError as e:
        sys.stderr.write(f"fastbridge: error: {e}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        _silence_stdout()
        return EXIT_FAILED
    return status


def _silence_stdout() -> None:
    """After a broken pipe, points stdout at /dev/null so that the interpreter's
    final flush does not report the same error again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
