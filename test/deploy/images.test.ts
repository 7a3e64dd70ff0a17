/**
 * The documented check for the images, workflows, Makefile and docker-compose.yml.
 * Docker cannot build here (a client, no daemon) and neither hadolint nor actionlint is packaged
 * for this machine, so this test parses the files itself: each Dockerfile's stages, build args,
 * cache mounts, pinned base images, users and ports; each workflow's triggers, jobs, steps, tags
 * and cache; `make -n` for every target; the compose file's services and mounts. Nothing here
 * builds an image, runs a workflow or starts a container.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const root = join(import.meta.dirname, "..", "..");
const read = (p: string): string => readFileSync(join(root, p), "utf8");

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}
interface Stage {
  name: string | undefined;
  image: string;
  instructions: Instruction[];
}
interface Dockerfile {
  /** ARGs before the first FROM (usable in FROM lines), name → default. */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

/** Joins `\` continuations, drops comments and blank lines, splits into stages. */
function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending = "";
  let start = 0;
  text.split("\n").forEach((raw, i) => {
    const line = raw.trimEnd();
    if (pending === "" && (line.trim() === "" || line.trimStart().startsWith("#"))) return;
    if (pending !== "" && line.trimStart().startsWith("#")) return;
    if (pending === "") start = i + 1;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = "";
    const m = /^(\S+)\s*(.*)$/s.exec(full);
    if (m) instructions.push({ keyword: (m[1] ?? "").toUpperCase(), args: m[2] ?? "", line: start });
  });
  expect(pending, "a continuation runs off the end of the file").toBe("");
  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === "FROM") {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args.trim());
      if (!m) throw new Error(`line ${ins.line}: cannot parse FROM ${ins.args}`);
      stages.push({ name: m[2], image: m[1] ?? "", instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      const [name, value] = splitArg(ins.args);
      globalArgs.set(name, value);
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return { globalArgs, stages };
}

function splitArg(args: string): [string, string | undefined] {
  const eq = args.indexOf("=");
  if (eq < 0) return [args.trim(), undefined];
  return [
    args.slice(0, eq).trim(),
    args
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, "$1"),
  ];
}

/** A FROM image with the global ARGs' defaults substituted. */
function resolveImage(df: Dockerfile, image: string): string {
  return image.replace(/\$\{?(\w+)\}?/g, (_, name: string) => {
    const v = df.globalArgs.get(name);
    if (v === undefined) throw new Error(`FROM uses \${${name}} without a default`);
    return v;
  });
}

