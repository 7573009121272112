/** `docker exec`: the exec service (create, start, attach, resize, inspect). */
export { ExecService, execStartFailure, type ExecRecord, type ExecSessions, type ExecServiceDeps } from './service.ts';
