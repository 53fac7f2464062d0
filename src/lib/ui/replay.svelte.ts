/**
 * Trace replay from the page: a block trace file (vscsi, SNIA MSR CSV, blkparse text) picked or
 * dropped, its format told from the name or the first bytes (or chosen), then streamed to the
 * engine Worker in 1 MiB slices while the run plays: each slice is transferred, parsed there,
 * and replayed as the first disk's workload; the next slice is read only when the replay has room
 * (so a file of any size streams in the memory of a few slices). `sent` / `total` drive the
 * progress bar; the worker's own counts (records parsed, issued, skipped, late) come back with
 * every slice and are polled until the replay ends.
 *
 * A file of several disks (MSR CSV hosts and disks, blkparse devices): when a file is picked its
 * first SCAN_BYTES are read (the whole file if smaller) to list its disks with their record
 * counts; the replay then counts every disk as it streams, so the list grows and its counts
 * become exact as the file is read. The first disk replays by default, as the CLI does without
 * --trace-disk; another can be chosen from the list or typed (HOST/DISK, DISK, MAJ,MIN), checked
 * with the engine's traceReaderOptions and traceDiskProblem.
 */
import * as Comlink from 'comlink';
import type { ReplayProgress } from '$lib/worker/api';
import {
	createTraceReader,
	traceDiskProblem,
	traceDisks,
	traceFormatFromName,
	traceReaderOptions,
	type TraceDisk,
	type TraceFormat,
	type TraceReaderOptions,
	type TraceTiming
} from '$lib/engine/workload/traces/index';
import type { Playground } from './playground.svelte';

export const REPLAY_CHUNK_BYTES = 1 << 20;
/** Bytes read from the start of a picked file to list its disks (the whole file if smaller). */
export const SCAN_BYTES = 4 << 20;
/** The disk chooser's value for a disk id typed in. */
export const OTHER_DISK = '*other';

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
	/**
	 * Disks found by reading the start of the file (msr, blkparse), or by an earlier replay of it,
	 * and how many bytes from the start they cover.
	 */
	scannedDisks = $state.raw<TraceDisk[]>([]);
	scannedBytes = $state(0);
	/** The disk chosen from the list ('' before a scan finds one, OTHER_DISK for an id typed in). */
	disk = $state('');
	/** The id typed in when `disk` is OTHER_DISK. */
	diskId = $state('');
	#token = 0;

	constructor(private readonly pg: Playground) {}

	get total(): number {
		return this.file?.size ?? 0;
	}

	/** Share of the file streamed in, 0..1. */
	get fraction(): number {
		return this.total > 0 ? Math.min(1, this.sent / this.total) : this.phase === 'done' ? 1 : 0;
	}

	/**
	 * The file's disks as far as they are known: those the scan found, and those the replay of
	 * this format met since, each with the larger of the two counts (both count from the start).
	 */
	get disks(): TraceDisk[] {
		const p = this.progress;
		if (!p || p.format !== this.format) return this.scannedDisks;
		const counts = new Map(this.scannedDisks.map((d) => [d.id, d.records]));
		for (const d of traceDisks(p)) counts.set(d.id, Math.max(d.records, counts.get(d.id) ?? 0));
		return [...counts].map(([id, records]) => ({ id, records }));
	}

	/** True when the disk list covers the whole file (it was scanned whole, or streamed to its end). */
	get disksComplete(): boolean {
		const p = this.progress;
		return (this.file !== null && this.scannedBytes >= this.file.size) || (!!p && p.format === this.format && p.ended && !p.error);
	}

	/** The disk asked for: one from the list, or the id typed in (undefined: the first in the file). */
	get askedDisk(): string | undefined {
		if (this.format === 'vscsi') return undefined;
		const id = this.disk === OTHER_DISK ? this.diskId.trim() : this.disk;
		return id === '' ? undefined : id;
	}

	/**
	 * What is wrong with the disk asked for: a malformed id, an MSR number several hosts have, or
	 * a disk the file does not hold (known only once the whole file was read). `blocking` keeps the
	 * replay from starting; otherwise it is a note.
	 */
	get diskProblem(): { message: string; blocking: boolean } | null {
		if (this.disk === OTHER_DISK && this.diskId.trim() === '') return { message: 'Type a disk id.', blocking: true };
		const asked = this.askedDisk;
		if (asked === undefined) return null;
		try {
			traceReaderOptions(this.format, asked);
		} catch (e) {
			return { message: e instanceof Error ? e.message : String(e), blocking: true };
		}
		const complete = this.disksComplete;
		const problem = traceDiskProblem(this.format, asked, this.disks.map((d) => d.id), this.file?.name ?? 'the file');
		if (!problem) return null;
		if (complete || problem.kind === 'ambiguous') return { message: problem.message, blocking: true };
		return { message: `${asked} is not in the first ${Math.round(this.scannedBytes / 2 ** 20)} MiB read so far: the replay reads on and tells if the file has it.`, blocking: false };
	}

	/** A file picked or dropped: its format is guessed and its disks listed; the replay waits for start(). */
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
		await this.scanDisks();
	}

	setFormat(f: TraceFormat): void {
		this.format = f;
		this.formatSource = 'chosen';
		void this.scanDisks();
	}

	/**
	 * Lists the disks in the first SCAN_BYTES of the file (one read, a few MiB at most; the replay
	 * counts the rest as it streams). The first is chosen. A malformed start lists none: the
	 * replay tells where it is.
	 */
	private async scanDisks(): Promise<void> {
		const token = this.#token;
		const file = this.file;
		const format = this.format;
		this.scannedDisks = [];
		this.scannedBytes = 0;
		this.disk = '';
		this.diskId = '';
		if (!file || format === 'vscsi') return;
		const n = Math.min(file.size, SCAN_BYTES);
		const bytes = new Uint8Array(await file.slice(0, n).arrayBuffer());
		if (token !== this.#token || format !== this.format) return;
		let disks: TraceDisk[] = [];
		try {
			const reader = createTraceReader(format, traceReaderOptions(format));
			const sink = () => {};
			reader.push(bytes, sink);
			if (n === file.size) reader.end(sink);
			disks = traceDisks(reader.summary);
		} catch {
			disks = [];
		}
		this.scannedDisks = disks;
		this.scannedBytes = n;
		this.disk = disks[0]?.id ?? '';
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
		if (!file || this.phase === 'streaming' || this.phase === 'replaying' || this.diskProblem?.blocking) return;
		const reader: TraceReaderOptions = traceReaderOptions(this.format, this.askedDisk);
		const token = ++this.#token;
		// What the last replay of this format learnt about the file's disks is kept for the list.
		if (this.progress?.format === this.format) {
			const complete = this.disksComplete;
			this.scannedDisks = this.disks;
			if (complete) this.scannedBytes = file.size;
		}
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
			timingOnly: this.timingOnly,
			reader
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
