// The operator's own attributes (keys under kpo.dev/) on what it manages: the owner marker and the
// records of what it granted. The CRDs refuse these keys, and the resource that applies an exported
// spec writes its own, so an export never copies them. Only the owner marker is reported: while it
// names another resource, a new one cannot adopt the object (src/keycloak/ownership.ts).
import { ownerNameAttribute, ownerNamespaceAttribute, ownerUidAttribute } from "../keycloak/ownership.js";
import { childPath, type ExportReport } from "./report.js";

/** Keycloak keeps client attributes as strings and user attributes as string lists. */
function first(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  return Array.isArray(value) && typeof value[0] === "string" ? value[0] : undefined;
}

/** Reports the owner marker among `attributes` (at `path`, the attributes' own path), if any. */
export function reportOwnerMarker(
  attributes: Record<string, unknown>,
  path: string,
  kind: string,
  report: ExportReport,
): void {
  const uid = first(attributes[ownerUidAttribute]);
  if (uid === undefined) return;
  const owner = `${first(attributes[ownerNamespaceAttribute]) ?? "?"}/${first(attributes[ownerNameAttribute]) ?? "?"}`;
  report.notExpressed(
    childPath(path, ownerUidAttribute),
    `managed by ${kind} ${owner} (the operator's owner marker); another ${kind} cannot adopt it while that marker stays: remove the kpo.dev/owner-* attributes first, or apply the export where the object does not exist yet`,
  );
}
