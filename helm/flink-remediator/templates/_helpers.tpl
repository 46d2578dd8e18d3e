{{/* Chart name, overridable. */}}
{{- define "flink-remediator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name alone when it already contains the chart name. */}}
{{- define "flink-remediator.fullname" -}}
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

{{- define "flink-remediator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable for the life of a release (a Deployment selector is immutable). */}}
{{- define "flink-remediator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flink-remediator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Standard labels on every object. */}}
{{- define "flink-remediator.labels" -}}
helm.sh/chart: {{ include "flink-remediator.chart" . }}
{{ include "flink-remediator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: remediator
app.kubernetes.io/part-of: flink-remediator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The job label of the scrape: the ServiceMonitor sets it, the alert rules select it. */}}
{{- define "flink-remediator.metricsJob" -}}
{{- .Values.serviceMonitor.jobName }}
{{- end }}

{{- define "flink-remediator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flink-remediator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "flink-remediator.configMapName" -}}
{{- default (printf "%s-config" (include "flink-remediator.fullname" .)) .Values.existingConfigMap }}
{{- end }}

{{/* The desired-state file exactly as the ConfigMap carries it. */}}
{{- define "flink-remediator.desiredState" -}}
{{- if .Values.configFile }}
{{- .Values.configFile }}
{{- else }}
{{- toYaml .Values.config }}
{{- end }}
{{- end }}

{{/* No public image is published: without image.repository the install stops here, rather
than leave a pod in ImagePullBackOff on an image that does not exist. */}}
{{- define "flink-remediator.image" -}}
{{- if and (not .Values.daemon.dryRun) (not .Values.image.digest) }}
{{- fail "image.digest is not set: enforce mode (daemon.dryRun=false) runs only a pinned image, since whoever can push a tag could otherwise run code with the daemon's write permissions; --set image.digest=sha256:... (docker buildx imagetools inspect <image> shows it)" }}
{{- end }}
{{- if and (not .Values.daemon.dryRun) .Values.networkPolicy.enabled (not .Values.networkPolicy.httpsEgressCidrs) }}
{{- fail "networkPolicy.httpsEgressCidrs is empty: enforce mode (daemon.dryRun=false) limits HTTPS egress to the AWS API endpoints; list the VPC CIDR of your interface endpoints (and the gateway endpoints' prefix-list CIDRs, or a proxy), see docs/install-eks.md, \"Network\"" }}
{{- end }}
{{- $repository := required "image.repository is not set: no public image of flink-remediator is published; build and push your own (README, \"Container image\"), then --set image.repository=<registry>/flink-remediator (and image.digest=sha256:... or image.tag)" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where the ConfigMap is mounted; the daemon reads CONFIG_DIR/desired-state.yaml. */}}
{{- define "flink-remediator.configDir" -}}
/etc/flink-remediator
{{- end }}
