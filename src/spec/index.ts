export * from './digest.ts';
export * from './image.ts';
export * from './reference.ts';
export * from './duration.ts';
export * from './shape.ts';
export * from './units.ts';
export * from './signal.ts';
export * from './descriptor.ts';
