#!/usr/bin/env python3
"""Splits a `helm template` rendering of the chart into what `podman kube play` runs.

    filter.py RENDERED OUT_DIR

writes into OUT_DIR:
  secret.json      the chart's Secret as podman's secret store wants it for
                   secretKeyRef: a JSON object of base64 values. Podman 4.3 (Debian 12)
                   stores a played `kind: Secret` as YAML but reads it back as JSON
                   only (containers/podman#16269, fixed in 4.4), so run.sh creates
                   the podman secret from this file instead of playing the Secret.
  migrations.yaml  one Pod per migration Job: podman has no Jobs, so each Job's pod
                   template becomes a bare Pod (restartPolicy Never) as the chart wrote it.
  services.yaml    the ConfigMaps and Deployments.
Every other kind (Service, NetworkPolicy, PDB, HPA, Ingress, ServiceAccount) is
dropped and named on stderr.

What changes in the pod specs, and why (podman 4.3, Debian 12):
- upstream URLs: the pods run on the host's network, where nothing answers to the
  chart's Service names, so http://xiaopu-eligibility:50051 in a ConfigMap becomes
  http://127.0.0.1:50051 (every Service of the rendering, on its own port). A
  hostAliases entry would keep the ConfigMaps intact, but podman 4.3 writes it only
  into the infra container's /etc/hosts, not the service containers' of a
  host-network pod.
- ports are removed: podman publishes every containerPort on the host, which it
  refuses on the host's network (the containers listen there anyway).
- probes are removed: podman ignores gRPC probes and turns an httpGet liveness probe
  into `curl … || kill 1` run by a shell the image does not have; run.sh asks the
  probes' endpoints itself instead.
- emptyDir volumes get the pod's name: podman makes one named volume per emptyDir
  name, so every pod's `tmp` would otherwise be the same directory.
"""
import base64
import json
import os
import re
import sys
from collections import Counter

import yaml

KEPT = {"Secret", "ConfigMap", "Deployment"}


def secret_json(secret):
    values = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    values.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
    return {k: base64.b64encode(v).decode() for k, v in values.items()}


def adapt(pod_name, pod_spec):
    renamed = {}
    for volume in pod_spec.get("volumes", []):
        if "emptyDir" in volume:
            renamed[volume["name"]] = volume["name"] = f"{pod_name}-{volume['name']}"
    for container in pod_spec["containers"]:
        for key in ("ports", "livenessProbe", "readinessProbe", "startupProbe"):
            container.pop(key, None)
        for mount in container.get("volumeMounts", []):
            mount["name"] = renamed.get(mount["name"], mount["name"])


def main(rendered, out_dir):
    with open(rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]

    service_names = [d["metadata"]["name"] for d in docs if d["kind"] == "Service"]
    service_url = re.compile(r"^(https?)://(%s):" % "|".join(map(re.escape, service_names)))
    rewritten = []

    secrets, migrations, services, dropped = [], [], [], Counter()
    for doc in docs:
        kind = doc["kind"]
        if kind == "Secret":
            secrets.append(doc)
        elif kind == "Job":
            template = doc["spec"]["template"]
            pod_spec = template["spec"]
            adapt(doc["metadata"]["name"], pod_spec)
            migrations.append({
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": doc["metadata"]["name"], "labels": template["metadata"].get("labels", {})},
                "spec": pod_spec,
            })
        elif kind in KEPT:
            if kind == "Deployment":
                adapt(doc["metadata"]["name"], doc["spec"]["template"]["spec"])
            if kind == "ConfigMap" and service_names:
                for key, value in doc.get("data", {}).items():
                    local = service_url.sub(r"\1://127.0.0.1:", value)
                    if local != value:
                        doc["data"][key] = local
                        rewritten.append(f"{key}={local}")
            services.append(doc)
        else:
            dropped[kind] += 1

    if len(secrets) != 1:
        sys.exit("filter.py: expected one Secret in the rendering (render with secrets.create=true)")
    with open(os.path.join(out_dir, "secret.json"), "w") as f:
        json.dump(secret_json(secrets[0]), f)
    for name, out in (("migrations.yaml", migrations), ("services.yaml", services)):
        with open(os.path.join(out_dir, name), "w") as f:
            yaml.safe_dump_all(out, f, sort_keys=False)
    kept = Counter(d["kind"] for d in docs if d["kind"] in KEPT | {"Job"})
    print("filter.py: playing " + ", ".join(f"{n} {k}" for k, n in sorted(kept.items()))
          + " (Jobs as Pods, the Secret as a podman secret); not played: " + ", ".join(f"{n} {k}" for k, n in sorted(dropped.items())),
          file=sys.stderr)
    for line in rewritten:
        print(f"filter.py: {line}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
