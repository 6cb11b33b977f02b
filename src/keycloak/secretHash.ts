// Keycloak never returns a secret it was given (an SMTP password, an identity provider's client
// secret, an LDAP bind credential reads back masked), so a diff cannot see whether the secret
// changed. The sync stores a keyed hash beside the object (a realm attribute, a config entry) and
// compares hashes: equal secrets of different owners or purposes hash apart, and the hash reveals
// nothing about the value.
import { createHmac } from "node:crypto";
import type { Owner } from "./ownership.js";

/** `purpose` names what the secret is for (`smtp`, `idp/github`), so one value hashes apart per use. */
export function writeOnlySecretHash(purpose: string, value: string, owner: Pick<Owner, "uid">): string {
  return `hmac-sha256:${createHmac("sha256", `kpo.dev/${purpose}/${owner.uid}`).update(value).digest("base64url")}`;
}
