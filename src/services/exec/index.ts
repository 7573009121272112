/** `docker exec`: the exec service (create, start, attach, resize, inspect). */
export { ExecService, type ExecRecord, type ExecRuntime, type ExecServiceDeps } from './service.ts';
