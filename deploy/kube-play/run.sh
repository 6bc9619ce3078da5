#!/usr/bin/env bash
# Runs the Helm chart's Deployments under `podman kube play`, with an image built
# from local binaries (no registry, no base image), against a local PostgreSQL, and
# checks every service answers its health check as the chart's non-root user on a
# read-only root filesystem. Tears everything down at the end unless KEEP=1.
#
#   run.sh        build (release), play, check, tear down
#   run.sh down   tear down what a KEEP=1 run left up
#
# XIAOPU_KUBE_PLAY_BIN_DIR=target/debug uses binaries already built there instead of
# running `cargo build --release` (the binaries are the same code, only slower).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
state="$root/target/kube-play"
image=localhost/xiaopu:kube-play
secret_name=xiaopu-secrets
bins=(xiaopu xiaopu-eligibility xiaopu-storefront xiaopu-attribution xiaopu-settlement xiaopu-web)
grpc_services=(eligibility storefront attribution settlement)
# The chart's podSecurityContext/securityContext (helm/xiaopu/values.yaml) and the
# distroless `nonroot` user the Dockerfile's image runs as.
uid=65532
gid=65532
log() { echo "kube-play: $*" >&2; }
started=$SECONDS

install_tools() {
  local pkgs=()
  command -v podman >/dev/null || pkgs+=(podman)
  # Debian's podman accepts crun or runc; runc is named so the runtime is known.
  command -v runc >/dev/null || pkgs+=(runc)
  python=python3
  if ! python3 -c 'import yaml' 2>/dev/null; then pkgs+=(python3-yaml); python=/usr/bin/python3; fi
  if [ ${#pkgs[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { log "missing ${pkgs[*]}: install them (Debian packages) or run as root"; exit 1; }
    log "installing Debian's ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${pkgs[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q "${pkgs[@]}" >/dev/null; }
  fi
  helm=$(command -v helm || true)
  [ -n "$helm" ] || helm=$(deploy/tools/helm.sh)
}

# Rootful podman gives every container 1048576 open files, above this shell's hard
# limit; without CAP_SYS_RESOURCE (as in some sandboxed VMs) runc then fails with
# "error setting rlimit type 7". There, the containers get the limit we have. The
# override replaces podman's default list, which held nproc: podman lowers its own
# nproc to kernel.pid_max at start, so that is the most a container can get.
fit_ulimits() {
  local nofile nproc pid_max base limits
  nofile=$(ulimit -Hn)
  if [ "$nofile" = unlimited ] || [ "$nofile" -ge 1048576 ] || (ulimit -Hn 1048576) 2>/dev/null; then
    return 0
  fi
  nproc=$(ulimit -Hu) pid_max=$(cat /proc/sys/kernel/pid_max)
  if [ "$nproc" = unlimited ] || [ "$nproc" -gt "$pid_max" ]; then nproc=$pid_max; fi
  limits="default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]"
  base=/etc/containers/containers.conf
  [ -f "$base" ] || base=/usr/share/containers/containers.conf
  mkdir -p "$state"
  if grep -q '^\[containers\]' "$base" 2>/dev/null; then
    sed "/^\[containers\]/a $limits" "$base" >"$state/containers.conf"
  else
    printf '[containers]\n%s\n' "$limits" >"$state/containers.conf"
  fi
  export CONTAINERS_CONF="$state/containers.conf"
  log "containers get nofile=$nofile nproc=$nproc (this shell cannot raise nofile to podman's 1048576)"
}

binaries() {
  if [ -n "${XIAOPU_KUBE_PLAY_BIN_DIR:-}" ]; then
    bin_dir=$(cd "$XIAOPU_KUBE_PLAY_BIN_DIR" && pwd)
    log "using the binaries in $bin_dir (no cargo build)"
  else
    log "building the release binaries"
    SQLX_OFFLINE=true cargo build --release --locked --bins
    bin_dir="$root/target/release"
  fi
  for b in "${bins[@]}"; do [ -x "$bin_dir/$b" ] || { log "$bin_dir/$b is missing"; exit 1; }; done
}

# The same layout as deploy/Dockerfile's distroless image: the binaries in
# /usr/local/bin, glibc and the loader, CA certificates and a `nonroot` user.
# Only what ldd names is copied, so a library the binaries start needing shows up
# here as a failure to start rather than passing on a fat base image.
build_image() {
  local rootfs="$state/rootfs" lib b
  rm -rf "$rootfs"
  mkdir -p "$rootfs"/{usr/local/bin,etc/ssl/certs,tmp,home/nonroot,proc,sys,dev,run}
  cp "${bins[@]/#/$bin_dir/}" "$rootfs/usr/local/bin/"
  for lib in $(for b in "${bins[@]}"; do ldd "$bin_dir/$b"; done | grep -o '/[^ ]*' | sort -u); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/home/nonroot:/sbin/nologin\n' "$uid" "$gid" >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:%s:\n' "$gid" >"$rootfs/etc/group"
  # As distroless has it: /etc/hosts before DNS.
  echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
  # Mount points podman fills in; a read-only root cannot get them created later.
  touch "$rootfs/etc/hosts" "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  chmod 1777 "$rootfs/tmp"
  chown "$uid:$gid" "$rootfs/home/nonroot"
  podman rmi -f "$image" >/dev/null 2>&1 || true
  tar -C "$rootfs" -c . | podman import -q \
    --change "USER $uid:$gid" \
    --change 'ENTRYPOINT ["/usr/local/bin/xiaopu-eligibility"]' \
    --change 'CMD ["serve"]' \
    --change 'EXPOSE 50051' --change 'EXPOSE 50052' --change 'EXPOSE 50053' --change 'EXPOSE 50054' \
    - "$image" >/dev/null
  log "imported $image ($(du -sh "$rootfs" | cut -f1), $(find "$rootfs" -type f | wc -l) files)"
}

# Fresh databases each run, so the migration Pods apply every migration from zero,
# as on a first install.
start_postgres() {
  admin=$(deploy/local/postgres.sh start kube)
  for svc in "${grpc_services[@]}"; do
    PGOPTIONS='-c client_min_messages=warning' psql -q -v ON_ERROR_STOP=1 "$admin" -c "DROP DATABASE IF EXISTS xiaopu_$svc WITH (FORCE)" -c "CREATE DATABASE xiaopu_$svc" >/dev/null
  done
}

# The pods share the host's network (see the README): each service gets a free
# port of its own through the chart's services.<name>.port, so a `make up` or a
# second run on the default ports does not collide with this one.
pick_ports() {
  local port=$((16000 + RANDOM % 900)) svc
  declare -gA ports=()
  for svc in "${grpc_services[@]}" web; do
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
    ports[$svc]=$port
    port=$((port + 1))
  done
}

render() {
  local secret values="$state/values-kube-play.yaml"
  secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$secret" >"$state/auth-secret"
  {
    echo "image: {repository: localhost/xiaopu, tag: kube-play, pullPolicy: Never}"
    echo "secrets:"
    echo "  create: true"
    echo "  authSecret: \"$secret\""
    echo "  payeeKey: \"$(head -c 32 /dev/urandom | base64)\""
    echo "  databaseUrls:"
    for svc in "${grpc_services[@]}"; do echo "    $svc: \"${admin%/*}/xiaopu_$svc\""; done
    echo "services:"
    for svc in "${!ports[@]}"; do echo "  $svc: {port: ${ports[$svc]}}"; done
  } >"$values"
  "$helm" template xiaopu helm/xiaopu -f "$values" >"$state/rendered.yaml"
  "$python" deploy/kube-play/filter.py "$state/rendered.yaml" "$state"
  podman secret rm "$secret_name" >/dev/null 2>&1 || true
  podman secret create "$secret_name" "$state/secret.json" >/dev/null
}

# Podman has no Jobs: filter.py turned each migration Job into a Pod that runs once.
# They run to completion before the Deployments start, as the chart's pre-install
# hooks do, since the ConfigMaps turn migrate-on-start off.
migrate() {
  local pods pod rc failed=0
  pods=$(yaml_names Pod "$state/migrations.yaml")
  [ -n "$pods" ] || { log "no migration Jobs rendered: the services migrate on start"; return 0; }
  podman kube play --network host --replace "$state/migrations.yaml" >/dev/null
  for pod in $pods; do
    rc=$(podman wait "$pod-migrate")
    if [ "$rc" != 0 ]; then
      log "$pod exited $rc:"; podman logs "$pod-migrate" >&2 || true; failed=1
    fi
    podman pod rm -f "$pod" >/dev/null
  done
  [ "$failed" = 0 ] || exit 1
  log "migrations applied ($(wc -w <<<"$pods") Pods from the chart's Jobs)"
}

yaml_names() {
  "$python" -c 'import sys, yaml; print(" ".join(d["metadata"]["name"] for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] == sys.argv[1]))' "$1" "$2"
}

play() {
  podman kube play --network host --replace "$state/services.yaml" >/dev/null
  {
    echo "export XIAOPU_AUTH__SECRET=$(cat "$state/auth-secret")"
    for svc in "${grpc_services[@]}"; do
      echo "export XIAOPU_${svc^^}_URL=http://127.0.0.1:${ports[$svc]}"
    done
    echo "export XIAOPU_WEB_URL=http://127.0.0.1:${ports[web]}"
  } >"$state/env"
  log "played $(yaml_names Deployment "$state/services.yaml")"
}

# The CLI inside the image, run the way the pods run.
in_image() {
  # shellcheck disable=SC1091
  . "$state/env"
  podman run --rm --network host --read-only --user "$uid:$gid" --cap-drop ALL \
    -e XIAOPU_AUTH__SECRET -e XIAOPU_ELIGIBILITY_URL -e XIAOPU_STOREFRONT_URL \
    -e XIAOPU_ATTRIBUTION_URL -e XIAOPU_SETTLEMENT_URL \
    --entrypoint /usr/local/bin/xiaopu "$image" "$@"
}

# Podman names a Deployment's container <deployment>-pod[-N]-<container>.
container_of() {
  podman ps -a --format '{{.Names}}' | grep -E "^xiaopu-$1-pod(-[0-9]+)?-$1\$" | head -1
}

# What the chart's probes ask, asked by hand (podman runs none of them): gRPC
# health with no service name for readiness (SERVING once the database answers)
# and the `liveness` service, /readyz and /healthz on the web front.
probe() {
  local svc=$1 kind=$2 url="http://127.0.0.1:${ports[$1]}"
  if [ "$svc" = web ]; then
    curl -s --max-time 5 "$url/$([ "$kind" = ready ] && echo readyz || echo healthz)" || echo down
  else
    deploy/tools/buf.sh curl --protocol grpc --http2-prior-knowledge --timeout 5s \
      -d "{\"service\": \"$([ "$kind" = live ] && echo liveness)\"}" "$url/grpc.health.v1.Health/Check" 2>&1 \
      | "$python" -c 'import json, sys; t = sys.stdin.read(); print(json.loads(t)["status"] if t.startswith("{") else " ".join(t.split())[:40])' || true
  fi
}

# One sale, each step reaching the next service through the upstream URLs of the
# ConfigMaps: storefront asks eligibility before it opens a shop, the web page asks
# storefront, attribution accepts the payment once it has followed storefront's
# feed, settlement estimates the commission once it has followed attribution's.
# Prints what it got, or the step that failed.
sale() {
  local r=$RANDOM promoter supplier product shop listing code page estimated=""
  promoter="kube-play-$r" supplier="kube-play-supplier-$r"
  in_image --as service:credit-bureau eligibility record-score --person "$promoter" --score 720 --source zhima >/dev/null \
    || { echo "FAILED: eligibility record-score"; return 1; }
  product=$(in_image --field product.product_id --as "supplier:$supplier" supplier publish --title "kube-play tea" --price 1000 --category tea) \
    || { echo "FAILED: storefront publish"; return 1; }
  in_image --as "supplier:$supplier" supplier set-rate --product "$product" --bps 1000 >/dev/null \
    || { echo "FAILED: storefront set-rate"; return 1; }
  shop=$(in_image --field shop.shop_id --as "promoter:$promoter" promoter open-shop --name kube-play) \
    || { echo "FAILED: storefront open-shop (asks eligibility)"; return 1; }
  listing=$(in_image --field listing.listing_id --as "promoter:$promoter" promoter add --shop "$shop" --product "$product") \
    || { echo "FAILED: storefront add listing"; return 1; }
  code=$(in_image --field share_link.code --as "promoter:$promoter" promoter link --shop "$shop" --listing "$listing" --channel wechat) \
    || { echo "FAILED: storefront share link"; return 1; }
  page=$(curl -s -o /dev/null -w '%{http_code}' "$XIAOPU_WEB_URL/s/$code")
  [ "$page" = 200 ] || { echo "FAILED: web page /s/$code answered $page"; return 1; }
  in_image --as service:link-redirector orders click --code "$code" --visitor "buyer-$r" >/dev/null \
    || { echo "FAILED: attribution click"; return 1; }
  for _ in $(seq 1 25); do
    in_image --as service:order-system orders paid --order "order-$r" --buyer "buyer-$r" --line "line-$r:$product:$supplier:1000" >/dev/null 2>&1 \
      && break
    sleep 0.2
  done
  for _ in $(seq 1 25); do
    estimated=$(in_image --field estimated.minor_units --as "promoter:$promoter" promoter earnings --promoter "$promoter" 2>/dev/null || true)
    [ -n "$estimated" ] && [ "$estimated" != 0 ] && break
    sleep 0.2
  done
  if [ -z "$estimated" ] || [ "$estimated" = 0 ]; then echo "FAILED: no commission estimated by settlement"; return 1; fi
  echo "commission of $estimated fen estimated on a 1000 fen sale"
}

check() {
  local svc ctr pid proc_status mountinfo ready live root_opts ro sale_result ids caps nnp seccomp mem tmp restarts failed=0
  # shellcheck disable=SC1091
  . "$state/env"
  # Waits until every gRPC service is SERVING (migrations done, database reachable).
  in_image health --wait 90 >/dev/null 2>&1 || failed=1
  for _ in $(seq 1 100); do curl -fsS -o /dev/null "$XIAOPU_WEB_URL/readyz" 2>/dev/null && break; sleep 0.2; done

  if sale_result=$(sale); then sale_result="ok, $sale_result"; else failed=1; fi

  printf '\n%-12s %-6s %-8s %-8s %-12s %-10s %-5s %-4s %-8s %-6s %-10s %s\n' \
    SERVICE PORT READY LIVE UID:GID ROOT-FS CAPS NNP SECCOMP MEM /tmp RESTARTS
  for svc in "${grpc_services[@]}" web; do
    ctr=$(container_of "$svc")
    ready=$(probe "$svc" ready) live=$(probe "$svc" live)
    restarts=$(podman inspect -f '{{.RestartCount}}' "$ctr" 2>/dev/null || echo "?")
    pid=$(podman inspect -f '{{.State.Pid}}' "$ctr" 2>/dev/null || echo 0)
    # Read once: a crash-looping container's process can vanish between two reads.
    if [ "$pid" = 0 ] || ! proc_status=$(cat "/proc/$pid/status" 2>/dev/null) \
       || ! mountinfo=$(cat "/proc/$pid/mountinfo" 2>/dev/null) || ! tmp=$(stat -c '%u:%g %a' "/proc/$pid/root/tmp" 2>/dev/null); then
      printf '%-12s %-6s %-8s %-8s %s\n' "$svc" "${ports[$svc]}" "$ready" "$live" \
        "NO PROCESS (podman: $(podman inspect -f '{{.State.Status}}, exit {{.State.ExitCode}}' "$ctr" 2>/dev/null || echo "no container"); $restarts restarts)"
      failed=1
      continue
    fi
    # The kernel's view of the running process, not podman's configuration of it.
    ids=$(awk '/^Uid:/ {u = $2} /^Gid:/ {g = $2} END {print u ":" g}' <<<"$proc_status")
    caps=$(awk '/^CapEff:/ {print $2}' <<<"$proc_status")
    nnp=$(awk '/^NoNewPrivs:/ {print $2 ? "yes" : "no"}' <<<"$proc_status")
    seccomp=$(awk '/^Seccomp:/ {print $2 == 2 ? "filter" : "NONE"}' <<<"$proc_status")
    root_opts=$(awk '$5 == "/" {print $6}' <<<"$mountinfo" | tail -1)
    case ",$root_opts," in *,ro,*) ro=read-only ;; *) ro=WRITABLE ;; esac
    mem=$(podman inspect -f '{{.HostConfig.Memory}}' "$ctr" | numfmt --to=iec)
    printf '%-12s %-6s %-8s %-8s %-12s %-10s %-5s %-4s %-8s %-6s %-10s %s\n' "$svc" "${ports[$svc]}" "$ready" "$live" \
      "$ids" "$ro" "$([ "$caps" = 0000000000000000 ] && echo none || echo "$caps")" "$nnp" "$seccomp" "$mem" "$tmp" "$restarts"
    [ "$ids" = "$uid:$gid" ] && [ "$ro" = read-only ] && [ "$caps" = 0000000000000000 ] && [ "$nnp" = yes ] \
      && [ "$seccomp" = filter ] && [ "$restarts" = 0 ] || failed=1
    case "$ready/$live" in SERVING/SERVING | ready/ok) ;; *) failed=1 ;; esac
  done
  echo
  echo "one sale (eligibility → storefront → attribution → settlement, and the web page): $sale_result"
  echo "image: $image, $(podman image inspect -f '{{.Size}}' "$image" | numfmt --to=iec), no base image"
  echo
  return "$failed"
}

