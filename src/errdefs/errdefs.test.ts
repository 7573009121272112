import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conflict, httpStatus, notFound, invalidArgument, categoryOf } from './index.ts';

test('categories map to Docker status codes', () => {
  assert.equal(httpStatus(notFound('no such container: "x"')), 404);
  assert.equal(httpStatus(conflict('name in use')), 409);
  assert.equal(httpStatus(invalidArgument('bad')), 400);
  assert.equal(httpStatus(new Error('boom')), 500);
});

test('the cause is kept', () => {
  const inner = new Error('ENOENT');
  const err = notFound('open layer "abc"', inner);
  assert.equal(err.cause, inner);
  assert.equal(categoryOf(err), 'NotFound');
});
