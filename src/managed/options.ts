// Keycloak options of a managed instance as container environment variables. Keycloak reads every
// option `foo-bar` from `KC_FOO_BAR`; the operator sets the options that make the deployment work
// (database, hostname, proxy, cache cluster, health, metrics, bootstrap admin, listeners, TLS) and
// `spec.managed.additionalOptions` may add any other. An additional option that would replace one of
// the operator's is refused before anything is rendered: two values for one option would leave the
// winner to the order of the environment, and a replaced database or cache setting breaks the
// deployment in ways its status could not explain.

/** Options (or option families, ending in "-") the operator sets and additionalOptions may not. */
export const OPERATOR_OWNED_OPTIONS: readonly string[] = [
  "db",
  "db-",
  "hostname",
  "hostname-",
  "proxy-",
  "cache",
  "cache-",
  "health-enabled",
  "metrics-enabled",
  "bootstrap-admin-",
  "http-enabled",
  "http-port",
  "https-",
  "http-management-",
  "management-",
  "truststore-paths",
];

/** The environment variable Keycloak reads an option from: log-level → KC_LOG_LEVEL. */
export function optionEnvName(option: string): string {
  return `KC_${option.toUpperCase().replace(/[-.]/g, "_")}`;
}

/**
 * Which owned option `option` would set. Compared in the form Keycloak reads it from: "db.url" and
 * "db-url" are both KC_DB_URL, so a dot must not get an owned option past the check.
 */
function ownedBy(option: string): string | undefined {
  const env = optionEnvName(option);
  return OPERATOR_OWNED_OPTIONS.find((owned) => {
    const ownedEnv = optionEnvName(owned);
    return owned.endsWith("-") ? env.startsWith(ownedEnv) : env === ownedEnv;
  });
}

/** Thrown for a spec the operator cannot render; the message says which field and how to fix it. */
export class ManagedSpecError extends Error {
  override name = "ManagedSpecError";
}

export interface AdditionalOption {
  name: string;
  value: string;
}

/** Environment variables of `additionalOptions`, or a ManagedSpecError naming every refused option. */
export function additionalOptionEnv(
  options: readonly AdditionalOption[] | undefined,
): { name: string; value: string }[] {
  const list = options ?? [];
  const refused = list
    .map((o) => ({ option: o.name, owner: ownedBy(o.name) }))
    .filter((r): r is { option: string; owner: string } => r.owner !== undefined);
  if (refused.length > 0) {
    const names = refused.map((r) => `"${r.option}"`).join(", ");
    throw new ManagedSpecError(
      `spec.managed.additionalOptions sets ${names}, which the operator sets itself ` +
        `(from spec.managed.database, hostname, tls, replicas or adminSecretName); ` +
        `remove ${refused.length === 1 ? "it" : "them"} and use those fields instead`,
    );
  }
  return list.map((o) => ({ name: optionEnvName(o.name), value: o.value }));
}
