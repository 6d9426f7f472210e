{{- define "dg.fullname" -}}
{{- printf "%s" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "dg.labels" -}}
app.kubernetes.io/name: dialog-games
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "dg.image" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository must be set" -}}
{{- end -}}
{{ printf "%s:%s" .Values.image.repository .Values.image.tag }}
{{- end -}}
