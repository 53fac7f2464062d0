/**
 * Offline I/O: I/O the framework itself issues through a disk's chain while the guest is not
 * issuing (a clone reading its source, a failback writing the source back, a policy change
 * re-laying the data out, a recovery scan checking every block). VAIO filters see I/O that
 * happens while the VM is off, so this I/O enters the chain at the top like the guest's: every
 * filter sees it (the cache serves its dirty blocks, encryption decrypts, dedup resolves its map).
 * It costs modelled time on the devices like any other I/O; the caller keeps the clock running
 * (the cluster's operations run under Simulation.settle).
 */
import { ChainIo, type FilterChain } from '../chain';
import { BLOCK_BYTES, Op, SECTOR_BYTES, SECTORS_PER_BLOCK, type IoError, type OpCode } from '../io';
import type { Simulation } from '../simulation';
import type { ExpectedState } from '../verify';

/** Blocks per offline I/O (runs of consecutive blocks are coalesced up to this). */
const RUN_BLOCKS = 64;
/** Offline I/Os in flight at once. */
const DEPTH = 16;

export function offlineIo(sim: Simulation, chain: FilterChain, op: OpCode, lba: number, sectors: number, data?: Uint8Array): Promise<ChainIo> {
	const io = new ChainIo(sim.nextIoId(), op, lba, sectors, data, 'guest', sim.sched.now, -1);
	return new Promise((resolve) => chain.submit(io, resolve));
}

/** Runs of consecutive block numbers (sorted input), each at most RUN_BLOCKS long and inside the disk. */
function runs(blocks: readonly number[], diskSectors: number): [first: number, count: number][] {
	const out: [number, number][] = [];
	const maxBlock = Math.ceil(diskSectors / SECTORS_PER_BLOCK);
	for (const b of blocks) {
		if (b < 0 || b >= maxBlock) continue;
		const last = out[out.length - 1];
		if (last && last[0] + last[1] === b && last[1] < RUN_BLOCKS) last[1]++;
		else out.push([b, 1]);
	}
	return out;
}

async function pool<T>(items: readonly T[], depth: number, fn: (item: T) => Promise<void>): Promise<void> {
	let next = 0;
	const worker = async () => {
		while (next < items.length) await fn(items[next++]);
	};
	await Promise.all(Array.from({ length: Math.min(depth, items.length) }, worker));
}

function runSectors(first: number, count: number, diskSectors: number): number {
	return Math.min(count * SECTORS_PER_BLOCK, diskSectors - first * SECTORS_PER_BLOCK);
}

export interface ReadResult {
	/** Bytes of each block read (4 KiB; the last block of an odd-sized disk is zero-padded). */
	data: Map<number, Uint8Array>;
	errors: IoError[];
}

/** Reads blocks through a chain. */
export async function readBlocks(sim: Simulation, chain: FilterChain, blocks: readonly number[]): Promise<ReadResult> {
	const sectors = chain.disk.sectors;
	const data = new Map<number, Uint8Array>();
	const errors: IoError[] = [];
	await pool(runs(blocks, sectors), DEPTH, async ([first, count]) => {
		const n = runSectors(first, count, sectors);
		const io = await offlineIo(sim, chain, Op.read, first * SECTORS_PER_BLOCK, n);
		if (io.error || !io.data) errors.push(io.error ?? { code: 'EIO', message: 'read returned no data', source: 'framework' });
		else
			for (let k = 0; k < count; k++) {
				const buf = new Uint8Array(BLOCK_BYTES);
				const from = k * BLOCK_BYTES;
				buf.set(io.data.subarray(from, Math.min(from + BLOCK_BYTES, n * SECTOR_BYTES)));
				data.set(first + k, buf);
			}
		io.releaseBuffers();
	});
	return { data, errors };
}

/** Writes whole blocks through a chain. */
export async function writeBlocks(sim: Simulation, chain: FilterChain, blocks: ReadonlyMap<number, Uint8Array>): Promise<IoError[]> {
	const sectors = chain.disk.sectors;
	const errors: IoError[] = [];
	const list = [...blocks.keys()].sort((a, b) => a - b);
	await pool(runs(list, sectors), DEPTH, async ([first, count]) => {
		const n = runSectors(first, count, sectors);
		const buf = new Uint8Array(n * SECTOR_BYTES);
		for (let k = 0; k < count; k++) {
			const from = k * BLOCK_BYTES;
			buf.set(blocks.get(first + k)!.subarray(0, Math.min(BLOCK_BYTES, buf.length - from)), from);
		}
		const io = await offlineIo(sim, chain, Op.write, first * SECTORS_PER_BLOCK, n, buf);
		if (io.error) errors.push(io.error);
	});
	return errors;
}

/** Copies blocks from one chain to another (a clone, a failback): read through one, write through the other. */
export async function copyBlocks(sim: Simulation, from: FilterChain, to: FilterChain, blocks: readonly number[]): Promise<{ copied: number; errors: IoError[] }> {
	let copied = 0;
	const errors: IoError[] = [];
	const all = runs(blocks, Math.min(from.disk.sectors, to.disk.sectors));
	// A window of runs at a time, so a large disk is not held in memory at once.
	for (let i = 0; i < all.length; i += DEPTH * 4) {
		const part = all.slice(i, i + DEPTH * 4).flatMap(([first, count]) => Array.from({ length: count }, (_, k) => first + k));
		const r = await readBlocks(sim, from, part);
		errors.push(...r.errors);
		errors.push(...(await writeBlocks(sim, to, r.data)));
		copied += r.data.size;
	}
	return { copied, errors };
}

export interface ScanResult {
	/** Blocks read and compared. */
	blocks: number;
	sectorsChecked: number;
	/** Blocks whose bytes differ from what the guest had acknowledged (their latest write is lost). */
	lostBlocks: number[];
	mismatchedSectors: number;
	/** Reads that failed. */
	errors: IoError[];
}

/**
 * Reads every block the guest has written through the chain and compares it with the guest's
 * expected state (without touching the run's verification counters): what a recovery check
 * after a crash does. Sectors whose content is unknown (a write in flight at the crash) are
 * not compared.
 */
export async function scanDisk(sim: Simulation, chain: FilterChain, expected: ExpectedState): Promise<ScanResult> {
	const blocks = expected.blockList();
	const check = expected.copy();
	const lost: number[] = [];
	let mismatched = 0;
	const errors: IoError[] = [];
	const sectors = chain.disk.sectors;
	for (let i = 0; i < blocks.length; i += 512) {
		const part = blocks.slice(i, i + 512);
		const r = await readBlocks(sim, chain, part);
		errors.push(...r.errors);
		for (const b of part) {
			const data = r.data.get(b);
			if (!data) continue;
			const n = Math.min(SECTORS_PER_BLOCK, sectors - b * SECTORS_PER_BLOCK);
			if (n <= 0) continue;
			const bad = check.checkRead(b * SECTORS_PER_BLOCK, n, data.subarray(0, n * SECTOR_BYTES), 0);
			if (bad > 0) {
				lost.push(b);
				mismatched += bad;
			}
		}
	}
	return { blocks: blocks.length, sectorsChecked: check.sectorsChecked, lostBlocks: lost, mismatchedSectors: mismatched, errors };
}
