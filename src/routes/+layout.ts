// A pure client app: the engine runs in a Worker, nothing runs on a server.
export const ssr = false;
export const prerender = true;
