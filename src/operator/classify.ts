// Turn a failure of a Keycloak call (or an owned-object write) into the lifecycle's vocabulary,
// with what was being done in front of the message. Which class it gets is decided by
// `isTransient` (src/lifecycle/errors.ts, the one error policy): transient errors retry with
// backoff (Degraded), permanent ones stop (Failed) until something changes.
import { PermanentError, TransientError, isTransient } from "../lifecycle/errors.js";

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
