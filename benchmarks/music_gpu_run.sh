#!/usr/bin/env bash
# The midi-transformer plugin's one GPU session (H100): install, training-speed benchmark, train the
# shipped model (paper config, RoPE fast path) on MAESTRO v2 train tokens, evaluate it, generation
# benchmark, GPU tests. Stages run by priority and are skipped when the time left is too short.
#   OUT=/tmp/out bash benchmarks/music_gpu_run.sh      (expects .whl/ and .gpu/maestro-v2-tokens.npz)
set -u
START=$(date +%s); BUDGET=${BUDGET:-585}; TRAIN_S=${TRAIN_S:-285}
OUT=${OUT:-/tmp/music-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 SEQKIT_PROGRESS=0 SEQKIT_CACHE_DIR=/tmp/seqkit-cache SEQKIT_DATA_DIR=/tmp/seqkit-data
TOKENS=${TOKENS:-.gpu/maestro-v2-tokens.npz}
left() { echo $(( BUDGET - ($(date +%s) - START) )); }
log() { echo "[$(date +%T) +$(( $(date +%s) - START ))s] $*"; }
SK="python3 -m seqkit.cli"

log "setup"; nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/pretty_midi-*.whl \
  .whl/mido-*.whl .whl/platformdirs-*.whl .whl/importlib_resources-*.whl && export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-deps --no-build-isolation --no-index -e . -e plugins/midi-transformer 2>&1 | tail -2
$SK music --help > /dev/null && log "seqkit music OK" || log "seqkit music NOT OK"

log "train-speed benchmark (paper, rope, compiled)"
timeout 150 python3 benchmarks/music_train_speed.py --position rope --batch-size 32 --steps 20 --json "$OUT/bench.jsonl"
TPS=$(python3 -c "import json;r=[json.loads(l) for l in open('$OUT/bench.jsonl') if 'tokens_per_s' in l];print(r[-1]['tokens_per_s'] if r else 400000)" 2>/dev/null || echo 400000)
STEPS=$(( (TRAIN_S - 75) * TPS / 65536 )); log "train tokens/s $TPS -> $STEPS steps"

log "train (budget ${TRAIN_S}s)"
TRAIN="$SK music train --data $TOKENS --preset paper --set position=rope --batch-size 32 --seq-len 2048 --lr 1e-3 --set warmup_steps=200 --set weight_decay=0.1 --set max_eval_batches=12 --set num_workers=10 --out /tmp/run --save /tmp/run/export.json --json"
timeout -s INT $TRAIN_S $TRAIN --steps $STEPS --set eval_every=$(( STEPS / 3 )) --set compile=true > /tmp/train.json
if [ ! -f /tmp/run/best.json ]; then
  log "compiled training failed; retrying eager"; STEPS=$(( (TRAIN_S - 20) * TPS * 7 / 10 / 65536 ))
  timeout -s INT $(( $(left) - 150 )) $TRAIN --steps $STEPS --set eval_every=$(( STEPS / 3 )) > /tmp/train.json
fi
cat /tmp/train.json; cp /tmp/run/metrics.jsonl /tmp/run/loss.png "$OUT/" 2>/dev/null

log "export + eval"
mkdir -p /tmp/ship
python3 -c "from seqkit.checkpoints import export_checkpoint as e; e('/tmp/run/best.json', '/tmp/ship/music-transformer.json', dtype='float16')"
for s in validation test; do
  timeout 60 $SK music eval --model /tmp/ship/music-transformer.json --data $TOKENS --split $s --seq-len 2048 --batch-size 16 --json | python3 -c "import json,sys;print(json.dumps(json.load(sys.stdin)))" | tee -a "$OUT/eval.jsonl"
done
cp /tmp/ship/music-transformer.json "$OUT/"; (cd /tmp/ship && split -b 15M *.safetensors "$OUT/weights.part.")

if [ "$(left)" -gt 70 ]; then log "generation benchmark (trained model)"
  timeout $(( $(left) - 40 )) python3 benchmarks/music_generate_speed.py --checkpoint /tmp/ship/music-transformer.json --batch-size 1 64 --json "$OUT/bench.jsonl"; fi
if [ "$(left)" -gt 50 ]; then log "GPU tests"
  timeout $(( $(left) - 5 )) python3 -m pytest -q -x -p no:cacheprovider plugins/midi-transformer/tests/test_cuda.py plugins/midi-transformer/tests/test_model.py 2>&1 | tail -5; fi
if [ "$(left)" -gt 45 ]; then log "train-speed benchmark (relative)"
  timeout $(( $(left) - 5 )) python3 benchmarks/music_train_speed.py --position relative --batch-size 8 --steps 10 --json "$OUT/bench.jsonl"; fi
if [ "$(left)" -gt 30 ]; then log "generation benchmark (relative, random weights)"
  timeout $(( $(left) - 3 )) python3 benchmarks/music_generate_speed.py --position relative --batch-size 1 64 --json "$OUT/bench.jsonl"; fi
log "done"; ls -la "$OUT"
