"""Matching from several threads while rules are added and deleted.

Readers never block and always see one consistent version of the rules. The
rules are built so that every answer can be checked: stable rule `s{k}`
matches exactly the events with `k == n % 7`, and churn rule `c{j}` matches
exactly the events with `n == j`. A reader that sees a churn rule where it
cannot match, or misses a stable rule, fails the test; so does a reader that
misses a churn rule added (and not yet deleted) before its call began.
"""

from __future__ import annotations

import threading
import time

import fastbridge

STABLE = 7
CHURN = 200


def test_readers_and_writers() -> None:
    m = fastbridge.Machine()
    m.add_rules({f"s{k}": {"detail": {"k": [k]}} for k in range(STABLE)})
    errors: list[str] = []
    present: set[int] = set()  # churn rules known to be in the machine
    lock = threading.Lock()
    stop = threading.Event()
    checked = [0]

    def writer() -> None:
        for round_ in range(6):
            for j in range(CHURN):
                m.add_rule(f"c{j}", {"detail": {"n": [j]}, "source": ["svc"]})
                with lock:
                    present.add(j)
            for j in range(round_ % 2, CHURN, 2):
                with lock:
                    present.discard(j)
                m.delete_rule(f"c{j}")
            for j in range(CHURN):
                with lock:
                    present.discard(j)
                m.delete_rule(f"c{j}")
        stop.set()

    def reader(seed: int) -> None:
        n = seed
        while not stop.is_set():
            n = (n * 1103515245 + 12345) % CHURN
            with lock:
                must_have_churn = n in present
            event = b'{"source": "svc", "detail": {"n": %d, "k": %d}}' % (n, n % STABLE)
            events = [event] * 8
            for got in m.rules_for_events(events) + [m.rules_for_event(event)]:
                expected_stable = f"s{n % STABLE}"
                churn = [r for r in got if r.startswith("c")]
                if expected_stable not in got:
                    errors.append(f"missing {expected_stable} in {got}")
                if churn not in ([], [f"c{n}"]):
                    errors.append(f"wrong churn rules {churn} for n={n}")
            # A rule present before the call must be seen by the next call.
            if must_have_churn:
                with lock:
                    still = n in present
                got = m.rules_for_event(event)
                with lock:
                    still_after = n in present
                if still and still_after and f"c{n}" not in got:
                    errors.append(f"c{n} was present but not matched: {got}")
            checked[0] += 1

    threads = [threading.Thread(target=reader, args=(s,)) for s in range(3)]
    threads.append(threading.Thread(target=writer))
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not errors, errors[:10]
    assert checked[0] > 100, f"readers made only {checked[0]} checks"
    assert len(m) == STABLE
    assert time.monotonic() - started < 120
