{{/* The pod of the init Job and of the renewal CronJob's Jobs: `aml-admission init`. */}}
{{- define "aml-admission.initPod" -}}
metadata:
  labels:
    {{- include "aml-admission.selectorLabels" (dict "component" "init") | nindent 4 }}
spec:
  serviceAccountName: {{ include "aml-admission.init" . }}
  restartPolicy: OnFailure
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    runAsGroup: 1000
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: init
      image: {{ include "aml-admission.image" . }}
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - init
        - --namespace={{ include "aml-admission.namespace" . }}
        - --service={{ include "aml-admission.service" . }}
        - --secret={{ include "aml-admission.tlsSecret" . }}
        - --ca-secret={{ include "aml-admission.caSecret" . }}
        - --owner-clusterrole={{ include "aml-admission.init" . }}
        - --scheduler-deployment={{ include "aml-admission.scheduler" . }}
        - --webhook-config=/etc/aml-admission/webhook-config
        - --policy-configmap={{ include "aml-admission.namespace" . }}/{{ include "aml-admission.policyConfigMap" . }}
      resources:
        {{- toYaml .Values.init.resources | nindent 8 }}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        runAsNonRoot: true
        capabilities:
          drop: [ALL]
      volumeMounts:
        - name: webhook-config
          mountPath: /etc/aml-admission/webhook-config
          readOnly: true
  volumes:
    - name: webhook-config
      configMap:
        name: {{ include "aml-admission.webhookConfigMap" . }}
{{- end -}}
