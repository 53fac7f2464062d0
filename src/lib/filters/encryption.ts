/**
 * Encryption (class encryption): every sector below this filter is XTS-AES-256 ciphertext, as
 * dm-crypt's `aes-xts-plain64` and vSphere VM Encryption write it. Each 512-byte sector is one
 * XTS data unit whose tweak is its sector number (64-bit little-endian, "plain64"), so the same
 * plaintext at two sectors gives unrelated ciphertext, and any sector can be read or written
 * alone: unaligned guest I/O needs no read-modify-write, because the engine's I/O is in whole
 * sectors already.
 *
 * - Writes: the guest's buffer is never touched (the guest may still hold it); the ciphertext
 *   goes into a new buffer that replaces io.data on the way down, and the plaintext is put back
 *   on the way up, so filters above (a cache that populates on write completion) see plaintext.
 *   The ciphertext buffer comes from the engine's pool and goes back to it once the write is
 *   acknowledged from below.
 * - Reads: on the way up the ciphertext is decrypted into a new buffer handed up as the read's
 *   data (a buffer from a filter below, e.g. a cache hit, is never changed in place).
 * - Holes: a thin disk reads never-written and unmapped sectors as zeros. A sector whose
 *   ciphertext is all zeros is such a hole and reads as zeros, as an unallocated grain of an
 *   encrypted VMDK does (real ciphertext is all zeros with probability 2^-4096).
 * - Keys: the 64-byte key comes from the (simulated) KMS by key id: `kms:<vm>:<n>`, one key per
 *   VM unless the keyId parameter names another. The sidecar holds the key id and the cipher,
 *   never key bytes; after a restart attach() reads the id back and fetches the key again.
 * - Cost: the CPU work is charged as a blocking call (ctx.charge) of `cpuUsPerKiB` per KiB,
 *   0.5 µs by default: XTS-AES-256 with AES-NI runs at about 2-4 GB/s per core, 0.25-0.5 µs per
 *   KiB. (The JavaScript AES behind the real bytes is ~100x slower in wall time; the virtual
 *   clock models the product, not the playground.)
 * - Placement: with the policy's allowCleartextFilters the engine puts this filter last, just
 *   above the datastore, so replication, cache and the rest see cleartext (chain.ts rank()).
 *
 * Not modelled: re-keying (a "shallow rekey" re-wraps the disk key; a deep rekey rewrites every
 * sector) - once a disk has a key id in its sidecar a different keyId parameter is ignored with
 * a log line; encrypting or decrypting a disk that already holds data when the filter is
 * attached or detached; the KMS round trip time; per-disk data keys wrapped by the VM's key
 * (VM Encryption's DEK/KEK split): here the VM's key encrypts its disks directly.
 */
import { FILTER_CONTRACT_VERSION, PASS, complete, type FilterContext, type FilterDef, type Verdict } from '../engine/filter';
import { Op, SECTOR_BYTES, type Io } from '../engine/io';
import { acquireWriteBuffer, lendReadBuffer, releaseWriteBuffer } from '../engine/buffers';
import { getJson, putJson } from './sdk';
import { ParamError } from '../engine/params';
import { XtsAes, allZero } from './encryption/xts';
import { KeyServer, defaultKeyServer } from './encryption/keyserver';

export const ENCRYPTION_CIPHERS = ['aes-xts-plain64'] as const;
/** The sidecar key of the filter's persistent record. */
export const ENCRYPTION_SIDECAR_KEY = 'encryption';

/** What the sidecar holds: the key's id and the cipher, never the key. */
export interface EncryptionRecord {
	version: 1;
	cipher: (typeof ENCRYPTION_CIPHERS)[number];
	keyId: string;
}

export interface EncryptionState {
	keyId: string;
	cipher: string;
	xts: XtsAes;
	usPerByte: number;
	encryptedSectors: number;
	decryptedSectors: number;
	holeSectors: number;
	keyFetches: number;
}

/** What a write carries in its slot: the guest's plaintext, restored on the way up, and the ciphertext. */
class SealedWrite {
	constructor(
		readonly plain: Uint8Array,
		readonly cipher: Uint8Array
	) {}
}

/**
 * Puts the plaintext back on the way up. Once the write is acknowledged from below, nobody holds
 * the ciphertext any more (a filter below that keeps write data copies it: the filter contract),
 * so its buffer goes back to the pool; a failed write's may still be in flight below, it is left.
 */
function restorePlaintext(io: Io, index: number): void {
	const w = io.slots[index];
	if (w instanceof SealedWrite) {
		io.data = w.plain;
		io.slots[index] = undefined;
		if (io.error === undefined) releaseWriteBuffer(w.cipher);
	}
}

