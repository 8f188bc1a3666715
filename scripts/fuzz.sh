#!/usr/bin/env bash
# Builds every cargo-fuzz target of one crate (FUZZ_CRATE: crypto (default), relay or core,
# i.e. crates/$FUZZ_CRATE/fuzz) and runs each for
# SECONDS (default 60) on a temporary copy of its committed seed corpus, which is never written.
# Every target runs; the script then exits non-zero if any crashed, hung or failed to run, having
# printed the target, the panic and the crashing input's path. Usage: scripts/fuzz.sh [SECONDS]
#
# Stable Rust: RUSTC_BOOTSTRAP=1 lets it take the -Z flags cargo-fuzz passes. The build goes to
# $CARGO_TARGET_DIR/fuzz (fuzz-relay, fuzz-core for the others) when CARGO_TARGET_DIR is set
# (so CI caches it), else to crates/$FUZZ_CRATE/fuzz/target. Crashing inputs and logs go to
# $FUZZ_ARTIFACTS (default artifacts/fuzz/<target>/). FUZZ_SANITIZER (default none: the crate forbids unsafe code) and
# FUZZ_TARGETS (space-separated subset) override the defaults.
set -euo pipefail

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]   (a whole number of seconds per target, default 60)" >&2
  exit 2
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
crate="${FUZZ_CRATE:-crypto}"
case "$crate" in
  crypto | relay | core) ;;
  *)
    echo "fuzz.sh: FUZZ_CRATE must be crypto, relay or core, not '$crate'" >&2
    exit 2
    ;;
esac
crate_dir="$root/crates/$crate"
fuzz_dir="$crate_dir/fuzz"
export PATH="$HOME/.cargo/bin:$PATH"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
  exit 1
fi

if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
  # Each fuzz workspace has its own lock file: one build folder each.
  if [[ "$crate" == crypto ]]; then target_dir="$CARGO_TARGET_DIR/fuzz"; else target_dir="$CARGO_TARGET_DIR/fuzz-$crate"; fi
else
  target_dir="$fuzz_dir/target"
fi
sanitizer="${FUZZ_SANITIZER:-none}"
artifacts="${FUZZ_ARTIFACTS:-$root/artifacts/fuzz}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
bin_dir="$target_dir/$triple/release"

cd "$crate_dir"
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  mapfile -t targets < <(cargo fuzz list --fuzz-dir "$fuzz_dir")
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "fuzz.sh: no fuzz targets found in $fuzz_dir" >&2
  exit 1
fi

build_start=$SECONDS
echo "fuzz.sh: building ${#targets[@]} targets (${targets[*]}) into $target_dir"
build=(cargo fuzz build --fuzz-dir "$fuzz_dir" -O --debug-assertions -s "$sanitizer"
  --target-dir "$target_dir")
if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  for t in "${targets[@]}"; do "${build[@]}" "$t"; done
else
  "${build[@]}" # every target in one cargo invocation
fi
echo "fuzz.sh: build took $((SECONDS - build_start))s"

work="$(mktemp -d "${TMPDIR:-/tmp}/missiva-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

failed=()
for t in "${targets[@]}"; do
  bin="$bin_dir/$t"
  seeds="$fuzz_dir/corpus/$t"
  corpus="$work/corpus/$t"
  out="$artifacts/$t"
  log="$work/$t.log"
  mkdir -p "$corpus" "$out"
  if [[ -d "$seeds" ]]; then
    cp -R "$seeds/." "$corpus/"
  fi
  run_start=$SECONDS
  status=0
  # -timeout: one input taking this long is a finding (a denial of service), not a slow run.
  # The outer timeout only guards against a hang of libFuzzer itself.
  # TMPDIR: a target that needs files (whatsapp_archive) keeps them in the work folder.
  TMPDIR="$work" timeout --kill-after=10 "$((seconds + 60))" \
    "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$out/" -print_final_stats=1 "$corpus" >"$log" 2>&1 || status=$?
  stats="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)"
  if [[ $status -eq 0 ]]; then
    echo "fuzz.sh: $t: ok, ${stats:-?} runs in $((SECONDS - run_start))s," \
      "corpus $(ls "$seeds" 2>/dev/null | wc -l) -> $(ls "$corpus" | wc -l) inputs"
    continue
  fi
  cp "$log" "$out/last-run.log"
  crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
  echo "fuzz.sh: $t: FAILED (exit $status) after $((SECONDS - run_start))s" >&2
  grep -E -m 5 "panicked at|^==[0-9]+== ?ERROR|ERROR: libFuzzer|SUMMARY" "$log" >&2 || true
  grep -A 3 -m 1 "panicked at" "$log" | tail -n +2 >&2 || true
  if [[ -n "$crash" ]]; then
    echo "fuzz.sh: $t: crashing input: $crash" >&2
    echo "fuzz.sh: reproduce: $bin $crash" >&2
  elif [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "fuzz.sh: $t: the run hung and was killed" >&2
  fi
  echo "fuzz.sh: $t: full log: $out/last-run.log" >&2
  failed+=("$t")
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz.sh: failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${seconds}s each without a crash"
