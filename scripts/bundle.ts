// The operator as one file, dist/kpo.mjs, which the image runs (`node dist/kpo.mjs run …`):
//
//   npx tsx scripts/bundle.ts [--outfile PATH]
//
// Why a bundle: loaded module by module, @kubernetes/client-node alone keeps about 70 MiB resident
// (thousands of modules, every generated API and model, their full source text kept by V8); the
// operator's whole graph idles at about 150 MiB before it holds a single object. Bundled, only what
// the operator reaches is kept: the same process idles at about 100 MiB (docs/benchmarks.md). Names
// are not minified, so stack traces in the logs stay readable; whitespace and syntax are.
// Type-checking stays with tsc (`make lint`); esbuild only strips the types.
import path from "node:path";
import { build } from "esbuild";
import { repoRoot } from "../src/testenv/tools.js";

const args = process.argv.slice(2);
const outIndex = args.indexOf("--outfile");
const outfile = path.resolve(
  outIndex >= 0 ? (args[outIndex + 1] ?? "") : path.join(repoRoot, "dist/kpo.mjs"),
);

await build({
  entryPoints: [path.join(repoRoot, "src/cli.ts")],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "eof",
  // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: "warning",
});
process.stdout.write(`${path.relative(process.cwd(), outfile)}\n`);
