/**
 * Reload without downtime: on SIGHUP (and every `--reload-interval`
 * seconds) every model's URI is resolved again; a model whose content
 * changed is loaded beside the one serving, then handed to `swap`, which
 * puts it in place atomically. A new version that fails to load, or a store
 * that cannot be reached, leaves the serving model as it is, with a log
 * line that says why.
 */
import { describeError } from "../errors.ts";
import { log } from "../log.ts";
import type { LoadOptions, Model } from "../model/mod.ts";
import { loadResolved, type OpenedModel } from "./open_model.ts";
import { type ResolvedModel, resolveModel, type ResolveOptions } from "./resolve_model.ts";

/** What became of one model in a reload. */
export interface ReloadOutcome {
  model: string;
  result: "unchanged" | "reloaded" | "failed";
  version: string;
  /** The version served before, for a reload. */
  from?: string;
  /** Why it failed, or that the store was unreachable (still unchanged). */
  reason?: string;
}

/** How the reloader loads and swaps. */
export interface ReloaderOptions {
  store: ResolveOptions;
  load: LoadOptions;
  /** Serves `next` in place of the model of its name; resolves once the old one is retired (drained, closed). */
  swap: (next: Model) => Promise<void>;
}

/**
 * Watches the models given by `--model` and swaps in new versions.
 *
 * @example
 * ```ts
 * const reloader = new ModelReloader(opened, { store, load, swap: (m) => plane.swap(m) });
 * const stop = reloader.listen(60); // SIGHUP, and every 60 s
 * ```
 */
export class ModelReloader {
  /** What each URI serves now: replaced as a whole after a reload, never changed in place. */
  #entries: readonly Readonly<OpenedModel & { uri: string }>[];
  readonly #options: ReloaderOptions;
  readonly #counts = new Map<string, { model: string; result: string; count: number }>();
  readonly #stop = new AbortController();
  #running: Promise<ReloadOutcome[]> | undefined;
  #queued: Promise<ReloadOutcome[]> | undefined;

  /** `opened`: the models as first loaded (the reloader keeps its own record of what serves after). */
  constructor(opened: readonly Readonly<OpenedModel & { uri: string }>[], options: ReloaderOptions) {
    this.#entries = [...opened];
    this.#options = options;
  }

  /** The models serving now. */
  get models(): Model[] {
    return this.#entries.map((e) => e.model);
  }

  /** How many reloads swapped a model in, or failed, by model and result (for `/metrics`). */
  counts(): { model: string; result: string; count: number }[] {
    return [...this.#counts.values()];
  }

  /**
   * Resolves every model again and swaps in those that changed. Never
   * throws: each failure is logged and reported. A call made while a reload
   * runs is done once, after it.
   */
  reload(): Promise<ReloadOutcome[]> {
    if (this.#running === undefined) {
      this.#running = this.#reloadAll().finally(() => this.#running = undefined);
      return this.#running;
    }
    this.#queued ??= this.#running.then(() => {
      this.#queued = undefined;
      return this.reload();
    });
    return this.#queued;
  }

  /**
   * Reloads on SIGHUP and, when `intervalSeconds` > 0, on a timer. Returns
   * a function that stops listening and waits for a reload in progress.
   */
  listen(intervalSeconds: number): () => Promise<void> {
    const onHangup = () => {
      log.info("SIGHUP: reloading models");
      void this.reload();
    };
    Deno.addSignalListener("SIGHUP", onHangup);
    const timer = intervalSeconds > 0 ? setInterval(() => void this.reload(), intervalSeconds * 1000) : undefined;
    return async () => {
      Deno.removeSignalListener("SIGHUP", onHangup);
      clearInterval(timer);
      // A reload in progress stops fetching at once and swaps nothing in: SIGTERM must not wait on a slow store.
      this.#stop.abort();
      await this.#queued;
      await this.#running;
    };
  }

  async #reloadAll(): Promise<ReloadOutcome[]> {
    const outcomes: ReloadOutcome[] = [];
    for (const entry of this.#entries) {
      const outcome = await this.#reloadOne(entry);
      outcomes.push(outcome);
      if (outcome.result === "unchanged") continue;
      const key = `${outcome.model}\0${outcome.result}`;
      const c = this.#counts.get(key) ?? { model: outcome.model, result: outcome.result, count: 0 };
      c.count++;
      this.#counts.set(key, c);
    }
    return outcomes;
  }

  async #reloadOne(entry: Readonly<OpenedModel & { uri: string }>): Promise<ReloadOutcome> {
    const current = entry.model;
    const failed = (reason: string): ReloadOutcome => {
      log.error("model reload failed: the serving version stays", {
        model: current.name,
        version: current.version,
        model_uri: entry.resolved.uri,
        reason,
      });
      return { model: current.name, result: "failed", version: current.version, reason };
    };
    const unchanged: ReloadOutcome = { model: current.name, result: "unchanged", version: current.version };
    if (this.#stop.signal.aborted) return unchanged;
    let resolved: ResolvedModel;
    try {
      resolved = await resolveModel(entry.uri, {
        ...this.#options.store,
        signal: this.#stop.signal,
        serving: entry.resolved.tag,
      });
    } catch (err) {
      if (this.#stop.signal.aborted) return unchanged;
      return failed(describeError(err).message);
    }
    if (this.#stop.signal.aborted) return unchanged;
    if (resolved.tag === entry.resolved.tag) {
      if (resolved.stale === undefined) return { model: current.name, result: "unchanged", version: current.version };
      log.warn("model store unreachable: the serving version stays", {
        model: current.name,
        version: current.version,
        reason: resolved.stale.reason,
      });
      return { model: current.name, result: "unchanged", version: current.version, reason: resolved.stale.reason };
    }
    let next: Model;
    try {
      next = await loadResolved(resolved, this.#options.load);
    } catch (err) {
      return failed(`the new version does not load: ${describeError(err).message}`);
    }
    if (this.#stop.signal.aborted) {
      await next.close();
      return unchanged;
    }
    if (next.name !== current.name) {
      await next.close();
      return failed(`the new version is named "${next.name}", not "${current.name}"; restart to rename a model`);
    }
    try {
      await this.#options.swap(next);
    } catch (err) {
      await next.close().catch(() => {});
      return failed(`the new version could not be swapped in: ${describeError(err).message}`);
    }
    this.#entries = this.#entries.map((e) => e === entry ? { ...entry, model: next, resolved } : e);
    log.info("model reloaded", { model: next.name, from_version: current.version, version: next.version });
    return { model: next.name, result: "reloaded", version: next.version, from: current.version };
  }
}
