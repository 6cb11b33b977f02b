{{/* Chart name, overridable. */}}
{{- define "kpo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-<name>, or the release name alone when it already contains the name. */}}
{{- define "kpo.fullname" -}}
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

{{- define "kpo.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kpo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Common labels. Deliberately not app.kubernetes.io/managed-by=keycloak-policy-operator: that label
marks the credentials Secrets the operator writes (and watches).
*/}}
{{- define "kpo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "kpo.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: keycloak-policy-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "kpo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kpo.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kpo.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
Rules for the keycloak.kpo.dev resources, Secrets and Events: the same in a ClusterRole (all
namespaces) or in a Role per watched namespace. docs/security.md explains each rule.
*/}}
{{- define "kpo.namespacedRules" -}}
- apiGroups: ["keycloak.kpo.dev"]
  resources: ["keycloakinstances", "keycloakrealms", "keycloakclients", "keycloakusers"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["keycloak.kpo.dev"]
  resources: ["keycloakinstances/status", "keycloakrealms/status", "keycloakclients/status", "keycloakusers/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- if .Values.managedInstances.enabled }}
# Managed instances (spec.managed): the StatefulSet and Services, read and written by server-side
# apply (a PATCH that creates, authorized as patch and create); removed by garbage collection.
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "create", "patch"]
- apiGroups: [""]
  resources: ["services"]
  verbs: ["get", "create", "patch"]
# Read only: while a managed instance is not ready, its pods' status says why (podDiagnosis.ts).
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list"]
# The optional objects (spec.managed.podDisruptionBudget, networkPolicy, ingress, serviceMonitor):
# the same, plus delete, because an object is removed when its field is unset (only the instance's
# own, labelled one).
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["networkpolicies", "ingresses"]
  verbs: ["get", "create", "patch", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors"]
  verbs: ["get", "create", "patch", "delete"]
{{- end }}
{{- end -}}

{{/*
The ConfigMap the lifecycle machines come from, or empty (the image's machines/): an existing one
by name, else the chart's own when machines.files is set.
*/}}
{{- define "kpo.machinesConfigMap" -}}
{{- if .Values.machines.existingConfigMap -}}
{{- .Values.machines.existingConfigMap -}}
{{- else if .Values.machines.files -}}
{{- include "kpo.fullname" . }}-machines
{{- end -}}
{{- end }}

{{/* The webhook's Service, certificate Secret and the DNS names the API server calls it by. */}}
{{- define "kpo.webhookService" -}}
{{- include "kpo.fullname" . }}-webhook
{{- end -}}
{{- define "kpo.webhookSecret" -}}
{{- include "kpo.fullname" . }}-webhook-tls
{{- end -}}
{{- define "kpo.webhookDnsNames" -}}
{{- $svc := include "kpo.webhookService" . -}}
{{ $svc }}.{{ .Release.Namespace }}.svc,{{ $svc }}.{{ .Release.Namespace }}.svc.cluster.local
{{- end -}}
