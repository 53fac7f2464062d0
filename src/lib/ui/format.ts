/** Number formatting for the page: one place, so every panel writes numbers the same way. */

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const sig = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });

/** Integers with separators, other numbers to three significant digits. */
export function fmtNumber(v: number): string {
	if (!Number.isFinite(v)) return String(v);
	return Number.isInteger(v) || Math.abs(v) >= 1000 ? int.format(v) : sig.format(v);
}

/** A duration in virtual µs: µs, ms or s. */
export function fmtUs(us: number): string {
	if (!Number.isFinite(us)) return '—';
	if (us >= 1e6) return `${sig.format(us / 1e6)} s`;
	if (us >= 1000) return `${sig.format(us / 1000)} ms`;
	return `${sig.format(us)} µs`;
}

/** Bytes with a binary unit (4 KiB, 1.5 MiB). */
export function fmtBytes(bytes: number): string {
	if (!Number.isFinite(bytes)) return '—';
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
	let v = bytes;
	let i = 0;
	while (Math.abs(v) >= 1024 && i < units.length - 1) {
		v /= 1024;
		i++;
	}
	return `${i === 0 ? int.format(v) : sig.format(v)} ${units[i]}`;
}

/** A status value: numbers formatted, ratios (keys ending in Ratio/Share) as percentages. */
export function fmtStatus(key: string, v: number | string): string {
	if (typeof v !== 'number') return v;
	if (/(Ratio|Share)$/.test(key) && key !== 'dedupRatio' && v >= 0 && v <= 1) return `${sig.format(v * 100)} %`;
	if (/Pct$/.test(key)) return `${sig.format(v)} %`;
	if (/Us$/.test(key)) return fmtUs(v);
	if (/Bytes$/.test(key)) return fmtBytes(v);
	if (key === 'dedupRatio') return `${sig.format(v)}×`;
	return fmtNumber(v);
}

/** Bytes as a size a person types back: 4k, 64k, 1m, 20g (binary), or plain bytes. */
export function fmtSize(bytes: number): string {
	const units: [string, number][] = [
		['t', 2 ** 40],
		['g', 2 ** 30],
		['m', 2 ** 20],
		['k', 2 ** 10]
	];
	for (const [u, m] of units) if (bytes >= m && bytes % m === 0) return `${bytes / m}${u}`;
	return String(bytes);
}
