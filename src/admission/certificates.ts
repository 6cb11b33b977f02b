// The webhook's own small PKI when cert-manager is not used: a CA per serving certificate, made
// with @peculiar/x509 over Node's WebCrypto (ECDSA P-256), PEM in and out. Each CA signs exactly
// one serving certificate; its key lives only as long as the CA is the next one to be used (see
// servingCertificate.ts), so a leaked Secret never yields a key that can sign for another name.
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API
// installed before the library loads.
import "reflect-metadata";
import { X509Certificate as NodeX509, webcrypto } from "node:crypto";
import { isIP } from "node:net";
import * as x509 from "@peculiar/x509";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const crypto = webcrypto;
// The library types its provider with the DOM's Crypto, which Node's WebCrypto implements.
x509.cryptoProvider.set(crypto as never);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface KeyPairPem {
  cert: string;
  key: string;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
}

/** PEM blocks end with a newline, so that concatenated ones stay a valid bundle. */
function withNewline(pem: string): string {
  const unix = pem.replace(/\r\n/g, "\n");
  return unix.endsWith("\n") ? unix : `${unix}\n`;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return withNewline(x509.PemConverter.encode(der, "PRIVATE KEY"));
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return crypto.subtle.importKey("pkcs8", der, ALGORITHM, false, ["sign"]);
}

/** A self-signed CA certificate and its key, valid from a minute ago (clock skew) for `validityMs`. */
export async function createCa(
  commonName: string,
  validityMs: number,
  now = new Date(),
): Promise<KeyPairPem> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + validityMs),
    signingAlgorithm: ALGORITHM,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: withNewline(cert.toString("pem")), key: await privateKeyPem(keys.privateKey) };
}

/** A serving certificate for `names` (DNS names and IP addresses) signed by `ca`. */
export async function issueServingCertificate(
  ca: KeyPairPem,
  names: readonly string[],
  validityMs: number,
  now = new Date(),
): Promise<KeyPairPem> {
  const caCert = new x509.X509Certificate(ca.cert);
  const keys = await generateKeys();
  const notAfter = Math.min(now.getTime() + validityMs, caCert.notAfter.getTime());
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${names[0] ?? "kpo-webhook"}`,
    issuer: caCert.subject,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(notAfter),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey as never,
    signingKey: (await importPrivateKey(ca.key)) as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({ type: isIP(value) ? ("ip" as const) : ("dns" as const), value })),
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { cert: withNewline(cert.toString("pem")), key: await privateKeyPem(keys.privateKey) };
}

/** What the rotation needs to know of a certificate: when it ends and whom it names. */
export interface CertificateFacts {
  notAfter: Date;
  names: string[];
  fingerprint: string;
  issuer: string;
}

/** Parses the first certificate of a PEM; undefined when it is not one. */
export function certificateFacts(pem: string | undefined): CertificateFacts | undefined {
  if (!pem) return undefined;
  try {
    const cert = new NodeX509(pem);
    const names = (cert.subjectAltName ?? "")
      .split(", ")
      .map((entry) => entry.replace(/^(DNS|IP Address):/, ""))
      .filter((n) => n !== "");
    return {
      notAfter: new Date(cert.validTo),
      names,
      fingerprint: cert.fingerprint256,
      issuer: cert.issuer,
    };
  } catch {
    return undefined;
  }
}

/** Every certificate of a PEM bundle, each as its own PEM block. */
export function splitPemBundle(bundle: string): string[] {
  return [...bundle.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map(
    (m) => `${m[0]}\n`,
  );
}
