/**
 * The error of a `--format` template that does not parse or run, apart from the template engine
 * (template.ts): every command reports it (app.ts), and most never load the engine.
 */
export class TemplateError extends Error {}
