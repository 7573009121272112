/**
 * The first bytes of a stream, to tell what it holds (a tar, a compressed tar, a Dockerfile)
 * before choosing how to read it, and the whole stream again with those bytes put back, so
 * nothing is read twice or lost. Used where a build context arrives: the CLI's stdin and the
 * daemon's request body.
 *
 *     const { head, stream } = await peek(body, 512);
 *     if (looksLikeArchive(head)) await applyLayer(Readable.from(stream), dir, opts);
 */
export async function peek(
  source: AsyncIterable<Uint8Array>,
  n: number,
): Promise<{ head: Buffer; stream: AsyncGenerator<Buffer> }> {
  const it = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let got = 0;
  let done = false;
  while (got < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    chunks.push(b);
    got += b.length;
  }
  const head = Buffer.concat(chunks);
  const stream = (async function* () {
    yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    }
  })();
  return { head, stream };
}
