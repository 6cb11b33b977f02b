// The watching half of a hot reload, shared by the policy bundle and the lifecycle machines: file
// events on some directories (debounced) and a periodic re-check both call one reload function, and
// reloads never overlap. What a reload reads, validates and swaps in stays with its owner.
import { watch, type FSWatcher } from "node:fs";
import type { Logger } from "../observability/logger.js";

export interface DirectoryReloaderOptions {
  /** Directories to watch (a mounted ConfigMap's directory, not its files). */
  dirs: readonly string[];
  /** One pass: read, validate, swap in. Resolves true if something new was swapped in. */
  reloadOnce: () => Promise<boolean>;
  /** Watch the directories; without it reload() is only called by hand. */
  watch?: boolean;
  /** Quiet time after the last file event before reloading (kubelet writes several files). Default 500 ms. */
  debounceMs?: number;
  /** Also re-check on this period, in case a file event is missed (0 = never). Default 60 s when watching. */
  pollIntervalMs?: number;
  log: Logger;
  /** What is watched, for the log line when a watch fails ("policy bundle", "machines"). */
  what: string;
}

export interface DirectoryReloader {
  /** Runs a reload now (or joins the running one, which then makes exactly one more pass). */
  reload(): Promise<boolean>;
  close(): void;
}

export function directoryReloader(opts: DirectoryReloaderOptions): DirectoryReloader {
  const watchers: FSWatcher[] = [];
  let debounceTimer: NodeJS.Timeout | undefined;
  let pollTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let inFlight: Promise<boolean> | undefined;
  let again = false;

  // Reloads never overlap: a change during a reload schedules exactly one more pass.
  function reload(): Promise<boolean> {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = (async () => {
      let swapped = false;
      do {
        again = false;
        swapped = (await opts.reloadOnce()) || swapped;
      } while (again && !closed);
      inFlight = undefined;
      return swapped;
    })();
    return inFlight;
  }

  function schedule(): void {
    if (closed) return;
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(() => void reload(), opts.debounceMs ?? 500);
  }

  if (opts.watch) {
    // Watch directories, not files: kubelet updates a ConfigMap volume by swapping its `..data`
    // symlink, which replaces every file at once and would orphan a watch on a single file.
    for (const dir of new Set(opts.dirs)) {
      const watcher = watch(dir, { persistent: false }, schedule);
      watcher.on("error", (err) => {
        opts.log.error(
          { err, dir },
          `${opts.what} watch failed; changes are picked up by the periodic re-check`,
        );
      });
      watchers.push(watcher);
    }
    const pollIntervalMs = opts.pollIntervalMs ?? 60_000;
    if (pollIntervalMs > 0) {
      pollTimer = setInterval(() => void reload(), pollIntervalMs);
      pollTimer.unref();
    }
  }

  return {
    reload,
    close() {
      closed = true;
      clearTimeout(debounceTimer);
      clearInterval(pollTimer);
      for (const w of watchers) w.close();
      watchers.length = 0;
    },
  };
}
