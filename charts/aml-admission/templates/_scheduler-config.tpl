{{/*
deploy/scheduler/scheduler-config.yaml (files/scheduler-config.yaml links to it) with the
chart's namespace: the leader-election Lease and the extender's Service URL.
*/}}
{{- define "aml-admission.schedulerConfig" -}}
{{- $ns := include "aml-admission.namespace" . -}}
{{- $config := .Files.Get "files/scheduler-config.yaml" | fromYaml -}}
{{- $_ := set $config.leaderElection "resourceNamespace" $ns -}}
{{- range $extender := $config.extenders -}}
{{- $_ := set $extender "urlPrefix" (printf "https://%s.%s.svc:443" (include "aml-admission.service" $) $ns) -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}
