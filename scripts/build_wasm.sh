#!/usr/bin/env bash
# Builds the wasm package: `st` (stable, SIMD128, single-threaded) or `mt` (nightly, SIMD128,
# shared memory + rayon thread pool via wasm-bindgen-rayon), and their `-relaxed` twins (plus
# relaxed SIMD: fused multiply-adds in the f32 kernels; pkg/ picks them where the browser
# validates a relaxed-SIMD module). See ../shared/TOOLCHAIN.md.
#
#   scripts/build_wasm.sh st|st-relaxed|mt|mt-relaxed [OUTDIR]   (OUTDIR defaults to pkg/<flavour>)
#
# Needs: rustup targets wasm32-unknown-unknown (stable, and nightly + rust-src for mt) and a
# wasm-bindgen CLI matching the wasm-bindgen version in Cargo.lock on PATH. wasm-opt is used
# when on PATH (npm `binaryen`), skipped otherwise.
set -euo pipefail

usage() {
    echo "usage: $0 st|st-relaxed|mt|mt-relaxed [OUTDIR]" >&2
    exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
flavour=$1
case "$flavour" in
st | st-relaxed | mt | mt-relaxed) ;;
*) usage ;;
esac
cd "$(dirname "$0")/.."
outdir=${2:-pkg/$flavour}

log() { echo "build_wasm[$flavour]: $*"; }
die() {
    echo "build_wasm[$flavour]: error: $*" >&2
    exit 1
}

command -v wasm-bindgen >/dev/null || die "wasm-bindgen CLI not on PATH (cargo install wasm-bindgen-cli --version <Cargo.lock's wasm-bindgen>)"
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
have=$(wasm-bindgen --version | awk '{ print $2 }')
[[ -z "$want" || "$want" == "$have" ]] || die "wasm-bindgen CLI is $have but Cargo.lock has $want"

target=wasm32-unknown-unknown
if [[ $flavour == st ]]; then
    target_dir=target
    log "cargo build (stable, +simd128)"
    RUSTFLAGS="-C target-feature=+simd128" \
        cargo build --lib --release --target "$target" --no-default-features
elif [[ $flavour == st-relaxed ]]; then
    target_dir=target/relaxed
    log "cargo build (stable, +simd128,+relaxed-simd)"
    RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd" \
        cargo build --lib --release --target "$target" --no-default-features --target-dir "$target_dir"
else
    # Shared memory must be requested from the linker explicitly on current nightlies
    # (rust-lang/rust#147225); without it initThreadPool fails with a DataCloneError.
    target_dir=target/$flavour
    rustflags="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+simd128"
    [[ $flavour == mt-relaxed ]] && rustflags+=",+relaxed-simd"
    rustflags+=" -C link-arg=--shared-memory -C link-arg=--max-memory=1073741824"
    rustflags+=" -C link-arg=--import-memory -C link-arg=--export=__wasm_init_tls"
    rustflags+=" -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align"
    rustflags+=" -C link-arg=--export=__tls_base"
    # std is built here anyway, so build it small (wasm size goal, issue 14): a panic traps at
    # once instead of formatting a message (std's default hook writes it to a stderr that
    # wasm32-unknown-unknown does not have: nobody ever saw it), and std's own size-optimised
    # code paths (sorts, formatting). Together -49 KB gzip on mt.
    rustflags+=" -Z unstable-options -C panic=immediate-abort"
    log "cargo +nightly build (atomics, shared memory, --features threads, build-std, immediate-abort)"
    RUSTFLAGS="$rustflags" \
        cargo +nightly build --lib --release --target "$target" --no-default-features --features threads \
        -Z build-std=panic_abort,std -Z build-std-features=optimize_for_size --target-dir "$target_dir"
fi

wasm="$target_dir/$target/release/quantscope.wasm"
[[ -f $wasm ]] || die "$wasm was not produced"
log "wasm-bindgen --target web -> $outdir"
mkdir -p "$outdir"
rm -rf "$outdir/snippets" # stale snippet folders (other hashes) would be served too
wasm-bindgen --target web --out-dir "$outdir" --out-name quantscope "$wasm"

if [[ $flavour == mt* ]]; then
    # wasm-bindgen-rayon's worker imports the main module as '../../..' (a directory), which
    # only bundlers resolve; name the file so plain static servers work too.
    helpers=("$outdir"/snippets/wasm-bindgen-rayon-*/src/workerHelpers.js)
    [[ ${#helpers[@]} -eq 1 && -f ${helpers[0]} ]] || die "expected one wasm-bindgen-rayon workerHelpers.js, found: ${helpers[*]}"
    grep -q "import('../../..')" "${helpers[0]}" || die "${helpers[0]} no longer imports '../../..': check the patch below"
    sed -i "s|import('../../..')|import('../../../quantscope.js')|" "${helpers[0]}"
    log "patched ${helpers[0]#"$outdir"/} to import ../../../quantscope.js"
fi

if command -v wasm-opt >/dev/null; then
    log "wasm-opt -O3"
    # Its default feature detection is right; --all-features makes output node rejects.
    wasm-opt -O3 "$outdir/quantscope_bg.wasm" -o "$outdir/quantscope_bg.wasm.opt"
    mv "$outdir/quantscope_bg.wasm.opt" "$outdir/quantscope_bg.wasm"
else
    log "wasm-opt not on PATH: skipping optimisation (npm i binaryen provides one)"
fi
log "done: $outdir ($(du -h "$outdir/quantscope_bg.wasm" | cut -f1) wasm)"
