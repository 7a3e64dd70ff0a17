/**
 * The command lines of the two servers the peer benchmarks compare, with matched settings: the
 * TokenForge worker (`tokenforge worker` from the build in dist/) and llama.cpp's llama-server.
 */
export interface PeerSettings {
  threads: number;
  /** Sequences (worker) / slots (llama-server). */
  parallel: number;
  /** Context per sequence. */
  ctx: number;
  /** Batch and physical batch. */
  batch: number;
}

/** `tokenforge worker` on `model`, CPU only, with the given llama.cpp build. */
export function workerArgs(
  cli: string,
  model: string,
  port: number,
  s: PeerSettings,
  llamaBinary: string,
): string[] {
  return [
    ...[cli, "worker", "--model", model, "--port", String(port), "--gpu", "off"],
    ...["--threads", String(s.threads), "--parallel", String(s.parallel)],
    ...["--ctx-size", String(s.ctx), "--batch-size", String(s.batch), "--llama-binary", llamaBinary],
  ];
}

/** llama-server on the GGUF file at `path`, settings matched to the worker's. */
export function llamaServerArgs(path: string, port: number, s: PeerSettings, noRepack = false): string[] {
  return [
    ...["--model", path, "--host", "127.0.0.1", "--port", String(port)],
    ...[
      "--threads",
      String(s.threads),
      "--threads-batch",
      String(s.threads),
      "--parallel",
      String(s.parallel),
    ],
    // llama-server's context is shared by its slots: `parallel` × the worker's per-sequence context.
    ...[
      "--ctx-size",
      String(s.parallel * s.ctx),
      "--batch-size",
      String(s.batch),
      "--ubatch-size",
      String(s.batch),
    ],
    "--flash-attn",
    "auto",
    // Nothing the worker does either: no prompt states kept in RAM, no web UI.
    ...["--cache-ram", "0", "--no-webui"],
    ...(noRepack ? ["--no-repack"] : []),
  ];
}
