/**
 * The engine's Worker. The UI thread never runs the engine: it posts `run` requests here and
 * gets back one `result` or `error` per request (see protocol.ts).
 *
 * Runs execute one at a time (the engine owns storage, and two runs must not interleave). When
 * several requests wait, only the newest is run; the older ones are answered with an error the
 * client drops as stale anyway.
 */
import { defaultScenario, runScenario } from '$lib/engine';
import type { EngineRequest, EngineResponse } from './protocol';

// Typed view of the dedicated-worker global scope (the project's TS lib is DOM, not WebWorker).
const scope = self as unknown as {
	postMessage(message: EngineResponse): void;
	addEventListener(type: 'message', listener: (event: MessageEvent<EngineRequest>) => void): void;
};

let queue: EngineRequest[] = [];
let busy = false;

function describe(err: unknown): string {
	return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

async function drain(): Promise<void> {
	if (busy) return;
	busy = true;
	try {
		while (queue.length > 0) {
			const pending = queue;
			queue = [];
			const req = pending[pending.length - 1];
			for (const old of pending.slice(0, -1)) {
				scope.postMessage({ type: 'error', id: old.id, message: 'superseded by a newer run' });
			}
			try {
				const result = await runScenario(req.scenario ?? defaultScenario());
				scope.postMessage({ type: 'result', id: req.id, result });
			} catch (err) {
				// Also catches a DataCloneError if a result is not plain data.
				scope.postMessage({ type: 'error', id: req.id, message: describe(err) });
			}
		}
	} finally {
		busy = false;
	}
}

scope.addEventListener('message', (event) => {
	const req = event.data;
	if (req?.type === 'run') {
		queue.push(req);
		void drain();
	}
});
