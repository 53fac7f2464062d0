/**
 * A simulated key management server (KMS), as vSphere VM Encryption uses one: the host asks the
 * KMS for a key by its key id, and only the key id is ever stored next to the disk. Here the KMS
 * is a pure function of its master secret: a key is derived with HKDF-SHA256 (RFC 5869, from the
 * audited `@noble/hashes`) with the key id as the HKDF info, so it is the same in every run, in
 * Node and in the browser, and after a restart, without a key database.
 *
 * This is a teaching model, not a secret store: the default master secret is a public constant.
 * What it does show faithfully is the separation: the sidecar holds `kms:<vm>:<n>`, never key
 * bytes, and losing the KMS (or the id) loses the data.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

/** Bytes of an XTS-AES-256 key: key1 (data, 256 bits) || key2 (tweak, 256 bits). */
export const XTS_KEY_BYTES = 64;

/** `kms:<vm>:<n>`: the VM name (scenario name rules) and the key's version number. */
const KEY_ID = /^kms:[A-Za-z0-9][A-Za-z0-9._-]{0,63}:[1-9][0-9]{0,8}$/;

const utf8 = new TextEncoder();

export class KeyServerError extends Error {
	override name = 'KeyServerError';
}

export class KeyServer {
	/** Keys handed out so far (for status and tests). */
	fetches = 0;
	private readonly master: Uint8Array;
	private readonly salt: Uint8Array;

	/**
	 * @param masterSecret the KMS's root secret (at least 32 bytes); default: a public constant.
	 * @param realm separates KMS instances: the same id in two realms gives unrelated keys.
	 */
	constructor(masterSecret?: Uint8Array, realm = 'vaio-playground simulated KMS v1') {
		const m = masterSecret ?? sha256(utf8.encode('VAIO Playground: public master secret of the simulated KMS'));
		if (m.length < 32) throw new KeyServerError(`master secret must be at least 32 bytes, got ${m.length}`);
		this.master = m.slice();
		this.salt = utf8.encode(realm);
	}

	/** The id of a VM's n-th key (n = 1 for the key a VM gets when it is first encrypted). */
	static keyIdFor(vm: string, n = 1): string {
		const id = `kms:${vm}:${n}`;
		if (!KEY_ID.test(id)) throw new KeyServerError(`cannot form a key id from VM "${vm}" and version ${n}`);
		return id;
	}

	static isKeyId(id: string): boolean {
		return KEY_ID.test(id);
	}

	/**
	 * The 64-byte XTS-AES-256 key with this id. The caller owns the returned bytes and should
	 * zero them once it has expanded the key schedules.
	 */
	fetchKey(keyId: string): Uint8Array {
		if (!KEY_ID.test(keyId)) throw new KeyServerError(`the KMS has no key "${keyId}" (ids look like kms:<vm>:<n>)`);
		this.fetches++;
		return hkdf(sha256, this.master, this.salt, utf8.encode(keyId), XTS_KEY_BYTES);
	}
}

/** The KMS every encryption filter instance talks to (one per page / process, like a cluster's). */
export const defaultKeyServer = new KeyServer();
