/**
 * The words the page uses to explain VAIO: what each filter class is for and why it sits where it
 * does, what each device role is, what allowCleartextFilters changes, and which few status
 * counters of each filter are worth a glance in the topology view.
 */
import type { FilterClass } from '../engine/filter';
import { fmtStatus } from './format';

export const CLASS_LABEL: Record<FilterClass, string> = {
	inspection: 'inspection',
	compression: 'compression',
	encryption: 'encryption',
	replication: 'replication',
	cache: 'cache',
	dataProvider: 'dataProvider',
	datastoreIoControl: 'datastoreIoControl'
};

/** Why each class is where it is in the chain (tooltips, aria descriptions, the palette). */
export const CLASS_HELP: Record<FilterClass, string> = {
	inspection:
		'First below the guest: sees every I/O exactly as the guest issued it, before any filter changes it (analytics, auditing).',
	compression:
		'Data reduction (dedup, compression) must see plaintext: once data is encrypted it no longer repeats, so this class runs above encryption.',
	encryption:
		'Encrypts data on the way down and decrypts it on the way up (XTS-AES-256, as VM Encryption). Every filter below it sees ciphertext, unless allowCleartextFilters moves encryption to the bottom.',
	replication:
		'Runs before (above) the cache, as VAIO requires: a write-back cache completes writes without passing them down, so a replication filter below it would miss writes or see them late and out of order.',
	cache:
		'Host-local SSD cache: may complete reads that hit, and in write-back mode complete writes on the SSD and destage them later. Everything above it (replication) has already seen every write.',
	dataProvider:
		'Provides or places the data below the cache: the tiering filter keeps hot extents on a fast device and the rest on the capacity datastore.',
	datastoreIoControl:
		'Last before the datastore: storage I/O control (limits, reservations, shares, as SIOC v2) and, in the playground, fault injection.'
};

export const CLEARTEXT_HELP =
	'allowCleartextFilters (vSphere: "allow I/O filters before encryption") moves encryption from its place after compression to the bottom of the chain, just above the datastore. Replication, cache and tiering then see and store cleartext (the replica and the SSD cache hold unencrypted data); only the datastore holds ciphertext.';

/** What a filter's device role is. */
export const ROLE_HELP: Record<string, string> = {
	ssd: 'The host-local SSD that holds the cache (a device of its own, with its own latency model and store).',
	wan: 'The WAN link to the replica site: round-trip time and bandwidth of the replication traffic.',
	replica: 'The storage at the replica site that receives the replicated writes.',
	journal: 'The journal device at the replica site (history for point-in-time recovery).',
	fast: 'The fast tier (the capacity tier is the datastore itself).',
	peer: 'The LAN to the other hosts that keep copies of the write-back cache\'s dirty blocks (writeBackPeers): a write completes when they acknowledge its copy, and a crash of this host loses none of them.'
};

export const ROLE_LABEL: Record<string, string> = {
	ssd: 'Host SSD',
	wan: 'WAN link',
	replica: 'Replica storage',
	journal: 'Replica journal',
	fast: 'Fast tier',
	peer: 'Peer link'
};

/**
 * Whether a filter's device takes part with these parameters: the cache's link to its peers only
 * carries write-back copies (mode write-back, writeBackPeers > 0); every other device always.
 * The topology draws, and the filter panel offers, only the devices in use.
 */
export function deviceInUse(type: string, role: string, params: Record<string, unknown>): boolean {
	if (type === 'cache' && role === 'peer') return params.mode === 'write-back' && Number(params.writeBackPeers ?? 0) > 0;
	return true;
}

/** Status counters worth a glance per filter type (the rest are in the panel and the table). */
const HIGHLIGHTS: Record<string, string[]> = {
	analytics: ['workingSetBlocks', 'sequentialPct', 'meanLatencyUs'],
	dedup: ['dedupRatio', 'dedupHits', 'physicalBlocks'],
	encryption: ['encryptedSectors', 'decryptedSectors'],
	replication: ['state', 'rpoUs', 'lagBytes'],
	cache: ['readHitRatio', 'dirtyBlocks', 'occupancyPct'],
	tiering: ['fastShare', 'migrations'],
	flaky: ['failed', 'corrupted'],
	delay: ['verdictDefer', 'deferredUs']
};

const SHORT: Record<string, string> = {
	workingSetBlocks: 'WSS',
	sequentialPct: 'seq',
	meanLatencyUs: 'lat',
	dedupRatio: 'ratio',
	dedupHits: 'hits',
	physicalBlocks: 'phys',
	encryptedSectors: 'enc',
	decryptedSectors: 'dec',
	state: 'state',
	rpoUs: 'RPO',
	lagBytes: 'lag',
	readHitRatio: 'hit',
	dirtyBlocks: 'dirty',
	occupancyPct: 'used',
	fastShare: 'fast',
	migrations: 'moves',
	failed: 'failed',
	corrupted: 'corrupt',
	verdictPass: 'pass',
	verdictComplete: 'done',
	verdictDefer: 'defer',
	verdictFail: 'fail',
	deferredUs: 'held'
};

/** A few "label value" pairs for a filter box, from the filter's latest status. */
export function highlights(type: string, status: Record<string, number | string> | undefined): { key: string; label: string; value: string }[] {
	if (!status) return [];
	const keys = HIGHLIGHTS[type] ?? ['verdictPass', 'verdictComplete', 'verdictDefer', ...(Number(status.verdictFail) > 0 ? ['verdictFail'] : [])];
	const out: { key: string; label: string; value: string }[] = [];
	for (const k of keys) {
		const v = status[k];
		if (v === undefined) continue;
		out.push({ key: k, label: SHORT[k] ?? k, value: fmtStatus(k, v) });
	}
	return out;
}
