import * as https from "node:https";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeConfig, type V1Namespace } from "@kubernetes/client-node";
import { GROUP, VERSION } from "../api/index.js";
import { Informer } from "../kube/informers.js";
import type { Caches } from "../operator/facts.js";
import type { Decision } from "../policy/decision.js";
import { certificateFacts, createCa, issueServingCertificate, type KeyPairPem } from "./certificates.js";
import { AdmissionServer, VALIDATE_PATH } from "./server.js";
import { admissionValidator } from "./validator.js";

const DAY = 86_400_000;

function emptyCaches(): Caches {
  const cache = <T extends object>(plural: string) =>
    new Informer<T & { metadata?: object }>({
      kubeConfig: new KubeConfig(),
      apiVersion: "v1",
      plural,
    }) as never;
  return {
    instances: cache("keycloakinstances"),
    realms: cache("keycloakrealms"),
    clients: cache("keycloakclients"),
    users: cache("keycloakusers"),
    namespaces: cache<V1Namespace>("namespaces"),
  };
}

interface Answer {
  status: number;
  body: string;
}

function post(
  port: number,
  ca: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port,
        path: VALIDATE_PATH,
        method: "POST",
        ca,
        headers: { "Content-Type": "application/json", ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The issuer of the certificate the server presents to a new connection. */
function servedIssuer(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, ca }, () => {
      const issuer = String(socket.getPeerCertificate().issuer.CN);
      socket.end();
      resolve(issuer);
    });
    socket.on("error", reject);
  });
}

const review = (request: Record<string, unknown>) =>
  JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request });

const realmRequest = {
  uid: "u1",
  kind: { group: GROUP, version: VERSION, kind: "KeycloakRealm" },
  operation: "CREATE",
  namespace: "team-a",
  object: {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "KeycloakRealm",
    metadata: { name: "shop", namespace: "team-a" },
    spec: { instanceRef: { name: "kc" }, realmName: "shop" },
  },
};

describe("admission server", () => {
  let ca: KeyPairPem;
  let otherCa: KeyPairPem;
  let server: AdmissionServer;
  let port: number;
  let ready = true;
  let decision: Decision = { allowed: true, violations: [], warnings: [] };

  beforeAll(async () => {
    ca = await createCa("first-ca", DAY);
    otherCa = await createCa("second-ca", DAY);
    server = new AdmissionServer({
      bindAddress: "127.0.0.1:0",
      validator: admissionValidator({ caches: emptyCaches(), decide: () => decision }),
      ready: () => ready,
      maxBodyBytes: 64 * 1024,
    });
    ({ port } = await server.start(await issueServingCertificate(ca, ["127.0.0.1"], DAY)));
  });
  afterAll(() => server.stop());

  it("Given an enforce violation, when a realm is reviewed, then the answer refuses it with the message", async () => {
    decision = {
      allowed: false,
      violations: [{ policy: "quota", code: "TooMany", message: "at most 2 realms", enforcement: "enforce" }],
      warnings: [],
    };
    const answer = await post(port, ca.cert, review(realmRequest));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "u1",
        allowed: false,
        status: {
          metadata: {},
          status: "Failure",
          code: 403,
          reason: "Forbidden",
          message: "[quota/TooMany] at most 2 realms",
        },
      },
    });
  });

  it("Given a warn violation, when a realm is reviewed, then it is allowed with the warning", async () => {
    decision = {
      allowed: true,
      violations: [{ policy: "production", code: "Weak", message: "weak passwords", enforcement: "warn" }],
      warnings: ["weak passwords"],
    };
    const answer = await post(port, ca.cert, review(realmRequest));
    expect((JSON.parse(answer.body) as { response: unknown }).response).toEqual({
      uid: "u1",
      allowed: true,
      warnings: ["weak passwords"],
    });
  });

  it("Given bodies that are no AdmissionReview, when posted, then each gets a 4xx and the server keeps serving", async () => {
    expect((await post(port, ca.cert, "{not json")).status).toBe(400);
    expect((await post(port, ca.cert, JSON.stringify({ kind: "Pod" }))).status).toBe(400);
    expect((await post(port, ca.cert, JSON.stringify([1, 2]))).status).toBe(400);
    expect(
      (
        await post(
          port,
          ca.cert,
          JSON.stringify({
            apiVersion: "admission.k8s.io/v1beta1",
            kind: "AdmissionReview",
            request: realmRequest,
          }),
        )
      ).status,
    ).toBe(400);
    expect((await post(port, ca.cert, review({ ...realmRequest, uid: undefined }))).status).toBe(400);
    expect((await post(port, ca.cert, Buffer.alloc(65 * 1024, 0x20))).status).toBe(413);
    expect((await post(port, ca.cert, review(realmRequest), { "Content-Type": "text/plain" })).status).toBe(
      415,
    );
    expect((await post(port, ca.cert, review(realmRequest))).status).toBe(200);
  });

  it("Given a review of a kind the operator does not manage or of a malformed object, then a well-formed refusal answers it", async () => {
    const pod = await post(
      port,
      ca.cert,
      review({ ...realmRequest, kind: { group: "", version: "v1", kind: "Pod" } }),
    );
    expect(pod.status).toBe(200);
    expect((JSON.parse(pod.body) as { response: unknown }).response).toMatchObject({
      uid: "u1",
      allowed: false,
      status: { code: 400 },
    });
    const noSpec = await post(
      port,
      ca.cert,
      review({ ...realmRequest, object: { kind: "KeycloakRealm", metadata: { name: "x" } } }),
    );
    expect((JSON.parse(noSpec.body) as { response: unknown }).response).toMatchObject({
      allowed: false,
      status: { code: 400, message: "KeycloakRealm: the object has no spec" },
    });
  });

  it("Given caches not synced, when a review comes, then 503 lets the API server apply the failurePolicy", async () => {
    ready = false;
    try {
      expect((await post(port, ca.cert, review(realmRequest))).status).toBe(503);
    } finally {
      ready = true;
    }
  });

  it("Given a new certificate, when it is set, then new connections get it without a restart", async () => {
    expect(await servedIssuer(port, ca.cert)).toBe("first-ca");
    const next = await issueServingCertificate(otherCa, ["127.0.0.1"], DAY);
    server.setCertificate(next);
    expect(await servedIssuer(port, otherCa.cert)).toBe("second-ca");
    expect(certificateFacts(next.cert)?.names).toEqual(["127.0.0.1"]);
    server.setCertificate(await issueServingCertificate(ca, ["127.0.0.1"], DAY));
  });
});
