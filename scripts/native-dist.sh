#!/usr/bin/env bash
# `make native-dist`: the dynamic module to ship, for x86_64 and aarch64 Linux.
#
#   target/dist/libbedrock_openai_filter-x86_64-linux-gnu.so
#   target/dist/libbedrock_openai_filter-aarch64-linux-gnu.so
#   target/dist/SHA256SUMS
#
# Built with cargo-zigbuild, which links through Zig: Zig carries the stubs of
# every glibc version, so each .so needs only the symbols of glibc $GLIBC (the
# floor docs/native.md states; tests/e2e/test_native_dist.py checks it), and
# Zig's own libunwind is linked in statically, so the .so needs no
# libgcc_s.so.1 (which Envoy's distroless images lack). Zig cross-links
# aarch64 too: no Debian cross toolchain is involved.
#
# Reproducible: pinned cargo-zigbuild (crates.io, built with `cargo install
# --locked`) and Zig (PyPI's `ziglang`), the toolchain of rust-toolchain.toml,
# the committed Cargo.lock, and build paths remapped (/src, /cargo) so that
# the bytes do not depend on where the repository or Cargo's home are.
set -euo pipefail
cd "$(dirname "$0")/.."

ZIGBUILD_VERSION=0.24.1
ZIG_VERSION=0.15.2
GLIBC=2.17
ARCHES=(x86_64 aarch64)
TOOLS=target/tools
ZIG=$PWD/$TOOLS/ziglang/ziglang/zig

if ! "$TOOLS/bin/cargo-zigbuild" --version 2>/dev/null | grep -qx "cargo-zigbuild $ZIGBUILD_VERSION"; then
  cargo install --quiet --locked --version "$ZIGBUILD_VERSION" --root "$TOOLS" cargo-zigbuild
fi
if [ "$("$ZIG" version 2>/dev/null)" != "$ZIG_VERSION" ]; then
  rm -rf "$TOOLS/ziglang"
  "${PYTHON:-python3}" -m pip install --quiet --disable-pip-version-check --target "$TOOLS/ziglang" "ziglang==$ZIG_VERSION"
fi
for arch in "${ARCHES[@]}"; do
  rustup target add "$arch-unknown-linux-gnu" >/dev/null
done

export PATH="$PWD/$TOOLS/bin:$PATH"
export CARGO_ZIGBUILD_ZIG_PATH="$ZIG"
export RUSTFLAGS="--remap-path-prefix=$PWD=/src --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}=/cargo"

mkdir -p target/dist
for arch in "${ARCHES[@]}"; do
  CARGO_TARGET_DIR=target/dist-build cargo zigbuild --locked --profile native --features native \
    --target "$arch-unknown-linux-gnu.$GLIBC"
  cp "target/dist-build/$arch-unknown-linux-gnu/native/libbedrock_openai_filter.so" \
    "target/dist/libbedrock_openai_filter-$arch-linux-gnu.so"
done
cd target/dist
sha256sum libbedrock_openai_filter-*-linux-gnu.so | tee SHA256SUMS
