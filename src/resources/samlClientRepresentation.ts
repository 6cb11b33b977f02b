// KeycloakClient spec.saml → the client attributes Keycloak keeps SAML settings in. Pure: no I/O.
// Keycloak has no typed fields for SAML: every setting is a string attribute of the client
// (`saml.server.signature`, `saml_assertion_consumer_url_post`, …); the key of each field is in
// `samlAttributeKeys`, the one table both the mapping and the CRD's "keys a typed field owns" rule
// follow. Certificates are public and given inline as PEM; Keycloak stores only the base64 body.
import type { KeycloakClientSpec } from "../api/index.js";

export type SamlSettings = NonNullable<KeycloakClientSpec["saml"]>;

/** The Keycloak client attribute of each spec.saml field. */
export const samlAttributeKeys = {
  signDocuments: "saml.server.signature",
  signAssertions: "saml.assertion.signature",
  signatureAlgorithm: "saml.signature.algorithm",
  canonicalization: "saml_signature_canonicalization_method",
  clientSignatureRequired: "saml.client.signature",
  signingCertificate: "saml.signing.certificate",
  encryptAssertions: "saml.encrypt",
  encryptionCertificate: "saml.encryption.certificate",
  nameIdFormat: "saml_name_id_format",
  forceNameIdFormat: "saml_force_name_id_format",
  assertionConsumerUrlPost: "saml_assertion_consumer_url_post",
  assertionConsumerUrlRedirect: "saml_assertion_consumer_url_redirect",
  singleLogoutUrlPost: "saml_single_logout_service_url_post",
  singleLogoutUrlRedirect: "saml_single_logout_service_url_redirect",
  forcePostBinding: "saml.force.post.binding",
  idpInitiatedSsoUrlName: "saml_idp_initiated_sso_url_name",
} as const;

/** The base64 body of a PEM certificate: what Keycloak stores and returns. */
export function certificateBody(pem: string): string {
  return pem
    .replace(/-----BEGIN CERTIFICATE-----/, "")
    .replace(/-----END CERTIFICATE-----/, "")
    .replace(/\s+/g, "");
}

/** The SAML attributes the spec sets (booleans as "true"/"false", as Keycloak keeps them). */
export function samlAttributes(saml: SamlSettings): Record<string, string> {
  const k = samlAttributeKeys;
  const values: Record<string, string | boolean | undefined> = {
    [k.signDocuments]: saml.signDocuments,
    [k.signAssertions]: saml.signAssertions,
    [k.signatureAlgorithm]: saml.signatureAlgorithm,
    [k.canonicalization]: saml.canonicalization,
    [k.clientSignatureRequired]: saml.clientSignatureRequired,
    [k.signingCertificate]:
      saml.signingCertificate === undefined ? undefined : certificateBody(saml.signingCertificate),
    [k.encryptAssertions]: saml.encryptAssertions,
    [k.encryptionCertificate]:
      saml.encryptionCertificate === undefined ? undefined : certificateBody(saml.encryptionCertificate),
    [k.nameIdFormat]: saml.nameIdFormat,
    [k.forceNameIdFormat]: saml.forceNameIdFormat,
    [k.assertionConsumerUrlPost]: saml.assertionConsumerServiceUrls?.post,
    [k.assertionConsumerUrlRedirect]: saml.assertionConsumerServiceUrls?.redirect,
    [k.singleLogoutUrlPost]: saml.singleLogoutServiceUrls?.post,
    [k.singleLogoutUrlRedirect]: saml.singleLogoutServiceUrls?.redirect,
    [k.forcePostBinding]: saml.forcePostBinding,
    [k.idpInitiatedSsoUrlName]: saml.idpInitiatedSsoUrlName,
  };
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) out[key] = String(value);
  return out;
}
