#!/usr/bin/env bash
# The compressive plugin's one GPU session: speed at the settings (eager), the MAESTRO
# comparison, then torch.compile variants while the time budget lasts.
#   OUT=/tmp/out DATA=.gpu/maestro-v2-tokens.npz BUDGET=220 bash benchmarks/compressive_gpu.sh
set -u
export PYTHONPATH=$PWD/src:$PWD/plugins/compressive/src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/compressive-gpu}; mkdir -p "$OUT"
DATA=${DATA:-.gpu/maestro-v2-tokens.npz}
BUDGET=${BUDGET:-220}
SPEED_ARGS=${SPEED_ARGS:-}  # e.g. "--small --device cpu" for a smoke test
MAESTRO_ARGS=${MAESTRO_ARGS:-}
PY=${PY:-python3}
start=$SECONDS
left() { echo $(( BUDGET - (SECONDS - start) )); }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
$PY -c "import torch; print('torch', torch.__version__)"
$PY -m pytest -q -p no:cacheprovider plugins/compressive/tests/test_cuda.py 2>&1 | tail -5 | tee "$OUT/test_cuda.log"
$PY benchmarks/compressive_speed.py $SPEED_ARGS --json-out "$OUT/speed.json" 2>&1 | tee "$OUT/speed.log"
# the same 8,192 tokens a step on streams (how `seqkit music train` trains it): one segment deep
$PY benchmarks/compressive_speed.py $SPEED_ARGS --streams --batch 8 --length 1024 --no-gen \
  --json-out "$OUT/speed_streams.json" 2>&1 | tail -2 | tee "$OUT/speed_streams.log"
if [ -f "$DATA" ] && [ "$(left)" -gt 90 ]; then
  $PY benchmarks/compressive_maestro.py --data "$DATA" --steps 500 --seconds 45 $MAESTRO_ARGS \
    --json-out "$OUT/maestro.json" 2>&1 | tee "$OUT/maestro.log"
fi
# what missed its target in eager mode gets a compiled try, in a time-limited process
need=$($PY -c "
import json; r = json.load(open('$OUT/speed.json'))
t = r['train']['tokens_per_s'] < 5 * 62000
g = max(x['tokens_per_s'] for x in r['generate']) < 20 * 104
print(('train ' if t else '') + ('gen' if g else ''))" 2>/dev/null || echo "train gen")
echo "compiled tries: [$need], $(left) s left"
if [[ $need == *gen* ]] && [ "$(left)" -gt 40 ]; then
  timeout $(( $(left) / 2 )) $PY benchmarks/compressive_speed.py $SPEED_ARGS --no-train --compile-decode \
    --json-out "$OUT/speed_compiled_gen.json" > "$OUT/speed_compiled_gen.log" 2>&1; tail -4 "$OUT/speed_compiled_gen.log"
fi
if [[ $need == *train* ]] && [ "$(left)" -gt 40 ]; then
  timeout $(( $(left) - 5 )) $PY benchmarks/compressive_speed.py $SPEED_ARGS --compile --no-gen \
    --json-out "$OUT/speed_compiled.json" > "$OUT/speed_compiled.log" 2>&1; grep -E "failed|Error|tok/s" "$OUT/speed_compiled.log" | tail -4
fi
echo "done in $(( SECONDS - start )) s"
