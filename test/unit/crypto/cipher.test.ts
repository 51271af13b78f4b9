/**
 * AES-CBC and AES-GCM-16: known answers (RFC 3602 §4 including its ESP packet,
 * NIST SP 800-38A F.2.5 for AES-256-CBC, the McGrew–Viega GCM test cases laid
 * out as RFC 4106 key material), input checks, tamper detection, and a
 * differential run against @noble/ciphers in both directions.
 */
import { cbc, gcm } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { decrypt, encrypt, keyMaterialBytes } from '../../../src/crypto/cipher.js';
import { CipherInputError, DecryptError, KeyLengthError } from '../../../src/crypto/errors.js';
import { ENCRYPTION, type EncryptionName } from '../../../src/crypto/transforms.js';
import { CgwdError } from '../../../src/errors.js';
import { ascii, hex, SeededRandom } from './helpers.js';

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('AES-CBC known answers', () => {
  /** RFC 3602 §4, cases #1–#4 (AES-128-CBC). */
  it.each([
    ['#1', '06a9214036b8a15b512e03d534120006', '3dafba429d9eb430b422da802c9fac41', ascii('Single block msg'), 'e353779c1079aeb82708942dbe77181a'],
    [
      '#2',
      'c286696d887c9aa0611bbb3e2025a45a',
      '562e17996d093d28ddb3ba695a2e6f58',
      hex('000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f'),
      'd296cd94c2cccf8a3a863028b5e1dc0a 7586602d253cfff91b8266bea6d61ab1',
    ],
    [
      '#3',
      '6c3ea0477630ce21a2ce334aa746c2cd',
      'c782dc4c098c66cbd9cd27d825682c81',
      ascii('This is a 48-byte message (exactly 3 AES blocks)'),
      'd0a02b3836451753d493665d33f0e886 2dea54cdb293abc7506939276772f8d5 021c19216bad525c8579695d83ba2684',
    ],
    [
      '#4',
      '56e47a38c5598974bc46903dba290349',
      '8ce82eefbea0da3c44699ed7db51b7d9',
      hex(`a0a1a2a3a4a5a6a7a8a9aaabacadaeaf b0b1b2b3b4b5b6b7b8b9babbbcbdbebf
           c0c1c2c3c4c5c6c7c8c9cacbcccdcecf d0d1d2d3d4d5d6d7d8d9dadbdcdddedf`),
      `c30e32ffedc0774e6aff6af0869f71aa 0f3af07a9a31a9c684db207eb0ef8e4e
       35907aa632c3ffdf868bb7b29d3d46ad 83ce9f9a102ee99d49a53e87f4c3da55`,
    ],
  ] as const)('RFC 3602 case %s', (_case, key, iv, plaintext, ciphertext) => {
    expect(encrypt('aes128-cbc', hex(key), hex(iv), plaintext)).toEqual(hex(ciphertext));
    expect(decrypt('aes128-cbc', hex(key), hex(iv), hex(ciphertext))).toEqual(plaintext);
  });

  it('RFC 3602 case #5: transport-mode ESP packet, padded by the caller per RFC 4303 §2.4', () => {
    const key = hex('90d382b4 10eeba7a d938c46c ec1a82bf');
    const iv = hex('e96e8c08 ab465763 fd098d45 dd3ff893');
    const icmp = hex(`08000ebd a70a0000 8e9c083d b95b0700 08090a0b 0c0d0e0f 10111213 14151617
                      18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637`);
    const padLength = (16 - ((icmp.length + 2) % 16)) % 16;
    const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
    const payload = Buffer.concat([icmp, padding, Uint8Array.of(padLength, 0x01 /* next header: ICMP */)]);
    expect(payload).toEqual(
      hex(`08000ebd a70a0000 8e9c083d b95b0700 08090a0b 0c0d0e0f 10111213 14151617
           18191a1b 1c1d1e1f 20212223 24252627 28292a2b 2c2d2e2f 30313233 34353637
           01020304 05060708 090a0b0c 0d0e0e01`),
    );
    const encrypted = hex(`f663c25d 325c18c6 a9453e19 4e120849 a4870b66 cc6b9965 330013b4 898dc856
                           a4699e52 3a55db08 0b59ec3a 8e4b7e52 775b07d1 db34ed9c 538ab50c 551b874a
                           a269add0 47ad2d59 13ac19b7 cfbad4a6`);
    expect(encrypt('aes128-cbc', key, iv, payload)).toEqual(encrypted);
    expect(decrypt('aes128-cbc', key, iv, encrypted)).toEqual(payload);
  });

  it('NIST SP 800-38A F.2.5 / F.2.6: CBC-AES256', () => {
    const key = hex('603deb1015ca71be2b73aef0857d7781 1f352c073b6108d72d9810a30914dff4');
    const iv = hex('000102030405060708090a0b0c0d0e0f');
    const plaintext = hex(`6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
                           30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710`);
    const ciphertext = hex(`f58c4c04d6e5f1ba779eabfb5f7bfbd6 9cfc4e967edb808d679f777bc6702c7d
                            39f23369a9d9bacfa530e26304231461 b2eb05e2c39be9fcda6c19078c6a9d1b`);
    expect(encrypt('aes256-cbc', key, iv, plaintext)).toEqual(ciphertext);
    expect(decrypt('aes256-cbc', key, iv, ciphertext)).toEqual(plaintext);
  });
});

