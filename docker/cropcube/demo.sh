#!/usr/bin/env bash
# The one-shot demo job: data (mounted cube.tif + labels.tif, or a synthetic 2018 scene) -> ingest -> classify ->
# write back -> the written map exported to $CROPCUBE_WORK/crop_map.tif -> a query and its answer.
# Every step is a tested `cropcube` command. The route follows what the server offers: WCS/WCPS/WCS-T where
# petascope answers, rasql through rasmgr where only the community core runs. On enterprise the classes are
# computed inside the server by crop.classify, which the rasdaman service has deployed with the bundle it shares
# at /models; this container only ingests, classifies and queries.
set -euo pipefail
: "${CROPCUBE_RASDAMAN_URL:?set CROPCUBE_RASDAMAN_URL (docker-compose does)}"
edition="${RASDAMAN_EDITION:-community}"
out="${CROPCUBE_WORK:-/work}"
data="${CROPCUBE_DATA:-/data}"
output_id="${CROPCUBE_OUTPUT_ID:-crop_classes_2018}"
model="${CROPCUBE_MODEL:-/opt/cropcube/bundle/cropcube.pt}"   # the same file the rasdaman service deployed

# The same test `cropcube rasdaman ... --transport auto` makes; decided once here because the query language
# (WCPS or rasql) and the layouts on offer follow from it.
capabilities="$CROPCUBE_RASDAMAN_URL?service=WCS&version=2.0.1&request=GetCapabilities"
if curl -fsS --max-time 20 "$capabilities" 2>/dev/null | grep -q Capabilities; then
  transport=petascope
  echo "== server: petascope answers at $CROPCUBE_RASDAMAN_URL: WCS/WCPS route"
else
  transport=rasql
  echo "== server: no petascope (community core): rasql route through rasmgr on ${CROPCUBE_RASQL_HOST:-localhost}"
fi

if [[ -f "$data/cube.tif" ]]; then
  echo "== using mounted data in $data"
  cube="$data/cube.tif"; labels="$data/labels.tif"
else
  echo "== no data mounted: generating a synthetic 2018 scene"
  cropcube synth "$out/scene" --size "${CROPCUBE_SYNTH_SIZE:-256}" --seed 2018
  cube="$out/scene/cube.tif"; labels="$out/scene/labels.tif"
fi
label_args=(); [[ -f "$labels" ]] && label_args=(--labels "$labels")

mode=client; classify_model="$model"
if [[ "$edition" == "enterprise" ]]; then
  mode=udf; classify_model="/models/$(basename "$model")"   # the deployed copy, bundle metadata for tiling
fi

if [[ "$transport" == petascope ]]; then
  layout=both   # the 2-D 28-band coverage and the 3-D (time, E, N) one
  export_query="for \$c in ($output_id) return encode(\$c, \"image/tiff\")"
  query="for \$c in ($output_id) return count(\$c = 1)"
else
  layout=2d     # rasql collections: the 2-D 28-band array
  export_query="select encode(c, \"GTiff\") from $output_id as c"
  query="select count_cells(c = 1) from $output_id as c"
fi

echo "== ingest"
cropcube rasdaman ingest --transport "$transport" --cube "$cube" "${label_args[@]}" --layout "$layout" \
  --work-dir "$out/ingest"
echo "== classify ($mode mode) and write back"
cropcube rasdaman classify S2_features_2d "$output_id" --transport "$transport" --mode "$mode" \
  --model "$classify_model" --progress "$out/classify.progress.json"
echo "== export the written map"
cropcube rasdaman query --transport "$transport" -o "$out/crop_map.tif" "$export_query"
echo "== query: $query"
echo -n "answer (pixels of class 1, grassland): "
cropcube rasdaman query --transport "$transport" "$query"
