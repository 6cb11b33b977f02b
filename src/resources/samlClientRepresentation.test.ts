import { describe, expect, it } from "vitest";
import { desiredClient } from "./clientRepresentation.js";
import { certificateBody, samlAttributeKeys, samlAttributes } from "./samlClientRepresentation.js";

const pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmg\nAwIBAgIU\n-----END CERTIFICATE-----\n";

describe("samlAttributes", () => {
  it("Given every SAML setting, when mapped, then each lands on Keycloak's attribute as a string", () => {
    expect(
      samlAttributes({
        signDocuments: true,
        signAssertions: false,
        signatureAlgorithm: "RSA_SHA512",
        canonicalization: "http://www.w3.org/2001/10/xml-exc-c14n#",
        clientSignatureRequired: true,
        signingCertificate: pem,
        encryptAssertions: true,
        encryptionCertificate: pem,
        nameIdFormat: "persistent",
        forceNameIdFormat: true,
        assertionConsumerServiceUrls: { post: "https://sp/acs", redirect: "https://sp/acs-r" },
        singleLogoutServiceUrls: { post: "https://sp/slo", redirect: "https://sp/slo-r" },
        forcePostBinding: false,
        idpInitiatedSsoUrlName: "sp",
      }),
    ).toEqual({
      "saml.server.signature": "true",
      "saml.assertion.signature": "false",
      "saml.signature.algorithm": "RSA_SHA512",
      saml_signature_canonicalization_method: "http://www.w3.org/2001/10/xml-exc-c14n#",
      "saml.client.signature": "true",
      "saml.signing.certificate": "MIIBszCCAVmgAwIBAgIU",
      "saml.encrypt": "true",
      "saml.encryption.certificate": "MIIBszCCAVmgAwIBAgIU",
      saml_name_id_format: "persistent",
      saml_force_name_id_format: "true",
      saml_assertion_consumer_url_post: "https://sp/acs",
      saml_assertion_consumer_url_redirect: "https://sp/acs-r",
      saml_single_logout_service_url_post: "https://sp/slo",
      saml_single_logout_service_url_redirect: "https://sp/slo-r",
      "saml.force.post.binding": "false",
      saml_idp_initiated_sso_url_name: "sp",
    });
  });

  it("Given only a name ID format, when mapped, then no other SAML attribute is managed", () => {
    expect(samlAttributes({ nameIdFormat: "email" })).toEqual({ [samlAttributeKeys.nameIdFormat]: "email" });
  });

  it("Given a PEM certificate, when its body is taken, then headers and whitespace are gone (what Keycloak stores)", () => {
    expect(certificateBody(pem)).toBe("MIIBszCCAVmgAwIBAgIU");
    expect(certificateBody("  MIIB\r\nszCC  ")).toBe("MIIBszCC");
  });

  it("Given a SAML client spec, when the desired client is built, then protocol, front-channel logout and SAML attributes are its settings", () => {
    const desired = desiredClient({
      realmRef: { name: "apps" },
      clientId: "https://sp.example.com/metadata",
      protocol: "saml",
      frontchannelLogout: true,
      saml: { signDocuments: true, idpInitiatedSsoUrlName: "sp" },
      attributes: { "saml.artifact.binding": "false" },
    });
    expect(desired.client).toEqual({
      clientId: "https://sp.example.com/metadata",
      protocol: "saml",
      frontchannelLogout: true,
      attributes: {
        "saml.artifact.binding": "false",
        "saml.server.signature": "true",
        saml_idp_initiated_sso_url_name: "sp",
      },
    });
  });
});
