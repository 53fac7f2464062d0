/**
 * The engine and the filters must give the same trace, bit for bit, in Node and in Chromium.
 * That rules out wall clocks and unseeded randomness, and also Math's transcendental functions,
 * whose last bits differ between JavaScript engines (see src/lib/engine/detmath.ts).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOTS = ['src/lib/engine', 'src/lib/filters'];
const FORBIDDEN: [RegExp, string][] = [
	[/\bMath\.random\s*\(/, 'Math.random (use the seeded Prng)'],
	[/\bDate\.now\s*\(/, 'Date.now (use the virtual clock)'],
	[/\bnew Date\s*\(/, 'new Date (use the virtual clock)'],
	[/\bperformance\.now\s*\(/, 'performance.now (use the virtual clock)'],
	[
		/\bMath\.(exp|expm1|log|log1p|log2|log10|pow|sin|cos|tan|asin|acos|atan|atan2|sinh|cosh|tanh|asinh|acosh|atanh|cbrt|hypot)\s*\(/,
		'a Math transcendental (import it from engine/detmath)'
	]
];

function sourceFiles(dir: string): string[] {
	const out: string[] = [];
	for (const name of readdirSync(dir)) {
		const p = join(dir, name);
		if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
		else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('store-suite.ts')) out.push(p);
	}
	return out;
}

describe('engine and filter sources', () => {
	const files = ROOTS.flatMap(sourceFiles);

	it('are found', () => {
		expect(files.length).toBeGreaterThan(20);
	});

	it('use no wall clock, no unseeded randomness and no engine-dependent Math function', () => {
		const problems: string[] = [];
		for (const f of files) {
			readFileSync(f, 'utf8')
				.split('\n')
				.forEach((line, i) => {
					if (/^\s*(\/\/|\*)/.test(line)) return; // comments may mention them
					for (const [re, what] of FORBIDDEN) if (re.test(line)) problems.push(`${f}:${i + 1}: ${what}`);
				});
		}
		expect(problems).toEqual([]);
	});
});
