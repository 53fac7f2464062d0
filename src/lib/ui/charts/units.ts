/**
 * Tick and value formats of the charts, by unit. Deterministic (no locale): the same numbers give
 * the same strings in Node and in every browser, so SVG snapshots are stable.
 */

export type Unit = 'count' | 'iops' | 'mbps' | 'us' | 'ratio' | 'bytes' | 'times';

/** Three significant digits without trailing zeros: 1.5, 120, 0.25. */
export function sig3(v: number): string {
	if (v === 0) return '0';
	return String(Number(v.toPrecision(3)));
}

/** SI-compact numbers: 950, 1.2k, 3.4M. */
export function fmtCompact(v: number): string {
	const a = Math.abs(v);
	if (a >= 1e9) return `${sig3(v / 1e9)}G`;
	if (a >= 1e6) return `${sig3(v / 1e6)}M`;
	if (a >= 1e3) return `${sig3(v / 1e3)}k`;
	return sig3(v);
}

/** A duration formatter for a range whose largest value is `maxUs`: all ticks in one unit. */
export function durationFormat(maxUs: number): (us: number) => string {
	if (maxUs >= 1e6) return (v) => `${sig3(v / 1e6)} s`;
	if (maxUs >= 1000) return (v) => `${sig3(v / 1000)} ms`;
	return (v) => `${sig3(v)} µs`;
}

/** A duration on its own: µs, ms or s as fits. */
export function fmtDuration(us: number): string {
	return durationFormat(Math.abs(us))(us);
}

/** Bytes, binary units: 512 B, 4 KiB, 1.5 MiB. */
export function fmtBytesShort(bytes: number): string {
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
	let v = bytes;
	let i = 0;
	while (Math.abs(v) >= 1024 && i < units.length - 1) {
		v /= 1024;
		i++;
	}
	return `${sig3(v)} ${units[i]}`;
}

/** Formatter of axis ticks for a unit, given the largest value on the axis. */
export function tickFormat(unit: Unit, max: number): (v: number) => string {
	switch (unit) {
		case 'us':
			return durationFormat(max);
		case 'ratio':
			return (v) => `${sig3(v * 100)}%`;
		case 'bytes':
			return fmtBytesShort;
		case 'times':
			return (v) => `${sig3(v)}×`;
		default:
			return fmtCompact;
	}
}

/** A single value with its unit, for legends and summaries. */
export function fmtValue(unit: Unit, v: number): string {
	if (!Number.isFinite(v)) return '—';
	switch (unit) {
		case 'us':
			return fmtDuration(v);
		case 'ratio':
			return `${sig3(v * 100)} %`;
		case 'bytes':
			return fmtBytesShort(v);
		case 'times':
			return `${sig3(v)}×`;
		case 'iops':
			return `${fmtCompact(v)} IOPS`;
		case 'mbps':
			return `${sig3(v)} MB/s`;
		default:
			return fmtCompact(v);
	}
}
