// An independent reader of the Aryz item payload (service/common/crypto/ENVELOPE-v1.md section 8),
// written from the spec alone: its own strict JSON parser (JSON.parse accepts repeated
// keys, lone surrogates and a byte-order mark, which section 8.1 refuses). It reads every
// plaintext of a payload vector file and prints one JSON line per vector:
//   {"name": ..., "payload": "ok" | "envelope_format", "desk": "ok" | "malformed" |
//    "unreadable" | "too_large", "meta": {...}, "sha256": "<hex of the body>"}
// Usage: node tests/node/read-payloads.mjs tests/vectors/payload-v1.json

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

// Section 8.1 (metadata) and 8.3 (answers, messages).
const MAX_META = 65536;
const META_LIMITS = { maxBytes: 65536, maxDepth: 16, maxValues: 4096, maxString: 65536 };
const ANSWERS_LIMITS = { maxBytes: 4 << 20, maxDepth: 8, maxValues: 100000, maxString: 1 << 20 };
const MAX_MESSAGE = 1 << 20;
const MAX_TEXT_META = 1024;
const MAX_SAFE = 2n ** 53n - 1n;
const ITEM_TYPES = ["answers", "file", "message"];
const ISO_WEEK = /^[0-9]{4}-W(0[1-9]|[1-4][0-9]|5[0-3])$/;
const KEY_HEX = /^[0-9a-f]{64}$/;

// kind "rule": the text breaks a rule; kind "limit": it is larger, deeper or wider.
class Refused extends Error {
  constructor(kind) {
    super(kind);
    this.kind = kind;
  }
}
const rule = () => {
  throw new Refused("rule");
};
const limit = () => {
  throw new Refused("limit");
};

const codePoints = (s) => [...s].length;

function hasLoneSurrogate(s) {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return true;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

// 8.1: depth and width are counted before parsing, in one pass, skipping strings (a
// string that never ends runs to the end of the text; the parser then refuses it).
function checkStructure(text, limits) {
  let depth = 0;
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (j >= text.length) return;
      i = j;
    } else if (ch === "[" || ch === "{" || ch === ",") {
      values++;
      if (values > limits.maxValues) limit();
      if (ch !== ",") {
        depth++;
        if (depth > limits.maxDepth) limit();
      }
    } else if (ch === "]" || ch === "}") {
      depth--;
    }
  }
}

