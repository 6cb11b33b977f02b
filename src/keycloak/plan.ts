// Plan mode of a connection: what a sync would write, recorded instead of sent. `kpo diff` runs the
// operator's own syncs (realmSync, clientSync, userSync and every collection they drive) against a
// connection in plan mode, so the changes it prints come from the same reads, comparisons and
// ownership checks as a reconcile — one code path, not a second diff.
//
// Every sync write goes through SyncSession (`write` / `create`), which hands it to the plan when
// the connection has one; the connection itself refuses any other write while planning, so a
// planned run can never change Keycloak. A create returns a placeholder id (`planned:<n>`), and a
// read that names a placeholder is answered empty without being sent: what a sync does inside an
// object it would create is planned as well, as far as it can be known before the object exists.
// The create of the object being diffed stops the run (PlanStop): everything after it is the
// object's desired state, which the caller reports as a whole.
import type { HttpMethod } from "./connection.js";

/** A field whose value a planned write changes. Secret values are never carried: only `secret: true`. */
export interface FieldChange {
  /** `displayName`, `attributes.frontendUrl`, `smtpServer.password`, `config.clientSecret`, … */
  field: string;
  old?: unknown;
  new?: unknown;
  /** The value is a secret (a password, a client secret): it changes, its values are not shown. */
  secret?: boolean;
}

export interface PlannedWrite {
  method: Exclude<HttpMethod, "GET">;
  /** The field the sync records (`displayName`, `role:x`, `group:/a/b`, `identityProvider:x`). */
  field: string;
  /** What the request does, in the sync's words: `delete role "x" in realm "r" (no longer in the spec)`. */
  what: string;
  /** A POST that creates a named object. */
  creates: boolean;
  /** Old and new values, where the sync knows them. */
  changes?: FieldChange[];
}

/** Thrown by the plan when the sync would create the object being diffed: the run ends there. */
export class PlanStop extends Error {
  override name = "PlanStop";
  readonly write: PlannedWrite;
  constructor(write: PlannedWrite) {
    super(`plan stops at: ${write.what}`);
    this.write = write;
  }
}

const placeholderPrefix = "planned:";

export class WritePlan {
  readonly #writes: PlannedWrite[] = [];
  /** Placeholder ids of the planned creates, by the create's `what`. */
  readonly #created = new Map<string, string>();
  #stopAt: string | undefined;
  #ids = 0;

  /** The next run stops when the sync would create an object recording `field` (`realm`, `client`, `user`). */
  begin(stopAtCreateOf: string): void {
    this.#writes.length = 0;
    this.#created.clear();
    this.#stopAt = stopAtCreateOf;
  }

  /** The writes planned since `begin`. */
  get writes(): readonly PlannedWrite[] {
    return [...this.#writes];
  }

  /** Records a write in place of sending it; its result is a placeholder the sync may carry on with. */
  record<T>(write: PlannedWrite): T {
    this.#writes.push(write);
    if (write.creates && write.field === this.#stopAt) throw new PlanStop(write);
    this.#ids += 1;
    const id = `${placeholderPrefix}${this.#ids}`;
    if (write.creates) this.#created.set(write.what, id);
    // What a create returns ({id}); other writes' results are not used by the syncs.
    return { id } as T;
  }

  /**
   * The placeholder id of the object a planned create makes, by the create's `what`, so that a
   * later step naming it (a new role in a composite or a group's mappings) plans on instead of
   * finding it missing.
   */
  created(what: string): string | undefined {
    return this.#created.get(what);
  }

  /** Does a request's argument name an object this plan only pretends to have created? */
  static namesPlaceholder(args: readonly unknown[]): boolean {
    const seen = (value: unknown, depth: number): boolean => {
      if (typeof value === "string") return value.startsWith(placeholderPrefix);
      if (depth > 2 || typeof value !== "object" || value === null) return false;
      return Object.values(value).some((v) => seen(v, depth + 1));
    };
    return args.some((a) => seen(a, 0));
  }
}

/**
 * What a read of a planned object answers: such an object has nothing yet — no roles, mappers,
 * members or mappings — and a single-object read finds nothing.
 */
export function emptyReadResult(method: string): unknown {
  return /^(findOne|get(?!.*(Roles|Mappings|Members|Composites)))/.test(method) ? undefined : [];
}
