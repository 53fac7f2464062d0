/**
 * Sparse per-block state over a disk in typed-array pages: a page is allocated on first touch,
 * and the page touched last is kept at hand, since hot paths touch neighbouring blocks. (The
 * cluster's write ledger and the analytics filter's working-set bitmap keep their state so.)
 */
export class Pages<T> {
	private byNo = new Map<number, T>();
	private lastNo = -1;
	private last: T | undefined;

	constructor(private readonly create: () => T) {}

	/** Page `no`, created (by the constructor's `create`) if it is new. */
	touch(no: number): T {
		let page = this.last;
		if (no !== this.lastNo || page === undefined) {
			page = this.byNo.get(no);
			if (page === undefined) {
				page = this.create();
				this.byNo.set(no, page);
			}
			this.lastNo = no;
			this.last = page;
		}
		return page;
	}

	/** Page `no` if it was ever touched. */
	get(no: number): T | undefined {
		return this.byNo.get(no);
	}

	/** The touched pages' numbers, ascending. */
	numbers(): number[] {
		return [...this.byNo.keys()].sort((a, b) => a - b);
	}

	/** Replaces every page with a copy (by `copy`) of `other`'s. */
	assign(other: Pages<T>, copy: (page: T) => T): void {
		this.byNo = new Map([...other.byNo].map(([no, p]) => [no, copy(p)]));
		this.lastNo = -1;
		this.last = undefined;
	}
}
