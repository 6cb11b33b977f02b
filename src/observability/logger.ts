// One JSON logger for the whole process. Child loggers carry the resource key and reconcile id.
// Secrets never reach a log line: callers log names and keys, never values, and the redact list
// below is a second line of defence for fields that commonly hold them.
import { pino, type Logger } from "pino";

export type { Logger };

export const rootLogger: Logger = pino({
  level: process.env.KPO_LOG_LEVEL ?? "info",
  base: { app: "kpo" },
  timestamp: pino.stdTimeFunctions.isoTime,
  redact: {
    paths: [
      "password",
      "secret",
      "clientSecret",
      "token",
      "*.password",
      "*.secret",
      "*.clientSecret",
      "*.token",
    ],
    censor: "[redacted]",
  },
});

/** A child logger for one component, e.g. `loggerFor("policy")`. */
export function loggerFor(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ component, ...bindings });
}
