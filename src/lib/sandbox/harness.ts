/**
 * Custom filters without a browser: the sandbox runtime in the caller's own thread, joined to the
 * engine side by a MessageChannel, its modules loaded from data: URLs. For tests (and for tools
 * that trust the code they run): there is no isolation here, and an endless loop in the filter
 * hangs the caller. The page uses host.ts instead.
 */
import { Prng } from '../engine/prng';
import { sandboxRuntime, type RuntimePort } from './runtime';
import type { PortLike, WatchdogTimers } from './proxy';

export interface InProcessSandbox {
	/** The engine's end (give it to CustomFilters.install as `data`). */
	port: PortLike;
	/** Closes both ends. */
	close(): void;
}

function dataUrl(code: string): string {
	const bytes = new TextEncoder().encode(code);
	let bin = '';
	for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
	return `data:text/javascript;base64,${btoa(bin)}`;
}

/** Starts the runtime in this thread; `wrap` may stand between it and the engine (tests drop replies). */
export function inProcessSandbox(wrap?: (sandboxSide: RuntimePort) => RuntimePort): InProcessSandbox {
	const ch = new MessageChannel();
	const sandboxSide = ch.port2 as unknown as RuntimePort;
	sandboxRuntime(globalThis as unknown as Record<string, unknown>, {
		port: wrap ? wrap(sandboxSide) : sandboxSide,
		harden: false,
		moduleUrl: dataUrl,
		importModule: (u) => import(/* @vite-ignore */ u),
		Prng
	});
	return {
		port: ch.port1 as unknown as PortLike,
		close() {
			ch.port1.close();
			ch.port2.close();
		}
	};
}

/** Watchdog timers that a test fires by hand. */
export class ManualTimers implements WatchdogTimers {
	private next = 0;
	readonly armed = new Map<number, () => void>();
	set(fn: () => void): unknown {
		const h = ++this.next;
		this.armed.set(h, fn);
		return h;
	}
	clear(h: unknown): void {
		this.armed.delete(h as number);
	}
	/** Fires every armed timer (the wall-clock budget "ran out"); returns how many fired. */
	fire(): number {
		const fns = [...this.armed.values()];
		this.armed.clear();
		for (const f of fns) f();
		return fns.length;
	}
}
