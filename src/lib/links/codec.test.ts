import { describe, expect, it } from 'vitest';
import { deflateSync, strToU8 } from 'fflate';
import { LINK_VERSION, LinkError, decodeLink, encodeLink, fromBase64Url, toBase64Url } from './codec';
import { Prng } from '../engine/clock';
import { ScenarioError, defaultScenario, parseScenario } from '../engine/index';

const state = () => ({ scenario: defaultScenario(), ui: { speed: Infinity, view: 'trace', selected: 0 }, filters: [{ name: 'mine', source: 'export default {}' }] });

describe('share links', () => {
	it('round-trip the whole state, including an infinite speed', () => {
		const link = encodeLink(state());
		expect(link.startsWith(`s=${LINK_VERSION}.`)).toBe(true);
		expect(decodeLink(link)).toEqual(state());
		expect(decodeLink(`https://example.test/playground#${link}`)).toEqual(state());
		expect(decodeLink(`#${link}`)).toEqual(state());
	});

	it('keep a typical scenario short enough to share', () => {
		expect(encodeLink(state()).length).toBeLessThan(2000);
	});

	it('base64url round-trips every length', () => {
		const r = new Prng(1);
		for (let n = 0; n < 40; n++) {
			const bytes = Uint8Array.from({ length: n }, () => r.u32() & 255);
			expect(fromBase64Url(toBase64Url(bytes))).toEqual(bytes);
		}
	});

	it('open a version 1 link (the bare scenario) by migrating it', () => {
		const v1 = `s=1.${toBase64Url(deflateSync(strToU8(JSON.stringify(defaultScenario()))))}`;
		expect(decodeLink(v1)).toEqual({ scenario: defaultScenario() });
	});

	it.each([
		['', 'format', 'no "s=" scenario'],
		['#s=abc', 'format', 'expected "s=<version>.<data>"'],
		['#s=x.abc', 'version', 'is not a version number'],
		['#s=9.abc', 'version', 'made by a newer playground'],
		['#s=2.ab$d', 'base64', 'is not base64url'],
		['#s=2.a', 'base64', 'cannot be base64'],
		['#s=2.AAAA', 'inflate', ''],
		[`#s=2.${toBase64Url(deflateSync(strToU8('{"scenario":')))}`, 'json', ''],
		[`#s=2.${toBase64Url(deflateSync(strToU8('[1]')))}`, 'content', 'does not hold an object'],
		[`#s=2.${toBase64Url(deflateSync(strToU8('{"x":1}')))}`, 'content', 'has no scenario']
	])('refuse %j at the %s step', (link, step, reason) => {
		try {
			decodeLink(link);
			expect.unreachable();
		} catch (e) {
			expect(e).toBeInstanceOf(LinkError);
			expect((e as LinkError).step).toBe(step);
			expect((e as Error).message).toContain(reason);
		}
	});

	it('stop a compression bomb before it is inflated whole', () => {
		const bomb = `s=2.${toBase64Url(deflateSync(new Uint8Array(8 * 1024 * 1024).fill(32)))}`;
		expect(bomb.length).toBeLessThan(256 * 1024);
		expect(() => decodeLink(bomb)).toThrow(/inflates to more than/);
	});

	it('survive 10,000 mutated links with a clear error or a valid result', () => {
		const good = encodeLink(state());
		const r = new Prng(2024);
		const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=&#%$';
		const outcomes = { ok: 0, link: 0, scenario: 0 };
		for (let i = 0; i < 10_000; i++) {
			let s = good;
			const edits = 1 + r.int(4);
			for (let k = 0; k < edits; k++) {
				const at = r.int(s.length + 1);
				switch (r.int(5)) {
					case 0: // replace a character
						s = s.slice(0, at) + alphabet[r.int(alphabet.length)] + s.slice(at + 1);
						break;
					case 1: // truncate
						s = s.slice(0, at);
						break;
					case 2: // delete a span
						s = s.slice(0, at) + s.slice(at + 1 + r.int(8));
						break;
					case 3: // duplicate a span
						s = s.slice(0, at) + s.slice(at, at + r.int(30)) + s.slice(at);
						break;
					default: // insert garbage
						s = s.slice(0, at) + alphabet[r.int(alphabet.length)].repeat(1 + r.int(5)) + s.slice(at);
				}
			}
			try {
				const decoded = decodeLink(s);
				parseScenario(decoded.scenario);
				outcomes.ok++;
			} catch (e) {
				if (e instanceof LinkError) outcomes.link++;
				else if (e instanceof ScenarioError) outcomes.scenario++;
				else throw new Error(`mutation ${i} (${JSON.stringify(s.slice(0, 80))}…) threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
			}
		}
		expect(outcomes.ok + outcomes.link + outcomes.scenario).toBe(10_000);
		expect(outcomes.link).toBeGreaterThan(5000);
	});
});
