/**
 * A list filled one item at a time and drained all at once (waiters served by a group commit),
 * that keeps its storage. A plain array emptied with `length = 0` gives its backing store back,
 * so the next push allocates it again: in a list drained every few I/Os that was a steady
 * source of garbage. Items added while a drain runs wait for the next drain.
 */
export class Batch<T> {
	private items: (T | undefined)[] = [];
	private spare: (T | undefined)[] | undefined = [];
	private n = 0;

	get length(): number {
		return this.n;
	}

	push(item: T): void {
		this.items[this.n++] = item;
	}

	/** Calls `fn` on every item queued so far, in order, and empties the list. */
	drain(fn: (item: T) => void): void {
		const items = this.items;
		const n = this.n;
		// A drain inside `fn` finds no spare and takes a new array: rare, and never shared.
		this.items = this.spare ?? [];
		this.spare = undefined;
		this.n = 0;
		for (let i = 0; i < n; i++) {
			const item = items[i] as T;
			items[i] = undefined;
			fn(item);
		}
		this.spare = items;
	}
}
