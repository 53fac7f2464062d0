/**
 * HyperLogLog (Flajolet et al. 2007) with 2^14 registers (standard error 1.04/√16384 ≈ 0.8 %), the
 * small-range linear-counting correction, and a 46-bit effective hash (register index from one
 * 32-bit hash, rank from a second), so large cardinalities need no large-range correction.
 */
import { fmix32 } from './shards';
import { ln } from '../../engine/detmath';

const P = 14;
const M = 1 << P;
const ALPHA = 0.7213 / (1 + 1.079 / M);

/** The high 32 bits' part of the register hash for blocks below 2^32, computed once. */
const LOW_BLOCKS_SEED = highSeed(0);

function highSeed(hi: number): number {
	return fmix32(hi ^ 0x27d4eb2f);
}

export class HyperLogLog {
	readonly registers = new Uint8Array(M);

	add(block: number): void {
		const seed = block < 4294967296 ? LOW_BLOCKS_SEED : highSeed(Math.floor(block / 4294967296) >>> 0);
		const h1 = fmix32((block >>> 0) ^ seed);
		const h2 = fmix32(h1 ^ 0x165667b1);
		const idx = h1 >>> (32 - P);
		const rank = h2 === 0 ? 33 : Math.clz32(h2) + 1;
		if (rank > this.registers[idx]) this.registers[idx] = rank;
	}

	/** Estimated number of distinct values added. */
	estimate(): number {
		let sum = 0;
		let zeros = 0;
		const r = this.registers;
		for (let i = 0; i < M; i++) {
			sum += 2 ** -r[i];
			if (r[i] === 0) zeros++;
		}
		const e = (ALPHA * M * M) / sum;
		if (e <= 2.5 * M && zeros > 0) return M * ln(M / zeros);
		return e;
	}
}
