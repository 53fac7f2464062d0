/** The policy registry of the cache filter: one constructor per name. */
import { ArcPolicy } from './arc';
import { LruPolicy } from './lru';
import type { CachePolicy, PolicyName } from './policy';
import { S3FifoPolicy } from './s3fifo';

export { POLICY_NAMES, type CachePolicy, type PolicyName } from './policy';
export { ArcPolicy, LruPolicy, S3FifoPolicy };
export { S3_PROMOTE_HITS_DEFAULT } from './s3fifo';

/** Settings only some policies read. */
export interface PolicyOptions {
	/** S3-FIFO: hits in the small queue that earn a block its place in the main queue. */
	s3PromoteHits?: number;
}

export function createPolicy(name: PolicyName, capacity: number, options: PolicyOptions = {}): CachePolicy {
	switch (name) {
		case 'lru':
			return new LruPolicy(capacity);
		case 'arc':
			return new ArcPolicy(capacity);
		case 's3fifo':
			return new S3FifoPolicy(capacity, options.s3PromoteHits);
		default:
			throw new Error(`unknown cache policy "${String(name)}"`);
	}
}
