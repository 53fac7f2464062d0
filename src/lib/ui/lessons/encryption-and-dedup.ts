import { all, round3, scenario, stat, variant, workload, type Lesson } from './types';

/**
 * Data reduction and encryption: VAIO's class order puts the compression class (dedup) above
 * encryption, so dedup sees plaintext and encryption only encrypts the unique blocks that remain.
 * The reverse order cannot be built (it is what the order is for): XTS encrypts each sector with
 * its number as the tweak, so two identical blocks at different LBAs become different ciphertext
 * and nothing would dedup; the store would hold as many blocks as with no dedup at all.
 */
const base = scenario({
	name: 'lesson-dedup-then-encrypt',
	description: 'Dedup (compression class) above XTS-AES encryption; a clone farm where 70 % of written blocks repeat.',
	datastore: 'nvme',
	filters: [
		{ type: 'dedup', params: {} },
		{ type: 'encryption', params: {} }
	],
	workload: [workload({ rw: 'randrw', iodepth: 16, rwmixread: 30, ios: 2000, size: 64 * 2 ** 20, dedupePercentage: 70 })]
});

export const encryptionAndDedup: Lesson = {
	id: 'encryption-dedup',
	title: 'Encryption before or after dedup',
	summary: 'Dedup must see plaintext: VAIO puts data reduction above encryption, and encryption then stores only the unique blocks, as ciphertext.',
	learn: [
		'The class order: inspection → compression → encryption → replication → cache → dataProvider → datastoreIoControl.',
		'Why ciphertext does not dedup: XTS uses the sector number as its tweak, so equal blocks at different LBAs encrypt differently.',
		'What allowCleartextFilters changes: encryption moves to the bottom, so replication and cache see cleartext too.'
	],
	scenario: base,
	speed: 1,
	view: 'charts',
	steps: [
		{ text: 'Press Play. The guest writes clone-farm data: 70 % of written blocks repeat earlier content.' },
		{ text: 'Dedup sits above encryption (class order), sees plaintext and finds the repeats: watch the Dedup ratio reach ≈ 3×.', watch: 'Dedup ratio' },
		{ text: 'In the filter table, encryption\'s encryptedSectors is ≈ 8 × dedup\'s physicalBlocks: only the unique blocks reach it, and the datastore holds them as ciphertext.', watch: 'Filter table' },
		{ text: 'Try to put encryption above dedup: the palette refuses, because one class per slot and the order is fixed. Had it run first, dedup would see ciphertext and find nothing (Compare: encryption alone stores every block).' },
		{ text: 'Tick allowCleartextFilters: encryption moves below cache and replication (add a cache to see it). Dedup stays above encryption either way.' }
	],
	expected: {
		text: 'Dedup reduces the data at least 2.5×, encryption encrypts only the unique blocks (sectors ≈ 8 × physical blocks), and every read decrypts and verifies.',
		run({ result: r }) {
			const ratio = stat(r, 'dedup', 'dedupRatio');
			const physical = stat(r, 'dedup', 'physicalBlocks');
			const encrypted = stat(r, 'encryption', 'encryptedSectors');
			return all([
				[ratio >= 2.5, `dedup ratio ${round3(ratio)}×`],
				[encrypted <= physical * 8 * 1.1 && encrypted > 0, `${encrypted} sectors encrypted for ${physical} unique blocks`],
				[r.verify.mismatches === 0 && r.verify.reads > 0, `${r.verify.reads} reads verified, ${r.verify.mismatches} mismatches`]
			]);
		}
	},
	compare: {
		a: 'dedup → encryption',
		b: 'encryption only',
		scenario: variant(base, (s) => {
			s.name = 'lesson-encrypt-only';
			s.description = 'The same workload and seed through encryption alone: what the store holds when nothing dedups.';
			s.vms[0].disks[0].policy.filters = [{ type: 'encryption', params: {} }];
		}),
		gauge: { key: 'dedup.dedupRatio', title: 'Dedup ratio', unit: 'times' },
		expected: {
			text: 'Without dedup above it, encryption writes at least 2.5× as many sectors of ciphertext.',
			run: ({ result: a }, { result: b }) => {
				const ea = stat(a, 'encryption', 'encryptedSectors');
				const eb = stat(b, 'encryption', 'encryptedSectors');
				return all([[eb >= ea * 2.5, `${eb} sectors encrypted alone vs ${ea} after dedup`]]);
			}
		}
	}
};
