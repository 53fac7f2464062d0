/**
 * `--csv-out`, `--perfetto-out`, `--metrics-out`, `--analytics-out`: the run's per-I/O trace as CSV
 * and as Chrome Trace Event JSON (Perfetto), its summary as JSON, and the analytics filter's
 * reports as JSON. The files are opened before the run (so a path that cannot be written is bad
 * input, not a lost run) and written in pieces after it.
 */
import * as fs from 'node:fs';
import { csvChunks } from '../lib/engine/export/csv';
import { perfettoChunks } from '../lib/engine/export/perfetto';
import { exportedRows, type ExportedRows } from '../lib/engine/export/rows';
import type { Simulation } from '../lib/engine/simulation';
import { analyticsFile } from './analytics';

export type ExportKind = 'csv' | 'perfetto' | 'metrics' | 'analytics';

export interface ExportTargets {
	csv?: string;
	perfetto?: string;
	metrics?: string;
	analytics?: string;
}

export const EXPORT_OPTION: Record<ExportKind, string> = { csv: '--csv-out', perfetto: '--perfetto-out', metrics: '--metrics-out', analytics: '--analytics-out' };

export class ExportFiles {
	private readonly fds = new Map<ExportKind, number>();

	/** Opens (creates or truncates) every target; throws { option, file, error } on the first failure. */
	constructor(readonly targets: ExportTargets) {
		for (const kind of ['csv', 'perfetto', 'metrics', 'analytics'] as const) {
			const file = targets[kind];
			if (file === undefined) continue;
			try {
				this.fds.set(kind, fs.openSync(file, 'w'));
			} catch (error) {
				this.close();
				throw Object.assign(new Error(`${EXPORT_OPTION[kind]} ${file}`), { cause: error, option: EXPORT_OPTION[kind], file });
			}
		}
	}

	/** True when the per-I/O trace is exported (the trace ring should then hold the whole run). */
	get traceRequested(): boolean {
		return this.targets.csv !== undefined || this.targets.perfetto !== undefined;
	}

	/** Writes the exports; returns what the JSON output and the notes say about them. */
	write(sim: Simulation, metrics: object): { rows?: ExportedRows; files: Partial<Record<ExportKind, string>> } {
		const put = (kind: ExportKind, chunks: Iterable<string>) => {
			const fd = this.fds.get(kind);
			if (fd === undefined) return;
			for (const c of chunks) fs.writeSync(fd, c);
		};
		put('csv', csvChunks(sim));
		put('perfetto', perfettoChunks(sim, { scenario: sim.scenario.name, seed: sim.scenario.seed }));
		put('metrics', [JSON.stringify(metrics, null, 2) + '\n']);
		if (this.fds.has('analytics')) put('analytics', [JSON.stringify(analyticsFile(sim), null, 2) + '\n']);
		this.close();
		return { ...(this.traceRequested ? { rows: exportedRows(sim) } : {}), files: { ...this.targets } };
	}

	close(): void {
		for (const fd of this.fds.values()) fs.closeSync(fd);
		this.fds.clear();
	}
}
