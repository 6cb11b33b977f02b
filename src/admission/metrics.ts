// Admission webhook metrics on prom-client's default registry (served by /metrics with the rest).
import { Counter, Gauge, Histogram } from "prom-client";
import { KINDS } from "../api/index.js";
import { registeredOnce as once } from "../observability/metrics.js";

/**
 * One increment per AdmissionReview: kind (one of the four, or "unknown"), operation (CREATE,
 * UPDATE, …, or "unknown") and result: allowed, warned (allowed with warnings), dryrun (allowed,
 * dryrun violations recorded), denied, skipped (nothing the policies read changed, a delete, a
 * subresource), invalid (refused: not a decidable request), error (answered 4xx/5xx, the API
 * server applies the failurePolicy).
 */
export const admissionRequestsTotal = once(
  "kpo_admission_requests_total",
  () =>
    new Counter({
      name: "kpo_admission_requests_total",
      help: "AdmissionReview requests answered by the validating webhook, by kind, operation and result",
      labelNames: ["kind", "operation", "result"] as const,
    }),
);
for (const kind of KINDS)
  for (const operation of ["CREATE", "UPDATE"])
    for (const result of ["allowed", "denied"]) admissionRequestsTotal.inc({ kind, operation, result }, 0);

export const admissionDurationSeconds = once(
  "kpo_admission_request_duration_seconds",
  () =>
    new Histogram({
      name: "kpo_admission_request_duration_seconds",
      help: "Time from a complete AdmissionReview body to the answer (input building, live reads of what the caches lack, the decision)",
      labelNames: ["kind", "operation"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
);

export const admissionCertificateExpiry = once(
  "kpo_admission_certificate_expiry_timestamp_seconds",
  () =>
    new Gauge({
      name: "kpo_admission_certificate_expiry_timestamp_seconds",
      help: "When the serving certificate the webhook presents expires (Unix time)",
    }),
);

export const admissionCertificateRotationsTotal = once(
  "kpo_admission_certificate_rotations_total",
  () =>
    new Counter({
      name: "kpo_admission_certificate_rotations_total",
      help: "Serving certificates issued by this replica for the webhook (self-managed TLS), by result",
      labelNames: ["result"] as const,
    }),
);
admissionCertificateRotationsTotal.inc({ result: "success" }, 0);
admissionCertificateRotationsTotal.inc({ result: "failure" }, 0);
