{{/* Names and labels shared by the templates. */}}

{{- define "jobber.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "jobber.fullname" -}}
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

{{- define "jobber.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "jobber.labels" -}}
{{ include "jobber.commonLabels" . }}
app.kubernetes.io/name: {{ include "jobber.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Selector labels of one role: pass (dict "ctx" $ "role" "api"). */}}
{{- define "jobber.selectorLabels" -}}
app.kubernetes.io/name: {{ include "jobber.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "jobber.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "jobber.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "jobber.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "jobber.secretName" -}}
{{- default (include "jobber.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The non-secret settings, as JOBBER_* variables (ConfigMap data). */}}
{{- define "jobber.config" -}}
JOBBER_DATA_DIR: /var/lib/jobber
JOBBER_LISTEN: "0.0.0.0:8080"
JOBBER_ADMIN_LISTEN: "0.0.0.0:9464"
JOBBER_PUBLIC_URL: {{ required "publicUrl is required (https://jobs.example.com)" .Values.publicUrl | quote }}
JOBBER_SIGNUP: {{ .Values.signup | quote }}
{{- with .Values.trustedProxies }}
JOBBER_TRUSTED_PROXIES: {{ join "," . | quote }}
{{- end }}
JOBBER_LOG: {{ .Values.log.level | quote }}
JOBBER_LOG_FORMAT: {{ .Values.log.format | quote }}
{{- with .Values.log.otlpEndpoint }}
JOBBER_OTLP_ENDPOINT: {{ . | quote }}
{{- end }}
JOBBER_DB_MAX_CONNECTIONS: {{ .Values.database.maxConnections | quote }}
{{- with .Values.storage.url }}
JOBBER_STORAGE_URL: {{ . | quote }}
{{- end }}
{{- with .Values.storage.region }}
JOBBER_STORAGE_REGION: {{ . | quote }}
{{- end }}
{{- with .Values.storage.endpoint }}
JOBBER_STORAGE_ENDPOINT: {{ . | quote }}
{{- end }}
{{- range $key, $value := .Values.extraEnv }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* The secret settings (Secret stringData), when the chart owns the Secret. */}}
{{- define "jobber.secretData" -}}
JOBBER_DATABASE_URL: {{ required "database.url is required (or secrets.existingSecret)" .Values.database.url | quote }}
JOBBER_JWT_SECRET: {{ required "secrets.jwtSecret is required (32+ characters, shared by all pods)" .Values.secrets.jwtSecret | quote }}
JOBBER_ENCRYPTION_KEY: {{ required "secrets.encryptionKey is required (32 bytes, shared by all pods)" .Values.secrets.encryptionKey | quote }}
{{- with .Values.database.readUrl }}
JOBBER_DATABASE_READ_URL: {{ . | quote }}
{{- end }}
{{- with .Values.redis.url }}
JOBBER_REDIS_URL: {{ . | quote }}
{{- end }}
{{- with .Values.secrets.adminToken }}
JOBBER_ADMIN_TOKEN: {{ . | quote }}
{{- end }}
{{- with .Values.secrets.smtpUrl }}
JOBBER_SMTP_URL: {{ . | quote }}
{{- end }}
{{- with .Values.secrets.storageAccessKeyId }}
JOBBER_STORAGE_ACCESS_KEY_ID: {{ . | quote }}
{{- end }}
{{- with .Values.secrets.storageSecretAccessKey }}
JOBBER_STORAGE_SECRET_ACCESS_KEY: {{ . | quote }}
{{- end }}
{{- range $key, $value := .Values.secrets.extra }}
{{ $key }}: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/*
One role's pod template: pass (dict "ctx" $ "role" "api" "values" .Values.api).
The same image for every role; `--role` picks what the process runs.
*/}}
{{- define "jobber.podTemplate" -}}
{{- $ctx := .ctx -}}
metadata:
  labels:
    {{- include "jobber.commonLabels" $ctx | nindent 4 }}
    {{- include "jobber.selectorLabels" . | nindent 4 }}
  annotations:
    # Settings changes roll the pods.
    checksum/config: {{ include (print $ctx.Template.BasePath "/configmap.yaml") $ctx | sha256sum }}
    {{- if not $ctx.Values.secrets.existingSecret }}
    checksum/secret: {{ include (print $ctx.Template.BasePath "/secret.yaml") $ctx | sha256sum }}
    {{- end }}
    {{- with .values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "jobber.serviceAccountName" $ctx }}
  terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds }}
  securityContext:
    {{- toYaml $ctx.Values.podSecurityContext | nindent 4 }}
  {{- with $ctx.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: jobber
      image: {{ include "jobber.image" $ctx }}
      imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
      args: ["serve", "--role", {{ .role | quote }}]
      envFrom:
        - configMapRef:
            name: {{ include "jobber.fullname" $ctx }}
        - secretRef:
            name: {{ include "jobber.secretName" $ctx }}
      {{- with $ctx.Values.secrets.adminTokenSecret }}
      {{- if .name }}
      # The admin listener's token from the operator's own Secret (`jobber top`,
      # GET /status); it wins over a JOBBER_ADMIN_TOKEN in the Secret above.
      env:
        - name: JOBBER_ADMIN_TOKEN
          valueFrom:
            secretKeyRef:
              name: {{ .name | quote }}
              key: {{ .key | quote }}
      {{- end }}
      {{- end }}
      ports:
        - name: http
          containerPort: 8080
        - name: metrics
          containerPort: 9464
      # /healthz: the process runs; /readyz: the database answers and the schema is
      # current (docs/operations.md, "Health checks"). Workers answer both too.
      startupProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: 2
        failureThreshold: 30
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /readyz
          port: http
        periodSeconds: 5
        timeoutSeconds: 5
        failureThreshold: 2
      resources:
        {{- toYaml .values.resources | nindent 8 }}
      securityContext:
        {{- toYaml $ctx.Values.securityContext | nindent 8 }}
      volumeMounts:
        # The data dir holds only the lock and log files with an external database.
        - name: data
          mountPath: /var/lib/jobber
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: data
      emptyDir:
        sizeLimit: 1Gi
    - name: tmp
      emptyDir:
        sizeLimit: 256Mi
  {{- with .values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
