/**
 * Check 2: data read equals data written through the chain.
 *
 * The mixed run: random reads and writes at 512-byte-aligned offsets with sizes from 512 B to
 * 64 KiB (odd multiples of 512 B, so most I/O covers partial 4 KiB blocks), 30 % duplicate
 * blocks, an unmap every 61st and a flush every 257th I/O, queue depth 16, then a sequential
 * read-back of the whole region. Every read is compared with what the guest last wrote (fio's
 * verify): zero mismatching sectors, zero I/O errors at the guest, and the run must finish.
 */
import { guestErrorFindings, mismatchFindings, runProblems, setupFailed, type Check, type CheckContext } from './check';

export const dataIntegrity: Check = {
	id: 'data-integrity',
	title: 'data read equals data written (mixed, unaligned workload)',
	async run(ctx: CheckContext) {
		const o = await ctx.mixed();
		const b = o.bench;
		if (!b) return setupFailed(o);
		const findings = [...runProblems(o), ...mismatchFindings(b), ...guestErrorFindings(b)];
		const exp = b.disk.expected;
		let reads = 0;
		let writes = 0;
		let unaligned = 0;
		for (const r of b.guest.ios.values()) {
			if (r.ref.op === 'read') reads++;
			if (r.ref.op === 'write') writes++;
			if ((r.ref.lba % 8 !== 0 || r.ref.sectors % 8 !== 0) && r.ref.op !== 'flush') unaligned++;
		}
		const errors = findings.length - b.badReads.length - runProblems(o).length;
		const passed = findings.length === 0 && exp.sectorsChecked > 0;
		const summary = passed
			? `${reads} reads verified (${exp.sectorsChecked} sectors) against ${writes} writes, ${unaligned} of ${b.guest.ios.size} I/Os unaligned to 4 KiB: 0 mismatches, 0 errors`
			: [
					b.badSectors ? `${b.badSectors} sector${b.badSectors > 1 ? 's' : ''} read back wrong in ${b.badReads.length} read${b.badReads.length > 1 ? 's' : ''}` : '',
					errors > 0 ? `${errors} I/O error${errors > 1 ? 's' : ''} reached the guest` : '',
					runProblems(o).length ? 'the run did not finish' : '',
					exp.sectorsChecked === 0 ? 'no sector could be verified' : ''
				]
					.filter(Boolean)
					.join('; ');
		return { passed, summary, findings };
	}
};
