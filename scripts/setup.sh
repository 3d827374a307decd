#!/usr/bin/env bash
# Installs what shootdown needs to build and test, from Debian packages only.
# Idempotent: packages already present are not reinstalled. Needs root (or sudo).
set -euo pipefail

packages=(
  g++ cmake ninja-build           # toolchain
  libcli11-dev                    # command line parsing
  libfmt-dev                      # formatting of tables and messages
  nlohmann-json3-dev              # --json output
  libtomlplusplus-dev             # scenario files, with line numbers for errors
  libgtest-dev                    # unit tests (GoogleTest under CTest)
  libbenchmark-dev                # bench/ (Google Benchmark)
  libtbb-dev                      # check --jobs (oneTBB parallel_for over dfs subtrees)
  libgoogle-perftools-dev         # tcmalloc_minimal: faster allocation for check and simulate
  clang-format                    # format check
  clang libclang-rt-14-dev        # scripts/fuzz.sh: libFuzzer with ASan + UBSan
  gnuplot-nox                     # compare --plot (SVG/PNG)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
