// The webhook's decision on one AdmissionReview request: the reconciler's question, asked earlier.
// The input comes from the same builder over the same informer caches the reconciler reads
// (policyInputFor over cacheLookup), with three differences that come from asking before the write:
//
// - the object in the request stands in for the stored one (an update decides the new spec);
// - a Namespace or a referenced instance or realm the caches do not hold yet (created by the same
//   `kubectl apply` a moment ago) is read from the API server, so a fresh cache does not refuse;
// - an update that changes nothing the policies read (a finalizer added or released, owner
//   references, status) is allowed undecided, so the operator's own metadata writes and the
//   deletion of an object that has since become non-compliant are never blocked.
//
// The reconcile-time decision stays authoritative: it runs again on every change and resync, with
// counts that include objects created concurrently and the live Keycloak roles a spec reaches.
import type { KeycloakInstance, KeycloakRealm, KeycloakResource } from "../api/index.js";
import { GROUP } from "../api/index.js";
import { instanceRefOf, realmRefOf, type ResolvedRef } from "../api/refs.js";
import { sameKey } from "../kube/objectKey.js";
import { cacheLookup, type Caches } from "../operator/facts.js";
import type { Decision, DecideFn, NamespaceFacts } from "../policy/decision.js";
import { withoutLastApplied } from "../policy/compactInput.js";
import { policyInputFor, type PolicyLookup } from "../policy/input.js";
import {
  admissionObject,
  allow,
  decisionResponse,
  managedKind,
  refuse,
  type AdmissionRequest,
  type AdmissionResponse,
} from "./review.js";

/** Reads from the API server what the caches do not hold yet. Undefined: it does not exist. */
export interface LiveReader {
  namespace(name: string): Promise<NamespaceFacts | undefined>;
  instance(ref: ResolvedRef): Promise<KeycloakInstance | undefined>;
  realm(ref: ResolvedRef): Promise<KeycloakRealm | undefined>;
}

/** A reader that knows nothing beyond the caches (unit tests, or no API access). */
export const noLiveReads: LiveReader = {
  namespace: () => Promise.resolve(undefined),
  instance: () => Promise.resolve(undefined),
  realm: () => Promise.resolve(undefined),
};

/** How a request ended, for the metric's result label. */
export type AdmissionResult = "allowed" | "warned" | "dryrun" | "denied" | "skipped" | "invalid";

export interface AdmissionOutcome {
  response: AdmissionResponse;
  result: AdmissionResult;
  /** The policy decision, when one was made. */
  decision?: Decision;
}

export interface AdmissionValidatorOptions {
  caches: Caches;
  decide: DecideFn;
  live?: LiveReader;
}