const argNames = (df: Dockerfile): string[] => [
  ...df.globalArgs.keys(),
  ...df.stages.flatMap((s) =>
    s.instructions.filter((i) => i.keyword === "ARG").map((i) => splitArg(i.args)[0]),
  ),
];
const stage = (df: Dockerfile, name: string): Stage => {
  const s = df.stages.find((st) => st.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const of = (s: Stage, keyword: string): Instruction[] => s.instructions.filter((i) => i.keyword === keyword);
const index = (s: Stage, pred: (i: Instruction) => boolean): number => s.instructions.findIndex(pred);

const DOCKERFILES = {
  gateway: "deploy/docker/gateway.Dockerfile",
  worker: "deploy/docker/worker-llamacpp.Dockerfile",
  transformers: "deploy/docker/worker-transformers.Dockerfile",
  vllm: "deploy/docker/vllm.Dockerfile",
} as const;
const parsed = Object.fromEntries(
  Object.entries(DOCKERFILES).map(([k, p]) => [k, parseDockerfile(read(p))]),
) as Record<keyof typeof DOCKERFILES, Dockerfile>;

describe("Dockerfiles", () => {
  it.each(Object.entries(DOCKERFILES))(
    "%s: known instructions, pinned base images, BuildKit syntax",
    (key, path) => {
      const df = parsed[key as keyof typeof DOCKERFILES];
      expect(read(path).startsWith("# syntax=docker/dockerfile:1")).toBe(true);
      const known = new Set(
        "ARG ENV WORKDIR COPY ADD RUN USER VOLUME EXPOSE HEALTHCHECK CMD ENTRYPOINT LABEL SHELL STOPSIGNAL".split(
          " ",
        ),
      );
      const stageNames = new Set(df.stages.map((s) => s.name));
      for (const s of df.stages) {
        for (const i of s.instructions) expect(known, `${path}:${i.line} ${i.keyword}`).toContain(i.keyword);
        if (stageNames.has(s.image)) continue; // FROM an earlier stage
        const image = resolveImage(df, s.image);
        const tag = /^[^@]+:([^:/@]+)$/.exec(image)?.[1];
        expect(tag, `${path}: ${image} has no tag`).toBeDefined();
        expect(tag).not.toBe("latest");
      }
      // Every RUN that installs packages or clones keeps its downloads in a cache mount.
      for (const s of df.stages) {
        for (const run of of(s, "RUN")) {
          const cmd = run.args;
          const needs: [RegExp, RegExp][] = [
            [/\bapt-get install\b/, /--mount=type=cache,target=\/var\/cache\/apt/],
            [/\bpip (install|wheel)\b/, /--mount=type=cache,target=\/root\/\.cache\/pip/],
            [/\bnpm (install|ci)\b/, /--mount=type=cache,target=\/root\/\.npm/],
            [/\bgit clone\b/, /--mount=type=cache,target=\/root\/\.cache\/git/],
          ];
          for (const [uses, mount] of needs) {
            if (uses.test(cmd)) expect(cmd, `${path}:${run.line}`).toMatch(mount);
          }
        }
      }
      // COPY sources exist (workers/transformers/ is written separately; skipped until it exists).
      for (const s of df.stages) {
        for (const c of of(s, "COPY")) {
          if (/--from=/.test(c.args)) continue;
          const parts = c.args.split(/\s+/).filter((p) => !p.startsWith("--"));
          for (const src of parts.slice(0, -1)) {
            if (src.startsWith("workers/transformers") && !existsSync(join(root, "workers/transformers")))
              continue;
            expect(existsSync(join(root, src)), `${path}:${c.line} COPY ${src}`).toBe(true);
          }
        }
      }
    },
  );

  it.each(["gateway", "worker"] as const)(
    "%s: builder + slim runtime, npm cache, layers ordered, non-root",
    (key) => {
      const df = parsed[key];
      expect(df.stages.map((s) => s.name)).toEqual(["builder", "runtime"]);
      expect(resolveImage(df, stage(df, "runtime").image)).toBe("node:22-bookworm-slim");
      const b = stage(df, "builder");
      const pkg = index(b, (i) => i.keyword === "COPY" && i.args.includes("package-lock.json"));
      const install = index(b, (i) => i.keyword === "RUN" && /npm install/.test(i.args));
      const src = index(b, (i) => i.keyword === "COPY" && /^src\b/.test(i.args));
      const build = index(b, (i) => i.keyword === "RUN" && /npm run build/.test(i.args));
      expect(pkg).toBeGreaterThanOrEqual(0);
      expect([pkg < install, install < src, src < build]).toEqual([true, true, true]);
      expect(of(b, "RUN").find((r) => /npm run build/.test(r.args))?.args).toMatch(/npm prune --omit=dev/);
      const r = stage(df, "runtime");
      const copies = of(r, "COPY").map((c) => c.args);
      for (const what of ["/src/dist", "/src/node_modules", "/src/package.json"])
        expect(
          copies.some((c) => c.includes("--from=builder") && c.includes(what)),
          what,
        ).toBe(true);
      const users = of(r, "USER").map((u) => u.args.trim());
      expect(users.length).toBeGreaterThan(0);
      expect(["root", "0"]).not.toContain(users.at(-1));
      expect(of(r, "HEALTHCHECK")[0]?.args).toMatch(/\/health/);
      expect(
        of(r, "RUN").some((i) =>
          /ln -s \/app\/dist\/cli\/tokenforge\.js \/usr\/local\/bin\/tokenforge/.test(i.args),
        ),
      ).toBe(true);
    },
  );

  it("gateway: serves on 8080 as deploy/k8s runs it", () => {
    const r = stage(parsed.gateway, "runtime");
    expect(of(r, "EXPOSE").map((e) => e.args)).toEqual(["8080"]);
    expect(JSON.parse(of(r, "CMD")[0]?.args ?? "null")).toEqual([
      "node",
      "dist/cli/tokenforge.js",
      "serve",
      "--host",
      "0.0.0.0",
      "--port",
      "8080",
    ]);
  });

  it("llama.cpp worker: tokenforge worker on 8000 with a model cache volume", () => {
    const r = stage(parsed.worker, "runtime");
    expect(of(r, "EXPOSE").map((e) => e.args)).toEqual(["8000"]);
    const cmd = JSON.parse(of(r, "CMD")[0]?.args ?? "[]") as string[];
    expect(cmd.slice(0, 3)).toEqual(["node", "dist/cli/tokenforge.js", "worker"]);
    expect(cmd.join(" ")).toContain("--host 0.0.0.0 --port 8000");
    expect(of(r, "VOLUME")[0]?.args).toContain("/var/cache/tokenforge");
    expect(
      of(r, "ENV")
        .map((e) => e.args)
        .join(" "),
    ).toContain("TOKENFORGE_MODEL_CACHE=/var/cache/tokenforge/models");
  });

  it("Transformers worker: pinned PyTorch CUDA runtime, pinned transformers, server.py", () => {
    const df = parsed.transformers;
    expect(resolveImage(df, df.stages[0]?.image ?? "")).toMatch(
      /^pytorch\/pytorch:[\d.]+-cuda[\d.]+-cudnn\d+-runtime$/,
    );
    const s = df.stages.at(-1) as Stage;
    const version = of(s, "ARG").find((a) => splitArg(a.args)[0] === "TRANSFORMERS_VERSION");
    expect(splitArg(version?.args ?? "")[1]).toMatch(/^\d+\.\d+\.\d+$/);
    expect(of(s, "RUN").some((r) => r.args.includes(`"transformers==\${TRANSFORMERS_VERSION}"`))).toBe(true);
    expect(of(s, "COPY").some((c) => c.args.startsWith("workers/transformers/"))).toBe(true);
    expect(JSON.parse(of(s, "CMD")[0]?.args ?? "[]")).toContain("server.py");
    expect(["root", "0"]).not.toContain(of(s, "USER").at(-1)?.args.trim());
    expect(of(s, "EXPOSE").map((e) => e.args)).toEqual(["8000"]);
  });

  it("vLLM: base → builder → runtime, the commits and the architectures as build args", () => {
    const df = parsed.vllm;
    expect(df.stages.map((s) => s.name)).toEqual(["base", "builder", "runtime"]);
    expect(stage(df, "builder").image).toBe("base");
    expect(resolveImage(df, stage(df, "base").image)).toMatch(/^nvidia\/cuda:[\d.]+-devel-ubuntu[\d.]+$/);
    expect(resolveImage(df, stage(df, "runtime").image)).toMatch(
      /^nvidia\/cuda:[\d.]+-runtime-ubuntu[\d.]+$/,
    );
    const args = argNames(df);
    for (const a of ["CUDA_VERSION", "CUDA_ARCH", "VLLM_COMMIT", "LMCACHE_COMMIT"]) expect(args).toContain(a);
    const builder = stage(df, "builder");
    expect(
      of(builder, "ENV")
        .map((e) => e.args)
        .join(" "),
    ).toContain(`TORCH_CUDA_ARCH_LIST=\${CUDA_ARCH}`);
    const runs = of(builder, "RUN").map((r) => r.args);
    const clone = runs.find((r) => r.includes("git clone")) ?? "";
    expect(clone).toContain(`checkout --detach "\${VLLM_COMMIT}"`);
    expect(clone).toContain(`checkout --detach "\${LMCACHE_COMMIT}"`);
    // Build outputs kept between builds: ccache and vLLM's CMake build directory.
    const wheel = runs.find((r) => r.includes("bdist_wheel")) ?? "";
    expect(wheel).toMatch(/--mount=type=cache,target=\/root\/\.cache\/ccache/);
    expect(wheel).toMatch(/--mount=type=cache,target=\/src\/vllm\/build/);
    expect(runs.some((r) => /pip wheel .*--wheel-dir=\/wheels/.test(r))).toBe(true);
    const rt = stage(df, "runtime");
    expect(of(rt, "RUN").some((r) => /--mount=type=bind,from=builder,source=\/wheels/.test(r.args))).toBe(
      true,
    );
    expect(JSON.parse(of(rt, "ENTRYPOINT")[0]?.args ?? "null")).toEqual(["vllm", "serve"]);
    // Least to most often changed: OS packages in base, sources only in builder.
    expect(of(stage(df, "base"), "RUN").some((r) => r.args.includes("git clone"))).toBe(false);
  });

  it(".dockerignore keeps node_modules, dist and results out of the context", () => {
    const lines = read(".dockerignore").split("\n");
    for (const p of ["node_modules", "dist", "results", ".git"]) expect(lines).toContain(p);
  });
});

type Workflow = {
  on: Record<string, Record<string, unknown> | null>;
  jobs: Record<string, { "runs-on"?: string; steps?: Record<string, unknown>[]; strategy?: unknown }>;
};
const workflow = (name: string): Workflow => parseYaml(read(`.github/workflows/${name}`)) as Workflow;

describe("workflows", () => {
  it.each(["build-and-push.yml", "deploy-and-benchmark.yml"])(
    "%s: every step uses a pinned action or runs",
    (name) => {
      const wf = workflow(name);
      expect(Object.keys(wf.jobs).length).toBeGreaterThan(0);
      for (const [id, job] of Object.entries(wf.jobs)) {
        expect(job["runs-on"], id).toBeDefined();
        for (const step of job.steps ?? []) {
          const uses = step.uses as string | undefined;
          expect(Boolean(uses) !== Boolean(step.run), `${id}: ${JSON.stringify(step)}`).toBe(true);
          if (uses) expect(uses, `${id}`).toMatch(/^[\w.-]+\/[\w.-]+@v\d+/);
        }
      }
    },
  );

  it("build-and-push: edge on main, versions on v* tags, registry cache for every image", () => {
    const wf = workflow("build-and-push.yml");
    expect(wf.on.push).toEqual({ branches: ["main"], tags: ["v*"] });
    const job = wf.jobs.image;
    const images = ((job?.strategy ?? {}) as { matrix: { include: { image: string; dockerfile: string }[] } })
      .matrix.include;
    expect(images.map((i) => i.image).sort()).toEqual(["gateway", "vllm", "worker", "worker-transformers"]);
    for (const i of images) expect(existsSync(join(root, i.dockerfile)), i.dockerfile).toBe(true);
    const uses = (job?.steps ?? []).map((s) => String(s.uses ?? ""));
    for (const a of [
      "docker/setup-buildx-action",
      "docker/login-action",
      "docker/metadata-action",
      "docker/build-push-action",
    ])
      expect(
        uses.some((u) => u.startsWith(`${a}@`)),
        a,
      ).toBe(true);
    const step = (prefix: string) => (job?.steps ?? []).find((s) => String(s.uses).startsWith(prefix));
    expect(((step("docker/login-action")?.with ?? {}) as Record<string, string>).registry).toBe("ghcr.io");
    const tags = String(((step("docker/metadata-action")?.with ?? {}) as Record<string, string>).tags);
    expect(tags).toContain("type=edge,branch=main");
    expect(tags).toContain("type=semver,pattern={{version}}");
    const build = (step("docker/build-push-action")?.with ?? {}) as Record<string, string>;
    expect(build["cache-from"]).toMatch(/^type=registry,ref=/);
    expect(build["cache-to"]).toContain("type=registry,ref=");
    expect(build["cache-to"]).toContain("mode=max");
  });

  it("deploy-and-benchmark: dispatched with a config and a namespace; deploys, benchmarks, publishes", () => {
    const wf = workflow("deploy-and-benchmark.yml");
    const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, { default?: string }> }).inputs;
    expect(Object.keys(inputs)).toEqual(expect.arrayContaining(["config", "namespace"]));
    expect(existsSync(join(root, String(inputs.config?.default)))).toBe(true);
    const costProfile = inputs["cost-profile"]?.default;
    expect(costProfile && existsSync(join(root, costProfile))).toBe(true);
    const runs = Object.values(wf.jobs)
      .flatMap((j) => j.steps ?? [])
      .map((s) => String(s.run ?? ""))
      .join("\n");
    expect(runs).toContain("../deploy/k8s");
    expect(runs).toContain("kubectl apply -k");
    expect(runs).toMatch(/rollout status deployment\/gateway/);
    expect(runs).toMatch(/\/health/);
    expect(runs).toMatch(/npx tokenforge bench "\$CONFIG" --server http:\/\/127\.0\.0\.1:8080/);
    expect(runs).toContain('npx tokenforge publish results/ --out docs/ --cost "$COST_PROFILE"');
    const uses = Object.values(wf.jobs).flatMap((j) => (j.steps ?? []).map((s) => String(s.uses ?? "")));
    expect(uses.some((u) => u.startsWith("actions/deploy-pages@"))).toBe(true);
  });
});

