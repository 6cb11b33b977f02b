// Reads the CRD manifests in crds/, the single source of the API. Used by the type and docs
// generator, by tests that validate examples against the schemas, and by anything that installs
// the CRDs (test environment, `kpo` commands).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadYaml, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import { parse } from "yaml";
import { packageRoot } from "../packageRoot.js";

/** The kinds of the API, in dependency order (an instance before its realms, a realm before its clients and users). */
export const CRD_KINDS = ["KeycloakInstance", "KeycloakRealm", "KeycloakClient", "KeycloakUser"] as const;
export type CrdKind = (typeof CRD_KINDS)[number];

/** File name of each kind's manifest in crds/ (kubebuilder naming: <group>_<plural>.yaml). */
export const CRD_FILES: Readonly<Record<CrdKind, string>> = {
  KeycloakInstance: "keycloak.kpo.dev_keycloakinstances.yaml",
  KeycloakRealm: "keycloak.kpo.dev_keycloakrealms.yaml",
  KeycloakClient: "keycloak.kpo.dev_keycloakclients.yaml",
  KeycloakUser: "keycloak.kpo.dev_keycloakusers.yaml",
};

/** A CEL rule as written in `x-kubernetes-validations`. */
export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: string;
  fieldPath?: string;
}

/**
 * An OpenAPI v3 schema node exactly as written in the manifest (JSON field names such as `default`
 * and `x-kubernetes-validations`, unlike the renamed fields of client-node's V1JSONSchemaProps).
 */
export interface CrdSchema {
  type?: string;
  description?: string;
  format?: string;
  properties?: Record<string, CrdSchema>;
  required?: string[];
  items?: CrdSchema;
  additionalProperties?: CrdSchema | boolean;
  anyOf?: CrdSchema[];
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  "x-kubernetes-validations"?: CelRule[];
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-preserve-unknown-fields"?: boolean;
}

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** A CustomResourceDefinition manifest as written in crds/ (plain JSON field names). */
export interface CrdManifest {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    scope: "Namespaced" | "Cluster";
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      subresources?: { status?: Record<string, never> };
      additionalPrinterColumns?: PrinterColumn[];
      schema: { openAPIV3Schema: CrdSchema };
    }[];
  };
}

/** The crds/ directory of this checkout, package or image. */
export function crdDirectory(): string {
  const dir = join(packageRoot(), "crds");
  if (!existsSync(join(dir, CRD_FILES.KeycloakRealm))) {
    throw new Error(`${dir}/${CRD_FILES.KeycloakRealm} not found: the installation is incomplete`);
  }
  return dir;
}

function readText(kind: CrdKind, dir: string): { path: string; text: string } {
  const path = join(dir, CRD_FILES[kind]);
  return { path, text: readFileSync(path, "utf8") };
}

/** Parses one kind's CustomResourceDefinition from `dir` (default: the repository's crds/). */
export function readCrd(kind: CrdKind, dir: string = crdDirectory()): CrdManifest {
  const { path, text } = readText(kind, dir);
  const crd = parse(text) as Partial<CrdManifest> | null;
  if (crd?.kind !== "CustomResourceDefinition" || crd.spec?.names?.kind !== kind) {
    throw new Error(
      `${path} is not the CustomResourceDefinition of ${kind}; restore it from version control`,
    );
  }
  return crd as CrdManifest;
}

/** All CustomResourceDefinitions, in CRD_KINDS order. */
export function readCrds(dir: string = crdDirectory()): CrdManifest[] {
  return CRD_KINDS.map((kind) => readCrd(kind, dir));
}

/**
 * One kind's CRD as a client-node model, ready for ApiextensionsV1Api or KubernetesObjectApi.
 * Passing the plain manifest from readCrd to those clients silently drops `default` and
 * `x-kubernetes-*` fields, because their serializer only knows the renamed model fields.
 */
export function readCrdForApiServer(kind: CrdKind, dir: string = crdDirectory()): V1CustomResourceDefinition {
  return loadYaml<V1CustomResourceDefinition>(readText(kind, dir).text);
}

/** All CRDs as client-node models, in CRD_KINDS order (see readCrdForApiServer). */
export function readCrdsForApiServer(dir: string = crdDirectory()): V1CustomResourceDefinition[] {
  return CRD_KINDS.map((kind) => readCrdForApiServer(kind, dir));
}

/** The OpenAPI v3 schema of the single served version of a CRD. */
export function openApiSchema(crd: CrdManifest): CrdSchema {
  const version = crd.spec.versions[0];
  if (crd.spec.versions.length !== 1 || version === undefined) {
    throw new Error(
      `CRD ${crd.metadata.name} must have exactly one version; the generator and validators assume a single served version`,
    );
  }
  return version.schema.openAPIV3Schema;
}
