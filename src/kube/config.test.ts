import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadKubeConfig } from "./config.js";

function kubeconfigFile(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kpo-kubeconfig-"));
  const file = path.join(dir, "config");
  writeFileSync(
    file,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      "- name: one",
      "  cluster: {server: 'https://127.0.0.1:6443'}",
      "- name: two",
      "  cluster: {server: 'https://127.0.0.2:6443'}",
      "users:",
      "- name: admin",
      "  user: {token: abc}",
      "contexts:",
      "- name: one",
      "  context: {cluster: one, user: admin}",
      "- name: two",
      "  context: {cluster: two, user: admin}",
      "current-context: one",
      "",
    ].join("\n"),
  );
  return file;
}

describe("loadKubeConfig", () => {
  it("Given --kubeconfig, when loaded, then its current context's cluster is used", () => {
    const kc = loadKubeConfig({ kubeconfigPath: kubeconfigFile(), env: {} });
    expect(kc.getCurrentCluster()?.server).toBe("https://127.0.0.1:6443");
  });

  it("Given --kubeconfig and a context, when loaded, then that context is selected", () => {
    const kc = loadKubeConfig({ kubeconfigPath: kubeconfigFile(), context: "two", env: {} });
    expect(kc.getCurrentCluster()?.server).toBe("https://127.0.0.2:6443");
  });

  it("Given an unknown context, when loaded, then the error names it and how to list contexts", () => {
    expect(() => loadKubeConfig({ kubeconfigPath: kubeconfigFile(), context: "three", env: {} })).toThrow(
      /no context "three".*get-contexts/,
    );
  });

  it("Given a --kubeconfig path that does not exist, when loaded, then the error names the file and the flag", () => {
    expect(() => loadKubeConfig({ kubeconfigPath: "/nonexistent/kubeconfig", env: {} })).toThrow(
      /\/nonexistent\/kubeconfig \(from --kubeconfig\) does not exist/,
    );
  });
});
