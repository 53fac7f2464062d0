import { createCipheriv, createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { XtsAes, allZero } from './xts';
import { IEEE1619_VECTORS } from './xts.vectors';
import { KeyServer, XTS_KEY_BYTES, defaultKeyServer } from './keyserver';

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** The IEEE tweak: the data unit number as a 128-bit little-endian block. */
function tweakOf(unit: number): Buffer {
	const iv = Buffer.alloc(16);
	iv.writeUInt32LE(unit % 2 ** 32, 0);
	iv.writeUInt32LE(Math.floor(unit / 2 ** 32), 4);
	return iv;
}

/** Node's OpenSSL XTS, for cross-checks in tests only (the filter must run in a browser). */
function opensslXts(key: Uint8Array, unit: number, data: Uint8Array, encrypt: boolean): Uint8Array {
	const alg = key.length === 64 ? 'aes-256-xts' : 'aes-128-xts';
	const c = encrypt ? createCipheriv(alg, key, tweakOf(unit)) : createDecipheriv(alg, key, tweakOf(unit));
	return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

function prng(seed: number): () => number {
	let x = seed >>> 0 || 1;
	return () => {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		return x >>> 0;
	};
}

function randomBytes(n: number, seed: number): Uint8Array {
	const r = prng(seed);
	const out = new Uint8Array(n);
	for (let i = 0; i < n; i++) out[i] = r() & 0xff;
	return out;
}

describe('XTS-AES on noble AES: IEEE Std 1619-2007 Annex B vectors', () => {
	for (const v of IEEE1619_VECTORS) {
		it(v.name, () => {
			const key = hex(v.key);
			const pt = hex(v.plaintext);
			const ct = hex(v.ciphertext);
			const x = new XtsAes(key);
			const out = new Uint8Array(pt.length);
			x.encrypt(pt, out, v.unit, pt.length);
			expect(toHex(out)).toBe(toHex(ct));
			const back = new Uint8Array(ct.length);
			x.decrypt(ct, back, v.unit, ct.length);
			expect(toHex(back)).toBe(toHex(pt));
			// The transcribed vector agrees with OpenSSL too.
			expect(toHex(opensslXts(key, v.unit, pt, true))).toBe(toHex(ct));
		});
	}

	it('has the XTS-AES-256 vectors 10 to 14 on 512-byte data units', () => {
		const v256 = IEEE1619_VECTORS.filter((v) => v.key.length === 128 && v.plaintext.length === 1024);
		expect(v256.map((v) => v.unit)).toEqual([0xff, 0xffff, 0xffffff, 0xffffffff, 0xffffffffff]);
	});
});

describe('XTS-AES-256 per 512-byte sector (aes-xts-plain64)', () => {
	const key = randomBytes(64, 7);
	const x = new XtsAes(key);

	it('matches OpenSSL sector by sector over a multi-sector buffer, including sectors above 2^32', () => {
		for (const first of [0, 1, 4095, 2 ** 32 - 2, 2 ** 40 + 3]) {
			const pt = randomBytes(8 * 512, first + 1);
			const ct = new Uint8Array(pt.length);
			x.encrypt(pt, ct, first);
			for (let s = 0; s < 8; s++) {
				const want = opensslXts(key, first + s, pt.subarray(s * 512, (s + 1) * 512), true);
				expect(toHex(ct.subarray(s * 512, (s + 1) * 512))).toBe(toHex(want));
			}
			const back = new Uint8Array(ct.length);
			x.decrypt(ct, back, first);
			expect(back).toEqual(pt);
		}
	});

	it('works in place and on unaligned views', () => {
		const pt = randomBytes(1024, 3);
		const want = new Uint8Array(1024);
		x.encrypt(pt, want, 77);
		const inPlace = pt.slice();
		x.encrypt(inPlace, inPlace, 77);
		expect(inPlace).toEqual(want);
		const odd = new Uint8Array(1027);
		odd.set(pt, 3);
		const oddOut = new Uint8Array(1025);
		x.encrypt(odd.subarray(3), oddOut.subarray(1), 77);
		expect(oddOut.subarray(1)).toEqual(want);
		x.decrypt(oddOut.subarray(1), odd.subarray(3), 77);
		expect(odd.subarray(3)).toEqual(pt);
	});

	it('gives different ciphertext for the same plaintext at different sectors (the tweak)', () => {
		const pt = randomBytes(512, 11);
		const a = new Uint8Array(512);
		const b = new Uint8Array(512);
		x.encrypt(pt, a, 100);
		x.encrypt(pt, b, 101);
		expect(toHex(a)).not.toBe(toHex(b));
		// ...and within a sector, equal plaintext blocks encrypt differently (T_j = T * alpha^j).
		const zeros = new Uint8Array(512);
		x.encrypt(new Uint8Array(512), zeros, 5);
		expect(toHex(zeros.subarray(0, 16))).not.toBe(toHex(zeros.subarray(16, 32)));
	});

	it('decryptThin reads all-zero ciphertext sectors (thin holes) as zeros', () => {
		const pt = randomBytes(3 * 512, 5);
		const ct = new Uint8Array(pt.length);
		x.encrypt(pt, ct, 40);
		ct.fill(0, 512, 1024); // sector 41: never written
		const out = new Uint8Array(ct.length);
		expect(x.decryptThin(ct, out, 40)).toBe(1);
		expect(out.subarray(0, 512)).toEqual(pt.subarray(0, 512));
		expect(out.subarray(512, 1024)).toEqual(new Uint8Array(512));
		expect(out.subarray(1024)).toEqual(pt.subarray(1024));
		// Plain decrypt does not special-case: zeros decrypt to noise.
		x.decrypt(ct, out, 40);
		expect(out.subarray(512, 1024).some((b) => b !== 0)).toBe(true);
	});

	it('refuses what it does not implement or must not accept', () => {
		expect(() => new XtsAes(new Uint8Array(48))).toThrow(/32 or 64 bytes/);
		expect(() => new XtsAes(new Uint8Array(64))).toThrow(/halves must differ/);
		// No ciphertext stealing: data units are whole AES blocks.
		expect(() => x.encrypt(new Uint8Array(17), new Uint8Array(17), 0, 17)).toThrow(/no ciphertext stealing/);
		expect(() => x.encrypt(new Uint8Array(600), new Uint8Array(600), 0)).toThrow(/whole number/);
		expect(() => x.encrypt(new Uint8Array(512), new Uint8Array(512), -1)).toThrow(/unit number/);
		const y = new XtsAes(randomBytes(64, 9));
		y.destroy();
		expect(() => y.encrypt(new Uint8Array(512), new Uint8Array(512), 0)).toThrow(/destroyed/);
	});
});

describe('simulated KMS', () => {
	it('derives a stable 64-byte key per key id with HKDF-SHA256', () => {
		const kms = new KeyServer();
		const a = kms.fetchKey('kms:vm-01:1');
		expect(a.length).toBe(XTS_KEY_BYTES);
		expect(toHex(kms.fetchKey('kms:vm-01:1'))).toBe(toHex(a));
		expect(toHex(new KeyServer().fetchKey('kms:vm-01:1'))).toBe(toHex(a)); // a restarted KMS
		expect(toHex(kms.fetchKey('kms:vm-01:2'))).not.toBe(toHex(a));
		expect(toHex(kms.fetchKey('kms:vm-02:1'))).not.toBe(toHex(a));
		expect(toHex(new KeyServer(new Uint8Array(32).fill(1)).fetchKey('kms:vm-01:1'))).not.toBe(toHex(a));
		expect(kms.fetches).toBe(4);
		expect(toHex(a.subarray(0, 32))).not.toBe(toHex(a.subarray(32)));
	});

	it('knows only kms:<vm>:<n> ids', () => {
		expect(KeyServer.keyIdFor('vm-01')).toBe('kms:vm-01:1');
		expect(KeyServer.keyIdFor('vm-01', 3)).toBe('kms:vm-01:3');
		expect(() => defaultKeyServer.fetchKey('vm-01')).toThrow(/no key/);
		expect(() => defaultKeyServer.fetchKey('kms:vm-01:0')).toThrow(/no key/);
		expect(() => new KeyServer(new Uint8Array(16))).toThrow(/32 bytes/);
	});
});

describe('allZero', () => {
	it('tells a read of holes only from one with any non-zero byte', () => {
		const b = new Uint8Array(4096);
		expect(allZero(b)).toBe(true);
		b[4095] = 1;
		expect(allZero(b)).toBe(false);
		expect(allZero(b.subarray(1, 4095))).toBe(true); // unaligned view
		expect(allZero(b.subarray(1))).toBe(false);
	});
});
