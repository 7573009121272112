/**
 * The web dashboard (`berth dashboard`): a small HTTP server that serves one page and the
 * allow-listed API it uses, talking to the daemon only through the Engine API client.
 */
export { startDashboard, type Dashboard, type DashboardOptions } from './server.ts';
export { isLoopback, parseListen, urlHost, type Listen } from './security.ts';
