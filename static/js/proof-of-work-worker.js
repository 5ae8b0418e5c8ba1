// Solves a proof-of-work challenge (ALTCHA protocol v1) off the page's main thread: finds the
// number n in 0..maxNumber with SHA-256(salt + n) (hex) equal to the challenge. Web Crypto
// digests asynchronously, so a batch of them runs at once and the loop awaits the batch.

const BATCH = 500;
const encoder = new TextEncoder();

function hex(buffer) {
  const bytes = new Uint8Array(buffer);
  let out = "";
  for (let i = 0; i < bytes.length; i += 1) {
    out += bytes[i].toString(16).padStart(2, "0");
  }
  return out;
}

async function solve(challenge, salt, maxNumber) {
  for (let start = 0; start <= maxNumber; start += BATCH) {
    const end = Math.min(start + BATCH - 1, maxNumber);
    const digests = [];
    for (let n = start; n <= end; n += 1) {
      digests.push(crypto.subtle.digest("SHA-256", encoder.encode(salt + n)));
    }
    const results = await Promise.all(digests);
    for (let i = 0; i < results.length; i += 1) {
      if (hex(results[i]) === challenge) return start + i;
    }
  }
  return null;
}

self.onmessage = async (event) => {
  const { challenge, salt, maxNumber } = event.data;
  const began = performance.now();
  try {
    const number = await solve(challenge, salt, maxNumber);
    self.postMessage({ number, took: performance.now() - began });
  } catch (error) {
    self.postMessage({ number: null, error: String(error) });
  }
};
