/**
 * The page's side of custom filter sandboxes. A blob-URL Worker started by the page would run in
 * the app's origin and could open the app's OPFS and IndexedDB; a Worker started inside a
 * sandboxed iframe (`sandbox="allow-scripts"`, no allow-same-origin: origin "null") cannot. So the
 * page keeps one hidden srcdoc iframe, whose CSP (`default-src 'none'`) also refuses network and
 * eval, and asks it to start one Worker per custom filter, from the runtime's source text
 * (runtime.ts). The page creates two MessageChannels per Worker and keeps none of the ends: one
 * goes to the Worker and one to the engine Worker (requests and replies, never through the page),
 * and the other pair joins the engine to the iframe, which terminates the Worker when the
 * engine's watchdog says so.
 *
 * Create a SandboxHost in onMount/$effect (it needs a document), destroy() it on cleanup.
 */
import { sandboxRuntime } from './runtime';
import type { IframeEvent, IframeRequest } from './protocol';
// The engine's PRNG module and what it imports, bundled into one script (vite.config.ts).
import prngBundle from '../engine/prng.ts?bundle';

/** The iframe's Content-Security-Policy: no network, no eval; inline script and blob: Workers only. */
export const SANDBOX_CSP = "default-src 'none'; script-src 'unsafe-inline' blob:; worker-src blob:";

/**
 * An expression whose value is the engine's Prng class (engine/prng.ts), from its bundle: the
 * bundle's top-level `var` stays inside the function, out of the filter's global scope.
 */
export function prngClassSource(): string {
	return `(() => {\n${prngBundle}\nreturn bundle.Prng;\n})()`;
}

/** The sandbox Worker's whole program. `import()` is written here, in text no bundler rewrites. */
export function runtimeSource(): string {
	return `"use strict";\n(${sandboxRuntime.toString()})(self, { importModule: (u) => import(u), Prng: ${prngClassSource()} });\n`;
}

/** The iframe's program: starts Workers on request, terminates them on the control port's word. */
function iframeMain(): void {
	const workers = new Map<string, Worker>();
	const tell = (m: IframeEvent) => parent.postMessage(m, '*');
	addEventListener('message', (e: MessageEvent) => {
		if (e.source !== parent) return;
		const m = e.data as IframeRequest;
		if (!m || m.type !== 'spawn' || workers.has(m.id)) return;
		const url = URL.createObjectURL(new Blob([m.runtime], { type: 'text/javascript' }));
		let w: Worker;
		try {
			w = new Worker(url, { name: `vaio filter ${m.id}` });
		} catch (err) {
			tell({ type: 'worker-error', id: m.id, message: String(err) });
			return;
		}
		workers.set(m.id, w);
		w.onerror = (ev) => {
			ev.preventDefault();
			tell({ type: 'worker-error', id: m.id, message: ev.message || 'the sandbox Worker failed' });
		};
		w.postMessage({ port: m.data }, [m.data]);
		m.control.onmessage = (ev) => {
			if (!ev.data || ev.data.t !== 'kill') return;
			w.terminate();
			workers.delete(m.id);
			URL.revokeObjectURL(url);
			m.control.close();
			tell({ type: 'killed', id: m.id, reason: String(ev.data.reason) });
		};
		tell({ type: 'spawned', id: m.id });
	});
	tell({ type: 'ready' });
}

export function iframeSrcdoc(): string {
	return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${SANDBOX_CSP}"></head><body><script>"use strict";(${iframeMain.toString()})();</script></body></html>`;
}

export interface SpawnedSandbox {
	id: string;
	/** For the engine: the sandbox Worker's port and the iframe's control port (transfer both). */
	ports: { data: MessagePort; control: MessagePort };
}

export class SandboxHost {
	readonly iframe: HTMLIFrameElement;
	readonly ready: Promise<void>;
	private seq = 0;
	private readonly listeners = new Set<(e: IframeEvent) => void>();
	private readonly onMessage: (e: MessageEvent) => void;
	private readonly runtime = runtimeSource();

	constructor(parent: HTMLElement = document.body) {
		const iframe = document.createElement('iframe');
		iframe.setAttribute('sandbox', 'allow-scripts');
		iframe.setAttribute('title', 'custom filter sandbox');
		iframe.setAttribute('aria-hidden', 'true');
		iframe.dataset.testid = 'filter-sandbox';
		iframe.style.display = 'none';
		iframe.srcdoc = iframeSrcdoc();
		this.iframe = iframe;
		let resolveReady!: () => void;
		this.ready = new Promise((r) => (resolveReady = r));
		this.onMessage = (e: MessageEvent) => {
			if (e.source !== iframe.contentWindow) return;
			const m = e.data as IframeEvent;
			if (m?.type === 'ready') resolveReady();
			for (const fn of this.listeners) fn(m);
		};
		window.addEventListener('message', this.onMessage);
		parent.append(iframe);
	}

	/** Events from the iframe: Workers started, stopped, failed. Returns the unsubscribe. */
	onEvent(fn: (e: IframeEvent) => void): () => void {
		this.listeners.add(fn);
		return () => this.listeners.delete(fn);
	}

	/** Starts a sandbox Worker; hand `ports` to the engine's installCustomFilter (transferred). */
	async spawn(): Promise<SpawnedSandbox> {
		await this.ready;
		const id = `f${++this.seq}`;
		const data = new MessageChannel();
		const control = new MessageChannel();
		const req: IframeRequest = { type: 'spawn', id, runtime: this.runtime, data: data.port2, control: control.port2 };
		this.iframe.contentWindow!.postMessage(req, '*', [data.port2, control.port2]);
		return { id, ports: { data: data.port1, control: control.port1 } };
	}

	destroy(): void {
		window.removeEventListener('message', this.onMessage);
		this.listeners.clear();
		this.iframe.remove();
	}
}
