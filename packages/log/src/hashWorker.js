/**
 * Worker thread of batchHasher.ts: the RFC 9162 §2.1.1 hashes of one segment of an append, off the
 * thread that writes to the database. Leaf = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right).
 *
 * Plain JavaScript on purpose: a worker is started from a file, and the compiled CLI runs without a
 * TypeScript loader. It hashes exactly as hash.ts does (test/batchHasher.test.ts compares them).
 *
 * Request: { id, start, count, data: ArrayBuffer of the entries back to back, ends: Uint32Array of their
 * end offsets }. Reply: { id, leafHashes: count·32 bytes, nodeCounts: per leaf the number of interior
 * nodes it completes inside the segment, nodeHashes: those nodes, leaf by leaf, levels 1..t, rootLevels
 * and rootHashes: the segment's maximal aligned subtrees, left to right }.
 */
import { parentPort } from 'node:worker_threads';
import { _SHA256 } from '@noble/hashes/sha2.js';

/** noble's SHA-256 finishing into its own block buffer, then copying out (no DataView per digest). */
class Sha256 extends _SHA256 {
  finishInto(out, offset) {
    const block = this.buffer;
    this.digestInto(block);
    for (let i = 0; i < 32; i++) out[offset + i] = block[i];
  }
}

const LEAF = new Sha256().update(Uint8Array.of(0x00));
const NODE = new Sha256().update(Uint8Array.of(0x01));
const working = new Sha256();

function hashSegment({ start, count, data, ends }) {
  const bytes = new Uint8Array(data);
  const leafHashes = new Uint8Array(count * 32);
  const nodeCounts = new Uint8Array(count);
  // at most count − 1 interior nodes lie inside a segment of count leaves
  const nodeHashes = new Uint8Array(Math.max(0, count - 1) * 32);
  let nodesUsed = 0;
  // the segment's complete subtrees so far: levels, indices, and where their hashes are
  const stackLevel = [];
  const stackIndex = [];
  const stackHash = [];
  for (let i = 0, from = 0; i < count; i++) {
    const to = ends[i];
    LEAF._cloneInto(working).update(bytes.subarray(from, to));
    working.finishInto(leafHashes, i * 32);
    from = to;
    let level = 0;
    let index = start + i;
    let hash = leafHashes.subarray(i * 32, i * 32 + 32);
    // merge while this node is a right child whose left sibling lies inside the segment
    while ((index & 1) === 1 && stackLevel.length > 0 && stackLevel[stackLevel.length - 1] === level && stackIndex[stackIndex.length - 1] === index - 1) {
      const left = stackHash.pop();
      stackLevel.pop();
      stackIndex.pop();
      NODE._cloneInto(working).update(left).update(hash);
      working.finishInto(nodeHashes, nodesUsed * 32);
      hash = nodeHashes.subarray(nodesUsed * 32, nodesUsed * 32 + 32);
      nodesUsed++;
      nodeCounts[i]++;
      level++;
      index = (index - 1) / 2;
    }
    stackLevel.push(level);
    stackIndex.push(index);
    stackHash.push(hash);
  }
  const rootHashes = new Uint8Array(stackHash.length * 32);
  stackHash.forEach((hash, k) => rootHashes.set(hash, k * 32));
  return { leafHashes, nodeCounts, nodeHashes: nodeHashes.slice(0, nodesUsed * 32), rootLevels: stackLevel, rootHashes };
}

parentPort.on('message', (request) => {
  try {
    const result = hashSegment(request);
    parentPort.postMessage({ id: request.id, ...result }, [result.leafHashes.buffer, result.nodeCounts.buffer, result.nodeHashes.buffer, result.rootHashes.buffer]);
  } catch (error) {
    parentPort.postMessage({ id: request.id, error: error instanceof Error ? error.message : String(error) });
  }
});