describe("Makefile", () => {
  const targets = ["help", "dev", "run-api", "bench", "quickstart", "test", "lint", "deploy-k8s", "images"];
  it.each(targets)("make -n %s", (target) => {
    const out = execFileSync("make", ["-n", "--no-print-directory", target], { cwd: root, encoding: "utf8" });
    expect(out.length).toBeGreaterThan(0);
  });

  it("bench takes CONFIG (default configs/benchmark.yaml); images builds every Dockerfile", () => {
    const make = (...args: string[]) =>
      execFileSync("make", ["-n", ...args], { cwd: root, encoding: "utf8" });
    expect(make("bench")).toContain('bench "configs/benchmark.yaml"');
    expect(make("bench", "CONFIG=configs/quickstart.yaml")).toContain('bench "configs/quickstart.yaml"');
    expect(make("deploy-k8s")).toContain("kubectl apply -k deploy/k8s");
    const images = make("images");
    for (const f of Object.values(DOCKERFILES)) expect(images).toContain(`-f ${f} `);
    // dev runs deploy/dev.sh with the host and port, which serves the gateway on them.
    expect(make("dev")).toMatch(/HOST="127\.0\.0\.1" PORT="8080"[\s\S]*bash deploy\/dev\.sh/);
    expect(read("deploy/dev.sh")).toContain('serve --host "$HOST" --port "$PORT"');
  });
});

