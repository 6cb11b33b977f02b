// The input as policies see it. Objects read from the API server carry metadata the policies never
// look at (managedFields, the last-applied annotation, ownerReferences, status), often several KB;
// opa-wasm serialises the input to JSON and parses it again inside wasm on every decision, so that
// bulk would dominate the cost. Policies get: kind, operation, metadata name/namespace/labels/
// annotations (minus kubectl's last-applied copy, here and on the Namespace), spec, namespace facts,
// targets, counts, environment,
// and the facts derived from the spec that policies would otherwise have to compute in wasm:
// namespaceRefs (instead of a `walk`) and privilege (every grant, composites expanded).
import type { NamespaceRef, PolicyInput } from "./decision.js";
import { privilegeFacts } from "./privilege.js";

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

type Metadata = Record<string, unknown> & { name: string; namespace: string };

function compactMetadata<M extends Metadata>(metadata: M): M {
  if (typeof metadata !== "object" || metadata === null) return metadata;
  const out: Metadata = { name: metadata.name, namespace: metadata.namespace };
  if (metadata.labels !== undefined) out.labels = metadata.labels;
  const annotations = metadata.annotations as Record<string, string> | undefined;
  if (annotations !== undefined) out.annotations = withoutLastApplied(annotations);
  return out as M;
}

/** kubectl's copy of the whole object: often the largest annotation, and no policy reads it. */
export function withoutLastApplied(annotations: Record<string, string>): Record<string, string> {
  if (typeof annotations !== "object" || annotations === null || !(LAST_APPLIED in annotations)) {
    return annotations;
  }
  const { [LAST_APPLIED]: _dropped, ...rest } = annotations;
  return rest;
}

/** The Namespace's facts; one applied with kubectl carries its last-applied copy too. */
function compactNamespace(namespace: PolicyInput["namespace"]): PolicyInput["namespace"] {
  if (namespace?.annotations === undefined) return namespace;
  const annotations = withoutLastApplied(namespace.annotations);
  return annotations === namespace.annotations ? namespace : { ...namespace, annotations };
}

function compactTarget<T extends { metadata: Metadata; spec: Record<string, unknown> }>(
  target: T | undefined,
): T | undefined {
  return target === undefined
    ? undefined
    : ({ metadata: compactMetadata(target.metadata), spec: target.spec } as T);
}

/** Every object below the spec with a `namespace` key, as [path, namespace]; depth-first, in key order. */
export function namespaceRefs(spec: unknown): NamespaceRef[] {
  const refs: NamespaceRef[] = [];
  const path: (string | number)[] = [];
  const visit = (node: unknown): void => {
    if (typeof node !== "object" || node === null) return;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        path.push(i);
        visit(node[i]);
        path.pop();
      }
      return;
    }
    const obj = node as Record<string, unknown>;
    if (path.length > 0 && "namespace" in obj) refs.push({ path: [...path], namespace: obj.namespace });
    for (const key in obj) {
      path.push(key);
      visit(obj[key]);
      path.pop();
    }
  };
  visit(spec);
  return refs;
}

export function compactInput(input: PolicyInput): PolicyInput {
  // A malformed input goes through untouched, for the policy to refuse with MalformedPolicyInput.
  const metadata = (input as Partial<PolicyInput>).resource?.metadata as unknown;
  if (typeof metadata !== "object" || metadata === null) return input;
  const target: PolicyInput["target"] = {};
  const instance = compactTarget(input.target?.instance);
  const realm = compactTarget(input.target?.realm);
  if (instance) target.instance = instance;
  if (realm) target.realm = realm;
  if (input.target?.clients) target.clients = input.target.clients;
  const resource: PolicyInput["resource"] = {
    metadata: compactMetadata(input.resource.metadata),
    spec: input.resource.spec,
  };
  if (input.resource.apiVersion !== undefined) resource.apiVersion = input.resource.apiVersion;
  if (input.resource.kind !== undefined) resource.kind = input.resource.kind;
  return {
    operation: input.operation,
    kind: input.kind,
    resource,
    namespace: compactNamespace(input.namespace),
    target,
    counts: input.counts,
    environment: input.environment,
    namespaceRefs: namespaceRefs(input.resource.spec),
    privilege: privilegeFacts(input, input.keycloakRoles ?? [], input.keycloakGroups ?? []),
  };
}

const encoder = new TextEncoder();

/** JSON bytes of the compacted input, in the form opa-wasm copies straight into wasm memory. */
export function encodeInput(input: PolicyInput): ArrayBuffer {
  const bytes = encoder.encode(JSON.stringify(compactInput(input)));
  // A fresh encode() owns its whole buffer, so no copy is needed.
  return bytes.buffer;
}
