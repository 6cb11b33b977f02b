// The data override file: JSON or YAML holding a partial OPA data document (same root as the
// bundle's data.json, e.g. {kpo: {quota: {namespaces: {team-a: {maxClientsPerNamespace: 50}}}}}),
// deep-merged over the bundle's data so a security team can tune limits and modes without a rebuild.
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";

export type DataDocument = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Objects merge key by key; anything else (arrays, scalars, null) in the override replaces the base
 * value, so an override can shorten a list. Neither argument is modified.
 */
export function deepMerge(base: DataDocument, override: DataDocument): DataDocument {
  const merged: DataDocument = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isRecord(current) && isRecord(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

/** Parses an override document; throws an Error naming the file and what to fix. */
export function parseDataOverride(text: string, file: string): DataDocument {
  let parsed: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both.
    parsed = parseYaml(text);
  } catch (err) {
    throw new Error(
      `policy data override ${file} is not valid JSON or YAML: ${(err as Error).message}. Fix the syntax.`,
      { cause: err },
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isRecord(parsed)) {
    throw new Error(
      `policy data override ${file} must hold an object (a partial data document such as {kpo: {quota: ...}}), not ${Array.isArray(parsed) ? "a list" : typeof parsed}.`,
    );
  }
  return parsed;
}

export async function readDataOverride(file: string): Promise<{ data: DataDocument; raw: string }> {
  let raw: string;
  try {
    raw = await readFile(file, "utf8");
  } catch (err) {
    throw new Error(
      `policy data override ${file} cannot be read: ${(err as Error).message}. Check the path and mount.`,
      { cause: err },
    );
  }
  return { data: parseDataOverride(raw, file), raw };
}
