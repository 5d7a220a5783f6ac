// An independent reader of Aryz envelopes v1 and v3 and of item seals, written from
// service/common/crypto/ENVELOPE-v1.md and ENVELOPE-v3.md alone (libsodium.js, not PyNaCl). For
// every vector of tests/vectors/envelope-v3.json it prints one JSON line:
//   {"name": ..., "result": "ok", "sha256": "<content, padding removed>", "seal": {...}}
//   {"name": ..., "result": "envelope_format" | "envelope_key" | ...}
// and for every token entry:
//   {"token": ..., "limits": "min" | "production", "case_signing_key": "<hex>"}
// Usage: node tests/node/open-vectors-v3.mjs tests/vectors/envelope-v3.json

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import sodium from "libsodium-wrappers";

// v1 section 4.1 and 4.3; v3 section 1: versions 01 and 03.
const MAGIC = [0x41, 0x52, 0x59, 0x5a];
const VERSIONS = [0x01, 0x03];
const PADDED = 0x03;
const ENTRY_LEN = 8 + 80;
const STREAM_HEADER_LEN = 24;
const CHUNK_SIZE = 65536;
const FRAME_SIZE = CHUNK_SIZE + 17;

class EnvelopeError extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

const fail = (code) => {
  throw new EnvelopeError(code);
};

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const h = (data) => sodium.crypto_generichash(32, data, null);

// v1 section 5.1 (H1-H6), with the versions v3 section 1 allows.
function parseHeader(data) {
  for (let i = 0; i < Math.min(4, data.length); i++) if (data[i] !== MAGIC[i]) fail("envelope_format");
  if (data.length < 6) fail("envelope_truncated");
  if (!VERSIONS.includes(data[4])) fail("envelope_format");
  const n = data[5];
  if (n < 1 || n > 8) fail("envelope_format");
  const length = 6 + ENTRY_LEN * n + STREAM_HEADER_LEN;
  if (data.length < length) fail("envelope_truncated");
  const entries = [];
  for (let i = 0; i < n; i++) {
    const at = 6 + ENTRY_LEN * i;
    entries.push({ id: data.subarray(at, at + 8), sealed: data.subarray(at + 8, at + ENTRY_LEN) });
  }
  const ids = new Set(entries.map((e) => sodium.to_hex(e.id)));
  if (ids.size !== n) fail("envelope_format");
  return { version: data[4], raw: data.subarray(0, length), entries, length };
}

// v1 sections 5.2 and 5.3, then v3 section 2 (P1, P2) for a version 3 envelope.
function open(data, keyPairs) {
  const header = parseHeader(data);
  let key = null;
  let matched = false;
  for (const entry of header.entries) {
    for (const pair of keyPairs) {
      if (!equal(entry.id, h(pair.publicKey).subarray(0, 8))) continue;
      matched = true;
      try {
        const opened = sodium.crypto_box_seal_open(entry.sealed, pair.publicKey, pair.privateKey);
        if (opened.length === 32) key = opened;
      } catch {
        // K2: try the next one
      }
      if (key) break;
    }
    if (key) break;
  }
  if (!key) fail("envelope_key");
  const streamHeader = header.raw.subarray(header.length - STREAM_HEADER_LEN);
  const state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(streamHeader, key);
  const ad = h(header.raw);
  const body = data.subarray(header.length);
  const parts = [];
  let at = 0;
  let final = false;
  while (at < body.length) {
    if (final) fail("envelope_corrupt"); // B3
    const frame = body.subarray(at, Math.min(body.length, at + FRAME_SIZE));
    if (frame.length < 17) fail("envelope_truncated"); // B4
    const pulled = sodium.crypto_secretstream_xchacha20poly1305_pull(state, frame, ad);
    if (!pulled) fail("envelope_corrupt"); // B1
    if (pulled.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL) final = true;
    else if (pulled.tag !== sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) fail("envelope_format"); // B2
    parts.push(pulled.message);
    at += frame.length;
  }
  if (!final) fail("envelope_truncated"); // B4
  const plain = Buffer.concat(parts);
  return header.version === PADDED ? unpad(plain) : { content: plain, header };
  function unpad(p) {
    let end = p.length;
    while (end > 0 && p[end - 1] === 0) end--;
    if (end === 0 || p[end - 1] !== 0x80) fail("envelope_format"); // P1
    const content = p.subarray(0, end - 1);
    if (p.length !== sizeClass(content.length + 1)) fail("envelope_format"); // P2
    return { content, header };
  }
}

// v3 section 2.
function sizeClass(n) {
  for (const size of [4096, 16384, 65536]) if (n <= size) return size;
  for (let base = 65536; ; base *= 2) {
    if (n <= base * 1.5) return base * 1.5;
    if (n <= base * 2) return base * 2;
  }
}

// v1 section 8, enough for these vectors: the metadata object.
function metadata(content) {
  const length = content.readUInt32BE(0);
  return JSON.parse(content.subarray(4, 4 + length).toString("utf8"));
}

// v3 section 3.2.
function checkSeal(meta, headerRaw) {
  const hex32 = /^[0-9a-f]{64}$/;
  const position = meta.position;
  const positionOk = Number.isSafeInteger(position) && position >= 1;
  const keyOk = typeof meta.case_signing_key === "string" && hex32.test(meta.case_signing_key);
  const seal = {
    position: positionOk ? position : null,
    case_signing_key: keyOk ? meta.case_signing_key : null,
    valid: false,
  };
  if (
    !positionOk ||
    !keyOk ||
    !/^[0-9a-f]{128}$/.test(meta.item_signature ?? "") ||
    !hex32.test(meta.case_public_key ?? "")
  )
    return seal;
  const context = new TextEncoder().encode("aryz/item/v1");
  const message = new Uint8Array(12 + 32 + 8 + 32);
  message.set(context, 0);
  message.set(sodium.from_hex(meta.case_public_key), 12);
  new DataView(message.buffer).setBigUint64(44, BigInt(position), false);
  message.set(h(headerRaw), 52);
  seal.valid = sodium.crypto_sign_verify_detached(
    sodium.from_hex(meta.item_signature),
    message,
    sodium.from_hex(meta.case_signing_key),
  );
  return seal;
}

// v3 section 3.1, from the Argon2id output of v1 section 9.3 (the vector gives it:
// libsodium-wrappers has no crypto_pwhash; the Python tests check that step).
function signingKey(masterHex) {
  const label = new TextEncoder().encode("aryz item signing v1");
  const seed = sodium.crypto_generichash(32, label, sodium.from_hex(masterHex));
  return sodium.to_hex(sodium.crypto_sign_seed_keypair(seed).publicKey);
}

await sodium.ready;
const file = JSON.parse(readFileSync(process.argv[2], "utf8"));
for (const v of file.vectors) {
  const keys = v.keys.map((k) => ({ publicKey: sodium.from_hex(k.public), privateKey: sodium.from_hex(k.secret) }));
  const line = { name: v.name };
  try {
    const { content, header } = open(sodium.from_hex(v.envelope), keys);
    line.result = "ok";
    line.sha256 = createHash("sha256").update(content).digest("hex");
    if (v.seal) line.seal = checkSeal(metadata(content), header.raw);
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    line.result = error.code;
  }
  process.stdout.write(JSON.stringify(line) + "\n");
}
for (const t of file.tokens) {
  for (const limits of ["min", "production"]) {
    const line = { token: t.token, limits, case_signing_key: signingKey(t[limits].master) };
    process.stdout.write(JSON.stringify(line) + "\n");
  }
}
