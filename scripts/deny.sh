#!/usr/bin/env bash
# cargo-deny over the filter, fuzz/ and bench/floor/ with deny.toml (`make deny`).
#
# Installs the pinned cargo-deny when it is missing or another version. Then,
# for each of the three crates (each has its own Cargo.lock):
#
#   licenses bans sources   always checked; they read only Cargo.lock and the
#                           crates' manifests (which cargo downloads from
#                           crates.io when they are not in its cache yet)
#   advisories              RustSec's advisory database is a git repository on
#                           github.com, which cargo-deny clones into
#                           $CARGO_HOME/advisory-dbs/ and updates on each run.
#                           - fetched: checked against today's database (and
#                             crates.io's yanked flags);
#                           - not fetched, but a copy is there from an earlier
#                             run (or copied in from a machine that has one):
#                             checked offline against that copy, its date printed;
#                           - neither: NOT checked, said so loudly, and the
#                             script still succeeds unless REQUIRE_ADVISORIES=1
#                             (for a CI that must have the check).
set -euo pipefail
cd "$(dirname "$0")/.."

version=0.20.2
if [ "$(cargo deny --version 2>/dev/null)" != "cargo-deny $version" ]; then
  cargo install --locked "cargo-deny@$version"
fi

# crate manifest, and the warnings that are expected for it: one deny.toml
# serves three trees, so an entry meant for one is "not encountered" in another.
crates=(
  "Cargo.toml|-A license-exception-not-encountered"
  "fuzz/Cargo.toml|"
  "bench/floor/Cargo.toml|-A license-exception-not-encountered"
)

for entry in "${crates[@]}"; do
  manifest=${entry%%|*}
  read -ra allow <<<"${entry#*|}"
  echo "== cargo deny: licenses bans sources ($manifest)"
  cargo deny --locked --manifest-path "$manifest" check "${allow[@]}" licenses bans sources
done

dbs=${CARGO_HOME:-$HOME/.cargo}/advisory-dbs
mode=
if cargo deny fetch db >/dev/null 2>&1; then
  mode=online
  echo "== cargo deny: advisories, database fetched now"
else
  db=$(find "$dbs" -mindepth 1 -maxdepth 1 -type d -name 'advisory-db-*' 2>/dev/null | head -1)
  if [ -n "$db" ] && [ -d "$db/crates" ]; then
    mode=offline
    echo "== cargo deny: advisories, OFFLINE against the copy in $db" \
      "(last commit $(git -C "$db" log -1 --format=%cs 2>/dev/null || echo unknown)); yanked crates not checked"
  fi
fi
if [ -z "$mode" ]; then
  echo "== cargo deny: advisories NOT CHECKED: the RustSec database (a git repository on github.com)" \
    "could not be fetched and there is no copy in $dbs" >&2
  [ "${REQUIRE_ADVISORIES:-0}" = 1 ] && exit 1
  exit 0
fi
for entry in "${crates[@]}"; do
  manifest=${entry%%|*}
  echo "-- $manifest"
  if [ "$mode" = online ]; then
    cargo deny --locked --manifest-path "$manifest" check advisories
  else
    cargo deny --locked --offline --manifest-path "$manifest" check advisories
  fi
done
