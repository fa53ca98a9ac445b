#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (issue 8 §2).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; TARGET defaults to every target in
# fuzz/Cargo.toml. Installs the pinned nightly and cargo-fuzz when missing.
# Each target starts from its committed seeds (fuzz/seeds/<target>/) plus the
# corpus grown by earlier runs (fuzz/corpus/<target>/, not committed), runs in
# one process for the given time, and prints how many inputs it executed.
# Exits non-zero if any target crashed or broke an invariant; the input is
# then in fuzz/artifacts/<target>/ and replays with
#   cargo +nightly-2026-05-20 fuzz run -s none <target> fuzz/artifacts/<target>/<file>
#
# FUZZ_RUNS=N makes the run reproducible, as `make test` needs: each target
# runs exactly N inputs with a fixed seed, from the committed seeds only.
#
# FUZZ_SANITIZER (default none): the crate has no `unsafe`, so the panics and
# invariant checks are what finds bugs; without AddressSanitizer the targets
# run about twice as many inputs. Set FUZZ_SANITIZER=address to turn it on.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
shift || true
sanitizer=${FUZZ_SANITIZER:-none}

# cargo-fuzz needs nightly (-Z flags, sanitizer passes); a dated one, so that a
# new nightly cannot break `make test`. The same for cargo-fuzz itself.
nightly=nightly-2026-05-20
cargo_fuzz=0.13.2
if ! rustup run "$nightly" rustc --version >/dev/null 2>&1; then
  rustup toolchain install "$nightly" --profile minimal
fi
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz" ]; then
  cargo install --locked "cargo-fuzz@$cargo_fuzz"
fi

# cargo-fuzz has no --locked: check that fuzz/Cargo.lock is complete and
# current first, so that the build below uses it unchanged.
cargo "+$nightly" fetch --locked --manifest-path fuzz/Cargo.toml

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo "+$nightly" fuzz list)
fi

cargo "+$nightly" fuzz build -s "$sanitizer"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
summary=()
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/seeds/$t"
  echo "== fuzz $t for ${secs}s"
  rc=0
  if [ -n "${FUZZ_RUNS:-}" ]; then
    # Reproducible: a scratch corpus seeded from the committed seeds only.
    scratch=$(mktemp -d)
    cargo "+$nightly" fuzz run -s "$sanitizer" "$t" "$scratch" "fuzz/seeds/$t" -- \
      -runs="$FUZZ_RUNS" -seed=1 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$logs/$t" 2>&1 || rc=$?
    rm -rf "$scratch"
  else
    cargo "+$nightly" fuzz run -s "$sanitizer" "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" -- \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$logs/$t" 2>&1 || rc=$?
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$logs/$t" | tail -1 || true)
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    summary+=("$(printf '%-20s %10s execs  %-10s FAILED (exit %s)' "$t" "${execs:-?}" "$cov" "$rc")")
    # The panic message, the failing input and how to replay it.
    grep -E -A6 "panicked at|ERROR: libFuzzer|Test unit written|cargo fuzz run" "$logs/$t" | head -40 || tail -40 "$logs/$t"
  else
    summary+=("$(printf '%-20s %10s execs  %-10s ok' "$t" "${execs:-?}" "$cov")")
  fi
done

echo "== fuzz summary (${FUZZ_RUNS:+$FUZZ_RUNS runs, seed 1, }${secs}s per target, sanitizer $sanitizer)"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
