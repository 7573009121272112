import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  conflict,
  httpStatus,
  notFound,
  invalidArgument,
  internal,
  categoryOf,
  grpcCode,
  GrpcCode,
  notImplemented,
  unauthorized,
  unavailable,
  alreadyExists,
  deadlineExceeded,
} from './index.ts';

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

test('a typed error wrapped as the cause of another error keeps its category and status', () => {
  const wrapped = new Error('exec "abc": start', { cause: notFound('no such exec: "abc"') });
  assert.equal(categoryOf(wrapped), 'NotFound');
  assert.equal(httpStatus(wrapped), 404);
  const twice = new TypeError('outer', { cause: new Error('middle', { cause: conflict('name in use') }) });
  assert.equal(httpStatus(twice), 409);
});

test('the outermost typed error decides; a chain without one is Internal', () => {
  assert.equal(categoryOf(internal('pack "x"', notFound('gone'))), 'Internal');
  assert.equal(categoryOf(new Error('a', { cause: new Error('b') })), 'Internal');
  assert.equal(categoryOf(new Error('a', { cause: 'not an error' })), 'Internal');
  const loop = new Error('loop');
  (loop as { cause?: unknown }).cause = loop;
  assert.equal(httpStatus(loop), 500);
});

test('categories map to gRPC status codes for the CRI', () => {
  assert.equal(grpcCode(notFound('no such image: "x"')), GrpcCode.NOT_FOUND);
  assert.equal(grpcCode(invalidArgument('bad')), GrpcCode.INVALID_ARGUMENT);
  assert.equal(grpcCode(alreadyExists('exists')), GrpcCode.ALREADY_EXISTS);
  assert.equal(grpcCode(conflict('image is in use')), GrpcCode.FAILED_PRECONDITION);
  assert.equal(grpcCode(unauthorized('login')), GrpcCode.UNAUTHENTICATED);
  assert.equal(grpcCode(unavailable('registry down')), GrpcCode.UNAVAILABLE);
  assert.equal(grpcCode(notImplemented('not yet')), GrpcCode.UNIMPLEMENTED);
  assert.equal(grpcCode(deadlineExceeded('timeout 1s exceeded')), GrpcCode.DEADLINE_EXCEEDED);
  assert.equal(grpcCode(new Error('boom')), GrpcCode.INTERNAL);
});
