/** The suite's checks, in order (their numbers in the report are their positions here, from 1). */
import type { Check } from './check';
import { exactlyOnce } from './exactly-once';
import { dataIntegrity } from './data-integrity';
import { deferNoStall } from './defer-no-stall';
import { failureUpward } from './failure-upward';
import { controlEvents } from './control-events';
import { sidecarRestart } from './sidecar-restart';
import { noBlocking } from './no-blocking';

export const CHECKS: readonly Check[] = [exactlyOnce, dataIntegrity, deferNoStall, failureUpward, controlEvents, sidecarRestart, noBlocking];

export type { Check, CheckContext, CheckOutcome, RunOutcome } from './check';
