/**
 * Resolves once every pending microtask has run (a macrotask turn): setImmediate in Node, a
 * MessageChannel in browsers, else a timer. Runs that await asynchronous stores use it to let
 * promise chains settle before the virtual clock moves on.
 */
export function macrotask(): Promise<void> {
	if (typeof setImmediate === 'function') return new Promise((r) => setImmediate(r));
	if (typeof MessageChannel === 'function')
		return new Promise((r) => {
			const ch = new MessageChannel();
			ch.port1.onmessage = () => {
				ch.port1.close();
				r();
			};
			ch.port2.postMessage(0);
		});
	return new Promise((r) => setTimeout(r, 0));
}
