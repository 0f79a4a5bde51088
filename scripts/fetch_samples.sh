#!/usr/bin/env bash
# Re-create samples/ from the Debian packages the images ship in, for provenance.
#
#   scripts/fetch_samples.sh [CACHE_DIR] [SAMPLES_DIR]
#
# Downloads python3-skimage and python-matplotlib-data with `apt-get download`
# (no installation, no root needed for dpkg -x), extracts them with `dpkg -x`
# and copies the sample images. See samples/LICENSE.md for their licences.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cache="$(realpath -m "${1:-$here/.cache}")/debs"
dest="$(realpath -m "${2:-$here/samples}")"
mkdir -p "$cache" "$dest"

fetch() {  # fetch PACKAGE -> extracts into $cache/x-PACKAGE
    local pkg="$1"
    if ! ls "$cache/${pkg}"_*.deb >/dev/null 2>&1; then
        echo "apt-get download $pkg"
        # Run as root, apt warns that _apt cannot write here; that is harmless.
        (cd "$cache" && apt-get download "$pkg")
    fi
    if [ ! -d "$cache/x-$pkg" ]; then
        dpkg -x "$(ls "$cache/${pkg}"_*.deb | head -n1)" "$cache/x-$pkg"
    fi
}

fetch python3-skimage
fetch python-matplotlib-data

skdata="$cache/x-python3-skimage/usr/lib/python3/dist-packages/skimage/data"
for f in coffee.png chelsea.png astronaut.png rocket.jpg motorcycle_left.png camera.png; do
    cp "$skdata/$f" "$dest/$f"
done
cp "$cache/x-python-matplotlib-data/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg" "$dest/"
echo "samples written to $dest"
