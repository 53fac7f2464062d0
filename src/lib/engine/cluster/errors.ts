/** An operation the cluster refuses (as vCenter refuses a task), with a message that says why. */
export class ClusterError extends Error {
	override name = 'ClusterError';
}
