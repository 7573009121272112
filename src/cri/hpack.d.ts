// The part of hpack.js (no types of its own) that authority.ts uses: the decompressor.
declare module 'hpack.js' {
  interface Decompressor {
    write(block: Buffer): boolean;
    execute(): void;
    read(): { name: string; value: string; neverIndex: boolean } | null;
    on(event: 'error', listener: (e: Error) => void): this;
  }
  interface Compressor {
    write(fields: Array<{ name: string; value: string; huffman?: boolean; neverIndex?: boolean }>): boolean;
    read(): Buffer | null;
  }
  const hpack: {
    decompressor: { create(options: { table: { maxSize: number } }): Decompressor };
    compressor: { create(options: { table: { maxSize: number } }): Compressor };
  };
  export default hpack;
}
