import { describe, expect, it } from "vitest";
import type { V1ContainerStatus, V1Pod, V1PodStatus } from "@kubernetes/client-node";
import { diagnosePods, KEYCLOAK_POD_FAILING, MAX_DIAGNOSIS_LENGTH } from "./podDiagnosis.js";

function pod(name: string, status: V1PodStatus, deleting = false): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "idp",
      ...(deleting ? { deletionTimestamp: new Date("2026-12-01T10:00:00Z") } : {}),
    },
    spec: {
      containers: [
        {
          name: "keycloak",
          image: "registry.example/keycloak:26",
          env: [{ name: "KC_DB_URL_HOST", value: "db.idp.svc" }],
        },
      ],
    },
    status,
  };
}

const scheduled = { type: "PodScheduled", status: "True" };

function keycloak(state: Partial<V1ContainerStatus>): V1ContainerStatus {
  return {
    name: "keycloak",
    image: "registry.example/keycloak:26",
    imageID: "",
    ready: false,
    restartCount: 0,
    ...state,
  };
}

const running = (status: Partial<V1ContainerStatus>[]): V1PodStatus => ({
  phase: "Running",
  conditions: [scheduled],
  containerStatuses: status.map(keycloak),
});

const BACK_OFF =
  "back-off 40s restarting failed container=keycloak pod=kc-0_idp(5e1c0a6e-8d1f-4a43-9f0e-3d3c1f3d2b11)";
const KEYCLOAK_ERROR =
  "2026-12-01 10:00:01,234 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) ERROR: " +
  "The following build time options have values that differ from what is persisted - the new values will NOT be used until another build is run: kc.db";