/** What the policies read of an object (compactInput keeps the same): spec, labels, annotations. */
function policyRelevant(obj: unknown): string {
  const o = (obj ?? {}) as { spec?: unknown; metadata?: { labels?: unknown; annotations?: unknown } };
  const annotations = withoutLastApplied((o.metadata?.annotations ?? {}) as Record<string, string>);
  return JSON.stringify([o.spec ?? null, o.metadata?.labels ?? {}, annotations], (_k, v: unknown) =>
    // Key order does not matter to a policy; it may differ between two serialisations.
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

function resultOf(decision: Decision, response: AdmissionResponse): AdmissionResult {
  if (!response.allowed) return "denied";
  if ((response.warnings ?? []).length > 0) return "warned";
  if (decision.violations.some((v) => v.enforcement === "dryrun")) return "dryrun";
  return "allowed";
}

/**
 * The caches' lookup, seen as if `obj` were stored, with what was read live filling the gaps.
 * Counts still come from the caches' creation order (the object itself is never counted).
 */
function admissionLookup(
  base: PolicyLookup,
  obj: KeycloakResource,
  extra: { namespaces: Map<string, NamespaceFacts>; instances: KeycloakInstance[]; realms: KeycloakRealm[] },
): PolicyLookup {
  const key = { namespace: obj.metadata.namespace ?? "", name: obj.metadata.name ?? "" };
  const isSelf = (o: KeycloakResource) =>
    o.kind === obj.kind &&
    sameKey({ namespace: o.metadata.namespace ?? "", name: o.metadata.name ?? "" }, key);
  const substituted = <T extends KeycloakResource>(list: readonly T[]): readonly T[] =>
    list.some(isSelf) ? list.map((o) => (isSelf(o) ? (obj as T) : o)) : list;
  const byRef = <T extends KeycloakResource>(list: T[], ref: ResolvedRef) =>
    list.find((o) => sameKey({ namespace: o.metadata.namespace ?? "", name: o.metadata.name ?? "" }, ref));
  const lookup: PolicyLookup = {
    instance: (ref) =>
      obj.kind === "KeycloakInstance" && sameKey(ref, key)
        ? obj
        : (base.instance(ref) ?? byRef(extra.instances, ref)),
    realm: (ref) =>
      obj.kind === "KeycloakRealm" && sameKey(ref, key) ? obj : (base.realm(ref) ?? byRef(extra.realms, ref)),
    realms: (namespace) => substituted(base.realms(namespace)),
    clients: (namespace) => substituted(base.clients(namespace)),
    users: (namespace) => substituted(base.users(namespace)),
    namespace: (name) => extra.namespaces.get(name) ?? base.namespace(name),
  };
  if (base.countCreatedBefore) lookup.countCreatedBefore = base.countCreatedBefore.bind(base);
  return lookup;
}

export function admissionValidator(options: AdmissionValidatorOptions) {
  const { caches, decide } = options;
  const live = options.live ?? noLiveReads;

  /** Reads live what the input needs and the caches lack: the Namespace, the instance, the realm. */
  async function gather(obj: KeycloakResource) {
    const extra = {
      namespaces: new Map<string, NamespaceFacts>(),
      instances: [] as KeycloakInstance[],
      realms: [] as KeycloakRealm[],
    };
    const namespace = obj.metadata.namespace ?? "";
    if (!caches.namespaces.get(undefined, namespace)) {
      const facts = await live.namespace(namespace);
      if (facts) extra.namespaces.set(namespace, facts);
    }
    const instanceOf = async (ref: ResolvedRef) => {
      if (caches.instances.get(ref.namespace, ref.name)) return;
      const found = await live.instance(ref);
      if (found) extra.instances.push(found);
    };
    if (obj.kind === "KeycloakRealm") await instanceOf(instanceRefOf(obj));
    if (obj.kind === "KeycloakClient" || obj.kind === "KeycloakUser") {
      const ref = realmRefOf(obj);
      let realm = caches.realms.get(ref.namespace, ref.name);
      if (!realm) {
        realm = await live.realm(ref);
        if (realm) extra.realms.push(realm);
      }
      if (realm) await instanceOf(instanceRefOf(realm));
    }
    return extra;
  }

  /** Decides one request. Never throws for anything the request holds; an unreadable one is refused. */
  async function validate(request: AdmissionRequest): Promise<AdmissionOutcome> {
    const { uid } = request;
    const kind = managedKind(request, GROUP);
    if (!kind)
      return {
        result: "invalid",
        response: refuse(
          uid,
          400,
          "BadRequest",
          `this webhook decides on ${GROUP} KeycloakInstance, KeycloakRealm, KeycloakClient and KeycloakUser, not ${request.kind.group || "core"}/${request.kind.kind}; fix the rules of the ValidatingWebhookConfiguration`,
        ),
      };
    // Deletes, connects and the status subresource are never governed at admission.
    if ((request.operation !== "CREATE" && request.operation !== "UPDATE") || request.subResource)
      return { result: "skipped", response: allow(uid) };
    const parsed = admissionObject(request, kind);
    if ("problem" in parsed)
      return { result: "invalid", response: refuse(uid, 400, "BadRequest", `${kind}: ${parsed.problem}`) };
    const obj = parsed.object;
    if (obj.metadata.deletionTimestamp) return { result: "skipped", response: allow(uid) };
    if (request.operation === "UPDATE" && policyRelevant(request.oldObject) === policyRelevant(obj))
      return { result: "skipped", response: allow(uid) };
    const lookup = admissionLookup(cacheLookup(caches), obj, await gather(obj));
    const decision = decide(policyInputFor(lookup, obj));
    const response = decisionResponse(uid, decision);
    return { result: resultOf(decision, response), response, decision };
  }

  return { validate };
}

export type AdmissionValidator = ReturnType<typeof admissionValidator>;

/** For logs: the object a request is about, without its content. */
export function requestSubject(request: AdmissionRequest): string {
  const obj = request.object as KeycloakResource | undefined;
  const name = obj?.metadata?.name;
  return `${request.kind.kind} ${request.namespace ?? obj?.metadata?.namespace ?? ""}/${typeof name === "string" ? name : ""}`;
}
