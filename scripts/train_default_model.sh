#!/usr/bin/env bash
# Reproduce resources/models/buildings-default.safetensors with BuildSeg's own
# training algorithm on the Dubai training groups (Tiles 1-7; Tile 8 is the test set).
# Usage: scripts/train_default_model.sh [WORKDIR] [EPOCHS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
data=${BUILDSEG_DATA:-$here/../shared/data}/dubai/scenes
work=${1:-/tmp/buildseg-default-model}
epochs=${2:-60}
arch=${ARCH:-2}  # index in the registry: 2 = unet-mobilenet
mkdir -p "$work"
labels="$work/dubai_train_buildings.gpkg"
if [ ! -f "$labels" ]; then
  for f in "$data"/tile[1-7]_part*_buildings.gpkg; do
    ogr2ogr -f GPKG -append -nln buildings "$labels" "$f" buildings
  done
fi
inputs=()
for f in "$data"/tile[1-7]_part[0-9].tif; do inputs+=("INPUT=$f"); done
"$here/scripts/qgis_process" run buildseg:trainmodel -- "${inputs[@]}" \
  LABELS="$labels" ARCHITECTURE="$arch" TILE_SIZE=256 EPOCHS="$epochs" TILES_PER_EPOCH=384 \
  BATCH_SIZE=8 LEARNING_RATE=0.001 VAL_FRACTION=0.1 SEED=0 \
  OUTPUT_MODEL="$work/buildings-default.safetensors" OUTPUT_REPORT="$work/report.html" \
  OUTPUT_METRICS="$work/metrics.csv"