describe('AES-GCM-16 known answers (McGrew–Viega GCM spec, as RFC 4106 key | salt and 8-byte IV)', () => {
  // Each 12-byte GCM IV cafebabe facedbaddecaf888 splits into the salt (last 4 bytes of
  // the key material) and the explicit IV carried in the packet (RFC 4106 §4, §8.1).
  const salt = 'cafebabe';
  const iv = hex('facedbaddecaf888');
  const plaintext64 = hex(`d9313225f88406e5a55909c5aff5269a 86a7a9531534f7da2e4c303d8a318a72
                           1c3c0c95956809532fcf0e2449a6b525 b16aedf5aa0de657ba637b391aafd255`);
  const plaintext60 = plaintext64.subarray(0, 60);
  const aad = hex('feedfacedeadbeeffeedfacedeadbeefabaddad2');

  it.each([
    [
      'test case 3',
      'aes128-gcm16',
      'feffe9928665731c6d6a8f9467308308',
      plaintext64,
      undefined,
      `42831ec2217774244b7221b784d0d49c e3aa212f2c02a4e035c17e2329aca12e
       21d514b25466931c7d8f6a5aac84aa05 1ba30b396a0aac973d58e091473f5985`,
      '4d5c2af327cd64a62cf35abd2ba6fab4',
    ],
    [
      'test case 4',
      'aes128-gcm16',
      'feffe9928665731c6d6a8f9467308308',
      plaintext60,
      aad,
      `42831ec2217774244b7221b784d0d49c e3aa212f2c02a4e035c17e2329aca12e
       21d514b25466931c7d8f6a5aac84aa05 1ba30b396a0aac973d58e091`,
      '5bc94fbc3221a5db94fae95ae7121a47',
    ],
    [
      'test case 15',
      'aes256-gcm16',
      'feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308',
      plaintext64,
      undefined,
      `522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa
       8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662898015ad`,
      'b094dac5d93471bdec1a502270e3cc6c',
    ],
    [
      'test case 16',
      'aes256-gcm16',
      'feffe9928665731c6d6a8f9467308308 feffe9928665731c6d6a8f9467308308',
      plaintext60,
      aad,
      `522dc1f099567d07f47f37a32a84427d 643a8cdcbfe5c0c97598a2bd2555d1aa
       8cb08e48590dbb3da7b08b1056828838 c5f61e6393ba7a0abcc9f662`,
      '76fc6ece0f4e1768cddf8853bb2d551b',
    ],
  ] as const)('%s', (_name, transform, key, plaintext, associated, ciphertext, icv) => {
    const keyMaterial = hex(key + salt);
    const sealed = Buffer.concat([hex(ciphertext), hex(icv)]);
    expect(encrypt(transform, keyMaterial, iv, plaintext, associated)).toEqual(sealed);
    expect(decrypt(transform, keyMaterial, iv, sealed, associated)).toEqual(plaintext);
  });

  it('test case 14: zero key, zero nonce, one zero block (AES-256)', () => {
    const sealed = hex('cea7403d4d606b6e074ec5d3baf39d18 d0d1c8a799996bf0265b98b5d48ab919');
    expect(encrypt('aes256-gcm16', Buffer.alloc(36), Buffer.alloc(8), Buffer.alloc(16))).toEqual(sealed);
    expect(decrypt('aes256-gcm16', Buffer.alloc(36), Buffer.alloc(8), sealed)).toEqual(Buffer.alloc(16));
  });
});

