// One policy evaluation through the OPA wasm ABI (1.2+) export `opa_eval`, with the input JSON encoded
// straight into wasm memory. opa-wasm's own evaluate() does the same call, but first encodes the
// input into a fresh ArrayBuffer and copies it, and decodes the result with a new TextDecoder and a
// byte-by-byte scan: about 3 µs and two short-lived buffers per decision, which the GC later pays for.
// Everything else (loading, builtins, setData) stays opa-wasm's.
import type { LoadedPolicy } from "@open-policy-agent/opa-wasm";

/** The LoadedPolicy fields this module reads; opa-wasm sets them in its constructor and setData(). */
interface PolicyInternals {
  minorVersion: number;
  mem: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  wasmInstance: { exports: Record<string, unknown> };
  dataAddr: number;
  dataHeapPtr: number;
}

type OpaEval = (
  reserved: number,
  entrypoint: number,
  dataAddr: number,
  inputAddr: number,
  inputLen: number,
  heapPtr: number,
  format: number,
) => number;

const WASM_PAGE = 65_536;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Evaluates `entrypoint` for an input given as JSON text; returns the parsed result set. */
export type JsonEvaluator = (inputJson: string) => unknown;

/** opa-wasm's own path, for policies directEvaluator cannot drive. */
export function libraryEvaluator(policy: LoadedPolicy, entrypoint: number): JsonEvaluator {
  return (inputJson: string): unknown =>
    policy.evaluate(encoder.encode(inputJson).buffer, entrypoint) as unknown;
}

/**
 * A fast evaluator for a loaded policy (call it after setData: it reads the heap pointer setData
 * leaves), or undefined when the policy does not expose what it needs (another opa-wasm version or
 * an ABI before 1.2), in which case callers use policy.evaluate.
 */
export function directEvaluator(policy: LoadedPolicy, entrypoint: number): JsonEvaluator | undefined {
  const p = policy as unknown as Partial<PolicyInternals>;
  const opaEval = p.wasmInstance?.exports.opa_eval as OpaEval | undefined;
  const { mem, dataAddr, dataHeapPtr, minorVersion } = p;
  if (
    typeof opaEval !== "function" ||
    typeof mem?.grow !== "function" ||
    !(mem.buffer instanceof ArrayBuffer) ||
    typeof dataAddr !== "number" ||
    typeof dataHeapPtr !== "number" ||
    typeof minorVersion !== "number" ||
    minorVersion < 2
  ) {
    return undefined;
  }
  return (inputJson: string) => {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const room = inputJson.length * 3;
    const missing = dataHeapPtr + room - mem.buffer.byteLength;
    if (missing > 0) mem.grow(Math.ceil(missing / WASM_PAGE));
    const { written } = encoder.encodeInto(inputJson, new Uint8Array(mem.buffer, dataHeapPtr, room));
    // The heap for this evaluation starts after the input; every call starts from the same point, so
    // memory used by one evaluation is reused by the next (as opa-wasm does).
    const resultAddr = opaEval(0, entrypoint, dataAddr, dataHeapPtr, written, dataHeapPtr + written, 0);
    const bytes = new Uint8Array(mem.buffer, resultAddr); // re-read: the evaluation may have grown memory
    const end = bytes.indexOf(0);
    if (end < 0) throw new Error("opa_eval returned a result that is not NUL-terminated");
    return JSON.parse(decoder.decode(bytes.subarray(0, end))) as unknown;
  };
}
