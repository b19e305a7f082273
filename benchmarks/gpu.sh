#!/usr/bin/env bash
# On a machine with one or more NVIDIA GPUs, in <= 8 minutes: the CUDA tests, then training SPS of
# cartpole and breakout at GPU-sized configs (thousands of envs), then, with >= 2 GPUs, NCCL scaling.
# Usage: bash benchmarks/gpu.sh   (from the repository root, in an environment with sailfish installed)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
$PY -m pytest -q tests/test_cuda.py
sps() {  # env, then Config overrides: prints the run's last SPS figure
  local env=$1; shift
  local runs; runs=$(mktemp -d)
  timeout 150 $PY -m sailfish train "$env" --device cuda --quiet --runs-dir "$runs" --checkpoint-interval 0 "$@" >/dev/null
  $PY - "$runs" "$env" "$*" <<'PYEOF'
import csv, pathlib, sys
(run,) = pathlib.Path(sys.argv[1]).iterdir()
row = list(csv.DictReader(open(run / "metrics.csv")))[-1]
print(f"{sys.argv[2]} [{sys.argv[3]}]: {float(row['sps']):,.0f} SPS, return {float(row['episode/return']):.1f}")
PYEOF
}
sps cartpole --num-envs 4096 --rollout-steps 32 --minibatch-size 32768 --update-epochs 2 --total-steps 2e7 --num-threads 4
sps breakout --num-envs 4096 --rollout-steps 64 --minibatch-size 65536 --update-epochs 2 --total-steps 3e7 --num-threads 8
sps breakout --num-envs 4096 --rollout-steps 64 --minibatch-size 65536 --update-epochs 2 --total-steps 3e7 --num-threads 8 --precision bf16
GPUS=$($PY -c "import torch; print(torch.cuda.device_count())")
if [ "$GPUS" -ge 2 ]; then
  for n in 1 2; do
    runs=$(mktemp -d)
    timeout 150 $PY -m torch.distributed.run --standalone --nproc-per-node "$n" -m sailfish train breakout \
      --device cuda --quiet --runs-dir "$runs" --checkpoint-interval 0 --num-envs 4096 --rollout-steps 64 \
      --minibatch-size 65536 --update-epochs 2 --total-steps 3e7 --num-threads 4 >/dev/null
    $PY -c "import csv,pathlib,sys; (r,)=pathlib.Path('$runs').iterdir(); print('breakout NCCL, $n GPU(s):', f\"{float(list(csv.DictReader(open(r/'metrics.csv')))[-1]['sps']):,.0f} SPS\")"
  done
fi
