/** The policy registry of the cache filter: one constructor per name. */
import { ArcPolicy } from './arc';
import { LruPolicy } from './lru';
import type { CachePolicy, PolicyName } from './policy';
import { S3FifoPolicy } from './s3fifo';

export { POLICY_NAMES, type CachePolicy, type PolicyName } from './policy';
export { ArcPolicy, LruPolicy, S3FifoPolicy };

export function createPolicy(name: PolicyName, capacity: number): CachePolicy {
	switch (name) {
		case 'lru':
			return new LruPolicy(capacity);
		case 'arc':
			return new ArcPolicy(capacity);
		case 's3fifo':
			return new S3FifoPolicy(capacity);
		default:
			throw new Error(`unknown cache policy "${String(name)}"`);
	}
}
