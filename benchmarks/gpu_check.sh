#!/usr/bin/env bash
# The GPU checks of the performance issue as one prepared run for a short device lease
# (the project's device tool gives a task about 15 minutes of GPU time, start included).
#
#   benchmarks/gpu_check.sh            # on the GPU machine, from the repository root
#   DEVICE=cpu SIZES=20x100 WARMUP=30 SAMPLES=30 benchmarks/gpu_check.sh   # dry run here
#   STEPS=families benchmarks/gpu_check.sh   # the model families' check, a second command
#
# Steps (STEPS, default "grad fit"), each under its own time limit so that a slow one
# cannot eat the lease, results copied to $OUT (when set) after every step so that
# partial results still come back:
#   grad: gradient time per trial, sequential and associative scan, 200x200 and 10,000x200;
#   fit: the full fit (4 chains x (1000 + 1000)) at each size in SIZES with the scan that
#      had the faster gradient at the largest size (the issue's target: 10,000 x 200 in
#      under 5 minutes), recorded in benchmarks/results/device_scaling.{parquet,md};
#   families: cogfit's fits of igt_orl and gng_m4 (benchmarks/families.py, one run per
#      size in FAMILY_SIZES, default "20 200") on the device, recorded apart from this
#      machine's in benchmarks/results/families_gpu.{parquet,md}.
# Packages missing on the GPU machine (ArviZ and what it needs beyond that image, and the
# NumPyro version cogfit is tested with) travel as wheels in .whl/, all pure Python:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 -d .whl \
#     arviz==0.23.4 xarray-einstats==0.9.1 h5netcdf==1.8.2 platformdirs numpyro==0.22.0
# cogfit itself runs from src/. The limits (GRAD_LIMIT 120 s, FIT_LIMIT 420 s;
# FAMILY_LIMIT 420 s) keep each command inside one 10-minute device command.
set -euo pipefail
STEPS=${STEPS:-"grad fit"}
DEVICE=${DEVICE:-gpu}
SIZES=${SIZES:-"20x100 1000x200 10000x200"}
WARMUP=${WARMUP:-1000}
SAMPLES=${SAMPLES:-1000}
GRAD_SIZES=${GRAD_SIZES:-"200x200 10000x200"}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:${PYTHONPATH:-}
fi
export PYTHONPATH=$PWD/src:${PYTHONPATH:-}

save() { if [ -n "${OUT:-}" ]; then cp benchmarks/results/*.md benchmarks/results/*.parquet "$OUT"/; fi; }

$PY -c "import jax, numpyro, arviz; print('jax', jax.__version__, jax.devices(), 'numpyro', numpyro.__version__, 'arviz', arviz.__version__)"
if [ "$DEVICE" = gpu ]; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true; fi

has_step() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# 1. gradients (JAX picks the GPU when there is one)
scan=auto  # (runtime.resolve_scan) unless this run's gradients say otherwise (the table's last row is
           # an earlier machine's when the step did not finish)
if ! has_step grad; then
  :
elif timeout ${GRAD_LIMIT:-120} $PY benchmarks/gradient.py --sizes $GRAD_SIZES --repeats 20; then
  save
  scan=$($PY - <<'PY'
import pandas as pd
t = pd.read_parquet("benchmarks/results/gradient.parquet").iloc[-1]
print("associative" if t["cogfit_associative_ns"] < t["cogfit_sequential_ns"] else "sequential")
PY
)
else
  echo "gradient step stopped: $?"
fi
echo "fits use scan: $scan"

# 2. full fits, smallest first (peak memory is since process start)
if has_step fit; then
  timeout ${FIT_LIMIT:-420} $PY benchmarks/device_scaling.py --devices "$DEVICE" --sizes $SIZES \
    --warmup "$WARMUP" --samples "$SAMPLES" --scan "$scan" --tag "gpu_check.sh on $DEVICE" \
    || echo "fit step stopped: $?"
  save
fi

# 3. the two benchmarked model families, cogfit only (no Stan on the device)
if has_step families; then
  timeout ${FAMILY_LIMIT:-420} $PY benchmarks/families.py --methods cogfit \
    --participants ${FAMILY_SIZES:-20 200} --repeats 1 --warmup "$WARMUP" \
    --samples "$SAMPLES" --results families_gpu || echo "families step stopped: $?"
  save
fi
