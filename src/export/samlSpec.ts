// A SAML client's saml* attributes → spec.saml, the inverse of samlAttributes
// (src/resources/samlClientRepresentation.ts). Pure: no I/O. Keycloak gives every new SAML client a
// signing key pair of its own (saml.signing.certificate and saml.signing.private.key): a
// certificate that belongs to the private key stored beside it is Keycloak's generated pair, not
// the service provider's certificate, so it stays out of the spec (a new client gets a new pair)
// and is reported; a private key never goes into a spec. The CRD refuses saml* keys in
// spec.attributes, so a saml* attribute spec.saml has no field for can only be reported.
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import type { SamlSettings } from "../resources/samlClientRepresentation.js";
import { samlAttributeKeys } from "../resources/samlClientRepresentation.js";
import { childPath, type ExportReport } from "./report.js";

/** Each spec.saml field's Keycloak attribute, by attribute. */
const fieldOfAttribute = new Map<string, keyof typeof samlAttributeKeys>(
  Object.entries(samlAttributeKeys).map(([field, key]) => [key, field as keyof typeof samlAttributeKeys]),
);

export function isSamlAttribute(key: string): boolean {
  return key.startsWith("saml");
}

/** The key pairs Keycloak keeps as a certificate attribute beside a private key attribute. */
const keyPairs = [
  { certificate: samlAttributeKeys.signingCertificate, privateKey: "saml.signing.private.key" },
  { certificate: samlAttributeKeys.encryptionCertificate, privateKey: "saml.encryption.private.key" },
] as const;

const enums: Partial<Record<keyof typeof samlAttributeKeys, readonly string[]>> = {
  signatureAlgorithm: [
    "RSA_SHA256",
    "RSA_SHA256_MGF1",
    "RSA_SHA512",
    "RSA_SHA512_MGF1",
    "RSA_SHA1",
    "DSA_SHA1",
  ],
  canonicalization: [
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
  ],
  nameIdFormat: ["username", "email", "transient", "persistent"],
};

const booleans = new Set<keyof typeof samlAttributeKeys>([
  "signDocuments",
  "signAssertions",
  "clientSignatureRequired",
  "encryptAssertions",
  "forceNameIdFormat",
  "forcePostBinding",
]);

const urls = new Set<keyof typeof samlAttributeKeys>([
  "assertionConsumerUrlPost",
  "assertionConsumerUrlRedirect",
  "singleLogoutUrlPost",
  "singleLogoutUrlRedirect",
]);

/** Keycloak stores a certificate's base64 body; the CRD takes PEM. */
export function certificatePem(body: string): string {
  const lines = body.match(/.{1,64}/g) ?? [];
  return ["-----BEGIN CERTIFICATE-----", ...lines, "-----END CERTIFICATE-----"].join("\n");
}

/** Does the certificate hold the public key of the private key (both base64 DER)? */
function isPairOf(certificate: string, privateKey: string): boolean {
  try {
    const der = Buffer.from(privateKey, "base64");
    const key = (() => {
      try {
        return createPrivateKey({ key: der, format: "der", type: "pkcs1" });
      } catch {
        return createPrivateKey({ key: der, format: "der", type: "pkcs8" });
      }
    })();
    const publicOfKey = createPublicKey(key).export({ type: "spki", format: "der" });
    const publicOfCert = new X509Certificate(Buffer.from(certificate, "base64")).publicKey.export({
      type: "spki",
      format: "der",
    });
    return Buffer.compare(publicOfKey, publicOfCert) === 0;
  } catch {
    return false;
  }
}

/** Keycloak derives saml.artifact.binding.identifier from the clientId (SHA-1, base64). */
export function artifactBindingIdentifier(clientId: string): string {
  return createHash("sha1").update(clientId).digest("base64");
}

/**
 * spec.saml from the client's attributes, reporting what it cannot hold. `defaults` are a new SAML
 * client's attributes: a value equal to Keycloak's is left out. Returns the attribute keys it
 * consumed (expressed, reported or default), so the caller handles only the others.
 */
