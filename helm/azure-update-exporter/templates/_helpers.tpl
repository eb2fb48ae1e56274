{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "aue.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-prefixed full name; the DaemonSet's objects append "-scheduled-events" (18 characters). */}}
{{- define "aue.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 45 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 45 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "aue.dsname" -}}
{{- printf "%s-scheduled-events" (include "aue.fullname" .) }}
{{- end }}

{{/* The sharded StatefulSet's governing (headless) Service. */}}
{{- define "aue.shardsName" -}}
{{- printf "%s-shards" (include "aue.fullname" .) }}
{{- end }}

{{- define "aue.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "aue.labels" -}}
helm.sh/chart: {{ include "aue.chart" . }}
{{ include "aue.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: azure-update-exporter
{{- end }}

{{- define "aue.selectorLabels" -}}
app.kubernetes.io/name: {{ include "aue.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Component labels: "exporter" for the Deployment, "scheduled-events" for the DaemonSet. */}}
{{- define "aue.exporterSelector" -}}
{{ include "aue.selectorLabels" . }}
app.kubernetes.io/component: exporter
{{- end }}

{{- define "aue.dsSelector" -}}
{{ include "aue.selectorLabels" . }}
app.kubernetes.io/component: scheduled-events
{{- end }}

{{- define "aue.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "aue.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "aue.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where Secrets and ConfigMaps are mounted (the rendered config refers to these paths). */}}
{{- define "aue.configDir" -}}/etc/azure-update-exporter{{- end }}
{{- define "aue.credentialsDir" -}}/etc/azure-update-exporter/credentials{{- end }}
{{- define "aue.caDir" -}}/etc/azure-update-exporter/ca{{- end }}
{{- define "aue.webDir" -}}/etc/azure-update-exporter/web{{- end }}

{{- define "aue.listenAddress" -}}
{{- printf ":%d" (int .Values.service.port) }}
{{- end }}

{{/* The Deployment's exporter configuration: .Values.config plus what the chart owns. */}}
{{- define "aue.config" -}}
{{- $cfg := deepCopy .Values.config }}
{{- $_ := set $cfg "web" (dict "listen_address" (include "aue.listenAddress" .)) }}
{{- $azure := deepCopy (default (dict) $cfg.azure) }}
{{- $id := .Values.identity }}
{{- $cred := dict "type" $id.type }}
{{- with $id.tenantId }}{{ $_ := set $cred "tenant_id" . }}{{ end }}
{{- with $id.clientId }}{{ $_ := set $cred "client_id" . }}{{ end }}
{{- if eq $id.type "client_secret" }}
{{- $_ := set $cred "client_secret_file" (printf "%s/%s" (include "aue.credentialsDir" .) $id.clientSecretKey) }}
{{- end }}
{{- if eq $id.type "client_certificate" }}
{{- $_ := set $cred "client_certificate_file" (printf "%s/%s" (include "aue.credentialsDir" .) $id.clientCertificateKey) }}
{{- end }}
{{- if $id.disableInstanceDiscovery }}{{ $_ := set $cred "disable_instance_discovery" true }}{{ end }}
{{- $_ := set $azure "credential" $cred }}
{{- if or .Values.caBundle.existingSecret .Values.caBundle.existingConfigMap }}
{{- $_ := set $azure "ca_bundle" (printf "%s/%s" (include "aue.caDir" .) .Values.caBundle.key) }}
{{- end }}
{{- $_ := set $cfg "azure" $azure }}
{{- toYaml $cfg }}
{{- end }}

{{/* The DaemonSet's configuration: scheduled_events only (the others are off by --collector.disable-defaults). */}}
{{- define "aue.dsConfig" -}}
{{- $se := merge (dict "enabled" true) (deepCopy .Values.daemonset.scheduledEvents) }}
{{- $cfg := dict "web" (dict "listen_address" (include "aue.listenAddress" .)) "sources" (dict "scheduled_events" $se) }}
{{- with .Values.config.log }}{{ $_ := set $cfg "log" (deepCopy .) }}{{ end }}
{{- toYaml $cfg }}
{{- end }}

{{/* Env of every pod. MALLOC_ARENA_MAX: glibc gives each thread that allocates concurrently its own
malloc arena (up to 8 per core) and memory freed in one arena is not reused by another, so RSS grows
with the fetch and HTTP threads; two arenas bound that growth (docs/architecture.md, measured). */}}
{{- define "aue.commonEnv" -}}
# Bounds RSS growth from many threads: two glibc malloc arenas, not one per thread.
- name: MALLOC_ARENA_MAX
  value: "2"
{{- end }}

{{/* Sharded mode's preconditions, failing the install with the reason. */}}
{{- define "aue.checkSharding" -}}
{{- if not (semverCompare ">=1.28.0-0" .Capabilities.KubeVersion.Version) }}
{{- fail (printf "sharding.enabled needs Kubernetes 1.28 or newer (each pod's shard is its StatefulSet pod-index label, apps.kubernetes.io/pod-index); this cluster is %s" .Capabilities.KubeVersion.Version) }}
{{- end }}
{{- $scheduledEvents := (default (dict) .Values.config.sources).scheduled_events }}
{{- if and $scheduledEvents $scheduledEvents.enabled }}
{{- fail "sharding.enabled with config.sources.scheduled_events enabled: scheduled_events reads the node it runs on and is never sharded; run it in the DaemonSet (daemonset.enabled)" }}
{{- end }}
{{- end }}

{{- define "aue.httpScheme" -}}
{{- if and .Values.webConfig.enabled .Values.webConfig.tls }}HTTPS{{ else }}HTTP{{ end }}
{{- end }}

{{/* Liveness on /healthz and readiness on /readyz; TCP only when basic auth guards every path. */}}
{{- define "aue.probes" -}}
{{- $ctx := . }}
{{- range $probe := list "liveness" "readiness" }}
{{ $probe }}Probe:
  {{- if and $ctx.Values.webConfig.enabled $ctx.Values.webConfig.basicAuth }}
  tcpSocket:
    port: metrics
  {{- else }}
  httpGet:
    path: {{ ternary "/healthz" "/readyz" (eq $probe "liveness") }}
    port: metrics
    scheme: {{ include "aue.httpScheme" $ctx }}
  {{- end }}
  {{- toYaml (index $ctx.Values (printf "%sProbe" $probe)) | nindent 2 }}
{{- end }}
{{- end }}

{{/* The rules' job selector: the value, or the job names the chart's monitors produce. */}}
{{- define "aue.jobSelector" -}}
{{- if .Values.prometheusRule.jobSelector }}
{{- .Values.prometheusRule.jobSelector }}
{{- else }}
{{- printf "job=~\"%s(-scheduled-events)?\"" (include "aue.fullname" .) }}
{{- end }}
{{- end }}

{{/* A monitor endpoint's scheme, tlsConfig and basicAuth when webConfig is on. */}}
{{- define "aue.monitorAuth" -}}
{{- $root := .root }}
{{- if $root.Values.webConfig.enabled }}
{{- if $root.Values.webConfig.tls }}
scheme: https
{{- with .monitor.tlsConfig }}
tlsConfig:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- with .monitor.basicAuth }}
basicAuth:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
{{- end }}
