/** A FIFO with O(1) push, shift and indexed access (a growable array with a moving head). */
export class Deque<T> {
	private items: (T | undefined)[] = [];
	private head = 0;

	get length(): number {
		return this.items.length - this.head;
	}

	push(x: T): void {
		this.items.push(x);
	}

	/** Puts `x` in front of everything queued. */
	unshift(x: T): void {
		if (this.head > 0) this.items[--this.head] = x;
		else this.items.unshift(x);
	}

	peek(): T | undefined {
		return this.head < this.items.length ? this.items[this.head] : undefined;
	}

	/** The newest element. */
	last(): T | undefined {
		return this.length > 0 ? this.items[this.items.length - 1] : undefined;
	}

	/** Element i (0 = oldest). */
	at(i: number): T {
		return this.items[this.head + i] as T;
	}

	shift(): T | undefined {
		if (this.head >= this.items.length) return undefined;
		const x = this.items[this.head];
		this.items[this.head++] = undefined;
		if (this.head === this.items.length) {
			this.items.length = 0;
			this.head = 0;
		} else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
			this.items = this.items.slice(this.head);
			this.head = 0;
		}
		return x;
	}

	clear(): void {
		this.items.length = 0;
		this.head = 0;
	}

	*[Symbol.iterator](): IterableIterator<T> {
		for (let i = this.head; i < this.items.length; i++) yield this.items[i] as T;
	}
}
