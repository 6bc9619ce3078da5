{{/* The chart's name, truncated to 63 characters (DNS label). */}}
{{- define "xiaopu.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name, truncated to 63 characters. */}}
{{- define "xiaopu.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "xiaopu.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* A component's name: <fullname>-<component>, truncated. Call with (dict "root" $ "component" "eligibility"). */}}
{{- define "xiaopu.componentName" -}}
{{- printf "%s-%s" (include "xiaopu.fullname" .root | trunc 50 | trimSuffix "-") .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: never the chart version, always the component. */}}
{{- define "xiaopu.selectorLabels" -}}
app.kubernetes.io/name: {{ include "xiaopu.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Recommended labels. */}}
{{- define "xiaopu.labels" -}}
helm.sh/chart: {{ include "xiaopu.chart" .root }}
{{ include "xiaopu.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: xiaopu
{{- end }}

{{- define "xiaopu.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "xiaopu.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "xiaopu.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "xiaopu.secretName" -}}
{{- .Values.secrets.name }}
{{- end }}

{{/* Who each service calls: its upstream (gRPC calls and/or its feed). */}}
{{- define "xiaopu.upstreams" -}}
eligibility: []
storefront: [eligibility]
attribution: [storefront]
settlement: [attribution]
web: [eligibility, storefront, attribution, settlement]
{{- end }}

{{/* The gRPC service a component serves to clients (routed by the Ingress). */}}
{{- define "xiaopu.grpcService" -}}
{{- printf "xiaopu.%s.v1.%sService" . (title .) }}
{{- end }}

{{/* The URL another component reaches this one at. */}}
{{- define "xiaopu.url" -}}
{{- $svc := index .root.Values.services .component }}
{{- printf "%s://%s:%v" (ternary "https" "http" .root.Values.tls.enabled) (include "xiaopu.componentName" .) $svc.port }}
{{- end }}

{{/* Whether a component has a database of its own (all but the web front). */}}
{{- define "xiaopu.hasDatabase" -}}
{{- $svc := index .root.Values.services .component }}
{{- if ne $svc.database false }}true{{ end }}
{{- end }}

{{/* Environment shared by every container (deployments and migration jobs). */}}
{{- define "xiaopu.secretEnv" -}}
{{- if include "xiaopu.hasDatabase" . }}
- name: XIAOPU_DATABASE__URL
  valueFrom:
    secretKeyRef:
      name: {{ include "xiaopu.secretName" .root }}
      key: database-url-{{ .component }}
{{- end }}
{{- if eq .root.Values.auth.algorithm "HS256" }}
- name: XIAOPU_AUTH__SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "xiaopu.secretName" .root }}
      key: auth-secret
{{- else }}
# Tokens are verified with the identity provider's public keys; no pod holds a key
# that could sign one. A service that calls others presents the provider's token.
- name: XIAOPU_AUTH__JWKS_PATH
  value: /etc/xiaopu/auth/jwks.json
{{- if include "xiaopu.callsOthers" . }}
- name: XIAOPU_AUTH__SERVICE_TOKEN_PATH
  value: /var/run/secrets/xiaopu/service-token
{{- end }}
{{- end }}
{{- end }}

{{/* "true" when the component calls other services (and so needs a token of its own). */}}
{{- define "xiaopu.callsOthers" -}}
{{- if index (include "xiaopu.upstreams" .root | fromYaml) .component }}true{{- end }}
{{- end }}

{{/* True when tokens are verified with the identity provider's public keys. */}}
{{- define "xiaopu.publicKeyAuth" -}}
{{- if ne .Values.auth.algorithm "HS256" }}true{{- end }}
{{- end }}

{{/* The XIAOPU_* variables the chart sets in a component's ConfigMap (a service's
`config` adds others). Integers go through int64: Helm reads numbers in values as
float64 and would print 4194304 as 4.194304e+06. */}}
{{- define "xiaopu.configData" -}}
{{- $root := .root }}
{{- $name := .component }}
{{- $svc := index $root.Values.services $name }}
{{- $server := $root.Values.server -}}
XIAOPU_SERVER__LISTEN_ADDR: "0.0.0.0:{{ $svc.port | int64 }}"
XIAOPU_SERVER__REQUEST_TIMEOUT_MS: {{ $svc.requestTimeoutMs | default $server.requestTimeoutMs | int64 | quote }}
XIAOPU_SERVER__CONCURRENCY_LIMIT: {{ $server.concurrencyLimit | int64 | quote }}
XIAOPU_SERVER__MAX_MESSAGE_BYTES: {{ $server.maxMessageBytes | int64 | quote }}
XIAOPU_SERVER__SHUTDOWN_GRACE_MS: {{ $server.shutdownGraceMs | int64 | quote }}
{{- if not $svc.http }}
XIAOPU_SERVER__GRPC_WEB: {{ $server.grpcWeb | quote }}
XIAOPU_SERVER__CORS_ALLOWED_ORIGINS: {{ join "," $server.corsAllowedOrigins | quote }}
{{- end }}
{{- if eq $name "storefront" }}
{{- /* Share links open on the web front's public host. */}}
{{- $web := $root.Values.ingress.web }}
XIAOPU_STOREFRONT__SHARE_BASE_URL: {{ printf "%s://%s/s/" (ternary "https" "http" (ne $web.tlsSecretName "")) $web.host | quote }}
{{- end }}
{{- if include "xiaopu.hasDatabase" . }}
XIAOPU_DATABASE__MIGRATE_ON_START: {{ (not $root.Values.migrations.enabled) | quote }}
{{- $feed := $root.Values.feed }}
XIAOPU_FEED__TRANSPORT: {{ $feed.transport | quote }}
{{- if eq $feed.transport "jetstream" }}
XIAOPU_FEED__NATS__URL: {{ required "feed.nats.url is required with feed.transport jetstream (the chart installs no NATS)" $feed.nats.url | quote }}
XIAOPU_FEED__NATS__STREAM_REPLICAS: {{ $feed.nats.streamReplicas | int64 | quote }}
XIAOPU_FEED__NATS__RETENTION: {{ $feed.nats.retention | quote }}
XIAOPU_FEED__NATS__MAX_AGE_HOURS: {{ $feed.nats.maxAgeHours | int64 | quote }}
{{- end }}
{{- end }}
XIAOPU_TELEMETRY__SERVICE_NAME: {{ $name | quote }}
XIAOPU_TELEMETRY__LOG_FORMAT: {{ $root.Values.telemetry.logFormat | quote }}
XIAOPU_TELEMETRY__LOG_FILTER: {{ $root.Values.telemetry.logFilter | quote }}
XIAOPU_TELEMETRY__SAMPLING_RATIO: {{ $root.Values.telemetry.samplingRatio | quote }}
{{- with $root.Values.telemetry.otlpEndpoint }}
XIAOPU_TELEMETRY__OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
XIAOPU_AUTH__ALGORITHM: {{ $root.Values.auth.algorithm | quote }}
{{- if include "xiaopu.publicKeyAuth" $root }}
XIAOPU_AUTH__ISSUER: {{ required "auth.issuer is required for RS256/EdDSA" $root.Values.auth.issuer | quote }}
XIAOPU_AUTH__AUDIENCE: {{ required "auth.audience is required for RS256/EdDSA" $root.Values.auth.audience | quote }}
{{- else }}
{{- with $root.Values.auth.issuer }}
XIAOPU_AUTH__ISSUER: {{ . | quote }}
{{- end }}
{{- with $root.Values.auth.audience }}
XIAOPU_AUTH__AUDIENCE: {{ . | quote }}
{{- end }}
{{- end }}
{{- if and $root.Values.tls.enabled (not $svc.http) }}
XIAOPU_SERVER__TLS_CERT_PATH: /etc/xiaopu/tls/tls.crt
XIAOPU_SERVER__TLS_KEY_PATH: /etc/xiaopu/tls/tls.key
XIAOPU_SERVER__HEALTH_LISTEN_ADDR: "0.0.0.0:{{ $root.Values.tls.healthPort | int64 }}"
{{- end }}
{{- range $upstream := index (include "xiaopu.upstreams" $root | fromYaml) $name }}
XIAOPU_{{ upper $name }}__{{ upper $upstream }}__URL: {{ include "xiaopu.url" (dict "root" $root "component" $upstream) | quote }}
{{- if $root.Values.tls.enabled }}
XIAOPU_{{ upper $name }}__{{ upper $upstream }}__CA_CERT_PATH: /etc/xiaopu/tls/ca.crt
{{- end }}
{{- end }}
{{- end }}

{{/* Checkov findings this chart accepts, each with its reason (checked in `make test`). */}}
{{- define "xiaopu.checkovSkips" -}}
checkov.io/skip1: CKV_K8S_21=The namespace is chosen at install (helm install -n), not hard-coded in the chart
{{- if .workload }}
checkov.io/skip2: CKV_K8S_11=No CPU limit on purpose - CFS throttling hurts gRPC tail latency; requests reserve CPU and the HPA scales on them
checkov.io/skip3: CKV_K8S_15=Images are immutable (a tag per release, a digest in values-production.yaml), so IfNotPresent is safe
checkov.io/skip4: CKV_K8S_43=The digest is set per environment in values (image.digest, see values-production.yaml)
checkov.io/skip5: CKV_K8S_35=Configuration is read from XIAOPU_* variables (12-factor); secrets come from a Secret and are never logged
{{- end }}
{{- end }}
