/**
 * Deliberately broken sample filters, one per check, each wrong in one way only (see each file's
 * header): the certification suite must fail each on the check it targets and pass it on the
 * others. They double as worked examples of what not to do.
 */
import type { FilterDef } from '../../engine/filter';
import type { CheckId } from '../report';
import { doubleComplete } from './double-complete';
import { corruptsData } from './corrupts-data';
import { serializesDeferred } from './serializes-deferred';
import { swallowsErrors } from './swallows-errors';
import { tellsFailureDownward } from './tells-failure-downward';
import { holdsIoAcrossControlEvent } from './holds-io-across-control-event';
import { forgetsStateOnRestart } from './forgets-state-on-restart';
import { blocksThePath } from './blocks-the-path';

export { doubleComplete, corruptsData, serializesDeferred, swallowsErrors, tellsFailureDownward, holdsIoAcrossControlEvent, forgetsStateOnRestart, blocksThePath };

/** Each broken sample and the checks it is meant to fail. */
export const BROKEN_SAMPLES: readonly { def: FilterDef; fails: readonly CheckId[] }[] = [
	{ def: doubleComplete, fails: ['exactly-once'] },
	{ def: corruptsData, fails: ['data-integrity'] },
	{ def: serializesDeferred, fails: ['defer-no-stall'] },
	{ def: swallowsErrors, fails: ['failure-upward'] },
	{ def: tellsFailureDownward, fails: ['failure-upward'] },
	{ def: holdsIoAcrossControlEvent, fails: ['control-events'] },
	{ def: forgetsStateOnRestart, fails: ['sidecar-restart'] },
	{ def: blocksThePath, fails: ['no-blocking'] }
];