describe('input checks', () => {
  it('keyMaterialBytes: key, plus the 4-byte salt for GCM', () => {
    expect(ENCRYPTION.map((t) => keyMaterialBytes(t.name))).toEqual([16, 32, 20, 36]);
  });

  it.each(ENCRYPTION.map((t) => [t.name, keyMaterialBytes(t.name)] as const))(
    '%s refuses key material that is not %i bytes',
    (name, length) => {
      for (const wrong of [0, length - 4, length - 1, length + 1]) {
        const error = caught(() => encrypt(name, Buffer.alloc(wrong), Buffer.alloc(name.includes('gcm') ? 8 : 16), Buffer.alloc(16)));
        expect(error).toBeInstanceOf(KeyLengthError);
        expect(error).toMatchObject({ code: 'CRYPTO_KEY_LENGTH' });
        expect(() => decrypt(name, Buffer.alloc(wrong), Buffer.alloc(name.includes('gcm') ? 8 : 16), Buffer.alloc(32))).toThrow(KeyLengthError);
      }
    },
  );

  it.each(ENCRYPTION.map((t) => [t.name, t.ivBytes] as const))('%s refuses an IV that is not %i bytes', (name, ivBytes) => {
    const keyMaterial = Buffer.alloc(keyMaterialBytes(name));
    for (const wrong of [0, ivBytes - 1, ivBytes + 1, 12]) {
      if (wrong === ivBytes) continue;
      expect(caught(() => encrypt(name, keyMaterial, Buffer.alloc(wrong), Buffer.alloc(16)))).toMatchObject({ code: 'CRYPTO_BAD_INPUT' });
      expect(() => decrypt(name, keyMaterial, Buffer.alloc(wrong), Buffer.alloc(32))).toThrow(CipherInputError);
    }
  });

  it.each(['aes128-cbc', 'aes256-cbc'] as const)('%s: no automatic padding, whole blocks only, no AAD', (name) => {
    const keyMaterial = Buffer.alloc(keyMaterialBytes(name), 1);
    const iv = Buffer.alloc(16, 2);
    for (const length of [1, 15, 17, 31]) {
      expect(() => encrypt(name, keyMaterial, iv, Buffer.alloc(length))).toThrow(CipherInputError);
      expect(() => decrypt(name, keyMaterial, iv, Buffer.alloc(length))).toThrow(CipherInputError);
    }
    expect(encrypt(name, keyMaterial, iv, Buffer.alloc(32)).length).toBe(32);
    expect(decrypt(name, keyMaterial, iv, Buffer.alloc(48)).length).toBe(48);
    expect(() => encrypt(name, keyMaterial, iv, Buffer.alloc(16), Buffer.alloc(8))).toThrow(CipherInputError);
    expect(() => decrypt(name, keyMaterial, iv, Buffer.alloc(16), Buffer.alloc(8))).toThrow(CipherInputError);
    expect(encrypt(name, keyMaterial, iv, Buffer.alloc(16), Buffer.alloc(0)).length).toBe(16);
  });

  it.each(['aes128-gcm16', 'aes256-gcm16'] as const)('%s: any plaintext length; output is 16 bytes longer', (name) => {
    const keyMaterial = Buffer.alloc(keyMaterialBytes(name), 3);
    for (const length of [0, 1, 15, 17, 1400]) {
      const sealed = encrypt(name, keyMaterial, Buffer.alloc(8), Buffer.alloc(length, 9));
      expect(sealed.length).toBe(length + 16);
      expect(decrypt(name, keyMaterial, Buffer.alloc(8), sealed)).toEqual(Buffer.alloc(length, 9));
    }
  });

  it.each(['aes128-gcm16', 'aes256-gcm16'] as const)('%s refuses input shorter than the ICV', (name) => {
    const keyMaterial = Buffer.alloc(keyMaterialBytes(name));
    for (const length of [0, 1, 15]) {
      expect(caught(() => decrypt(name, keyMaterial, Buffer.alloc(8), Buffer.alloc(length)))).toBeInstanceOf(CipherInputError);
    }
  });
});

