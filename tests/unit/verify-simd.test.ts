import { describe, expect, it } from 'vitest';
import wabt from 'wabt';
import { CHECK_WAT, MODULE_BASE64 } from '../../src/lib/engine/verify-simd';

describe('the read check module', () => {
	it('is its WebAssembly text assembled: the bytes shipped are what the source says', async () => {
		const w = await wabt();
		const mod = w.parseWat('check.wat', CHECK_WAT, { simd: true });
		try {
			const { buffer } = mod.toBinary({});
			expect(Buffer.from(buffer).toString('base64')).toBe(MODULE_BASE64);
		} finally {
			mod.destroy();
		}
	});
});