describe("docker-compose.yml", () => {
  type Service = { image?: string; build?: { dockerfile: string }; volumes?: string[]; depends_on?: unknown };
  const compose = parseYaml(read("docker-compose.yml"), { merge: true }) as {
    services: Record<string, Service>;
  };

  it("has the stack's services, pinned images and existing Dockerfiles", () => {
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining([
        "gateway",
        "worker",
        "postgres",
        "minio",
        "minio-init",
        "prometheus",
        "grafana",
      ]),
    );
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.build) expect(existsSync(join(root, s.build.dockerfile)), name).toBe(true);
      else expect(s.image, name).toMatch(/^[^:]+:(?!latest$)[^:]+$/);
    }
  });

  it("mounts deploy/'s Prometheus and Grafana configs, which exist", () => {
    const binds = Object.values(compose.services)
      .flatMap((s) => s.volumes ?? [])
      .filter((v) => v.startsWith("./"));
    expect(binds.length).toBeGreaterThanOrEqual(4);
    for (const b of binds) expect(existsSync(join(root, b.split(":")[0] ?? "")), b).toBe(true);
    const grafana = (compose.services.grafana?.volumes ?? []).join(" ");
    expect(grafana).toContain("./deploy/grafana/dashboards:/etc/grafana/dashboards/tokenforge");
    expect(grafana).toContain("/etc/grafana/provisioning/");
    expect((compose.services.prometheus?.volumes ?? []).join(" ")).toContain(
      "/etc/prometheus/prometheus.yml",
    );
    // The compose Prometheus scrapes the compose services by name.
    const scrape = read("deploy/docker/prometheus.yml");
    expect(scrape).toContain('"gateway:8080"');
    expect(scrape).toContain('"worker:8000"');
  });

  it("points the gateway at PostgreSQL and MinIO", () => {
    const env = (compose.services.gateway as { environment: Record<string, string> }).environment;
    expect(env.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(env.TOKENFORGE_S3_ENDPOINT).toBe("http://minio:9000");
    expect(env.TOKENFORGE_S3_BUCKET).toBe("tokenforge");
  });
});
