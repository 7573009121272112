/**
 * Health checks (`HEALTHCHECK`, `--health-*`): probes run as execs in the container, and the
 * container's `State.Health`. Its public surface is this file.
 */
export { HealthMonitor, healthSettings, type HealthMonitorDeps, type HealthSettings } from './monitor.ts';
