#!/usr/bin/env bash
# Device checks for a lent GPU machine (H100/H200): Python 3.12, torch + CUDA, timm,
# regex, huggingface_hub, safetensors, numpy, pillow present; open_clip_torch, ftfy and
# wcwidth absent; no network. Runs from the repository root: `bash benchmarks/gpu_check.sh`.
#
# Before carrying the tree over, fetch the missing wheels once, on this machine, into the
# git-ignored .whl/ folder (versions as installed with requirements.txt):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
#     -d .whl open_clip_torch==3.3.0 ftfy==6.3.1 wcwidth==0.9.4
#
# Sections run in order; each writes its JSON under $OUT when it is set. Whole script:
# under 7 minutes: the section timeouts (160 s + 110 s + 100 s) leave room for the setup.
# Sections: scoring (gpu_scoring.py, about 125 s on an H100), training (gpu_training.py),
# benchmark (benchmark_command.py: the benchmark command's images/s for ViT-H-14 over 640
# JPEGs in fp16, and the antialias difference on 30 large images; not yet run on a GPU).
set -euo pipefail
export PYTHONUNBUFFERED=1
cd "$(dirname "$0")/.."

echo "== setup: carried wheels"
if ! ls .whl/*.whl >/dev/null 2>&1; then
    echo "no wheels in .whl/: run the pip download in this script's header first" >&2
    exit 2
fi
python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
python3 -c "import torch, torchvision, open_clip; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'open_clip', open_clip.__version__, 'cuda', torch.cuda.is_available())"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv,noheader || true

# A failing section is reported and the next one still runs; the exit code says if any failed.
failed=""
run_section() {
    local name="$1"
    shift
    echo "== section: $name"
    if ! "$@"; then
        echo "== section $name FAILED" >&2
        failed="$failed $name"
    fi
}

run_section scoring timeout 160 python3 benchmarks/gpu_scoring.py --compile "$@"
run_section training timeout 110 python3 benchmarks/gpu_training.py
run_section benchmark timeout 100 python3 benchmarks/benchmark_command.py \
    --arch ViT-H-14 --device cuda --precision fp16 --batch-size 64 --images 640

# (further sections go above this line)
if [ -n "$failed" ]; then
    echo "failed sections:$failed" >&2
    exit 1
fi
