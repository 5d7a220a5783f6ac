// An independent reader of Aryz envelope v1, written from service/common/crypto/ENVELOPE-v1.md
// alone (libsodium.js, not PyNaCl). It opens every vector of a vector file and prints one
// JSON line per vector:
//   {"name": ..., "result": "ok", "sha256": "<hex of the plaintext>"}
//   {"name": ..., "result": "envelope_format" | "envelope_key" | "envelope_truncated" | "envelope_corrupt"}
// Usage: node tests/node/open-vectors.mjs tests/vectors/envelope-v1.json

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import sodium from "libsodium-wrappers";

// Spec section 4.1 and 4.3.
const MAGIC = [0x41, 0x52, 0x59, 0x5a]; // "ARYZ"
const VERSION = 0x01;
const MAX_RECIPIENTS = 8;
const KEY_ID_LEN = 8;
const SEALED_KEY_LEN = 80;
const ENTRY_LEN = KEY_ID_LEN + SEALED_KEY_LEN;
const STREAM_HEADER_LEN = 24;
const FIXED_LEN = 6;
const CHUNK_SIZE = 65536;
const ABYTES = 17;
const FRAME_SIZE = CHUNK_SIZE + ABYTES;

class EnvelopeError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

const fail = (code) => {
  throw new EnvelopeError(code);
};

function sameBytes(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// Spec section 3: first 8 bytes of BLAKE2b-256 of the public key.
function keyId(publicKey) {
  return sodium.crypto_generichash(32, publicKey, null).subarray(0, KEY_ID_LEN);
}

// Spec section 5.1, checks H1 to H6 in order.
function parseHeader(data) {
  const available = Math.min(MAGIC.length, data.length);
  for (let i = 0; i < available; i++) {
    if (data[i] !== MAGIC[i]) fail("envelope_format"); // H1
  }
  if (data.length < FIXED_LEN) fail("envelope_truncated"); // H2
  if (data[4] !== VERSION) fail("envelope_format"); // H3
  const n = data[5];
  if (n < 1 || n > MAX_RECIPIENTS) fail("envelope_format"); // H4
  const length = FIXED_LEN + ENTRY_LEN * n + STREAM_HEADER_LEN;
  if (data.length < length) fail("envelope_truncated"); // H5
  const entries = [];
  const seen = new Set();
  for (let i = 0; i < n; i++) {
    const start = FIXED_LEN + i * ENTRY_LEN;
    const id = data.subarray(start, start + KEY_ID_LEN);
    const sealedKey = data.subarray(start + KEY_ID_LEN, start + ENTRY_LEN);
    const idHex = sodium.to_hex(id);
    if (seen.has(idHex)) fail("envelope_format"); // H6
    seen.add(idHex);
    entries.push({ id, sealedKey });
  }
  return {
    raw: data.subarray(0, length),
    entries,
    streamHeader: data.subarray(length - STREAM_HEADER_LEN, length),
    length,
  };
}

// Spec section 5.2, checks K1 and K2: entries in header order, first that opens wins.
function unsealItemKey(header, keyPairs) {
  for (const entry of header.entries) {
    for (const pair of keyPairs) {
      if (!sameBytes(entry.id, keyId(pair.publicKey))) continue;
      let itemKey;
      try {
        itemKey = sodium.crypto_box_seal_open(entry.sealedKey, pair.publicKey, pair.privateKey);
      } catch {
        continue;
      }
      if (itemKey.length === 32) return itemKey;
    }
  }
  // K1 (no entry matched) and K2 (matched, none opened) give the same code.
  return fail("envelope_key");
}

// Spec section 5.3, checks B1 to B4, frames in stream order.
function openEnvelope(data, keyPairs) {
  const header = parseHeader(data);
  const itemKey = unsealItemKey(header, keyPairs);
  const ad = sodium.crypto_generichash(32, header.raw, null); // section 4.2
  const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(header.streamHeader, itemKey);
  const body = data.subarray(header.length);
  const pieces = [];
  let offset = 0;
  while (offset < body.length) {
    const frame = body.subarray(offset, offset + FRAME_SIZE);
    offset += frame.length;
    // Only the last frame can be shorter than FRAME_SIZE; under 17 bytes it is not a frame.
    if (frame.length < ABYTES) fail("envelope_truncated"); // B4
    let result;
    try {
      result = sodium.crypto_secretstream_xchacha20poly1305_pull(state, frame, ad);
    } catch {
      result = false;
    }
    if (result === false) fail("envelope_corrupt"); // B1
    if (result.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
      if (offset < body.length) fail("envelope_corrupt"); // B3
      pieces.push(result.message);
      return Buffer.concat(pieces);
    }
    if (result.tag !== sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
      fail("envelope_format"); // B2
    }
    pieces.push(result.message);
  }
  return fail("envelope_truncated"); // B4: no final frame
}

function main() {
  const path = process.argv[2];
  if (!path) {
    process.stderr.write("usage: node open-vectors.mjs VECTOR_FILE\n");
    process.exit(2);
  }
  const file = JSON.parse(readFileSync(path, "utf8"));
  for (const vector of file.vectors) {
    const keyPairs = vector.keys.map((k) => ({
      publicKey: sodium.from_hex(k.public),
      privateKey: sodium.from_hex(k.secret),
    }));
    let line;
    try {
      const plaintext = openEnvelope(sodium.from_hex(vector.envelope), keyPairs);
      line = { name: vector.name, result: "ok", sha256: createHash("sha256").update(plaintext).digest("hex") };
    } catch (error) {
      // Anything but an EnvelopeError is a bug in this reader: report it, do not hide it.
      const result = error instanceof EnvelopeError ? error.code : `unexpected: ${error}`;
      line = { name: vector.name, result };
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

await sodium.ready;
main();
