/** The built-in filters, registered once in one registry. */
import { FilterRegistry } from '../engine/registry';
import { passthrough } from './passthrough';
import { delay } from './delay';
import { flaky } from './flaky';
import { dedup } from './dedup';
import { encryption } from './encryption';

export { passthrough, delay, flaky };
export { dedup };
export { encryption };

/** A registry holding every built-in filter type. */
export function builtinRegistry(): FilterRegistry {
	return new FilterRegistry().register(passthrough).register(delay).register(flaky).register(dedup).register(encryption);
}