describe('GCM authentication failures', () => {
  const random = new SeededRandom();

  it.each(['aes128-gcm16', 'aes256-gcm16'] as const)('%s: any changed bit fails with a typed DecryptError', (name) => {
    const keyMaterial = random.bytes(keyMaterialBytes(name));
    const iv = random.bytes(8);
    const aad = random.bytes(28);
    const plaintext = random.bytes(100);
    const sealed = encrypt(name, keyMaterial, iv, plaintext, aad);

    const flip = (buffer: Buffer, index: number): Buffer => {
      const copy = Buffer.from(buffer);
      copy[index] = (copy[index] ?? 0) ^ 0x01;
      return copy;
    };
    const attempts: Array<[string, () => Buffer]> = [
      ['ciphertext byte', () => decrypt(name, keyMaterial, iv, flip(sealed, 5), aad)],
      ['ICV byte', () => decrypt(name, keyMaterial, iv, flip(sealed, sealed.length - 1), aad)],
      ['AAD byte', () => decrypt(name, keyMaterial, iv, sealed, flip(aad, 0))],
      ['missing AAD', () => decrypt(name, keyMaterial, iv, sealed)],
      ['IV byte', () => decrypt(name, keyMaterial, flip(iv, 7), sealed, aad)],
      ['salt byte', () => decrypt(name, flip(keyMaterial, keyMaterial.length - 1), iv, sealed, aad)],
      ['key byte', () => decrypt(name, flip(keyMaterial, 0), iv, sealed, aad)],
      ['truncated', () => decrypt(name, keyMaterial, iv, sealed.subarray(0, sealed.length - 1), aad)],
    ];
    for (const [what, attempt] of attempts) {
      const error = caught(attempt);
      expect(error, what).toBeInstanceOf(DecryptError);
      expect(error, what).toBeInstanceOf(CgwdError);
      expect(error, what).toMatchObject({ code: 'CRYPTO_DECRYPT_FAILED', message: `${name} authentication failed` });
      expect(String(error)).not.toContain(keyMaterial.toString('hex').slice(0, 8));
    }
    expect(decrypt(name, keyMaterial, iv, sealed, aad)).toEqual(plaintext);
  });
});

describe('differential against @noble/ciphers (random inputs, both directions)', () => {
  const random = new SeededRandom();
  const iterations = 250;

  it.each(['aes128-cbc', 'aes256-cbc'] as const)('%s', (name: EncryptionName) => {
    for (let i = 0; i < iterations; i++) {
      const key = random.bytes(keyMaterialBytes(name));
      const iv = random.bytes(16);
      const plaintext = random.bytes(16 * random.int(40));
      const reference = Buffer.from(cbc(key, iv, { disablePadding: true }).encrypt(plaintext));
      const label = `${random.label} iteration ${i}`;
      expect(encrypt(name, key, iv, plaintext), label).toEqual(reference);
      expect(decrypt(name, key, iv, reference), label).toEqual(plaintext);
      const foreign = random.bytes(16 * random.int(40));
      expect(decrypt(name, key, iv, foreign), label).toEqual(Buffer.from(cbc(key, iv, { disablePadding: true }).decrypt(foreign)));
    }
  });

  it.each(['aes128-gcm16', 'aes256-gcm16'] as const)('%s', (name: EncryptionName) => {
    const keyBytes = keyMaterialBytes(name) - 4;
    for (let i = 0; i < iterations; i++) {
      const keyMaterial = random.bytes(keyBytes + 4);
      const iv = random.bytes(8);
      const nonce = Buffer.concat([keyMaterial.subarray(keyBytes), iv]);
      const aad = random.bytes(random.int(3) === 0 ? 0 : random.int(40));
      const plaintext = random.bytes(random.int(700));
      const noble = gcm(keyMaterial.subarray(0, keyBytes), nonce, aad);
      const reference = Buffer.from(noble.encrypt(plaintext));
      const label = `${random.label} iteration ${i}`;
      expect(encrypt(name, keyMaterial, iv, plaintext, aad), label).toEqual(reference);
      expect(decrypt(name, keyMaterial, iv, reference, aad), label).toEqual(plaintext);
      const ours = encrypt(name, keyMaterial, iv, plaintext, aad);
      expect(Buffer.from(gcm(keyMaterial.subarray(0, keyBytes), nonce, aad).decrypt(ours)), label).toEqual(plaintext);
    }
  });
});
