// scripts/operator-image.sh builds the operator's image without Docker for the test node; the
// Dockerfile stays the reference for a Docker build. The two must put the same things in the image:
// this compares the script's own description (--spec, the values its build uses) with the runtime
// stage of the Dockerfile, so a COPY, ENV or entrypoint added to one and not the other fails here.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../src/testenv/tools.js";

interface ImageSpec {
  workdir: string;
  user: string;
  expose: string[];
  entrypoint: string[];
  cmd: string[];
  env: string[];
  labels: string[];
  app: string[];
  nodeMajor: string;
}

function scriptSpec(): ImageSpec {
  const out = execFileSync("bash", [path.join(repoRoot, "scripts/operator-image.sh"), "--spec"], {
    encoding: "utf8",
  });
  const spec: ImageSpec = {
    workdir: "",
    user: "",
    expose: [],
    entrypoint: [],
    cmd: [],
    env: [],
    labels: [],
    app: [],
    nodeMajor: "",
  };
  for (const line of out.trim().split("\n")) {
    const [key, ...rest] = line.split(" ");
    const value = rest.join(" ");
    if (key === "workdir") spec.workdir = value;
    else if (key === "user") spec.user = value;
    else if (key === "expose") spec.expose.push(value);
    else if (key === "entrypoint") spec.entrypoint = JSON.parse(value) as string[];
    else if (key === "cmd") spec.cmd = JSON.parse(value) as string[];
    else if (key === "env") spec.env.push(value);
    else if (key === "label") spec.labels.push(value);
    else if (key === "app") spec.app.push(value);
    else if (key === "node-major") spec.nodeMajor = value;
    else throw new Error(`operator-image.sh --spec printed an unknown line: ${line}`);
  }
  return spec;
}

/** The Dockerfile's last stage (the image), its ARGs resolved from their defaults. */
function dockerfileSpec(text: string): ImageSpec & { runtimeImage: string } {
  const lines = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const args = new Map<string, string>();
  for (const l of lines) {
    const m = /^ARG (\w+)=(\S+)$/.exec(l);
    if (m) args.set(m[1]!, m[2]!);
  }
  const lastFrom = lines.findLastIndex((l) => l.startsWith("FROM "));
  const fromImage = lines[lastFrom]!.split(/\s+/)[1]!;
  const runtimeImage = fromImage.replace(/^\$\{(\w+)\}$/, (_, name: string) => args.get(name) ?? name);
  const spec = {
    workdir: "",
    user: "",
    expose: [] as string[],
    entrypoint: [] as string[],
    cmd: [] as string[],
    env: [] as string[],
    labels: [] as string[],
    app: [] as string[],
    nodeMajor: /nodejs(\d+)/.exec(runtimeImage)?.[1] ?? "",
    runtimeImage,
  };
  for (const l of lines.slice(lastFrom + 1)) {
    const [instruction, ...words] = l.split(/\s+/);
    const rest = l.slice(instruction!.length).trim();
    switch (instruction) {
      case "WORKDIR":
        spec.workdir = rest;
        break;
      case "USER":
        spec.user = rest;
        break;
      case "EXPOSE":
        spec.expose.push(...words.map((p) => (p.includes("/") ? p : `${p}/tcp`)));
        break;
      case "ENTRYPOINT":
        spec.entrypoint = JSON.parse(rest) as string[];
        break;
      case "CMD":
        spec.cmd = JSON.parse(rest) as string[];
        break;
      case "ENV":
        spec.env.push(...words);
        break;
      case "LABEL":
        for (const m of rest.matchAll(/([\w.-]+)="([^"]*)"/g)) spec.labels.push(`${m[1]}=${m[2]}`);
        break;
      case "COPY": {
        const paths = words.filter((w) => !w.startsWith("--"));
        const dest = paths.at(-1)!;
        const source = paths[0]!;
        // "COPY package.json ./" lands as package.json; "COPY machines ./machines" as machines.
        const target = dest.endsWith("/") ? path.posix.join(dest, path.posix.basename(source)) : dest;
        spec.app.push(path.posix.normalize(target));
        break;
      }
      default:
        throw new Error(
          `the Dockerfile's runtime stage has ${instruction}, which this test does not compare`,
        );
    }
  }
  return spec;
}

describe("the operator image built without Docker (scripts/operator-image.sh)", () => {
  const script = scriptSpec();
  const docker = dockerfileSpec(readFileSync(path.join(repoRoot, "Dockerfile"), "utf8"));

  it("copies into the working directory exactly what the Dockerfile copies", () => {
    expect(script.workdir).toBe(docker.workdir);
    expect([...script.app].sort()).toEqual([...docker.app].sort());
  });

  it("runs the same entrypoint and command, as the same user, with the same environment and port", () => {
    expect(script.entrypoint).toEqual(docker.entrypoint);
    expect(script.cmd).toEqual(docker.cmd);
    expect(script.user).toBe("65532:65532");
    expect(script.user).toBe(docker.user);
    expect([...script.env].sort()).toEqual([...docker.env].sort());
    expect(script.expose).toEqual(docker.expose);
    expect([...script.labels].sort()).toEqual([...docker.labels].sort());
  });

  it("runs the same major version of Node as the Dockerfile's runtime image", () => {
    expect(docker.nodeMajor, `no Node version in ${docker.runtimeImage}`).not.toBe("");
    expect(script.nodeMajor).toBe(docker.nodeMajor);
  });
});