describe("diagnosePods", () => {
  it("Given pods that are being scheduled, creating containers or running but not yet ready, When diagnosed, Then there is no diagnosis", () => {
    const pods = [
      pod("kc-0", { phase: "Pending" }),
      pod("kc-1", {
        phase: "Pending",
        conditions: [scheduled],
        containerStatuses: [keycloak({ state: { waiting: { reason: "ContainerCreating" } } })],
      }),
      pod("kc-2", running([{ state: { running: { startedAt: new Date() } } }])),
      pod("kc-3", {
        phase: "Pending",
        conditions: [scheduled],
        initContainerStatuses: [
          { ...keycloak({ state: { waiting: { reason: "PodInitializing" } } }), name: "init" },
        ],
      }),
    ];
    expect(diagnosePods(pods)).toBeUndefined();
    expect(diagnosePods([])).toBeUndefined();
  });

  it("Given a crash loop, When diagnosed, Then the message names pod and container, the back-off and Keycloak's own last exit message", () => {
    const d = diagnosePods([
      pod(
        "kc-0",
        running([
          {
            restartCount: 3,
            state: { waiting: { reason: "CrashLoopBackOff", message: BACK_OFF } },
            lastState: { terminated: { exitCode: 1, reason: "Error", message: `${KEYCLOAK_ERROR}\n` } },
          },
        ]),
      ),
    ]);
    expect(d).toEqual({
      reason: KEYCLOAK_POD_FAILING,
      message: `pod kc-0 container keycloak: CrashLoopBackOff (${BACK_OFF}); last exit 1 (Error): ${KEYCLOAK_ERROR}`,
    });
  });

  it.each([
    ["ImagePullBackOff", 'Back-off pulling image "registry.example/keycloak:nope"'],
    ["ErrImagePull", 'failed to pull and unpack image "registry.example/keycloak:nope": not found'],
    ["ErrImageNeverPull", 'Container image "keycloak:local" is not present with pull policy of Never'],
    ["InvalidImageName", 'Failed to apply default image tag "Keycloak:UPPER": invalid reference format'],
    ["CreateContainerConfigError", "couldn't find key pass in Secret idp/db-creds"],
  ])(
    "Given a container waiting in %s, When diagnosed, Then the message carries that reason and the kubelet's message",
    (reason, message) => {
      const d = diagnosePods([pod("kc-0", running([{ state: { waiting: { reason, message } } }]))]);
      expect(d).toEqual({
        reason: KEYCLOAK_POD_FAILING,
        message: `pod kc-0 container keycloak: ${reason} (${message})`,
      });
    },
  );

  it("Given an init container in a crash loop, When diagnosed, Then it is named as an init container", () => {
    const d = diagnosePods([
      pod("kc-0", {
        phase: "Pending",
        conditions: [scheduled],
        initContainerStatuses: [
          {
            ...keycloak({
              state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 10s" } },
              lastState: { terminated: { exitCode: 2, reason: "Error" } },
            }),
            name: "wait-for-db",
          },
        ],
      }),
    ]);
    expect(d?.message).toBe(
      "pod kc-0 init container wait-for-db: CrashLoopBackOff (back-off 10s); last exit 2 (Error)",
    );
  });

  it("Given a container that terminated with an error and has not restarted yet, When diagnosed, Then its exit is shown", () => {
    const d = diagnosePods([
      pod("kc-0", running([{ state: { terminated: { exitCode: 137, reason: "OOMKilled" } } }])),
    ]);
    expect(d?.message).toBe("pod kc-0 container keycloak: terminated, exit 137 (OOMKilled)");
  });

  it("Given an unschedulable pod, When diagnosed, Then the scheduler's reason and message are shown", () => {
    const message = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available.";
    const d = diagnosePods([
      pod("kc-1", {
        phase: "Pending",
        conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message }],
      }),
    ]);
    expect(d).toEqual({ reason: KEYCLOAK_POD_FAILING, message: `pod kc-1: Unschedulable (${message})` });
  });

  it("Given an evicted pod, When diagnosed, Then the eviction's reason and message are shown", () => {
    const message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi.";
    const d = diagnosePods([pod("kc-0", { phase: "Failed", reason: "Evicted", message })]);
    expect(d?.message).toBe(`pod kc-0: Evicted (${message})`);
    expect(diagnosePods([pod("kc-0", { phase: "Failed" })])?.message).toBe("pod kc-0: Failed");
  });

  it("Given several failing pods and one being deleted, When diagnosed, Then the first by name is told and the others counted", () => {
    const pull = running([
      { state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } } },
    ]);
    const d = diagnosePods([
      pod("kc-2", pull),
      pod("kc-1", pull),
      pod("kc-0", { phase: "Failed", reason: "Evicted", message: "gone" }, true),
    ]);
    expect(d?.message).toBe(
      "pod kc-1 container keycloak: ImagePullBackOff (Back-off pulling image); 1 more pod(s) failing",
    );
  });

  it("Given very long kubelet and termination messages, When diagnosed, Then both are cut, the termination message keeping its end, and the whole is bounded", () => {
    const kubelet = `back-off 5m0s ${"x".repeat(2000)}`;
    const log = `${"INFO starting ".repeat(300)}ERROR: Failed to start server in (production) mode`;
    const d = diagnosePods([
      pod(
        "kc-0",
        running([
          {
            state: { waiting: { reason: "CrashLoopBackOff", message: kubelet } },
            lastState: { terminated: { exitCode: 1, reason: "Error", message: log } },
          },
        ]),
      ),
    ]);
    const message = d?.message ?? "";
    expect(message.length).toBeLessThanOrEqual(MAX_DIAGNOSIS_LENGTH);
    expect(message).toMatch(
      /^pod kc-0 container keycloak: CrashLoopBackOff \(back-off 5m0s x+…\); last exit 1 \(Error\): …/,
    );
    expect(message.endsWith("ERROR: Failed to start server in (production) mode")).toBe(true);
    expect(message.length).toBeLessThan(kubelet.length);
  });

  it("Given a termination message that echoes a Secret value, When diagnosed with that value, Then it is masked and no env value of the pod spec appears", () => {
    const d = diagnosePods(
      [
        pod(
          "kc-0",
          running([
            {
              state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 20s" } },
              lastState: {
                terminated: {
                  exitCode: 1,
                  reason: "Error",
                  message: "FATAL: password authentication failed: s3cr3t-pw",
                },
              },
            },
          ]),
        ),
      ],
      ["s3cr3t-pw"],
    );
    expect(d?.message).toContain("password authentication failed: ***");
    expect(d?.message).not.toContain("s3cr3t-pw");
    expect(d?.message).not.toContain("db.idp.svc");
  });
});
