{{/* Chart name. */}}
{{- define "meshbridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified app name (release-based, at most 63 characters). */}}
{{- define "meshbridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "meshbridge.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "meshbridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meshbridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "meshbridge.labels" -}}
helm.sh/chart: {{ include "meshbridge.chart" . }}
{{ include "meshbridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: bridge
app.kubernetes.io/part-of: meshbridge
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "meshbridge.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "meshbridge.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "meshbridge.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The config used while .Values.config is empty: one file registry reading an empty services.yaml
(in the ConfigMap), served over MCP-over-xDS. It publishes nothing and becomes ready at once.
*/}}
{{- define "meshbridge.placeholderConfig" -}}
registries:
  - name: placeholder
    kind: file
    file: {path: services.yaml}
    namespace: {{ .Release.Namespace }}
sinks:
  xds: {}
{{- end -}}

{{- define "meshbridge.placeholderServices" -}}
# The file registry of the chart's placeholder config (.Values.config is empty): no services.
# Set .Values.config to your registries; see docs/file-registry.md for this format.
services: []
{{- end -}}

{{/*
The Meshbridge config as a dict: .Values.config (a map, or a YAML string) with the chart's
additions (admin and xds addresses, leader election). Used through "meshbridge.configYaml".
*/}}
{{- define "meshbridge.configDict" -}}
{{- $c := dict -}}
{{- if empty .Values.config -}}
{{- $c = fromYaml (include "meshbridge.placeholderConfig" .) -}}
{{- else if kindIs "string" .Values.config -}}
{{- $c = fromYaml .Values.config -}}
{{- if hasKey $c "Error" -}}
{{- fail (printf "config: not a YAML map: %s" (get $c "Error")) -}}
{{- end -}}
{{- else if kindIs "map" .Values.config -}}
{{- $c = deepCopy .Values.config -}}
{{- else -}}
{{- fail "config: the Meshbridge config is required (a YAML map or string; see docs/configuration.md)" -}}
{{- end -}}
{{- if not (get $c "registries") -}}
{{- fail "config.registries: at least one registry is required (see docs/configuration.md)" -}}
{{- end -}}
{{- $sinks := get $c "sinks" | default dict -}}
{{- if not (kindIs "map" $sinks) -}}
{{- fail "config.sinks: must be a map (xds, kubernetes, render)" -}}
{{- end -}}
{{- if not (or (hasKey $sinks "xds") (hasKey $sinks "kubernetes") (hasKey $sinks "render")) -}}
{{- fail "config.sinks: at least one of xds, kubernetes, render is required" -}}
{{- end -}}
{{- $_ := set $c "admin" (dict "address" (printf "%s:%d" .Values.listenAddress (int .Values.ports.admin))) -}}
{{- if and .Values.checkpoint.enabled (not (hasKey $c "checkpoint")) -}}
{{- if eq (include "meshbridge.checkpointStore" .) "configMap" -}}
{{- $_ := set $c "checkpoint" (dict "configMap" (dict "namespace" .Release.Namespace "name" (printf "%s-checkpoint" (include "meshbridge.fullname" . | trunc 39 | trimSuffix "-"))) "intervalSeconds" (int .Values.checkpoint.intervalSeconds)) -}}
{{- else -}}
{{- $_ := set $c "checkpoint" (dict "path" "/var/lib/meshbridge/checkpoint.json" "intervalSeconds" (int .Values.checkpoint.intervalSeconds)) -}}
{{- end -}}
{{- end -}}
{{- /* Ownership of Kubernetes objects is by instance (docs/operations.md#ownership): one per release. */ -}}
{{- if not (hasKey $c "instance") -}}
{{- $_ := set $c "instance" .Release.Name -}}
{{- end -}}
{{- if hasKey $sinks "xds" -}}
{{- $xds := get $sinks "xds" | default dict -}}
{{- $_ := set $xds "address" (printf "%s:%d" .Values.listenAddress (int .Values.ports.xds)) -}}
{{- $_ := set $sinks "xds" $xds -}}
{{- end -}}
{{- if hasKey $sinks "kubernetes" -}}
{{- $k := get $sinks "kubernetes" | default dict -}}
{{- $le := get $k "leaderElection" | default dict -}}
{{- if .Values.leaderElection.enabled -}}
{{- /* Keys the user set win (not sprig's merge, which overwrites a false). */ -}}
{{- range $key, $value := (dict "enabled" true "namespace" "${ENV:POD_NAMESPACE}" "name" (include "meshbridge.fullname" .) "identity" "${ENV:POD_NAME}") -}}
{{- if not (hasKey $le $key) -}}
{{- $_ := set $le $key $value -}}
{{- end -}}
{{- end -}}
{{- $_ := set $k "leaderElection" $le -}}
{{- end -}}
{{- if and (gt (int .Values.replicaCount) 1) (not (get $le "enabled")) -}}
{{- fail "replicaCount > 1 with the Kubernetes sink needs leader election (leaderElection.enabled, and not config.sinks.kubernetes.leaderElection.enabled: false): two writers would undo each other's pruning" -}}
{{- end -}}
{{- $leNs := get $le "namespace" | default "" -}}
{{- if and (get $le "enabled") .Values.rbac.create (ne $leNs "${ENV:POD_NAMESPACE}") (ne $leNs .Release.Namespace) -}}
{{- fail (printf "config.sinks.kubernetes.leaderElection.namespace %q: the chart's Lease Role is in the release namespace %q; leave it out (the chart sets ${ENV:POD_NAMESPACE})" $leNs .Release.Namespace) -}}
{{- end -}}
{{- /* Namespaced RBAC cannot list cluster-wide: look for owned objects only in the targeted namespaces. */ -}}
{{- if and .Values.rbac.namespaced (not (hasKey $k "cleanupScope")) -}}
{{- $_ := set $k "cleanupScope" "namespaces" -}}
{{- end -}}
{{- $_ := set $sinks "kubernetes" $k -}}
{{- end -}}
{{- $_ := set $c "sinks" $sinks -}}
{{- toYaml $c -}}
{{- end -}}

{{- define "meshbridge.configYaml" -}}
# Meshbridge config (docs/configuration.md), rendered by the Helm chart from .Values.config.
{{ include "meshbridge.configDict" . }}
{{- end -}}

{{/* "true" when the config has the Kubernetes sink, else "". */}}
{{- define "meshbridge.kubeSink" -}}
{{- $c := fromYaml (include "meshbridge.configDict" .) -}}
{{- if hasKey (get $c "sinks" | default dict) "kubernetes" -}}true{{- end -}}
{{- end -}}

{{/* "true" when a registry of the config sets publish.kubernetesServices (ADR 0020). */}}
{{- define "meshbridge.kubeServices" -}}
{{- $c := fromYaml (include "meshbridge.configDict" .) -}}
{{- range $r := (get $c "registries" | default list) -}}
{{- if (get (get $r "publish" | default dict) "kubernetesServices") -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{/* The target namespaces of the namespaced RBAC, one per line. */}}
{{- define "meshbridge.targetNamespaces" -}}
{{- $out := list -}}
{{- if .Values.rbac.namespaces -}}
{{- $out = .Values.rbac.namespaces -}}
{{- else -}}
{{- $c := fromYaml (include "meshbridge.configDict" .) -}}
{{- range $r := (get $c "registries") -}}
{{- $ns := list (get $r "namespace" | default "") -}}
{{- range $_, $v := (get $r "namespaceMap" | default dict) -}}
{{- $ns = append $ns $v -}}
{{- end -}}
{{- with (get $r "sidecars") -}}
{{- $ns = append $ns (get . "namespace" | default "") -}}
{{- range $_, $v := (get . "namespaces" | default dict) -}}
{{- $ns = append $ns $v -}}
{{- end -}}
{{- end -}}
{{- range $n := $ns -}}
{{- if and $n (not (contains "${" $n)) -}}
{{- $out = append $out $n -}}
{{- else if $n -}}
{{- fail (printf "rbac.namespaced: registry %q has namespace %q, which is set at run time; list the target namespaces in rbac.namespaces" (get $r "name") $n) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $out -}}
{{- fail "rbac.namespaced: no target namespaces (set rbac.namespaces)" -}}
{{- end -}}
{{- range (uniq $out | sortAlpha) }}
{{ . }}
{{- end -}}
{{- end -}}

{{/* Whether to mount the ServiceAccount token. */}}
{{- define "meshbridge.automountToken" -}}
{{- $a := .Values.serviceAccount.automountToken -}}
{{- if kindIs "bool" $a -}}
{{- $a -}}
{{- else if or (include "meshbridge.kubeSink" .) (include "meshbridge.checkpointNamespace" .) -}}
true
{{- else -}}
false
{{- end -}}
{{- end -}}

{{/*
The checkpoint store: "configMap" or "file" (checkpoint.store); anything else fails the render.
*/}}
{{- define "meshbridge.checkpointStore" -}}
{{- $s := .Values.checkpoint.store | default "configMap" -}}
{{- if not (has $s (list "configMap" "file")) -}}
{{- fail (printf "checkpoint.store must be configMap or file, got %q" $s) -}}
{{- end -}}
{{- $s -}}
{{- end -}}

{{/*
The namespace of the checkpoint ConfigMaps in the final config (the chart's or the user's own
checkpoint.configMap), empty when the checkpoint is not kept in ConfigMaps.
*/}}
{{- define "meshbridge.checkpointNamespace" -}}
{{- $c := fromYaml (include "meshbridge.configDict" .) -}}
{{- $cp := get $c "checkpoint" | default dict -}}
{{- if kindIs "map" $cp -}}
{{- $cm := get $cp "configMap" | default dict -}}
{{- if kindIs "map" $cm -}}{{- get $cm "namespace" | default "" -}}{{- end -}}
{{- end -}}
{{- end -}}

{{/*
"true" when the checkpoint file volume is mounted.
*/}}
{{- define "meshbridge.checkpointVolume" -}}
{{- if and .Values.checkpoint.enabled (eq (include "meshbridge.checkpointStore" .) "file") -}}true{{- end -}}
{{- end -}}

{{/*
The number of MCP shards (config sinks.xds.shards, default 1): shard i listens on ports.xds + i.
*/}}
{{- define "meshbridge.xdsShards" -}}
{{- $c := fromYaml (include "meshbridge.configDict" .) -}}
{{- $x := get (get $c "sinks" | default dict) "xds" | default dict -}}
{{- int (get $x "shards" | default 1) -}}
{{- end -}}
