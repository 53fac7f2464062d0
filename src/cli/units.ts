/**
 * How the summary writes times, rates and sizes: fio's style, three significant digits.
 */

/** µs → "830ns", "12.3µs", "1.25ms", "2.50s" */
export function duration(us: number): string {
	if (!Number.isFinite(us)) return String(us);
	if (us === 0) return '0µs';
	if (us < 1) return `${sig(us * 1000)}ns`;
	if (us < 1000) return `${sig(us)}µs`;
	if (us < 1e6) return `${sig(us / 1000)}ms`;
	return `${sig(us / 1e6)}s`;
}

/** A rate like fio's: 950, 12.3k, 1.25M */
export function count(n: number): string {
	if (n < 1000) return sig(n);
	if (n < 1e6) return `${sig(n / 1000)}k`;
	if (n < 1e9) return `${sig(n / 1e6)}M`;
	return `${sig(n / 1e9)}G`;
}

/** Bytes in powers of 1024: "4KiB", "1.25MiB" */
export function binary(bytes: number): string {
	return scaled(bytes, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB']);
}

/** Bytes in powers of 1000: "4.10kB", "1.31MB" */
export function decimal(bytes: number): string {
	return scaled(bytes, 1000, ['B', 'kB', 'MB', 'GB', 'TB']);
}

function scaled(n: number, base: number, units: readonly string[]): string {
	let i = 0;
	while (n >= base && i < units.length - 1) {
		n /= base;
		i++;
	}
	return `${sig(n)}${units[i]}`;
}

/** Three significant digits, no exponent: 0.512, 12.3, 456, 1234 */
function sig(n: number): string {
	if (n === 0) return '0';
	if (n >= 100) return String(Math.round(n));
	return String(Number(n.toPrecision(3)));
}
