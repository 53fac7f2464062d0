// Documentation: rendered to HTML at build time (the rest of the app is a client-side shell).
export const ssr = true;
export const prerender = true;
