/**
 * Sparse per-block state over a disk in typed-array pages: a page is allocated on first touch,
 * and the page touched last is kept at hand, since hot paths touch neighbouring blocks. (The
 * analytics filter's working-set bitmap keeps its state so.) Pages numbered below
 * `DENSE_PAGES` are also found by index in an array, since random I/O changes page at nearly
 * every access and a Map lookup costs several times the bit it fetches.
 */
const DENSE_PAGES = 1 << 16;

export class Pages<T> {
	private byNo = new Map<number, T>();
	/** Pages numbered below DENSE_PAGES, by number (the same pages as in byNo). */
	private dense: (T | undefined)[] = [];
	private lastNo = -1;
	private last: T | undefined;

	constructor(private readonly create: () => T) {}

	/** Page `no`, created (by the constructor's `create`) if it is new. */
	touch(no: number): T {
		let page = this.last;
		if (no !== this.lastNo || page === undefined) {
			page = this.get(no);
			if (page === undefined) {
				page = this.create();
				this.byNo.set(no, page);
				if (no < DENSE_PAGES) this.setDense(no, page);
			}
			this.lastNo = no;
			this.last = page;
		}
		return page;
	}

	/** Page `no` if it was ever touched. */
	get(no: number): T | undefined {
		return no < DENSE_PAGES ? this.dense[no] : this.byNo.get(no);
	}

	/** The touched pages' numbers, ascending. */
	numbers(): number[] {
		return [...this.byNo.keys()].sort((a, b) => a - b);
	}

	/** Stores a page in the dense array, filling the gap below it so the array stays packed. */
	private setDense(no: number, page: T): void {
		const d = this.dense;
		while (d.length < no) d.push(undefined);
		d[no] = page;
	}
}
