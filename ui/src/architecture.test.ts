// The web app's layers (ARCHITECTURE §3): app -> features -> components/api/lib.
// A feature never imports another feature; components, api and lib never import a
// feature or the app. Checked on the import lines, like the Rust side's layer test.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const src = resolve(__dirname);

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.(ts|tsx)$/.test(name) ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)]
    .map((m) => m[1] ?? m[2] ?? "")
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(src, resolve(dirname(file), spec)));
}

describe("layers", () => {
  it("features do not import each other; shared code imports no feature or app", () => {
    const wrong: string[] = [];
    for (const file of files(src)) {
      const from = relative(src, file);
      if (from.endsWith(".test.ts") || from.endsWith(".test.tsx")) continue;
      const [layer, feature] = from.split("/");
      for (const target of imports(file)) {
        const [toLayer, toFeature] = target.split("/");
        if (layer === "features" && toLayer === "features" && toFeature !== feature) wrong.push(`${from} -> ${target}`);
        if (["components", "api", "lib"].includes(layer ?? "") && (toLayer === "features" || toLayer === "app")) wrong.push(`${from} -> ${target}`);
        if (layer === "features" && toLayer === "app") wrong.push(`${from} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