export function samlSpecFromAttributes(
  attributes: Record<string, string>,
  defaults: Record<string, unknown>,
  clientId: string,
  path: string,
  report: ExportReport,
): { saml: SamlSettings | undefined; consumed: Set<string> } {
  const saml: Record<string, unknown> = {};
  const consumed = new Set<string>();
  const at = (key: string) => childPath(path, key);

  for (const { certificate, privateKey } of keyPairs) {
    const key = attributes[privateKey];
    if (key === undefined) continue;
    consumed.add(privateKey);
    const cert = attributes[certificate];
    const generated = cert !== undefined && isPairOf(cert, key);
    report.notExpressed(
      at(privateKey),
      "the private key of a key pair Keycloak keeps for the client; a private key is never put in a spec, and a new client gets a key pair of its own",
    );
    if (generated) {
      consumed.add(certificate);
      report.notExpressed(
        at(certificate),
        `the certificate of the key pair Keycloak generated for the client (beside ${privateKey}); a new client gets a key pair of its own`,
      );
    }
  }
  const identifier = "saml.artifact.binding.identifier";
  if (attributes[identifier] !== undefined) {
    consumed.add(identifier);
    if (attributes[identifier] !== artifactBindingIdentifier(clientId))
      report.notExpressed(
        at(identifier),
        "Keycloak derives it from the clientId; the CRD has no field to set another value",
      );
  }

  for (const [key, value] of Object.entries(attributes)) {
    if (consumed.has(key) || !isSamlAttribute(key)) continue;
    consumed.add(key);
    if (value === defaults[key]) continue;
    const field = fieldOfAttribute.get(key);
    if (field === undefined) {
      report.notExpressed(
        at(key),
        "spec.saml has no field for this SAML setting, and spec.attributes refuses saml* keys",
      );
      continue;
    }
    const parsed = parseSamlValue(field, value);
    if (parsed === undefined) {
      report.notExpressed(at(key), `"${value}" is not a value spec.saml.${field} accepts`);
      continue;
    }
    if (parsed === "") continue; // Keycloak reads an empty URL or name as unset.
    saml[field] = parsed;
  }
  // The CRD asks for the certificate a required signature or encryption uses; when that is
  // Keycloak's generated pair (reported above), the requirement cannot be written either.
  for (const [flag, certificate] of [
    ["clientSignatureRequired", "signingCertificate"],
    ["encryptAssertions", "encryptionCertificate"],
  ] as const) {
    if (saml[flag] !== true || saml[certificate] !== undefined) continue;
    delete saml[flag];
    report.notExpressed(
      at(samlAttributeKeys[flag]),
      `spec.saml.${flag} needs spec.saml.${certificate}, and the client's certificate is Keycloak's generated key pair`,
    );
  }
  return { saml: Object.keys(saml).length === 0 ? undefined : nest(saml), consumed };
}

function parseSamlValue(field: keyof typeof samlAttributeKeys, value: string): string | boolean | undefined {
  if (booleans.has(field)) return value === "true" ? true : value === "false" ? false : undefined;
  const allowed = enums[field];
  if (allowed) return allowed.includes(value) ? value : undefined;
  if (field === "signingCertificate" || field === "encryptionCertificate")
    return value === "" ? "" : certificatePem(value);
  if (urls.has(field)) return value === "" || /^https?:\/\//.test(value) ? value : undefined;
  if (field === "idpInitiatedSsoUrlName")
    return value === "" || /^[a-zA-Z0-9._-]+$/.test(value) ? value : undefined;
  return value;
}

/** The flat attribute fields in spec.saml's shape (URLs grouped by binding). */
function nest(flat: Record<string, unknown>): SamlSettings {
  const {
    assertionConsumerUrlPost: acsPost,
    assertionConsumerUrlRedirect: acsRedirect,
    singleLogoutUrlPost: sloPost,
    singleLogoutUrlRedirect: sloRedirect,
    ...rest
  } = flat;
  const binding = (post: unknown, redirect: unknown) =>
    post === undefined && redirect === undefined
      ? undefined
      : {
          ...(post === undefined ? {} : { post: post as string }),
          ...(redirect === undefined ? {} : { redirect: redirect as string }),
        };
  const acs = binding(acsPost, acsRedirect);
  const slo = binding(sloPost, sloRedirect);
  return {
    ...rest,
    ...(acs ? { assertionConsumerServiceUrls: acs } : {}),
    ...(slo ? { singleLogoutServiceUrls: slo } : {}),
  };
}
