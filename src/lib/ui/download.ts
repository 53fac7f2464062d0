/** Files the page hands to the user: a Blob made in the worker, downloaded through a temporary link. */

/** Starts a browser download of a Blob (a temporary object URL and <a download>). */
export function downloadBlob(blob: Blob, filename: string): void {
	const url = URL.createObjectURL(blob);
	const a = document.createElement('a');
	a.href = url;
	a.download = filename;
	a.style.display = 'none';
	document.body.append(a);
	a.click();
	a.remove();
	// Revoke later: some browsers start reading the URL after click() returns.
	setTimeout(() => URL.revokeObjectURL(url), 30_000);
}

/** A file name from a scenario name: letters, digits, dot, dash and underscore. */
export function fileStem(name: string): string {
	return name.replace(/[^\w.-]+/g, '-').replace(/^-+|-+$/g, '') || 'vaio';
}
