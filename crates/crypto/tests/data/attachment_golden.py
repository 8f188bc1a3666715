# Independent implementation of the attachment wire format v1 (Python `cryptography`): regenerates
# attachment_golden.txt, cross-checking the Rust code.  Run: python3 attachment_golden.py > attachment_golden.txt
import hashlib, struct
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import hashes
secret = bytes(range(32))
okm = HKDF(algorithm=hashes.SHA256(), length=39, salt=None, info=b"missiva attachment v1").derive(secret)
key, prefix = okm[:32], okm[32:]
aad = b"missiva attachment" + bytes([1]) + struct.pack(">I", 65536)
pt = bytes(i % 251 for i in range(150 * 1024))
C = 65536
chunks = [pt[i:i+C] for i in range(0, len(pt), C)] or [b""]
a = AESGCM(key)
blob = b"".join(a.encrypt(prefix + struct.pack(">I", i) + bytes([1 if i == len(chunks)-1 else 0]), c, aad) for i, c in enumerate(chunks))
print(f"""# Golden vector of the attachment cipher, wire format version 1.
# A change to the wire-visible protocol must change this file on purpose.
# Produced by an independent implementation (Python `cryptography`: HKDF-SHA256 + AESGCM)
# following the format described in crates/crypto/src/attachment.rs.
key = {secret.hex()}
plaintext = {len(pt)} bytes, byte i = i % 251
ciphertext_len = {len(blob)}
ciphertext_sha256 = {hashlib.sha256(blob).hexdigest()}
ciphertext_head = {blob[:64].hex()}
ciphertext_tail = {blob[-32:].hex()}""")
