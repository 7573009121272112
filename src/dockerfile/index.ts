/** Dockerfile front end: parse → typed instructions; the shell word language for expansion. */
export {
  parse,
  DockerfileParseError,
  KNOWN_INSTRUCTIONS,
  splitFlag,
  type Node,
  type Heredoc,
  type ParseResult,
} from './parser.ts';
export {
  parseDockerfile,
  parseInstruction,
  expandBase,
  type Dockerfile,
  type Stage,
  type Instruction,
  type KeyValue,
  type ArgDef,
  type HealthConfig,
} from './instructions.ts';
export { parseRunMount, type RunMount } from './mounts.ts';
export { expandWord, expandWords, splitRaw, ShellError, type Env } from './shell.ts';