function parseJson(bytes, limits) {
  if (bytes.length > limits.maxBytes) limit();
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) rule(); // no BOM
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    rule();
  }
  checkStructure(text, limits);
  let pos = 0;
  const strings = [];
  const ws = () => {
    while (pos < text.length && " \t\n\r".includes(text[pos])) pos++;
  };
  const expect = (ch) => {
    if (text[pos] !== ch) rule();
    pos++;
  };
  const parseString = () => {
    expect('"');
    let out = "";
    for (;;) {
      if (pos >= text.length) rule();
      const ch = text[pos++];
      if (ch === '"') break;
      if (ch.charCodeAt(0) < 0x20) rule();
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      const esc = text[pos++];
      const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (esc in simple) out += simple[esc];
      else if (esc === "u") {
        const hex = text.slice(pos, pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) rule();
        out += String.fromCharCode(parseInt(hex, 16));
        pos += 4;
      } else rule();
    }
    strings.push(out);
    return out;
  };
  const parseNumber = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(pos, pos + 400));
    if (!m || m[0] === "-") rule();
    pos += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      if (m[0].replace("-", "").length > 16) rule();
      const value = BigInt(m[0]);
      if (value > MAX_SAFE || value < -MAX_SAFE) rule();
      return Number(value);
    }
    const value = Number(m[0]);
    if (!Number.isFinite(value)) rule();
    return value;
  };
  const parseValue = () => {
    ws();
    const ch = text[pos];
    if (ch === "{") {
      pos++;
      const object = {};
      const keys = new Set();
      ws();
      if (text[pos] === "}") {
        pos++;
        return object;
      }
      for (;;) {
        ws();
        const key = parseString();
        ws();
        expect(":");
        const value = parseValue();
        if (keys.has(key)) rule(); // repeated key, compared after unescaping
        keys.add(key);
        Object.defineProperty(object, key, { value, enumerable: true, writable: true });
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        expect("}");
        return object;
      }
    }
    if (ch === "[") {
      pos++;
      const array = [];
      ws();
      if (text[pos] === "]") {
        pos++;
        return array;
      }
      for (;;) {
        array.push(parseValue());
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        expect("]");
        return array;
      }
    }
    if (ch === '"') return parseString();
    for (const [word, value] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    return parseNumber();
  };
  const value = parseValue();
  ws();
  if (pos !== text.length) rule();
  for (const s of strings) {
    if (codePoints(s) > limits.maxString) limit();
    if (hasLoneSurrogate(s)) rule();
  }
  return value;
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

// 8.1: the layout and the metadata's JSON rules.
function splitPayload(plaintext) {
  if (plaintext.length < 4) rule();
  const length = plaintext.readUInt32BE(0);
  if (length > MAX_META || plaintext.length < 4 + length) rule();
  const meta = parseJson(plaintext.subarray(4, 4 + length), META_LIMITS);
  if (!isObject(meta)) rule();
  return { meta, body: plaintext.subarray(4 + length) };
}

// 8.2: the values of the keys a desk reads.
function deskMeta(meta) {
  if (!ITEM_TYPES.includes(meta.type)) return "unreadable";
  const text = (v) => typeof v === "string" && codePoints(v) <= MAX_TEXT_META;
  if ("created" in meta && !(typeof meta.created === "string" && ISO_WEEK.test(meta.created))) return "malformed";
  if ("case_public_key" in meta && !(typeof meta.case_public_key === "string" && KEY_HEX.test(meta.case_public_key))) return "malformed";
  if ("name" in meta && !text(meta.name)) return "malformed";
  if ("media_type" in meta && !text(meta.media_type)) return "malformed";
  if ("questionnaire" in meta && !isObject(meta.questionnaire)) return "malformed";
  return "ok";
}

// 8.3: an answer is a string, a list of strings, or a list of objects whose values are
// strings or lists of strings.
function answerShape(value) {
  const strings = (list) => Array.isArray(list) && list.every((x) => typeof x === "string");
  if (typeof value === "string") return true;
  if (!Array.isArray(value)) return false;
  return (
    strings(value) ||
    value.every((e) => isObject(e) && Object.values(e).every((v) => typeof v === "string" || strings(v)))
  );
}

function deskBody(meta, body) {
  if (meta.type === "answers") {
    if (body.length > ANSWERS_LIMITS.maxBytes) return "too_large";
    let data;
    try {
      data = parseJson(body, ANSWERS_LIMITS);
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      return error.kind === "limit" ? "too_large" : "unreadable";
    }
    if (!isObject(data) || !isObject(data.answers)) return "unreadable";
    return Object.values(data.answers).every(answerShape) ? "ok" : "unreadable";
  }
  if (meta.type === "message") {
    if (body.length > MAX_MESSAGE) return "too_large";
    try {
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
    } catch {
      return "malformed";
    }
  }
  return "ok";
}

function main() {
  const path = process.argv[2];
  if (!path) {
    process.stderr.write("usage: node read-payloads.mjs VECTOR_FILE\n");
    process.exit(2);
  }
  const file = JSON.parse(readFileSync(path, "utf8"));
  for (const vector of file.vectors) {
    const plaintext = Buffer.from(vector.plaintext, "hex");
    let line;
    try {
      const { meta, body } = splitPayload(plaintext);
      const verdict = deskMeta(meta);
      line = {
        name: vector.name,
        payload: "ok",
        desk: verdict === "ok" ? deskBody(meta, body) : verdict,
        meta,
        sha256: createHash("sha256").update(body).digest("hex"),
      };
    } catch (error) {
      // Anything but a refusal is a bug in this reader: report it, do not hide it.
      const payload = error instanceof Refused ? "envelope_format" : `unexpected: ${error}`;
      line = { name: vector.name, payload, desk: "malformed" };
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

main();
