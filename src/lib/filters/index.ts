/** The built-in filters, registered once in one registry. */
import { FilterRegistry } from '../engine/registry';
import { passthrough } from './passthrough';
import { delay } from './delay';
import { flaky } from './flaky';
import { dedup } from './dedup';
import { encryption } from './encryption';
import { analytics } from './analytics';
import { tiering } from './tiering';
import { replication } from './replication';
import { cache } from './cache';

export { passthrough, delay, flaky };
export { dedup };
export { encryption };
export { analytics };
export { tiering };
export { replication };
export { cache };

/** A registry holding every built-in filter type. */
export function builtinRegistry(): FilterRegistry {
	return new FilterRegistry().register(analytics).register(passthrough).register(delay).register(flaky).register(dedup).register(encryption).register(tiering).register(replication).register(cache);
}
