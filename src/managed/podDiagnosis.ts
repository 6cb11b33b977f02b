// Why a managed Keycloak's pods are not becoming ready, told in the words of whoever knows: the
// kubelet (an image that cannot be pulled, a Secret key that is missing, a crash loop), Keycloak
// itself (its failure, e.g. a build-time option that differs from the image's, is the container's
// termination message: render.ts sets terminationMessagePolicy FallbackToLogsOnError, so the end of
// its log is one when it writes none), the scheduler (no node fits) or the eviction manager.
//
// A pod that is only on its way — being scheduled, pulling, creating its container, running but
// not yet passing its readiness probe — has no diagnosis: the instance stays KeycloakNotReady and
// the lifecycle waits for it without counting attempts. A diagnosed failure is KeycloakPodFailing,
// which counts, so a crash loop ends in Failed once the retries are exhausted.
//
// The message names the pod, the container and the reason, and carries the kubelet's or Keycloak's
// own message, bounded. It is built from pod status only, never from the pod spec (no env values);
// the values of the Secrets the operator knows are masked in case a log line echoes one.
import type { V1ContainerState, V1ContainerStatus, V1Pod } from "@kubernetes/client-node";

/** The Ready condition's reason when a pod of the StatefulSet is failing rather than starting. */
export const KEYCLOAK_POD_FAILING = "KeycloakPodFailing";

export interface PodDiagnosis {
  reason: typeof KEYCLOAK_POD_FAILING;
  message: string;
}

/**
 * Waiting reasons that are failures: they do not clear without a change (or a back-off that a
 * reader should know about). Any other waiting reason (ContainerCreating, PodInitializing) is
 * progress.
 */
export const FAILING_WAITING_REASONS: ReadonlySet<string> = new Set([
  "CrashLoopBackOff",
  "ImagePullBackOff",
  "ErrImagePull",
  "ErrImageNeverPull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "PostStartHookError",
]);

/** The kubelet's, scheduler's or eviction's message: its beginning says what happened. */
const MAX_DETAIL = 300;
/** Keycloak's termination message (often the end of its log): its end holds the error. */
const MAX_TERMINATION = 400;
/** The whole message, below the lifecycle's own bound so nothing it adds is cut. */
export const MAX_DIAGNOSIS_LENGTH = 900;
/** Secret values shorter than this are not masked: they would mask ordinary words. */
const MIN_MASKED_LENGTH = 4;

/** A message as it may be shown: Secret values masked (before any cut), on one line. */
type Clean = (text: string | undefined) => string;

function cleaner(secrets: readonly string[]): Clean {
  const masked = secrets.filter((s) => s.length >= MIN_MASKED_LENGTH);
  return (text) => {
    let out = text ?? "";
    for (const s of masked) out = out.split(s).join("***");
    return out.replace(/\s+/g, " ").trim();
  };
}

function head(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function tail(text: string, max: number): string {
  return text.length > max ? `…${text.slice(text.length - max + 1)}` : text;
}

/** "Reason (message)", the message bounded from its start. */
function reasonWithDetail(reason: string, detail: string): string {
  return detail ? `${reason} (${head(detail, MAX_DETAIL)})` : reason;
}

function termination(state: V1ContainerState | undefined, label: string, clean: Clean): string | undefined {
  const t = state?.terminated;
  if (!t) return undefined;
  const message = clean(t.message);
  const reason = t.reason ? ` (${t.reason})` : "";
  return `${label} ${t.exitCode}${reason}${message ? `: ${tail(message, MAX_TERMINATION)}` : ""}`;
}

function containerFailure(status: V1ContainerStatus, clean: Clean): string | undefined {
  const waiting = status.state?.waiting;
  if (waiting?.reason && FAILING_WAITING_REASONS.has(waiting.reason)) {
    const last = termination(status.lastState, "last exit", clean);
    return `${reasonWithDetail(waiting.reason, clean(waiting.message))}${last ? `; ${last}` : ""}`;
  }
  const terminated = status.state?.terminated;
  if (terminated && terminated.exitCode !== 0) return termination(status.state, "terminated, exit", clean);
  return undefined;
}

/** What is wrong with one pod, or undefined when it is ready or on its way. */
function podFailure(pod: V1Pod, clean: Clean): string | undefined {
  const name = `pod ${pod.metadata?.name ?? ""}`;
  const status = pod.status;
  // The Pod's phase (an evicted or otherwise failed pod), not the instance's.
  if (status?.phase === "Failed") {
    return `${name}: ${reasonWithDetail(status.reason ?? "Failed", clean(status.message))}`;
  }
  const scheduled = status?.conditions?.find((c) => c.type === "PodScheduled");
  if (scheduled?.status === "False") {
    return `${name}: ${reasonWithDetail(scheduled.reason ?? "NotScheduled", clean(scheduled.message))}`;
  }
  const containers: [string, V1ContainerStatus[] | undefined][] = [
    ["init container", status?.initContainerStatuses],
    ["container", status?.containerStatuses],
  ];
  for (const [label, statuses] of containers) {
    for (const c of statuses ?? []) {
      const failure = containerFailure(c, clean);
      if (failure) return `${name} ${label} ${c.name}: ${failure}`;
    }
  }
  return undefined;
}

/**
 * The first failing pod (by name) of the list, with how many others fail too; undefined when every
 * pod is ready or on its way. Pods being deleted are skipped: a rollout replaces them.
 * `secrets` are values to mask wherever they appear (the passwords the pods receive).
 */
export function diagnosePods(
  pods: readonly V1Pod[],
  secrets: readonly string[] = [],
): PodDiagnosis | undefined {
  const clean = cleaner(secrets);
  const failures = [...pods]
    .filter((p) => !p.metadata?.deletionTimestamp)
    .sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""))
    .map((p) => podFailure(p, clean))
    .filter((f): f is string => f !== undefined);
  const [first] = failures;
  if (first === undefined) return undefined;
  const more = failures.length > 1 ? `; ${failures.length - 1} more pod(s) failing` : "";
  const message = head(first, MAX_DIAGNOSIS_LENGTH - more.length) + more;
  return { reason: KEYCLOAK_POD_FAILING, message };
}
