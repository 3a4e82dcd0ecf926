#!/usr/bin/env bash
# Create the peers' virtualenvs for the benchmarks (idempotent).
#
#   bash benchmarks/setup.sh            # all peers
#   bash benchmarks/setup.sh kfp hera   # only some
#
# Each peer lives in its own venv under benchmarks/.venvs/ (git-ignored) so that
# its dependencies never touch portaflow's environment:
#   benchmarks/.venvs/kfp    kfp==2.17.3 (+ pandas, scikit-learn for the importing pipeline file)
#                                                      (bench_compile.py, bench_local.py)
#   benchmarks/.venvs/hera   hera[yaml]==7.1.0             (bench_argo.py)
#   benchmarks/.venvs/zenml  zenml[local]==0.98.0      (bench_local.py)
# portaflow itself runs from the Python that runs the benchmark scripts
# (`pip install -e .` in the repo root if `portaflow --version` fails).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venvs="$here/.venvs"
python="${PYTHON:-python3}"
mkdir -p "$venvs"

declare -A specs=(
  [kfp]="kfp==2.17.3 pandas scikit-learn"
  [hera]="hera[yaml]==7.1.0"
  [zenml]="zenml[local]==0.98.0"
)
# Importable module and expected version, checked after install.
declare -A checks=(
  [kfp]="import kfp, pandas, sklearn; assert kfp.__version__ == '2.17.3', kfp.__version__"
  [hera]="import yaml, importlib.metadata as m; assert m.version('hera') == '7.1.0'"
  [zenml]="import zenml; assert zenml.__version__.startswith('0.98.'), zenml.__version__"
)

wanted=("$@")
[ ${#wanted[@]} -eq 0 ] && wanted=(kfp hera zenml)

for name in "${wanted[@]}"; do
  spec="${specs[$name]:?unknown peer $name (kfp|hera|zenml)}"
  venv="$venvs/$name"
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "${checks[$name]}" 2>/dev/null; then
    echo "== $name: ready ($venv)"
    continue
  fi
  echo "== $name: creating $venv with $spec"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  # shellcheck disable=SC2086  # $spec is a list of requirements
  "$venv/bin/python" -m pip install --quiet $spec
  "$venv/bin/python" -c "${checks[$name]}"
  echo "== $name: ready"
done

# What the portaflow halves need in the driving Python (numpy/pandas/pyarrow for the artifact
# benchmark; the pipeline files only *mention* pandas/sklearn, portaflow never imports them).
"$python" - <<'PY'
import importlib.util, sys
missing = [m for m in ("numpy", "pandas", "pyarrow") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"missing in {sys.executable}: {' '.join(missing)} (pip install {' '.join(missing)})")
PY
if ! command -v portaflow >/dev/null 2>&1; then
  echo "note: 'portaflow' is not on PATH; run: $python -m pip install -e $(dirname "$here")"
fi
