// The admission.k8s.io/v1 AdmissionReview as the webhook reads and answers it. Everything the API
// server sends is untrusted JSON until parseAdmissionReview has checked the few fields the webhook
// reads; everything the webhook answers is built here, so a refusal always has the shape kubectl
// prints (`admission webhook "…" denied the request: <status.message>`).
import { KINDS, type KeycloakKind, type KeycloakResource } from "../api/index.js";
import type { Decision } from "../policy/decision.js";

export const ADMISSION_API_VERSION = "admission.k8s.io/v1";

/** The part of an AdmissionReview request the webhook reads. */
export interface AdmissionRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: string;
  namespace?: string;
  subResource?: string;
  dryRun?: boolean;
  userInfo?: { username?: string };
  object?: unknown;
  oldObject?: unknown;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: {
    metadata: Record<string, never>;
    status: "Failure";
    code: number;
    reason: string;
    message: string;
  };
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof ADMISSION_API_VERSION;
  kind: "AdmissionReview";
  response: AdmissionResponse;
}

/** A body that is not an AdmissionReview request: answered with HTTP 400, as there is no uid to answer. */
export class BadAdmissionReview extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Checks the envelope; the object itself is checked by admissionObject. */
export function parseAdmissionReview(body: unknown): AdmissionRequest {
  if (!isRecord(body) || body.kind !== "AdmissionReview")
    throw new BadAdmissionReview('the body is not an AdmissionReview (kind must be "AdmissionReview")');
  if (body.apiVersion !== ADMISSION_API_VERSION)
    throw new BadAdmissionReview(
      `AdmissionReview apiVersion ${JSON.stringify(body.apiVersion)} is not served; the webhook speaks ${ADMISSION_API_VERSION} (admissionReviewVersions: ["v1"])`,
    );
  const request = body.request;
  if (!isRecord(request)) throw new BadAdmissionReview("the AdmissionReview has no request");
  if (typeof request.uid !== "string" || request.uid === "")
    throw new BadAdmissionReview("the AdmissionReview request has no uid");
  const kind = request.kind;
  if (!isRecord(kind) || typeof kind.kind !== "string" || typeof kind.group !== "string")
    throw new BadAdmissionReview("the AdmissionReview request has no kind {group, version, kind}");
  if (typeof request.operation !== "string")
    throw new BadAdmissionReview("the AdmissionReview request has no operation");
  return {
    uid: request.uid,
    kind: {
      group: kind.group,
      version: typeof kind.version === "string" ? kind.version : "",
      kind: kind.kind,
    },
    operation: request.operation,
    ...(typeof request.namespace === "string" ? { namespace: request.namespace } : {}),
    ...(typeof request.subResource === "string" && request.subResource !== ""
      ? { subResource: request.subResource }
      : {}),
    ...(request.dryRun === true ? { dryRun: true } : {}),
    ...(isRecord(request.userInfo) && typeof request.userInfo.username === "string"
      ? { userInfo: { username: request.userInfo.username } }
      : {}),
    object: request.object,
    oldObject: request.oldObject,
  };
}

/** The kinds the webhook decides on; anything else is refused (a misconfigured webhook rule). */
export function managedKind(request: AdmissionRequest, group: string): KeycloakKind | undefined {
  if (request.kind.group !== group) return undefined;
  return KINDS.find((k) => k === request.kind.kind);
}

/**
 * The object of a create or update as the builder takes it, or a reason it is not one: the kind and
 * namespace must be the request's, and it must have a name and a spec mapping (the CRD schema
 * guarantees both for anything the API server stored).
 */
export function admissionObject(
  request: AdmissionRequest,
  kind: KeycloakKind,
): { object: KeycloakResource } | { problem: string } {
  const obj = request.object;
  if (!isRecord(obj)) return { problem: "the request carries no object" };
  if (obj.kind !== kind)
    return { problem: `the object's kind ${String(obj.kind)} is not the request's ${kind}` };
  const metadata = obj.metadata;
  if (!isRecord(metadata) || typeof metadata.name !== "string" || metadata.name === "")
    return { problem: "the object has no metadata.name" };
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : request.namespace;
  if (!namespace) return { problem: "the object has no namespace; every Keycloak kind is namespaced" };
  if (!isRecord(obj.spec)) return { problem: "the object has no spec" };
  return { object: { ...obj, metadata: { ...metadata, namespace } } as unknown as KeycloakResource };
}

export function reviewResponse(response: AdmissionResponse): AdmissionReviewResponse {
  return { apiVersion: ADMISSION_API_VERSION, kind: "AdmissionReview", response };
}

export function allow(uid: string, warnings: string[] = []): AdmissionResponse {
  return warnings.length > 0 ? { uid, allowed: true, warnings } : { uid, allowed: true };
}

export function refuse(uid: string, code: number, reason: string, message: string): AdmissionResponse {
  return { uid, allowed: false, status: { metadata: {}, status: "Failure", code, reason, message } };
}

/**
 * Violations the webhook does not refuse: a reference to an instance or realm that does not exist
 * (yet). GitOps tools apply a directory in their own order (Flux sorts by kind: KeycloakClient
 * before KeycloakInstance), and the reconciler decides again when the target appears; refusing
 * here would only make them retry. They are returned as warnings instead.
 */
export const DEFERRED_TO_RECONCILE: ReadonlySet<string> = new Set(["InstanceNotFound", "RealmNotFound"]);

/**
 * The policy decision as an admission response: enforce violations refuse (their messages, one a
 * line, in status.message, which kubectl prints), warn violations become warnings (kubectl prints
 * them as `Warning: …`), dryrun violations change nothing here (the caller logs and counts them).
 */
export function decisionResponse(uid: string, decision: Decision): AdmissionResponse {
  const blocking = decision.violations.filter(
    (v) => v.enforcement === "enforce" && !DEFERRED_TO_RECONCILE.has(v.code),
  );
  const deferred = decision.violations.filter(
    (v) => v.enforcement === "enforce" && DEFERRED_TO_RECONCILE.has(v.code),
  );
  const warnings = [
    ...decision.warnings,
    ...deferred.map((v) => `${v.message} (not refused at admission: the operator decides when it exists)`),
  ];
  if (decision.allowed || blocking.length === 0) return allow(uid, warnings);
  return refuse(
    uid,
    403,
    "Forbidden",
    blocking.map((v) => `[${v.policy}/${v.code}] ${v.message}`).join("\n"),
  );
}
