#!/usr/bin/env bash
# One-shot demo: data (mounted real 2018 cube + labels, or a synthetic scene) -> ingest -> classify ->
# write back -> print a WCPS query and its answer. Every step is a tested `cropcube` command.
set -euo pipefail
: "${CROPCUBE_RASDAMAN_URL:?set CROPCUBE_RASDAMAN_URL (docker-compose does)}"
EDITION="${RASDAMAN_EDITION:-community}"
OUT="${CROPCUBE_WORK:-/work}"
DATA="${CROPCUBE_DATA:-/data}"
OUTPUT_ID="${CROPCUBE_OUTPUT_ID:-crop_classes_2018}"

if [[ -f "$DATA/cube.tif" ]]; then
  echo "== using mounted data in $DATA"
  CUBE="$DATA/cube.tif"; LABELS="$DATA/labels.tif"
else
  echo "== no data mounted: generating a synthetic 2018 scene"
  cropcube synth "$OUT/scene" --size "${CROPCUBE_SYNTH_SIZE:-256}" --seed 2018
  CUBE="$OUT/scene/cube.tif"; LABELS="$OUT/scene/labels.tif"
fi
LABEL_ARGS=(); [[ -f "$LABELS" ]] && LABEL_ARGS=(--labels "$LABELS")

echo "== ingest"
cropcube rasdaman ingest --cube "$CUBE" "${LABEL_ARGS[@]}" --layout both --work-dir "$OUT/ingest"

if [[ "$EDITION" == "enterprise" ]]; then
  MODE=udf
  echo "== deploy the crop.classify UDF"
  cropcube rasdaman deploy
else
  MODE=client
fi
echo "== classify ($MODE mode) and write back"
cropcube rasdaman classify S2_features_2d "$OUTPUT_ID" --mode "$MODE" --progress "$OUT/classify.progress.json"

QUERY="for \$c in ($OUTPUT_ID) return count(\$c = 1)"
echo "== WCPS: $QUERY"
echo -n "answer (pixels of class 1, grassland): "
cropcube rasdaman query "$QUERY"
