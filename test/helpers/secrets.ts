// Searching text for secrets in the forms a leak takes: as is, URL-encoded, JSON-escaped, hex,
// and base64 or base64url at any byte alignment (a secret inside a larger encoded blob shows up
// as the middle of its own encoding, shifted by 0, 1 or 2 bytes).

export interface SecretHit {
  secret: string;
  form: string;
  where: string;
  context: string;
}

/** Every searchable form of `secret`, by name. */
export function secretForms(secret: string): Record<string, string> {
  const forms: Record<string, string> = {
    raw: secret,
    'url-encoded': encodeURIComponent(secret),
    'url-encoded (lower-case hex)': encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    'form-encoded': new URLSearchParams({ x: secret }).toString().slice(2),
    'json-escaped': JSON.stringify(secret).slice(1, -1),
    hex: Buffer.from(secret).toString('hex'),
  };
  for (const shift of [0, 1, 2]) {
    const encoded = Buffer.concat([Buffer.alloc(shift, 0x20), Buffer.from(secret)]).toString('base64');
    // Drop the 4-character groups that mix in the shift bytes or the padding: the rest depends on the secret alone.
    const core = encoded.slice(shift === 0 ? 0 : 4, -4);
    forms[`base64 (shift ${shift})`] = core;
    forms[`base64url (shift ${shift})`] = core.replace(/\+/g, '-').replace(/\//g, '_');
  }
  return forms;
}

/** Where any form of any secret occurs in `text` (`where` says which text it was). */
export function findSecrets(secrets: Record<string, string>, text: string, where: string): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const [name, secret] of Object.entries(secrets)) {
    for (const [form, needle] of Object.entries(secretForms(secret))) {
      const at = text.indexOf(needle);
      if (at >= 0) hits.push({ secret: name, form, where, context: text.slice(Math.max(0, at - 80), at + needle.length + 80) });
    }
  }
  return hits;
}
