#!/usr/bin/env bash
# Configure and build (Release with assertions) into build/. Used by the quick start and CI.
# BUILD_TARGET=shootdown builds only the binary (the quick start's run.sh); default: all.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j "$(nproc)" --target "${BUILD_TARGET:-all}"
