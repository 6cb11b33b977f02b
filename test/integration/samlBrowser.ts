// A minimal browser for SAML tests: IdP-initiated login at Keycloak over HTTP with a cookie jar,
// returning the SAMLResponse Keycloak's auto-submitting form would post to the service provider,
// and a check of its XML signatures with xml-crypto against the realm's signing certificate.
import { SignedXml } from "xml-crypto";

class CookieJar {
  readonly #cookies = new Map<string, string>();

  take(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (pair && eq > 0) this.#cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  header(): string {
    return [...this.#cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

const decodeHtml = (s: string) =>
  s
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#x3d;/gi, "=")
    .replace(/&#61;/g, "=");

/** Logs `username` in at `/realms/<realm>/protocol/saml/clients/<urlName>`; returns the decoded SAMLResponse. */
export async function idpInitiatedLogin(
  baseUrl: string,
  realm: string,
  urlName: string,
  username: string,
  password: string,
): Promise<{ xml: string; postedTo: string }> {
  const jar = new CookieJar();
  const start = await fetch(`${baseUrl}/realms/${realm}/protocol/saml/clients/${urlName}`, {
    redirect: "manual",
  });
  jar.take(start);
  const page = await start.text();
  const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(page)?.[1];
  if (!action) throw new Error(`no login form at the IdP-initiated URL (HTTP ${start.status})`);
  const login = await fetch(decodeHtml(action), {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: jar.header() },
    body: new URLSearchParams({ username, password, credentialId: "" }),
  });
  const html = await login.text();
  const samlResponse = /name="SAMLResponse"\s+value="([^"]+)"/.exec(html)?.[1];
  const postedTo = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!samlResponse || !postedTo) throw new Error(`no SAMLResponse after login (HTTP ${login.status})`);
  return {
    xml: Buffer.from(decodeHtml(samlResponse), "base64").toString("utf8"),
    postedTo: decodeHtml(postedTo),
  };
}

/** The realm's signing certificate, from its IdP descriptor, as PEM. */
export function idpCertificate(descriptor: string): string {
  const body = /<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/.exec(descriptor)?.[1];
  if (!body) throw new Error("the IdP descriptor has no signing certificate");
  return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join("\n") ?? body}\n-----END CERTIFICATE-----\n`;
}

/**
 * Verifies every XML signature in the document (the Response's and the Assertion's) with the
 * certificate; returns the local names of the elements the signatures cover.
 */
export function verifiedSignatures(xml: string, certificatePem: string): string[] {
  const signed: string[] = [];
  for (const [signature] of xml.matchAll(/<(\w+:)?Signature\s[\s\S]*?<\/\1Signature>/g)) {
    const verifier = new SignedXml({ publicCert: certificatePem });
    verifier.loadSignature(signature);
    if (!verifier.checkSignature(xml)) throw new Error("a signature does not verify");
    const uri = /<(?:\w+:)?Reference\s[^>]*URI="#([^"]+)"/.exec(signature)?.[1] ?? "";
    const element = new RegExp(`<(?:\\w+:)?(\\w+)\\s[^>]*ID="${uri}"`).exec(xml)?.[1];
    signed.push(element ?? "?");
  }
  return signed;
}
