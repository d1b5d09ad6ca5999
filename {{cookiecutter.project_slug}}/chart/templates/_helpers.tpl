{{/*
Names and labels, as `helm create` makes them. These templates are the same in every chart made
from the service template, so their names say what they are rather than which service.
*/}}

{{/* The chart's name, or nameOverride. */}}
{{- define "celery-worker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's name and the chart's, or fullnameOverride: at most 63 characters. */}}
{{- define "celery-worker.fullname" -}}
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

{{/* The name of one part of the release, e.g. its dlq-worker. Takes (list $ "dlq-worker"). */}}
{{- define "celery-worker.componentName" -}}
{{- $root := index . 0 }}
{{- printf "%s-%s" (include "celery-worker.fullname" $root) (index . 1) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Chart name and version, for the helm.sh/chart label. */}}
{{- define "celery-worker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "celery-worker.labels" -}}
helm.sh/chart: {{ include "celery-worker.chart" . }}
{{ include "celery-worker.selectorLabels" . }}
{{- if .Chart.AppVersion }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Labels that select the release's pods; app.kubernetes.io/component tells the workers apart. */}}
{{- define "celery-worker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "celery-worker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The service account the workers run as. */}}
{{- define "celery-worker.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "celery-worker.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret with the connection URLs: the chart's own, or secret.existingSecret. */}}
{{- define "celery-worker.secretName" -}}
{{- default (include "celery-worker.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/*
Seconds a stopping worker gets (terminationGracePeriodSeconds): its running task's hard time
limit, then 30 s to hand back the messages it holds. The service derives the same from the same
setting.
*/}}
{{- define "celery-worker.shutdownGrace" -}}
{{- add (int .Values.config.CELERY_TASK_TIME_LIMIT) 30 }}
{{- end }}

{{/*
A pod template's metadata for one component, given (list $ "component"): checksums of the
ConfigMap and the chart's Secret, so that a changed setting restarts the pods; podAnnotations;
the chart's labels with the component; podLabels.
*/}}
{{- define "celery-worker.podMetadata" -}}
{{- $root := index . 0 -}}
annotations:
  checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
  {{- if not $root.Values.secret.existingSecret }}
  checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
  {{- end }}
  {{- with $root.Values.podAnnotations }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
labels:
  {{- include "celery-worker.labels" $root | nindent 2 }}
  app.kubernetes.io/component: {{ index . 1 }}
  {{- with $root.Values.podLabels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}

{{/* Where a pod may run: nodeSelector, affinity and tolerations, each only when set. */}}
{{- define "celery-worker.podPlacement" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* The port every worker serves /metrics on (METRICS_PORT): metrics.port, or 0 (no server)
while metrics are disabled. */}}
{{- define "celery-worker.metricsPort" -}}
{{- if .Values.metrics.enabled }}{{ .Values.metrics.port }}{{ else }}0{{ end }}
{{- end }}