export const encryption: FilterDef<EncryptionState> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'encryption',
	vendor: 'VAIO Playground',
	version: '1.0.0',
	class: 'encryption',
	description: 'XTS-AES-256 per 512-byte sector (aes-xts-plain64), keys from a simulated KMS by key id.',
	params: [
		{
			name: 'keyId',
			type: 'string',
			default: '',
			maxLength: 80,
			help: 'KMS key id (kms:<vm>:<n>); empty = the VM\'s own key, kms:<vm>:1. Only used when the disk is first encrypted: the sidecar keeps the id.'
		},
		{
			name: 'cipher',
			type: 'enum',
			default: 'aes-xts-plain64',
			choices: ENCRYPTION_CIPHERS,
			help: 'XTS-AES-256, 512-byte sectors, tweak = sector number (dm-crypt aes-xts-plain64, VM Encryption).'
		},
		{
			name: 'cpuUsPerKiB',
			type: 'number',
			default: 0.5,
			min: 0,
			max: 1000,
			unit: 'µs/KiB',
			help: 'Modelled CPU time per KiB encrypted or decrypted, charged as a blocking call (0.5 ≈ AES-NI at 2 GB/s).'
		}
	],

	async attach(ctx) {
		const saved = await getJson<EncryptionRecord>(ctx.sidecar, ENCRYPTION_SIDECAR_KEY);
		const wanted = ctx.params.keyId as string;
		const cipher = ctx.params.cipher as EncryptionRecord['cipher'];
		let keyId: string;
		if (saved !== undefined) {
			if (saved.version !== 1 || typeof saved.keyId !== 'string' || !ENCRYPTION_CIPHERS.includes(saved.cipher))
				throw new Error(`encryption sidecar of ${ctx.disk.vm}/${ctx.disk.name} is not a version-1 record: ${JSON.stringify(saved)}`);
			keyId = saved.keyId;
			if (wanted !== '' && wanted !== keyId)
				ctx.log(`keyId ${wanted} ignored: the disk is encrypted with ${keyId} (re-keying is not supported)`);
		} else {
			keyId = wanted !== '' ? wanted : KeyServer.keyIdFor(ctx.disk.vm, 1);
			if (!KeyServer.isKeyId(keyId)) throw new ParamError(`filter "encryption" parameter "keyId": "${keyId}" is not a KMS key id (kms:<vm>:<n>, n ≥ 1)`, 'keyId');
			const record: EncryptionRecord = { version: 1, cipher, keyId };
			await putJson(ctx.sidecar, ENCRYPTION_SIDECAR_KEY, record);
		}
		const key = defaultKeyServer.fetchKey(keyId);
		const xts = new XtsAes(key);
		key.fill(0);
		ctx.log(`key ${keyId} fetched from the KMS`);
		return {
			keyId,
			cipher: saved?.cipher ?? cipher,
			xts,
			usPerByte: (ctx.params.cpuUsPerKiB as number) / 1024,
			encryptedSectors: 0,
			decryptedSectors: 0,
			holeSectors: 0,
			keyFetches: 1
		};
	},

	detach(ctx) {
		ctx.state.xts.destroy();
	},

	onIo(io, ctx): Verdict {
		if (io.op !== Op.write) return PASS;
		const plain = io.data;
		if (!plain || plain.length === 0) return PASS;
		const s = ctx.state;
		const cipher = acquireWriteBuffer(plain.length);
		s.xts.encrypt(plain, cipher, io.lba, SECTOR_BYTES);
		io.slots[ctx.index] = new SealedWrite(plain, cipher);
		io.data = cipher;
		s.encryptedSectors += plain.length / SECTOR_BYTES;
		ctx.charge(plain.length * s.usPerByte);
		return PASS;
	},

	onDone(io, ctx): Verdict {
		if (io.op === Op.write) {
			restorePlaintext(io, ctx.index);
			return PASS;
		}
		if (io.op !== Op.read || io.error !== undefined) return PASS;
		const cipher = io.data;
		if (!cipher || cipher.length !== io.sectors * SECTOR_BYTES) return PASS;
		const s = ctx.state;
		if (allZero(cipher)) {
			// Nothing but holes (never written, unmapped): the zeros are the plaintext already.
			s.holeSectors += io.sectors;
			return PASS;
		}
		// Pooled: the engine takes it back once the guest has the data.
		const plain = lendReadBuffer(cipher.length);
		const holes = s.xts.decryptThin(cipher, plain, io.lba, SECTOR_BYTES);
		const sectors = cipher.length / SECTOR_BYTES;
		s.holeSectors += holes;
		s.decryptedSectors += sectors - holes;
		ctx.charge((sectors - holes) * SECTOR_BYTES * s.usPerByte);
		return complete(plain);
	},

	status: (ctx: FilterContext<EncryptionState>) => {
		const s = ctx.state;
		return {
			cipher: s.cipher,
			keyId: s.keyId,
			encryptedSectors: s.encryptedSectors,
			decryptedSectors: s.decryptedSectors,
			holeSectors: s.holeSectors,
			keyFetches: s.keyFetches
		};
	}
};