down() {
  if [ -f "$state/services.yaml" ]; then podman kube down "$state/services.yaml" >/dev/null 2>&1 || true; fi
  if [ -f "$state/migrations.yaml" ]; then
    for pod in $(yaml_names Pod "$state/migrations.yaml" 2>/dev/null || true); do podman pod rm -f "$pod" >/dev/null 2>&1 || true; done
  fi
  podman secret rm "$secret_name" >/dev/null 2>&1 || true
  deploy/local/postgres.sh stop kube
  log "torn down (the image $image stays; podman rmi $image removes it)"
}

finish() {
  local rc=$?
  if [ "$rc" != 0 ] && [ -f "$state/services.yaml" ]; then
    for svc in "${grpc_services[@]}" web; do
      # The services log to stderr, which podman logs replays as stderr.
      podman logs --tail 20 "$(container_of "$svc")" 2>&1 | sed "s/^/  $svc: /" >&2 || true
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then
    log "left up (KEEP=1): source target/kube-play/env, then call target/debug/xiaopu; deploy/kube-play/run.sh down stops it"
  else
    down
  fi
  log "$([ "$rc" = 0 ] && echo passed || echo FAILED) in $((SECONDS - started))s"
}

main() {
  install_tools
  fit_ulimits
  binaries
  # The state holds the generated secret and database URLs.
  mkdir -p "$state" && chmod 700 "$state"
  # A run that was KEEP=1 or killed leaves pods that hold the ports and the database.
  down >/dev/null 2>&1 || true
  trap finish EXIT
  build_image
  start_postgres
  pick_ports
  render
  migrate
  play
  check
}

case "${1:-}" in
  "") main ;;
  down) install_tools; fit_ulimits; down ;;
  *) echo "usage: run.sh [down]" >&2; exit 2 ;;
esac
