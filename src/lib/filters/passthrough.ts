/**
 * The null filter (fio's null engine, for the framework): passes every I/O down and every
 * completion up. Its class is chosen by the scenario, so six of them fill a chain to measure
 * the framework's own cost.
 */
import { FILTER_CONTRACT_VERSION, PASS, type FilterDef } from '../engine/filter';

export const passthrough: FilterDef<null> = {
	contract: FILTER_CONTRACT_VERSION,
	name: 'passthrough',
	vendor: 'VAIO Playground',
	version: '1.0.0',
	class: 'inspection',
	classConfigurable: true,
	timingOnly: true,
	description: 'Passes every I/O and completion unchanged; its class is configurable.',
	params: [],
	attach: () => null,
	onIo: () => PASS
};
