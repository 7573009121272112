export { RuncRuntime, type CreateOptions, type Exit, type RuncRuntimeOptions } from './runc.ts';
export { readLogs, parseLine, type LogLine, type ReadLogOptions } from './logs.ts';
