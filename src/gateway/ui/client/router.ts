/**
 * The hash router: shows one view at a time in the page's main element, marks its link in the
 * navigation, and stops the previous view's polling. Work a view started that finishes after the
 * view changed draws nothing (`alive()` says so).
 */
import { errorBox, h, replace } from "./dom.js";

/** What a view gets besides the element it draws into. */
export interface ViewContext {
  /** The path after the view's name: ["<id>"] for "#/runs/<id>". */
  params: string[];
  query: URLSearchParams;
  /** False once another view is shown. */
  alive(): boolean;
  /**
   * Runs fn now and every ms until the view changes (or fn resolves to false); an error shows in
   * errorSlot, and the next success clears it. Resolves after the first run.
   */
  every(ms: number, fn: () => Promise<unknown>, errorSlot: Element): Promise<void>;
  /** Shows the view at hash, again if it is the current one. */
  go(hash: string): void;
}

export type View = (container: HTMLElement, ctx: ViewContext) => Promise<void>;

/** "#/runs/x?a=1" → path ["runs", "x"], query {a: "1"}. */
function currentRoute(): { path: string[]; query: URLSearchParams } {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const q = hash.indexOf("?");
  const path = (q < 0 ? hash : hash.slice(0, q))
    .split("/")
    .filter((p) => p !== "")
    .map(decodeURIComponent);
  return { path, query: new URLSearchParams(q < 0 ? "" : hash.slice(q + 1)) };
}

/** Shows the view the hash names in root now and whenever the hash changes. */
export function startRouter(root: HTMLElement, views: ReadonlyMap<string, View>): void {
  let timers: ReturnType<typeof setInterval>[] = [];
  /** Bumped on every navigation: async work from an older view sees it changed and draws nothing. */
  let generation = 0;

  const go = (hash: string): void => {
    if (window.location.hash === hash) route();
    else window.location.hash = hash;
  };

  function context(params: string[], query: URLSearchParams): ViewContext {
    const g = generation;
    const alive = () => g === generation;
    const every: ViewContext["every"] = (ms, fn, errorSlot) => {
      let busy = false;
      const tick = async () => {
        if (busy || !alive()) return;
        busy = true;
        try {
          const more = await fn();
          if (alive()) replace(errorSlot);
          if (more === false) clearInterval(timer);
        } catch (err) {
          if (alive()) replace(errorSlot, errorBox(err));
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(tick, ms);
      timers.push(timer);
      return tick();
    };
    return { params, query, alive, every, go };
  }

  function route(): void {
    for (const t of timers) clearInterval(t);
    timers = [];
    generation++;
    const { path, query } = currentRoute();
    let name = path[0] || "deployments";
    if (name === "runs" && path.length > 1) name = "run";
    const view = views.get(name);
    for (const a of document.querySelectorAll<HTMLElement>("nav a[data-view]")) {
      a.classList.toggle("active", a.dataset.view === (name === "run" ? "runs" : name));
    }
    if (view === undefined) {
      replace(root, h("h2", {}, "Not found"), h("p", {}, `There is no page ${window.location.hash}.`));
      return;
    }
    const container = h("section", { class: `view view-${name}` });
    replace(root, container);
    const ctx = context(path.slice(1), query);
    Promise.resolve(view(container, ctx)).catch((err: unknown) => {
      if (ctx.alive()) container.append(errorBox(err));
    });
  }

  window.addEventListener("hashchange", route);
  route();
}
