#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60), one after another,
# one process (one core) at a time.
#
#   fuzz/run.sh [SECONDS]        fuzz; logs in fuzz/logs/<target>.log
#   fuzz/run.sh regressions      run each file under fuzz/regressions/<target>/ once
#
# Environment:
#   FUZZ_SANITIZER=none          build without AddressSanitizer (default: address)
#   FUZZ_AVOID_KNOWN_BUGS=1      step around the known bug listed in fuzz/README.md
#   FUZZ_TARGETS="a b"           a subset of the targets
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). On a stable toolchain the
# nightly-only flags cargo-fuzz passes are allowed by RUSTC_BOOTSTRAP=1.
set -uo pipefail
cd "$(dirname "$0")"
export RUSTC_BOOTSTRAP=1
SANITIZER="${FUZZ_SANITIZER:-address}"
TARGETS="${FUZZ_TARGETS:-pattern_compiler event_scanner structured}"

dict_for() {
    case "$1" in
        pattern_compiler) echo "-dict=dict/pattern.dict" ;;
        event_scanner) echo "-dict=dict/event.dict" ;;
        *) echo "" ;;
    esac
}

cargo fuzz build --sanitizer "$SANITIZER" || exit 2

if [ "${1:-}" = "regressions" ]; then
    failed=0
    for t in $TARGETS; do
        for f in regressions/"$t"/*; do
            [ -f "$f" ] || continue
            if cargo fuzz run --sanitizer "$SANITIZER" "$t" "$f" -- -runs=1 >/dev/null 2>&1; then
                echo "pass  $f"
            else
                echo "FAIL  $f   (see: RUSTC_BOOTSTRAP=1 cargo fuzz run $t $f)"
                failed=$((failed + 1))
            fi
        done
    done
    echo "regressions: $failed failing"
    [ "$failed" -eq 0 ]
    exit
fi

SECS="${1:-60}"
python3 seed_corpus.py || exit 2
mkdir -p logs
status=0
for t in $TARGETS; do
    src="$(git -C .. rev-parse --short HEAD 2>/dev/null)"
    git -C .. diff --quiet HEAD -- rust Cargo.toml 2>/dev/null || src="$src + uncommitted changes under rust/"
    echo "== $t: ${SECS}s, engine at $src, $(date -u +%H:%M:%S) UTC (log: fuzz/logs/$t.log)"
    # shellcheck disable=SC2046
    cargo fuzz run --sanitizer "$SANITIZER" "$t" "corpus/$t" -- \
        -max_total_time="$SECS" -timeout=10 -print_final_stats=1 $(dict_for "$t") \
        >"logs/$t.log" 2>&1
    rc=$?
    grep -E '^#[0-9]+[[:space:]]+DONE|^Done [0-9]+ runs|^stat::number_of_executed_units' "logs/$t.log" | tail -3
    if [ "$rc" -ne 0 ]; then
        status=1
        echo "!! $t stopped with status $rc:"
        grep -E 'panicked at|^(assertion|pattern:|event:|fastbridge says)|Test unit written|SUMMARY' "logs/$t.log" | head -12
    fi
done
exit "$status"
