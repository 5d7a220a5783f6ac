// Aryz: seal files in the browser and send them in resumable pieces.
//
// Progressive enhancement. Without JavaScript the "add files" form posts the files and the
// server seals them as they stream in. With it, this script seals each file here, exactly
// as service/common/crypto/ENVELOPE-v1.md and ENVELOPE-v3.md say (the same payload the form path
// writes: padded to its size class, placed at its position in the case and signed with the
// case's key, which the page carries like the token in its forms), to the
// coalition's current public keys that the page carries, and sends only ciphertext through
// the JSON API: POST /api/v1/uploads (with the page's upload grant), PATCH with
// Upload-Offset, and after a dropped Tor circuit GET for the offset the server committed,
// then on from there. If the script cannot start (libsodium refused, an old page), the
// form is posted the plain way instead.
//
// No eval, no inline script, no WebAssembly: the CSP allows none of them, and libsodium.js
// then runs its pure-JavaScript build.
"use strict";

(function () {
  // Envelope v3: the v1 layout (spec v1 sections 4.1 and 4.3) with a padded plaintext.
  const MAGIC = [0x41, 0x52, 0x59, 0x5a, 0x03];
  const ENTRY_LEN = 8 + 80;
  const STREAM_HEADER_LEN = 24;
  const CHUNK_SIZE = 65536;
  const ABYTES = 17;
  // Ciphertext per PATCH: what a dropped circuit can cost, and what is held in memory.
  const SEND_SIZE = 1024 * 1024;
  const RETRIES = 8;
  const MEDIA_TYPE = "application/offset+octet-stream";
  const MAX_NAME_BYTES = 255;
  const MAX_EXTENSION_BYTES = 32;

  // An answer from the API that is not a network failure: retrying will not help.
  class Refused extends Error {
    constructor(code) {
      super(code);
      this.code = code;
    }
  }

  function loadScript(src, integrity) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.integrity = integrity;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  let sodiumPromise = null;

  // libsodium (1 MB) is fetched only when someone sends files, not with every page.
  function loadSodium(form) {
    if (sodiumPromise === null) {
      sodiumPromise = loadScript("/static/vendor/libsodium.js", form.dataset.sodium)
        .then(() => window.libsodium.ready)
        .then(() => {
          // Our CSP refuses WebAssembly, so libsodium.js switches to its pure-JavaScript
          // build; in doing so (0.8.4) it deletes its own `ready`, which the wrappers read
          // as they load. Either way the module is initialised by now: say so.
          window.libsodium.ready = window.libsodium.ready || Promise.resolve();
        })
        .then(() => loadScript("/static/vendor/libsodium-wrappers.js", form.dataset.wrappers))
        .then(() => window.sodium.ready)
        .then(() => window.sodium);
    }
    return sodiumPromise;
  }

  // The same cleaning as the form path (service/server/web/multipart.py sanitize_filename), so
  // the desk sees the same name whichever way a file came.
  function cleanName(raw) {
    let text = Array.from(raw, (c) => (/\s/u.test(c) ? " " : c))
      .filter((c) => !/[\p{Cc}\p{Cf}\p{Cs}]/u.test(c))
      .join("")
      .normalize("NFC");
    text = text.split(/[/\\]/u).pop();
    text = text.split(/\s+/u).filter((w) => w !== "").join(" ");
    text = text.replace(/^[ .]+|[ .]+$/gu, "");
    return truncateName(text) || "file";
  }

  function utf8Length(text) {
    return new TextEncoder().encode(text).length;
  }

  function truncateUtf8(text, limit) {
    let out = "";
    for (const c of text) {
      if (utf8Length(out + c) > limit) break;
      out += c;
    }
    return out;
  }

  function truncateName(name) {
    if (utf8Length(name) <= MAX_NAME_BYTES) return name;
    const dot = name.lastIndexOf(".");
    const stem = dot >= 0 ? name.slice(0, dot) : "";
    const extension = dot >= 0 ? name.slice(dot + 1) : "";
    const suffix = "." + extension;
    if (stem && extension && utf8Length(suffix) <= MAX_EXTENSION_BYTES && !/\s/u.test(extension)) {
      return truncateUtf8(stem, MAX_NAME_BYTES - utf8Length(suffix)).replace(/[ .]+$/u, "") + suffix;
    }
    return truncateUtf8(name, MAX_NAME_BYTES).replace(/[ .]+$/u, "");
  }

  // Spec section 8: u32 big-endian length, then compact JSON with sorted keys.
  function payloadPrefix(meta) {
    const sorted = {};
    for (const key of Object.keys(meta).sort()) sorted[key] = meta[key];
    const json = new TextEncoder().encode(JSON.stringify(sorted));
    const prefix = new Uint8Array(4 + json.length);
    new DataView(prefix.buffer).setUint32(0, json.length, false);
    prefix.set(json, 4);
    return prefix;
  }

  // ENVELOPE-v3.md section 2: the padded plaintext length for `length` bytes (content plus
  // the 0x80 marker): 4, 16 or 64 KiB, then 2^m and 3 * 2^(m-1). Exact in doubles far
  // beyond any file a browser can send.
  function sizeClass(length) {
    for (const size of [4096, 16384, 65536]) if (length <= size) return size;
    for (let base = 65536; ; base *= 2) {
      if (length <= (base * 3) / 2) return (base * 3) / 2;
      if (length <= base * 2) return base * 2;
    }
  }

  // ENVELOPE-v3.md section 3: the item's place in its case, signed with the case's key.
  function itemSeal(sodium, seed, caseKey, position, headerDigest) {
    const keys = sodium.crypto_sign_seed_keypair(seed);
    const context = new TextEncoder().encode("aryz/item/v1");
    const message = new Uint8Array(context.length + 32 + 8 + 32);
    message.set(context, 0);
    message.set(caseKey, context.length);
    new DataView(message.buffer).setBigUint64(context.length + 32, BigInt(position), false);
    message.set(headerDigest, context.length + 40);
    const signature = sodium.crypto_sign_detached(message, keys.privateKey);
    sodium.memzero(keys.privateKey);
    return {
      position,
      case_signing_key: sodium.to_hex(keys.publicKey),
      item_signature: sodium.to_hex(signature),
    };
  }

  // Spec section 4.4: a fresh item key sealed to every recipient, then the secretstream.
  function makeSealer(sodium, recipients) {
    const n = recipients.length;
    const header = new Uint8Array(6 + ENTRY_LEN * n + STREAM_HEADER_LEN);
    header.set(MAGIC, 0);
    header[5] = n;
    const itemKey = sodium.crypto_secretstream_xchacha20poly1305_keygen();
    recipients.forEach((publicKey, i) => {
      const keyId = sodium.crypto_generichash(32, publicKey, null).subarray(0, 8);
      header.set(keyId, 6 + ENTRY_LEN * i);
      header.set(sodium.crypto_box_seal(itemKey, publicKey), 6 + ENTRY_LEN * i + 8);
    });
    const pushed = sodium.crypto_secretstream_xchacha20poly1305_init_push(itemKey);
    header.set(pushed.header, 6 + ENTRY_LEN * n);
    sodium.memzero(itemKey); // the state holds the key from here on (spec section 6)
    const ad = sodium.crypto_generichash(32, header, null); // spec section 4.2
    return {
      header,
      ad,
      push(chunk, final) {
        const tag = final
          ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
          : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
        return sodium.crypto_secretstream_xchacha20poly1305_push(pushed.state, chunk, ad, tag);
      },
    };
  }

  // The plaintext is prefix || file || 0x80 || zeros. Chunk i is bytes
  // [i*CHUNK_SIZE, (i+1)*CHUNK_SIZE); the last one, full or not, is the final chunk (so
  // never an extra empty one). The padding after the file is zeros but its first byte.
  async function plainChunk(prefix, file, start, end) {
    const out = new Uint8Array(end - start); // zero-filled: the padding is already there
    let filled = 0;
    if (start < prefix.length) {
      const part = prefix.subarray(start, Math.min(end, prefix.length));
      out.set(part, 0);
      filled = part.length;
    }
    const contentEnd = prefix.length + file.size;
    if (filled < out.length && start + filled < contentEnd) {
      const from = start + filled - prefix.length;
      const upto = Math.min(file.size, from + out.length - filled);
      const bytes = await file.slice(from, upto).arrayBuffer();
      out.set(new Uint8Array(bytes), filled);
      filled += upto - from;
    }
    if (contentEnd >= start && contentEnd < end) out[contentEnd - start] = 0x80;
    return out;
  }

  // A request that hangs (a circuit that died without closing) counts as dropped.
  const REQUEST_TIMEOUT = 5 * 60 * 1000;

  function timeout() {
    return AbortSignal.timeout ? AbortSignal.timeout(REQUEST_TIMEOUT) : undefined;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  async function answer(response) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (response.ok && body !== null) return body;
    // 503 (busy) is worth waiting for; any other refusal is final.
    if (response.status === 503) throw new TypeError("busy");
    throw new Refused(body && typeof body.error === "string" ? body.error : "http");
  }

  // Repeat a request that failed on the network (a dropped circuit), backing off.
  async function retrying(request, onRetry) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await answer(await request());
      } catch (error) {
        if (error instanceof Refused || attempt === RETRIES - 1) throw error;
        onRetry();
        await sleep(Math.min(2 ** attempt, 30) * 1000);
      }
    }
  }

  class Upload {
    constructor(grant, size, ui) {
      this.grant = grant;
      this.size = size;
      this.ui = ui;
      this.upload = null;
      this.offset = 0; // committed on the server
      this.pending = []; // ciphertext from this.offset on, not yet acknowledged
      this.pendingBytes = 0;
    }

    async start() {
      const state = await retrying(
        () =>
          fetch("/api/v1/uploads", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ grant: this.grant, size: this.size }),
            signal: timeout(),
          }),
        () => this.ui.resuming(),
      );
      this.upload = state.upload;
    }

    async add(bytes) {
      this.pending.push(bytes);
      this.pendingBytes += bytes.length;
      if (this.pendingBytes >= SEND_SIZE) await this.flush();
    }

    // Send what is pending; after a network failure ask where the server stopped and send
    // the rest from there. The same bytes every time: they were sealed once.
    async flush() {
      let body = concat(this.pending, this.pendingBytes);
      let failures = 0; // in a row: any progress starts the count again
      while (body.length > 0) {
        let state;
        try {
          state = await answer(
            await fetch(`/api/v1/uploads/${this.upload}`, {
              method: "PATCH",
              headers: { "Content-Type": MEDIA_TYPE, "Upload-Offset": String(this.offset) },
              body,
              signal: timeout(),
            }),
          );
        } catch (error) {
          // "upload" (409) is a wrong offset: the server may still have been storing the
          // piece the circuit dropped. Its committed offset says where to go on.
          const retry = !(error instanceof Refused) || error.code === "upload";
          if (!retry || failures === RETRIES - 1) throw error;
          this.ui.resuming();
          await sleep(Math.min(2 ** failures, 30) * 1000);
          state = await retrying(
            () => fetch(`/api/v1/uploads/${this.upload}`, { method: "GET", signal: timeout() }),
            () => this.ui.resuming(),
          );
        }
        const done = state.offset - this.offset;
        if (done < 0 || done > body.length) throw new Refused("upload");
        failures = done > 0 ? 0 : failures + 1;
        if (failures === RETRIES) throw new Refused("upload");
        body = body.subarray(done);
        this.offset = state.offset;
        this.ui.sent(this.offset);
        if (state.complete) break;
      }
      this.pending = [];
      this.pendingBytes = 0;
    }
  }

  function concat(pieces, length) {
    const out = new Uint8Array(length);
    let at = 0;
    for (const piece of pieces) {
      out.set(piece, at);
      at += piece.length;
    }
    return out;
  }

  async function sendFile(sodium, form, file, ui, position) {
    const recipients = form.dataset.keys.split(" ").map((hex) => sodium.from_hex(hex));
    // The header comes first: the item's signature covers its digest (v3 section 3).
    const sealer = makeSealer(sodium, recipients);
    const seed = sodium.from_hex(form.dataset.signing);
    const caseKey = sodium.from_hex(form.dataset.caseKey);
    const meta = {
      type: "file",
      name: cleanName(file.name),
      media_type: file.type || "application/octet-stream",
      created: form.dataset.week,
      case_public_key: form.dataset.caseKey,
      ...itemSeal(sodium, seed, caseKey, position, sealer.ad),
    };
    sodium.memzero(seed);
    const prefix = payloadPrefix(meta);
    const plainLength = sizeClass(prefix.length + file.size + 1);
    const chunks = Math.max(1, Math.ceil(plainLength / CHUNK_SIZE));
    const headerLength = 6 + ENTRY_LEN * recipients.length + STREAM_HEADER_LEN;
    // Spec section 4.3: the size is known before sealing, so the upload can begin at once.
    const size = headerLength + plainLength + ABYTES * chunks;
    if (size > Number(form.dataset.max)) throw new Refused("too_large");
    ui.sealedSize = size;
    const upload = new Upload(form.dataset.grant, size, ui);
    await upload.start();
    await upload.add(sealer.header);
    for (let i = 0; i < chunks; i++) {
      const start = i * CHUNK_SIZE;
      const chunk = await plainChunk(prefix, file, start, Math.min(plainLength, start + CHUNK_SIZE));
      await upload.add(sealer.push(chunk, i === chunks - 1));
    }
    await upload.flush();
    if (upload.offset !== upload.size) throw new Refused("upload");
  }

  function interfaceFor(form) {
    const box = form.querySelector(".upload");
    const bar = box.querySelector("progress");
    const status = box.querySelector(".upload-status");
    const done = box.querySelector(".upload-done");
    let base = 0; // plaintext bytes of the files already sent
    let file = null;
    return {
      box,
      sealedSize: 1,
      show(text) {
        box.hidden = false;
        status.textContent = text;
      },
      begin(files) {
        bar.max = files.reduce((sum, f) => sum + f.size, 0) || 1;
        bar.value = base = 0;
        done.replaceChildren();
        box.hidden = false;
      },
      file(current, index, count) {
        file = current;
        this.show(
          box.dataset.sealing
            .replace("{name}", cleanName(file.name))
            .replace("{num}", String(index + 1))
            .replace("{total}", String(count)),
        );
      },
      sent(offset) {
        // In plaintext terms; the ciphertext is only 17 bytes per 64 KiB longer.
        bar.value = base + Math.min(file.size, (offset / this.sealedSize) * file.size);
      },
      resuming() {
        this.show(box.dataset.resuming);
      },
      fileDone() {
        base += file.size;
        bar.value = base;
        const item = document.createElement("li");
        item.textContent = cleanName(file.name);
        done.appendChild(item);
      },
    };
  }

  let busy = false;

  // Leaving the page would stop the upload: let the browser ask first.
  window.addEventListener("beforeunload", (event) => {
    if (busy) event.preventDefault();
  });

  async function sendAll(form, files, ui) {
    const button = form.querySelector("button[type=submit]");
    const tooLarge = files.find((f) => f.size >= Number(form.dataset.max));
    if (tooLarge) {
      ui.show(ui.box.dataset.tooLarge.replace("{name}", cleanName(tooLarge.name)));
      return;
    }
    button.disabled = true;
    busy = true;
    try {
      let sodium;
      try {
        sodium = await loadSodium(form);
      } catch {
        busy = false;
        form.submit(); // libsodium did not load: the server seals instead
        return;
      }
      ui.begin(files);
      for (const [index, file] of files.entries()) {
        ui.file(file, index, files.length);
        // Each file takes the next position in the case, whether or not it arrives: one
        // that does not is a gap the desk reports as "never received", which it is.
        const position = Number(form.dataset.position);
        form.dataset.position = String(position + 1);
        try {
          await sendFile(sodium, form, file, ui, position);
        } catch (error) {
          if (index === 0 && error instanceof Refused && error.code === "upload_grant") {
            busy = false;
            form.submit(); // the page is too old for its grant: the plain form still works
            return;
          }
          throw error;
        }
        ui.fileDone();
      }
      ui.show(ui.box.dataset.done);
      form.querySelector("input[type=file]").value = "";
    } catch {
      ui.show(ui.box.dataset.failed);
    } finally {
      busy = false;
      button.disabled = false;
    }
  }

  function enhance(form) {
    const ui = interfaceFor(form);
    form.addEventListener("submit", (event) => {
      const files = Array.from(form.querySelector("input[type=file]").files);
      if (files.length === 0 || !window.fetch || !window.TextEncoder) return; // plain post
      event.preventDefault();
      sendAll(form, files, ui);
    });
  }

  document.querySelectorAll("form[data-grant]").forEach(enhance);
})();
