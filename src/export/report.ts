// What an export could not express, and the Secrets it needs. Collected while the CRs are built,
// printed by `kpo export` on stderr (the unexpressed list, each with its JSON path in Keycloak's
// representation) and written as separate Secret manifests (never inline in a CR).

export interface Unexpressed {
  /** JSON path in the realm's representation: `$.clients[?(@.clientId=='web')].attributes['x']`. */
  path: string;
  /** Why no CR field carries it. */
  reason: string;
}

export interface ExportedSecret {
  /** The Secret's name (the CR field references it by this name and key). */
  name: string;
  key: string;
  /** The value when the source had it (a full realm export file); else the user fills it in. */
  value?: string;
  /** The spec path that references it: `spec.smtp.passwordSecretRef`. */
  field: string;
}

export class ExportReport {
  readonly unexpressed: Unexpressed[] = [];
  readonly secrets: ExportedSecret[] = [];

  notExpressed(path: string, reason: string): void {
    this.unexpressed.push({ path, reason });
  }

  secret(secret: ExportedSecret): void {
    this.secrets.push(secret);
  }
}

/** `$.a.b`, with keys that are not identifiers quoted: `$.attributes['saml.force']`. */
export function childPath(base: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${base}.${key}` : `${base}['${key.replaceAll("'", "\\'")}']`;
}

/** An element of a list by its identifying field: `$.clients[?(@.clientId=='web')]`. */
export function itemPath(base: string, list: string, field: string, name: string): string {
  return `${childPath(base, list)}[?(@.${field}=='${name.replaceAll("'", "\\'")}')]`;
}

/** Keycloak's masked value for secrets in a partial export. */
export const MASKED_SECRET = "**********";
