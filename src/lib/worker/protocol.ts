/**
 * The one message protocol between the UI thread and the engine Worker. Both sides import these
 * types, so a message that one side sends and the other does not understand is a type error.
 *
 * Types of the engine are derived from its functions rather than imported by name, so the
 * protocol follows the engine's signature wherever it is declared.
 */
import type { defaultScenario, runScenario } from '$lib/engine';

/** A scenario as the engine takes it (plain, structured-cloneable data). */
export type Scenario = ReturnType<typeof defaultScenario>;
/** What one run of a scenario produces. */
export type RunResult = Awaited<ReturnType<typeof runScenario>>;

/** UI → Worker. `scenario: null` runs the engine's `defaultScenario()`. */
export type EngineRequest = { type: 'run'; id: number; scenario: Scenario | null };

/** Worker → UI. Every response carries the id of the request it answers. */
export type EngineResponse =
	| { type: 'result'; id: number; result: RunResult }
	| { type: 'error'; id: number; message: string };
