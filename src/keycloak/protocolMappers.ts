// The protocol mappers of one container — a client or a client scope — as a collection: exactly the
// listed mappers, by name. Keycloak offers the same four requests on both containers, so the
// comparison (the desired representation must be a subset of what is there) lives here once.
import type ProtocolMapperRepresentation from "@keycloak/keycloak-admin-client/lib/defs/protocolMapperRepresentation.js";
import { indexByName, type AdminRequest, type Collection } from "./collection.js";
import { isSubsetEqual } from "./diff.js";

export type { ProtocolMapperRepresentation };

/** Where the mappers live and the requests that change them there. */
export interface MapperContainer {
  /** For messages: `client "app"`, `client scope "tier" in realm "r"`. */
  describe: string;
  /** Prefix of the changed field a write records: `` (a client's own), `clientScope:tier.`. */
  fieldPrefix: string;
  /** The protocol a mapper without one gets: the container's. */
  protocol: string;
  /** The mappers there now (as read with the container; a just-created container has none). */
  existing: readonly ProtocolMapperRepresentation[];
  add(rep: ProtocolMapperRepresentation): AdminRequest;
  update(mapperId: string, rep: ProtocolMapperRepresentation): AdminRequest;
  remove(mapperId: string): AdminRequest;
}

export function protocolMapperCollection(
  container: MapperContainer,
): Collection<ProtocolMapperRepresentation, ProtocolMapperRepresentation> {
  const withProtocol = (m: ProtocolMapperRepresentation) => ({ protocol: container.protocol, ...m });
  return {
    describe: (name) => `protocol mapper "${name}" of ${container.describe}`,
    field: (name) => `${container.fieldPrefix}protocolMapper:${name}`,
    nameOf: (mapper) => mapper.name ?? "",
    list: () => Promise.resolve(indexByName(container.existing.filter((m) => m.id))),
    create: (mapper) => container.add(withProtocol(mapper)),
    update: (mapper, actual) => {
      const mapperId = actual.id ?? "";
      const rep = withProtocol(mapper);
      // Managed: what the spec lists; Keycloak may keep settings of its own besides.
      if (isSubsetEqual(rep, actual)) return undefined;
      return container.update(mapperId, { ...rep, id: mapperId });
    },
    // Every mapper of a managed container that the spec does not list goes: the list is exact.
    remove: (_, actual) => container.remove(actual.id ?? ""),
  };
}
