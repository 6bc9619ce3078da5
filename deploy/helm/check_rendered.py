"""Asserts on the chart's rendered objects: what every service must get in production.

Usage: check_rendered.py DEFAULT.yaml PRODUCTION.yaml
Exits non-zero naming each missing or wrong object.
"""
import sys

# Strict: a mapping key twice in one object fails (check_yaml.py, beside this file).
from check_yaml import load

SERVICES = {"eligibility": 50051, "storefront": 50052, "attribution": 50053, "settlement": 50054, "web": 8080}
# The web front serves HTTP and owns no database.
HTTP = {"web"}
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def by_kind(docs, kind):
    return [d for d in docs if d.get("kind") == kind]


def component(doc):
    return doc["metadata"]["labels"].get("app.kubernetes.io/component")


def check_workloads(docs, label):
    deployments = {component(d): d for d in by_kind(docs, "Deployment")}
    jobs = {component(d): d for d in by_kind(docs, "Job")}
    policies = {component(d): d for d in by_kind(docs, "NetworkPolicy")}
    services = {component(d): d for d in by_kind(docs, "Service")}
    for name, port in SERVICES.items():
        where = f"[{label}] {name}"
        d = deployments.get(name)
        check(d is not None, f"{where}: no Deployment")
        if d is None:
            continue
        selector = d["spec"]["selector"]["matchLabels"]
        check(selector.get("app.kubernetes.io/component") == name, f"{where}: selector lacks the component")
        check("helm.sh/chart" not in selector, f"{where}: helm.sh/chart in the selector")
        pod = d["spec"]["template"]["spec"]
        check(pod.get("automountServiceAccountToken") is False, f"{where}: service account token mounted")
        check(pod["securityContext"].get("runAsNonRoot") is True, f"{where}: pod not runAsNonRoot")
        check(pod["securityContext"].get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: no RuntimeDefault seccomp")
        check("checksum/config" in d["spec"]["template"]["metadata"].get("annotations", {}), f"{where}: no config checksum")
        c = pod["containers"][0]
        check(c["command"] == [f"/usr/local/bin/xiaopu-{name}", "serve"], f"{where}: wrong command {c['command']}")
        if name in HTTP:
            check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/readyz", f"{where}: no HTTP readiness probe")
            check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", f"{where}: no HTTP liveness probe")
        else:
            for probe in ("readinessProbe", "livenessProbe"):
                check("grpc" in c.get(probe, {}), f"{where}: {probe} is not a gRPC probe")
            check(c["livenessProbe"]["grpc"].get("service") == "liveness", f"{where}: liveness follows the database")
        res = c.get("resources", {})
        check({"cpu", "memory"} <= set(res.get("requests", {})), f"{where}: no CPU/memory requests")
        check("memory" in res.get("limits", {}), f"{where}: no memory limit")
        sc = c.get("securityContext", {})
        check(sc.get("runAsNonRoot") is True, f"{where}: container not runAsNonRoot")
        check(sc.get("readOnlyRootFilesystem") is True, f"{where}: writable root filesystem")
        check(sc.get("allowPrivilegeEscalation") is False, f"{where}: privilege escalation allowed")
        check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities not dropped")
        mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        check("emptyDir" in volumes.get(mounts.get("/tmp", ""), {}), f"{where}: /tmp is not an emptyDir")
        env_secrets = [e for e in c.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})]
        has_db_url = any(e["name"] == "XIAOPU_DATABASE__URL" for e in env_secrets)
        check(has_db_url != (name in HTTP), f"{where}: database URL not from a Secret (or one where no database is)")

        job = jobs.get(f"{name}-migrate")
        check((job is not None) != (name in HTTP), f"{where}: migrations Job missing (or present without a database)")
        if job is not None:
            hooks = job["metadata"]["annotations"].get("helm.sh/hook", "")
            check("pre-install" in hooks and "pre-upgrade" in hooks, f"{where}: migrations Job is not a pre-install/upgrade hook")
            check(job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "migrate", f"{where}: Job does not migrate")

        check(name in policies, f"{where}: no NetworkPolicy")
        check(name in services and services[name]["spec"]["ports"][0]["port"] == port, f"{where}: no Service on {port}")

    deny = [p for p in by_kind(docs, "NetworkPolicy") if p["metadata"]["name"].endswith("-default-deny")]
    check(len(deny) == 1 and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}, f"[{label}] no default-deny policy")
    # Each real caller, and only it, may reach its upstream.
    callers = {
        "eligibility": ["storefront", "web"],
        "storefront": ["attribution", "web"],
        "attribution": ["settlement", "web"],
        "settlement": ["web"],
        "web": [],
    }
    for upstream, expected in callers.items():
        rules = policies.get(upstream, {}).get("spec", {}).get("ingress", [])
        allowed = [
            peer["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
            for rule in rules
            for peer in rule.get("from", [])
            if "podSelector" in peer
        ]
        check(sorted(allowed) == expected, f"[{label}] {upstream} admits {allowed}, expected only {expected}")
    web_egress = policies.get("web", {}).get("spec", {}).get("egress", [])
    check(all("ipBlock" not in peer for rule in web_egress for peer in rule.get("to", [])), f"[{label}] web may reach a database")
    return deployments


# Who calls other services, and so presents a token of its own from the provider.
CALLERS = {"storefront", "attribution", "settlement", "web"}


def check_no_pod_can_mint(docs):
    """Production verifies tokens with the identity provider's public keys: no
    container gets a signing secret or key, every one gets the JWKS, issuer and
    audience, and only services that call others get a token (mounted as a file)."""
    configs = {component(d): d.get("data", {}) for d in by_kind(docs, "ConfigMap")}
    for d in by_kind(docs, "Deployment") + by_kind(docs, "Job"):
        name = component(d)
        where = f"[production] {d['kind']} {d['metadata']['name']}"
        pod = d["spec"]["template"]["spec"]
        env = {e["name"]: e for c in pod["containers"] for e in c.get("env", [])}
        for forbidden in ("XIAOPU_AUTH__SECRET", "XIAOPU_AUTH__PRIVATE_KEY_PEM"):
            check(forbidden not in env, f"{where}: {forbidden} would let it mint tokens")
        check("XIAOPU_AUTH__JWKS_PATH" in env, f"{where}: no JWKS to verify tokens with")
        if d["kind"] != "Deployment":
            continue
        data = configs.get(name, {})
        check(data.get("XIAOPU_AUTH__ALGORITHM") in ("RS256", "EdDSA"), f"{where}: tokens not verified by public key")
        check(data.get("XIAOPU_AUTH__ISSUER") and data.get("XIAOPU_AUTH__AUDIENCE"), f"{where}: no issuer or audience")
        mounts = {m["name"] for m in pod["containers"][0].get("volumeMounts", [])}
        check("auth-keys" in mounts, f"{where}: the JWKS is not mounted")
        wants_token = name in CALLERS
        check(("XIAOPU_AUTH__SERVICE_TOKEN_PATH" in env) == wants_token, f"{where}: service token path for a caller only")
        check(("service-token" in mounts) == wants_token, f"{where}: service token mounted for a caller only")


def check_feed(docs, label, transport):
    """Every service with a database gets the feed's transport; on JetStream also its
    NATS and the egress to it, and the web front neither."""
    configs = {component(d): d["data"] for d in by_kind(docs, "ConfigMap") if component(d) in SERVICES}
    policies = {component(d): d for d in by_kind(docs, "NetworkPolicy")}
    for name in SERVICES:
        data = configs.get(name, {})
        egress_ports = {
            p.get("port") for rule in policies.get(name, {}).get("spec", {}).get("egress", []) for p in rule.get("ports", [])
        }
        if name in HTTP:
            check("XIAOPU_FEED__TRANSPORT" not in data, f"[{label}] {name}: has no feed, yet gets feed settings")
            check(4222 not in egress_ports, f"[{label}] {name}: may reach NATS")
            continue
        check(data.get("XIAOPU_FEED__TRANSPORT") == transport, f"[{label}] {name}: feed transport is not {transport}")
        on_nats = transport == "jetstream"
        check(("XIAOPU_FEED__NATS__URL" in data) == on_nats, f"[{label}] {name}: NATS URL set: {not on_nats}")
        check((4222 in egress_ports) == on_nats, f"[{label}] {name}: egress to NATS: {not on_nats}")


def main(default_path, production_path):
    check_workloads(load(default_path), "default")
    check_feed(load(default_path), "default", "outbox")
    production = load(production_path)
    check_workloads(production, "production")
    check_feed(production, "production", "jetstream")
    pdbs = {component(d) for d in by_kind(production, "PodDisruptionBudget")}
    hpas = {component(d) for d in by_kind(production, "HorizontalPodAutoscaler")}
    for name in SERVICES:
        check(name in pdbs, f"[production] {name}: no PodDisruptionBudget")
        check(name in hpas, f"[production] {name}: no HorizontalPodAutoscaler")
    for d in by_kind(production, "Deployment"):
        pod = d["spec"]["template"]["spec"]
        check("podAntiAffinity" in pod.get("affinity", {}), f"[production] {component(d)}: no anti-affinity")
        check("@sha256:" in pod["containers"][0]["image"], f"[production] {component(d)}: image not pinned by digest")
    check_no_pod_can_mint(production)
    ingresses = {component(d): d for d in by_kind(production, "Ingress")}
    check(set(ingresses) == {"ingress", "web"}, f"[production] Ingresses: {sorted(ingresses)}")

    def paths(ingress):
        return {p["path"]: p["backend"]["service"]["port"]["name"] for r in ingress["spec"]["rules"] for p in r["http"]["paths"]}

    if "ingress" in ingresses:
        grpc = paths(ingresses["ingress"])
        for name in set(SERVICES) - HTTP:
            check(grpc.get(f"/xiaopu.{name}.v1.{name.title()}Service") == "grpc", f"[production] Ingress does not route {name}")
    if "web" in ingresses:
        web_paths = {path: "http" for path in ["/s/", "/app", "/supplier", "/static/", "/console"]}
        check(paths(ingresses["web"]) == web_paths, "[production] the web Ingress does not route the web front's pages")
    if failures:
        print("rendered chart check failed:\n  " + "\n  ".join(failures))
        sys.exit(1)
    print(f"rendered chart: {len(SERVICES)} services checked in default and production values")


if __name__ == "__main__":
    main(*sys.argv[1:3])
