// Turn a Keycloak-layer error into the lifecycle's vocabulary: transient errors retry with backoff
// (Degraded), permanent ones stop (Failed) until something changes.
import { isTransient } from "../keycloak/index.js";
import { PermanentError, TransientError } from "../lifecycle/errors.js";

export async function classified<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof TransientError || err instanceof PermanentError) throw err;
    const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
    throw isTransient(err)
      ? new TransientError(message, { cause: err })
      : new PermanentError(message, { cause: err });
  }
}
