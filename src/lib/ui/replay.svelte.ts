/**
 * Trace replay from the page: a block trace file (vscsi, SNIA MSR CSV, blkparse text) picked or
 * dropped, its format told from the name or the first bytes (or chosen), then streamed to the
 * engine Worker in 1 MiB slices while the run plays: each slice is transferred, parsed there,
 * and replayed as the first disk's workload; the next slice is read only when the replay has room
 * (so a file of any size streams in the memory of a few slices). `sent` / `total` drive the
 * progress bar; the worker's own counts (records parsed, issued, skipped, late) come back with
 * every slice and are polled until the replay ends.
 */
import * as Comlink from 'comlink';
import type { ReplayProgress } from '$lib/worker/api';
import { traceFormatFromName, type TraceFormat, type TraceTiming } from '$lib/engine/workload/traces/index';
import type { Playground } from './playground.svelte';

export const REPLAY_CHUNK_BYTES = 1 << 20;

export type ReplayPhase = 'idle' | 'ready' | 'streaming' | 'replaying' | 'done' | 'error';

/** The format a file suggests: by its name, else by its first bytes. */
export function sniffTraceFormat(name: string, head: Uint8Array): TraceFormat {
	const byName = traceFormatFromName(name);
	if (byName) return byName;
	let binary = 0;
	const n = Math.min(head.length, 4096);
	for (let i = 0; i < n; i++) {
		const b = head[i];
		if (b < 9 || (b > 13 && b < 32)) binary++;
	}
	if (n > 0 && binary / n > 0.05) return 'vscsi';
	const text = new TextDecoder().decode(head.subarray(0, n));
	const first = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
	return (first.match(/,/g)?.length ?? 0) >= 5 ? 'msr' : 'blkparse';
}

export class ReplayController {
	file = $state.raw<File | null>(null);
	format = $state<TraceFormat>('vscsi');
	/** How the format was chosen: from the name or the content, or by the user. */
	formatSource = $state<'name' | 'content' | 'chosen'>('name');
	timing = $state<TraceTiming>('afap');
	timingOnly = $state(false);
	phase = $state<ReplayPhase>('idle');
	/** Bytes of the file sent to the worker so far. */
	sent = $state(0);
	progress = $state.raw<ReplayProgress | null>(null);
	error = $state('');
	#token = 0;

	constructor(private readonly pg: Playground) {}

	get total(): number {
		return this.file?.size ?? 0;
	}

	/** Share of the file streamed in, 0..1. */
	get fraction(): number {
		return this.total > 0 ? Math.min(1, this.sent / this.total) : this.phase === 'done' ? 1 : 0;
	}

	/** A file picked or dropped: its format is guessed; the replay waits for start(). */
	async choose(file: File): Promise<void> {
		this.#token++;
		this.file = file;
		this.sent = 0;
		this.progress = null;
		this.error = '';
		const head = new Uint8Array(await file.slice(0, 4096).arrayBuffer());
		this.format = sniffTraceFormat(file.name, head);
		this.formatSource = traceFormatFromName(file.name) ? 'name' : 'content';
		// Large traces: timing only by default (no data bytes), as the CLI's bench does.
		this.timingOnly = file.size > 256 * 2 ** 20;
		this.phase = 'ready';
	}

	setFormat(f: TraceFormat): void {
		this.format = f;
		this.formatSource = 'chosen';
	}

	cancel(): void {
		this.#token++;
		this.file = null;
		this.phase = 'idle';
		this.sent = 0;
		this.progress = null;
		this.error = '';
	}

	/** Loads the scenario with the trace as the first disk's workload, plays it, and streams the file in. */
	async start(): Promise<void> {
		const file = this.file;
		if (!file || this.phase === 'streaming' || this.phase === 'replaying') return;
		const token = ++this.#token;
		this.sent = 0;
		this.error = '';
		this.progress = null;
		this.phase = 'streaming';
		const api = this.pg.client.api;
		const ok = await this.pg.loadReplay({
			fileName: file.name,
			format: this.format,
			timing: this.timing,
			totalBytes: file.size,
			timingOnly: this.timingOnly
		});
		if (token !== this.#token) return;
		if (!ok) return this.fail(this.pg.client.error ?? 'the scenario could not be loaded');
		void this.pg.play();
		try {
			for (let off = 0; off < file.size; off += REPLAY_CHUNK_BYTES) {
				const buf = await file.slice(off, Math.min(file.size, off + REPLAY_CHUNK_BYTES)).arrayBuffer();
				const bytes = new Uint8Array(buf);
				const p = await api.replayPush(Comlink.transfer(bytes, [buf]));
				if (token !== this.#token) return;
				this.sent = Math.min(file.size, off + buf.byteLength);
				this.progress = p;
			}
			const end = await api.replayEnd();
			if (token !== this.#token) return;
			this.sent = file.size;
			this.progress = end;
			if (end.error) return this.fail(end.error);
		} catch (e) {
			if (token === this.#token) this.fail(e instanceof Error ? e.message : String(e));
			return;
		}
		this.phase = 'replaying';
		// The rest of the replay plays out; follow it until every record was handed out and the run stops.
		while (token === this.#token) {
			await new Promise((r) => setTimeout(r, 200));
			const p = await api.replayStatus().catch(() => null);
			if (token !== this.#token) return;
			if (!p) return this.fail('another run was loaded: the replay stopped');
			this.progress = p;
			if (p.error) return this.fail(p.error);
			if (p.done && this.pg.status !== 'running') break;
		}
		if (token === this.#token) this.phase = 'done';
	}

	private fail(message: string): void {
		this.error = message;
		this.phase = 'error';
	}
}
