{{/* The namespace of every namespaced object: .Values.namespace, else the release's. */}}
{{- define "aml-admission.namespace" -}}
{{- .Values.namespace | default .Release.Namespace -}}
{{- end -}}

{{/*
Labels of a component's objects: deploy/'s two (also the selectors) plus Helm's. Call with
(dict "root" $ "component" "admission").
*/}}
{{- define "aml-admission.labels" -}}
{{ include "aml-admission.selectorLabels" . }}
app.kubernetes.io/part-of: aml-admission
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* What selects a component's pods: the same as deploy/, so kustomize and Helm installs agree. */}}
{{- define "aml-admission.selectorLabels" -}}
app.kubernetes.io/name: aml-admission
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "aml-admission.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Object names: fixed, as in deploy/ (the AML extension's), so the CLI's defaults fit. */}}
{{- define "aml-admission.service" -}}azureml-connector-admission{{- end -}}
{{- define "aml-admission.tlsSecret" -}}azureml-connector-admission-tls{{- end -}}
{{- define "aml-admission.caSecret" -}}azureml-connector-admission-ca{{- end -}}
{{- define "aml-admission.init" -}}azureml-connector-admission-init{{- end -}}
{{- define "aml-admission.scheduler" -}}azureml-connector-scheduler{{- end -}}
{{- define "aml-admission.policyConfigMap" -}}aml-admission-policy{{- end -}}
{{- define "aml-admission.webhookConfigMap" -}}azureml-connector-admission-webhook-config{{- end -}}

{{/* The policy as YAML text: .Values.policy (text or a map), or deploy/policy/policy.yaml. */}}
{{- define "aml-admission.policyDocument" -}}
{{- $policy := .Values.policy -}}
{{- if kindIs "string" $policy -}}
{{- $policy -}}
{{- else if $policy -}}
{{- toYaml $policy -}}
{{- else -}}
{{- .Files.Get "files/policy.yaml" -}}
{{- end -}}
{{- end -}}

{{/*
The webhook configurations: webhook-config/*.yaml (files/webhook-config links to them) as they
are, with the Service, the namespace exclusions and .Values.webhooks applied. One list for both
ways of registering them: the chart applies them itself under cert-manager, and otherwise hands
them to init (a ConfigMap), which adds the caBundle and the owner. Returns YAML {configs: [...]}.
*/}}
{{- define "aml-admission.webhookConfigurations" -}}
{{- $ns := include "aml-admission.namespace" . -}}
{{- $configs := list -}}
{{- range $path, $_ := .Files.Glob "files/webhook-config/*.yaml" -}}
{{- $config := $.Files.Get $path | fromYaml -}}
{{- $values := ternary $.Values.webhooks.mutating $.Values.webhooks.validating (eq $config.kind "MutatingWebhookConfiguration") -}}
{{- $_ := set $config.metadata "labels" (merge (include "aml-admission.labels" (dict "root" $ "component" "admission") | fromYaml) ($config.metadata.labels | default dict)) -}}
{{- if not $.Values.certManager.enabled -}}
{{- /* init registers these, owned by its ClusterRole: Helm does not manage them itself. */ -}}
{{- $_ := unset $config.metadata.labels "app.kubernetes.io/managed-by" -}}
{{- else -}}
{{- $_ := set $config.metadata "annotations" (dict "cert-manager.io/inject-ca-from" (printf "%s/%s" $ns (include "aml-admission.service" $))) -}}
{{- end -}}
{{- range $webhook := $config.webhooks -}}
{{- $templateNs := $webhook.clientConfig.service.namespace -}}
{{- $_ := set $webhook.clientConfig.service "namespace" $ns -}}
{{- $_ := set $webhook.clientConfig.service "name" (include "aml-admission.service" $) -}}
{{- $_ := set $webhook "failurePolicy" $values.failurePolicy -}}
{{- $_ := set $webhook "timeoutSeconds" $values.timeoutSeconds -}}
{{- $_ := set $webhook "matchConditions" (concat ($webhook.matchConditions | default list) $values.matchConditions) -}}
{{- $expressions := list -}}
{{- range $e := $webhook.namespaceSelector.matchExpressions -}}
{{- if eq $e.key "kubernetes.io/metadata.name" -}}
{{- $names := list -}}
{{- range $v := $e.values -}}{{- $names = append $names (ternary $ns $v (eq $v $templateNs)) -}}{{- end -}}
{{- $_ := set $e "values" (concat $names $.Values.webhooks.excludeNamespaces | uniq) -}}
{{- end -}}
{{- $expressions = append $expressions $e -}}
{{- end -}}
{{- $_ := set $webhook.namespaceSelector "matchExpressions" (concat $expressions $values.namespaceSelectorExpressions) -}}
{{- /* Without init (which reads them from the ConfigMap), the policy's own workload kinds are registered here. */ -}}
{{- if and $.Values.certManager.enabled (eq $config.kind "ValidatingWebhookConfiguration") -}}
{{- range $w := (include "aml-admission.policyDocument" $ | fromYaml).workloads | default list -}}
{{- $rule := dict "operations" (list "CREATE" "UPDATE") "apiGroups" (list $w.group) "apiVersions" (list "*") "resources" (list $w.resource) "scope" "Namespaced" -}}
{{- $_ := set $webhook "rules" (append $webhook.rules $rule) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $configs = append $configs $config -}}
{{- end -}}
{{- toYaml (dict "configs" $configs) -}}
{{- end -}}
