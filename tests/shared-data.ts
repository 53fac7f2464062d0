/**
 * Where the tests and the benchmark find the project's shared real data (a real VMware vSCSI trace, see the data
 * folder's README): $VAIO_SHARED_DATA, else a `shared/data` folder beside the checkout or beside
 * one of its parent folders. Tests that need the trace skip, saying so, where it is missing.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const checkout = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function findSharedData(): string | undefined {
	const fromEnv = process.env.VAIO_SHARED_DATA;
	if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
	for (let dir = path.dirname(checkout); ; dir = path.dirname(dir)) {
		const candidate = path.join(dir, 'shared', 'data');
		if (existsSync(candidate)) return candidate;
		if (path.dirname(dir) === dir) return undefined;
	}
}

export const SHARED_DATA = findSharedData();
/** The real CloudPhysics vSCSI trace (113,872 records). */
export const REAL_VSCSI_TRACE = path.join(SHARED_DATA ?? path.join(path.dirname(checkout), 'shared', 'data'), 'traces', 'cloudPhysicsIO.vscsi');
export const HAVE_REAL_TRACE = SHARED_DATA !== undefined && existsSync(REAL_VSCSI_TRACE);
