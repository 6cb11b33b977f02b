import { defineConfig } from "vitest/config";

// Three projects: fast unit tests (fakes allowed), integration tests against a real
// kube-apiserver + etcd + Keycloak started once by the global setup in src/testenv/, and e2e tests
// on a real node (src/testenv/node.ts), which each file starts for itself (one node per machine).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "test/unit/**/*.test.ts"],
          environment: "node",
          // Tests assert on behaviour, not log lines; keep the run's output readable.
          env: { KPO_LOG_LEVEL: process.env.KPO_LOG_LEVEL ?? "silent" },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          environment: "node",
          // Operators started by the tests log to files in the environment's directory.
          env: { KPO_LOG_LEVEL: process.env.KPO_LOG_LEVEL ?? "warn" },
          globalSetup: ["test/integration/globalSetup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          env: { KPO_LOG_LEVEL: process.env.KPO_LOG_LEVEL ?? "warn" },
          testTimeout: 300_000,
          hookTimeout: 900_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
